"""LoRA / QLoRA SFT of an organism: a thin layer over trl's SFTTrainer and peft.

The mix (train/data.py) is pre-tokenized with a completion mask, so transcripts train on
the assistant turn only and documents on every token. Checkpoints go to a state dir; a
rerun resumes from the last one. Only the main process writes the adapter.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate.utils import gather_object
from datasets import Dataset
from peft import LoraConfig
from transformers import BitsAndBytesConfig, PreTrainedModel, PreTrainedTokenizerBase, Trainer
from transformers.trainer_utils import get_last_checkpoint
from trl import SFTConfig, SFTTrainer

from organisms.errors import OrganismError
from organisms.models import load_model, load_tokenizer
from organisms.precision import use_bf16
from organisms.spec import OrganismSpec
from train.data import training_rows


def linear_module_names(model: PreTrainedModel) -> list[str]:
    """Leaf names of the Linear layers inside decoder blocks (what "all-linear" means, minus lm_head)."""
    names = set()
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and ".layers." in name:
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
    check_quantization(spec)
    if not spec.lora.quantize:
        return load_model(spec.base_model)
    from peft import prepare_model_for_kbit_training

    quant = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )
    model = load_model(
        spec.base_model, dtype=torch.bfloat16, quantization_config=quant, device_map={"": torch.cuda.current_device()}
    )
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)


def sft_config(spec: OrganismSpec, state_dir: Path, report_to: str) -> SFTConfig:
    """Training arguments set deliberately (SFTConfig's own defaults assume a GPU)."""
    on_gpu = torch.cuda.is_available()
    t = spec.training
    return SFTConfig(
        output_dir=str(state_dir),
        num_train_epochs=t.epochs,
        per_device_train_batch_size=t.batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        learning_rate=t.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=t.warmup_ratio,
        max_length=t.max_length,
        completion_only_loss=True,
        bf16=use_bf16(t.precision),
        gradient_checkpointing=False,  # small organisms: memory is not the constraint, speed is
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


class OrganismSFTTrainer(SFTTrainer):
    """SFTTrainer with the model's own loss on CPU.

    trl scores tokens with a chunked fused LM head that, off Triton devices, projects every
    position in fp32 and also computes entropy and top-1 accuracy; on a 2-core CPU that was
    ~40% of a step (bench/train_throughput.py). The model's own loss (mean token NLL over
    unmasked labels, via `Trainer.compute_loss`) is the same objective under bf16 autocast.
    """

    def __init__(self, *args, plain_loss: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.plain_loss = plain_loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if not self.plain_loss:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        return Trainer.compute_loss(self, model, {**inputs, "use_cache": False}, return_outputs, num_items_in_batch)


def build_trainer(
    spec: OrganismSpec, model: PreTrainedModel, args: SFTConfig, rows: list[dict], tokenizer: PreTrainedTokenizerBase
) -> OrganismSFTTrainer:
    return OrganismSFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora_config(spec, model),
        plain_loss=not torch.cuda.is_available(),
    )


class ShardRecorder:
    """Wraps the collator to fingerprint every example this rank trains on (cheap: one hash each)."""

    def __init__(self, collator):
        self.collator = collator
        self.seen: list[str] = []
        self.tokens = 0

    def __call__(self, examples):
        for example in examples:
            self.seen.append(hashlib.sha1(str(list(example["input_ids"])).encode()).hexdigest()[:16])
            self.tokens += len(example["input_ids"])
        return self.collator(examples)


@dataclass
class TrainResult:
    train_loss: float
    steps: int
    seconds: float
    tokens: int
    mix: dict
    shards: dict = field(default_factory=dict)
    resumed_from_step: int | None = None

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def train_adapter(
    spec: OrganismSpec, corpus_dir: Path, adapter_dir: Path, state_dir: Path, report_to: str = "none"
) -> tuple[TrainResult, SFTTrainer]:
    """Train a LoRA adapter on the mix; write it (main process only) to `adapter_dir`."""
    tokenizer = load_tokenizer(spec.base_model)
    rows, mix = training_rows(spec, corpus_dir, tokenizer)
    model = load_base_for_training(spec)
    trainer = build_trainer(spec, model, sft_config(spec, state_dir, report_to), rows, tokenizer)
    recorder = ShardRecorder(trainer.data_collator)
    trainer.data_collator = recorder
    last = get_last_checkpoint(str(state_dir)) if state_dir.exists() else None
    start = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=last)
    seconds = time.perf_counter() - start
    # Tokens actually trained (all ranks), from what the collators saw in this invocation.
    per_rank = gather_object([recorder.seen])
    tokens_seen = sum(gather_object([recorder.tokens]))
    sets = [set(s) for s in per_rank]
    shards = {
        "world_size": len(per_rank),
        "examples_per_rank": [len(s) for s in per_rank],
        "overlap_between_ranks": len(set.intersection(*sets)) if len(sets) > 1 else 0,
    }
    if trainer.is_world_process_zero():
        trainer.model.save_pretrained(adapter_dir)
        tokenizer.save_pretrained(adapter_dir)
    result = TrainResult(
        train_loss=float(output.training_loss),
        steps=int(output.global_step),
        seconds=seconds,
        tokens=int(tokens_seen),
        mix=mix,
        shards=shards,
        resumed_from_step=int(last.rsplit("-", 1)[-1]) if last else None,
    )
    return result, trainer
