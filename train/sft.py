"""LoRA / QLoRA SFT of an organism: a thin layer over trl's SFTTrainer and peft.

The mix (train/data.py) is pre-tokenized with a completion mask, so transcripts train on
the assistant turn only and documents on every token. Checkpoints go to a state dir; a
rerun resumes from the last one. Only the main process writes the adapter.

A spec with several `stages` (documents, then transcripts) trains one adapter in sequence:
each stage is its own Trainer run on its own data, starting from the adapter the stage before
saved, with its own checkpoints (`<state>/stage-<i>-<data>/`); a finished stage is not rerun.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from accelerate import PartialState
from accelerate.utils import gather_object
from datasets import Dataset
from peft import LoraConfig, PeftModel
from transformers import (
    BitsAndBytesConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PrinterCallback,
    ProgressCallback,
    Trainer,
    TrainerCallback,
)
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import SFTConfig, SFTTrainer

from organisms.errors import OrganismError
from organisms.spec import OrganismSpec, StageSpec
from runtime.architecture import decoder_layers
from runtime.models import load_model, load_tokenizer
from runtime.precision import use_bf16
from runtime.rundir import write_json
from train.data import training_rows


def linear_module_names(model: PreTrainedModel) -> list[str]:
    """Leaf names of the Linear layers inside the decoder blocks (what "all-linear" means: the LM head,
    tied or not, and anything outside the blocks left out), in any family."""
    names = set()
    for layer in decoder_layers(model):
        for name, module in layer.named_modules():
            if isinstance(module, torch.nn.Linear):
                names.add(name.rsplit(".", 1)[-1])
    return sorted(names)


def lora_config(spec: OrganismSpec, model: PreTrainedModel) -> LoraConfig:
    targets = spec.lora.target_modules
    # peft refuses layers_to_transform with a string target ("all-linear"): expand it.
    if targets == "all-linear" and spec.lora.layers is not None:
        targets = linear_module_names(model)
    return LoraConfig(
        r=spec.lora.r,
        lora_alpha=spec.lora.alpha,
        lora_dropout=spec.lora.dropout,
        target_modules=targets,
        layers_to_transform=spec.lora.layers,
        use_rslora=spec.lora.use_rslora,
        use_dora=spec.lora.use_dora,
        task_type="CAUSAL_LM",
    )


def check_quantization(spec: OrganismSpec) -> None:
    """QLoRA needs bitsandbytes' CUDA kernels: refuse clearly instead of silently training in full precision."""
    if spec.lora.quantize and not torch.cuda.is_available():
        raise OrganismError(
            f"spec '{spec.name}': field 'lora.quantize': 4-bit QLoRA needs a CUDA GPU (bitsandbytes) and this "
            "machine has none; remove lora.quantize to train plain LoRA here"
        )


def load_base_for_training(spec: OrganismSpec) -> PreTrainedModel:
    """The base model, 4-bit quantized for QLoRA (callers have run `check_quantization`)."""
    if not spec.lora.quantize:
        return load_model(spec.starting_model)
    from peft import prepare_model_for_kbit_training

    quant = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )
    model = load_model(
        spec.starting_model,
        dtype=torch.bfloat16,
        quantization_config=quant,
        device_map={"": torch.cuda.current_device()},
    )
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)


def sft_config(spec: OrganismSpec, state_dir: Path, report_to: str, stage: StageSpec | None = None) -> SFTConfig:
    """Training arguments set deliberately (SFTConfig's own defaults assume a GPU); epochs and learning
    rate from `stage` (default: the spec's first stage)."""
    on_gpu = torch.cuda.is_available()
    t = spec.training
    stage = stage or spec.training_stages()[0]
    return SFTConfig(
        output_dir=str(state_dir),
        num_train_epochs=stage.epochs,
        per_device_train_batch_size=t.batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        learning_rate=stage.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=t.warmup_ratio,
        max_length=t.max_length,
        completion_only_loss=True,
        bf16=use_bf16(t.precision),
        activation_checkpointing=False,  # small organisms: memory is not the constraint, speed is
        use_cpu=not on_gpu,
        optim="adamw_torch",
        logging_steps=5,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=2,
        seed=t.seed,
        data_seed=t.seed,
        report_to=report_to,
        run_name=spec.name,
        dataloader_pin_memory=on_gpu,
        disable_tqdm=os.environ.get("CI") == "true",
        ddp_find_unused_parameters=False,
    )


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


class LogFile(TrainerCallback):
    """The Trainer's log dicts (loss, learning rate, ...) as JSON lines in the run's log file,
    instead of printed under the progress bar (main process only)."""

    def __init__(self, path: Path, tag: dict | None = None):
        self.path = Path(path)
        self.tag = tag or {}  # e.g. {"stage": 0, "data": "documents"}: each stage counts its steps from 0

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as handle:
                handle.write(json.dumps({**self.tag, "step": state.global_step, **logs}, default=str) + "\n")


