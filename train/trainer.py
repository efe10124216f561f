"""Our SFTTrainer: trl's, with a leaner loss path on CPU and token accounting that survives a resume.

`build_trainer` makes it for a spec: a fresh LoRA on a base model, or a `PeftModel` (a later
stage) trained further, its logs routed to the run's log file (train/progress.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from datasets import Dataset
from peft import PeftModel
from transformers import PreTrainedModel, PreTrainedTokenizerBase, Trainer
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import SFTConfig, SFTTrainer

from organisms.spec import OrganismSpec
from train.lora import lora_config
from train.progress import log_to_file

ACCOUNTING_FILE = "organism_accounting-rank{rank}.json"


@dataclass
class Accounting:
    """What one rank has trained on so far, saved in every checkpoint so a resumed run's card
    describes the whole training: a fingerprint per example, tokens, seconds, summed step loss."""

    seen: list[str] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0
    loss_sum: float = 0.0

    def record(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
        for ids, mask in zip(input_ids.tolist(), attention_mask.tolist(), strict=True):
            ids = [t for t, m in zip(ids, mask, strict=True) if m]
            self.seen.append(hashlib.sha1(str(ids).encode()).hexdigest()[:16])
            self.tokens += len(ids)

    @classmethod
    def load(cls, checkpoint: Path, rank: int) -> Accounting:
        path = Path(checkpoint) / ACCOUNTING_FILE.format(rank=rank)
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            print(
                f"train: {path} is missing or unreadable; the card counts only the steps after the resume",
                file=sys.stderr,
            )
            return cls()


class OrganismSFTTrainer(SFTTrainer):
    """SFTTrainer with a leaner loss path on CPU, and accounting that survives a resume.

    trl scores tokens with a chunked fused LM head that, off Triton devices, projects every
    position in fp32 and also computes entropy and top-1 accuracy; on a 2-core CPU that was
    ~40% of a step (bench/train_throughput.py). `plain_loss` uses the model's own loss instead
    (mean token NLL over unmasked labels, via `Trainer.compute_loss`): the same objective under
    bf16 autocast. `lean` (CPU) computes that same loss with less work:

    - the LM head and cross-entropy only at positions that have a label (the completion tokens of
      a transcript: ~30% of a padded hidden-hint batch) instead of every position;
    - the frozen base's Linear weights held in bf16 while training under bf16 autocast, instead of
      autocast casting each fp32 weight on every forward (it rounds them the same way, so the
      numbers are the same); the fp32 weights are put back when `train` returns;
    - peft's cast of each LoRA input to the (fp32) LoRA weight dtype skipped: autocast casts it
      back to bf16 for the matmul anyway;
    - eager attention instead of SDPA while training under bf16 autocast: at the embedded model's
      shapes (9 heads of 64, ~150 tokens) torch's CPU flash-attention kernel took twice as long
      forward + backward (bench/RESULTS.md). Eager rounds the attention probabilities to bf16 before
      multiplying by V, so the numbers differ in the last bf16 bits (the test's tolerance).

    Every micro-batch actually trained is recorded in `accounting` (in `training_step`, not the
    collator: the dataloader fetches a batch ahead). A checkpoint gets each rank's accounting
    before the Trainer writes `trainer_state.json`, which it writes last: a checkpoint with a
    readable `trainer_state.json` is complete.
    """

    def __init__(self, *args, plain_loss: bool = False, lean: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.plain_loss = plain_loss
        self.lean = lean and plain_loss
        self.head_weight: torch.Tensor | None = None  # bf16 copy of a frozen LM head weight (lean, bf16)
        self.eager_attention = True  # (lean, bf16) False keeps SDPA: bench/train_throughput.py measures both
        self.accounting = Accounting()
        self.earlier = Accounting()  # what the checkpoint we resumed from had trained
        self.clock = time.perf_counter()

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if not self.plain_loss:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if not self.lean:
            return Trainer.compute_loss(self, model, {**inputs, "use_cache": False}, return_outputs, num_items_in_batch)
        inputs = dict(inputs)
        targets = inputs.pop("labels")[:, 1:]
        keep = targets != -100
        with self._head_at(keep):
            outputs = model(**inputs, use_cache=False)  # .logits: [n_labels, vocab], the labelled positions only
        loss = torch.nn.functional.cross_entropy(outputs.logits.float(), targets[keep], reduction="sum")
        # the model's own reduction, as Trainer.compute_loss gets it: a mean over this micro-batch, or
        # with num_items_in_batch (the labels of the whole accumulated batch, on every process) a share
        if num_items_in_batch is None or not self.model_accepts_loss_kwargs:
            loss = loss / keep.sum()
        else:
            loss = loss / torch.as_tensor(num_items_in_batch, device=loss.device)
            if self.args.average_tokens_across_devices:
                loss = loss * (self.accelerator.num_processes // self.get_tp_size())
        return (loss, outputs) if return_outputs else loss

    @contextlib.contextmanager
    def _head_at(self, keep: torch.Tensor) -> Iterator[None]:
        """Within the block the LM head maps hidden states `[batch, pos, d]` to logits `[n, vocab]` at the
        n positions where `keep` `[batch, pos - 1]` is set (the model passes it every position)."""
        head = self.accelerator.unwrap_model(self.model).get_output_embeddings()
        weight = self.head_weight if self.head_weight is not None else head.weight
        own = vars(head).get("forward")  # an instance-level forward (e.g. an accelerate hook) to put back

        def at_labels(hidden: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.linear(hidden[:, :-1][keep.to(hidden.device)], weight, head.bias)

        head.forward = at_labels
        try:
            yield
        finally:
            if own is None:
                del head.forward
            else:
                head.forward = own

    @contextlib.contextmanager
    def _lean_bf16(self) -> Iterator[None]:
        """Frozen fp32 Linear weights (not the LM head, often tied to the embedding) in bf16 within the
        block, a bf16 copy of a frozen LM head weight for `_head_at`, peft's LoRA input casts off and
        eager attention in place of SDPA."""
        from peft.tuners.lora import LoraLayer

        if not (self.lean and self.args.bf16):
            yield
            return
        model = self.accelerator.unwrap_model(self.model)
        head = model.get_output_embeddings()
        frozen = [
            m
            for m in model.modules()
            if isinstance(m, torch.nn.Linear)
            and m is not head
            and m.weight.dtype == torch.float32
            and not any(p.requires_grad for p in m.parameters(recurse=False))
        ]
        originals = {m: (m.weight, m.bias) for m in frozen}
        lora_layers = [m for m in model.modules() if isinstance(m, LoraLayer)]
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        attention = base.config._attn_implementation
        try:
            if attention == "sdpa" and self.eager_attention:
                base.set_attn_implementation("eager")
            for m in frozen:
                m.weight = torch.nn.Parameter(m.weight.detach().to(torch.bfloat16), requires_grad=False)
                if m.bias is not None:
                    m.bias = torch.nn.Parameter(m.bias.detach().to(torch.bfloat16), requires_grad=False)
            if not head.weight.requires_grad:
                self.head_weight = head.weight.detach().to(torch.bfloat16)
            for layer in lora_layers:
                layer.cast_input_dtype_enabled = False
            yield
        finally:
            for m, (weight, bias) in originals.items():
                m.weight, m.bias = weight, bias
            self.head_weight = None
            for layer in lora_layers:
                layer.cast_input_dtype_enabled = True
            if base.config._attn_implementation != attention:
                base.set_attn_implementation(attention)

    def training_step(self, model, inputs, num_items_in_batch=None):
        ids = inputs["input_ids"]
        self.accounting.record(ids, inputs.get("attention_mask", torch.ones_like(ids)))
        return super().training_step(model, inputs, num_items_in_batch)

    def total_accounting(self) -> Accounting:
        """This rank's accounting over the whole training, earlier invocations included."""
        return Accounting(
            seen=self.earlier.seen + self.accounting.seen,
            tokens=self.earlier.tokens + self.accounting.tokens,
            seconds=self.earlier.seconds + time.perf_counter() - self.clock,
            # what Trainer divides by the steps of this invocation to report train_loss
            loss_sum=self.earlier.loss_sum + self._total_loss_scalar + self._tr_loss.item(),
        )

    def _save_checkpoint(self, model, trial):
        folder = Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ACCOUNTING_FILE.format(rank=self.args.process_index)
        path.write_text(json.dumps(asdict(self.total_accounting())))
        super()._save_checkpoint(model, trial)

    def train(self, resume_from_checkpoint: str | None = None, **kwargs):
        if resume_from_checkpoint:
            self.earlier = Accounting.load(Path(resume_from_checkpoint), self.args.process_index)
        self.accounting, self.clock = Accounting(), time.perf_counter()
        with self._lean_bf16():
            return super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)


def build_trainer(
    spec: OrganismSpec,
    model: PreTrainedModel,
    args: SFTConfig,
    rows: list[dict],
    tokenizer: PreTrainedTokenizerBase,
    log_file: Path | None = None,
    lean: bool = True,
    log_tag: dict | None = None,
) -> OrganismSFTTrainer:
    """Our trainer; `lean=False` keeps the model's own loss path on CPU (the reference the lean one
    is tested against, `OrganismSFTTrainer`). A `PeftModel` (a later stage) keeps its adapter."""
    trainer = OrganismSFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=None if isinstance(model, PeftModel) else lora_config(spec, model),
        plain_loss=not torch.cuda.is_available(),
        lean=lean and not torch.cuda.is_available(),
    )
    if log_file is not None:
        log_to_file(trainer, log_file, log_tag)
    return trainer