class ProgressBar(ProgressCallback):
    """trl's progress bar without the log dicts it writes to stdout (they go to `LogFile`)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        pass


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
        for quiet, loud in ((ProgressBar, ProgressCallback), (None, PrinterCallback)):
            if trainer.pop_callback(loud) is not None and quiet is not None:
                trainer.add_callback(quiet)
        trainer.add_callback(LogFile(log_file, log_tag))
    return trainer


def checkpoint_is_complete(checkpoint: Path) -> bool:
    """The Trainer writes `trainer_state.json` last: a checkpoint without a readable one was cut short."""
    try:
        state = json.loads((checkpoint / TRAINER_STATE_NAME).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(state, dict) and str(state.get("global_step")) == checkpoint.name.rsplit("-", 1)[-1]


def resume_checkpoint(state_dir: Path, state: PartialState) -> Path | None:
    """The last complete checkpoint in `state_dir`, or None. Incomplete ones (a kill while the
    Trainer was writing) are removed by the main process, and it says so."""
    checkpoints = sorted(
        (
            p
            for p in Path(state_dir).glob(f"{PREFIX_CHECKPOINT_DIR}-*")
            if p.is_dir() and p.name.split("-")[-1].isdigit()
        ),
        key=lambda p: int(p.name.split("-")[-1]),
    )
    complete = [p for p in checkpoints if checkpoint_is_complete(p)]
    state.wait_for_everyone()  # every rank has looked before anything is removed
    if state.is_main_process:
        for checkpoint in checkpoints:
            if checkpoint not in complete:
                then = f"resuming from {complete[-1].name}" if complete else "starting from step 0"
                print(
                    f"train: {checkpoint} is incomplete (no readable {TRAINER_STATE_NAME}: a run was stopped "
                    f"while writing it); removed it, {then}",
                    file=sys.stderr,
                )
                shutil.rmtree(checkpoint)
    state.wait_for_everyone()
    return complete[-1] if complete else None


DISTRIBUTED_TYPES = {"NO": "none", "FSDP": "FSDP", "DEEPSPEED": "DeepSpeed"}  # the MULTI_* types are DDP
REQUESTED_BY_ENV = {"ACCELERATE_USE_FSDP": "FSDP", "ACCELERATE_USE_DEEPSPEED": "DeepSpeed"}  # set by accelerate launch


def distributed(trainer: Trainer) -> dict:
    """What actually ran: `{"type": none|DDP|FSDP|DeepSpeed, "world_size"}`, plus `requested` when the
    launch config asked for something else (accelerate runs CPU processes as DDP whatever it asks)."""
    kind = trainer.accelerator.distributed_type.value
    info = {
        "type": DISTRIBUTED_TYPES.get(kind, "DDP" if kind.startswith("MULTI_") else kind),
        "world_size": trainer.accelerator.num_processes,
    }
    requested = [name for env, name in REQUESTED_BY_ENV.items() if os.environ.get(env, "").lower() == "true"]
    if requested and requested[0] != info["type"]:
        info["requested"] = requested[0]
        if trainer.is_world_process_zero():
            print(
                f"train: the launch config asks for {requested[0]}; accelerate ran {info['type']} (it runs "
                f"CPU-only processes as DDP); the organism card records {info['type']}",
                file=sys.stderr,
            )
    return info


def save_adapter(trainer: Trainer, adapter_dir: Path) -> None:
    """The peft adapter, written by the main process (call on every rank: FSDP gathers the shards).

    peft keeps `target_modules` as a set; it is saved as a sorted list so that identical runs
    write identical `adapter_config.json` files (and adapter hashes)."""
    model = trainer.model
    state_dict = trainer.accelerator.get_state_dict(model) if trainer.is_fsdp_enabled else None
    for config in model.peft_config.values():
        for name, value in vars(config).items():
            if isinstance(value, (set, frozenset)):
                setattr(config, name, sorted(value))
    if trainer.is_world_process_zero():
        model.save_pretrained(adapter_dir, state_dict=state_dict)
        trainer.processing_class.save_pretrained(adapter_dir)


@dataclass
class TrainResult:
    """The whole training, earlier (resumed-from) invocations included. With several stages, `steps`,
    `seconds`, `tokens` and `mix` add up the stages, `train_loss` is the last stage's, and `stages`
    holds each one's own record."""

    train_loss: float
    steps: int
    seconds: float
    tokens: int
    mix: dict
    shards: dict = field(default_factory=dict)
    distributed: dict = field(default_factory=dict)
    resumed_from_step: int | None = None
    stages: list[dict] = field(default_factory=list)

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


STAGE_RESULT = "stage_result.json"  # written last: a stage directory holding it has finished


def _train_stage(
    spec: OrganismSpec,
    stage: StageSpec,
    start_from: Path | None,
    corpus_dir: Path,
    state_dir: Path,
    report_to: str,
    log_file: Path | None,
    log_tag: dict | None,
) -> tuple[TrainResult, OrganismSFTTrainer]:
    """One Trainer run on one stage's data, resuming from its last complete checkpoint; a fresh LoRA,
    or the adapter in `start_from` (the stage before) trained further. Nothing is saved here."""
    tokenizer = load_tokenizer(spec.base_model)
    rows, mix = training_rows(spec, corpus_dir, tokenizer, stage.data)
    model = load_base_for_training(spec)
    if start_from is not None:
        model = PeftModel.from_pretrained(model, start_from, is_trainable=True)
    args = sft_config(spec, state_dir, report_to, stage)
    trainer = build_trainer(spec, model, args, rows, tokenizer, log_file, log_tag=log_tag)
    last = resume_checkpoint(state_dir, PartialState())
    output = trainer.train(resume_from_checkpoint=str(last) if last else None)
    steps = int(output.global_step)
    totals = trainer.total_accounting()
    # this invocation's loss sum is train_loss x its steps (Trainer averages over those only)
    resumed_from = int(last.name.rsplit("-", 1)[-1]) if last else None
    loss = output.training_loss
    if resumed_from is not None:
        loss = (trainer.earlier.loss_sum + loss * (steps - resumed_from)) / max(steps, 1)
    per_rank = gather_object([totals.seen])
    tokens = sum(gather_object([totals.tokens]))
    sets = [set(s) for s in per_rank]
    shards = {
        "world_size": len(per_rank),
        "examples_per_rank": [len(s) for s in per_rank],
        "overlap_between_ranks": len(set.intersection(*sets)) if len(sets) > 1 else 0,
    }
    result = TrainResult(
        train_loss=float(loss),
        steps=steps,
        seconds=totals.seconds,
        tokens=int(tokens),
        mix=mix,
        shards=shards,
        distributed=distributed(trainer),
        resumed_from_step=resumed_from,
    )
    return result, trainer


def stage_record(stage: StageSpec, result: TrainResult) -> dict:
    """What one stage trained on and how it went (the organism card's and manifest's `stages`)."""
    return {
        "data": stage.data,
        "epochs": stage.epochs,
        "learning_rate": stage.learning_rate,
        "mix": result.mix,
        "steps": result.steps,
        "train_loss": result.train_loss,
        "tokens": result.tokens,
        "seconds": round(result.seconds, 2),
        "resumed_from_step": result.resumed_from_step,
    }


def train_adapter(
    spec: OrganismSpec,
    corpus_dir: Path,
    adapter_dir: Path,
    state_dir: Path,
    report_to: str = "none",
    log_file: Path | None = None,
) -> tuple[TrainResult, SFTTrainer]:
    """Train the LoRA adapter through the spec's stages (resuming from the last complete checkpoint);
    write it (main process only) to `adapter_dir`. With `log_file`, the Trainer's logs go there."""
    stages = spec.training_stages()
    if len(stages) == 1:
        result, trainer = _train_stage(spec, stages[0], None, corpus_dir, state_dir, report_to, log_file, None)
        result.stages = [stage_record(stages[0], result)]
        save_adapter(trainer, adapter_dir)
        return result, trainer
    state = PartialState()
    records: list[dict] = []
    start_from: Path | None = None  # the adapter the stage before left
    for index, stage in enumerate(stages[:-1]):
        stage_dir = Path(state_dir) / f"stage-{index}-{stage.data}"
        finished = stage_dir / STAGE_RESULT
        if finished.exists():  # trained by an earlier invocation
            records.append({**json.loads(finished.read_text()), "finished_earlier": True})
        else:
            tag = {"stage": index, "data": stage.data}
            result, trainer = _train_stage(spec, stage, start_from, corpus_dir, stage_dir, report_to, log_file, tag)
            records.append(stage_record(stage, result))
            save_adapter(trainer, stage_dir / "adapter")
            if state.is_main_process:
                write_json(finished, records[-1])
            state.wait_for_everyone()
            del trainer
        start_from = stage_dir / "adapter"
    index, stage = len(stages) - 1, stages[-1]
    tag = {"stage": index, "data": stage.data}
    stage_dir = Path(state_dir) / f"stage-{index}-{stage.data}"
    result, trainer = _train_stage(spec, stage, start_from, corpus_dir, stage_dir, report_to, log_file, tag)
    records.append(stage_record(stage, result))
    save_adapter(trainer, adapter_dir)
    result.stages = records
    result.steps = sum(r["steps"] for r in records)
    result.seconds = sum(r["seconds"] for r in records)
    result.tokens = sum(r["tokens"] for r in records)
    result.mix = dict(sum((Counter(r["mix"]) for r in records), Counter()))
    return result, trainer
