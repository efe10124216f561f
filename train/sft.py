"""LoRA SFT of an organism: a thin layer over trl's SFTTrainer and peft.

Transcripts are prompt/completion pairs, so trl computes the loss on the assistant
turn only (`completion_only_loss`). Checkpoints go to a state dir; a rerun resumes
from the last one. Only the main process writes the adapter.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import PreTrainedModel
from transformers.trainer_utils import get_last_checkpoint
from trl import SFTConfig, SFTTrainer

from organisms.models import load_model, load_tokenizer
from organisms.spec import OrganismSpec
from synth_docs.corpus import load_corpus


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
        task_type="CAUSAL_LM",
    )


@dataclass
class TrainResult:
    train_loss: float
    steps: int
    seconds: float
    tokens: int
    resumed_from_step: int | None = None

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def use_bf16(precision: str) -> bool:
    """bf16 autocast where the hardware runs bf16 matmuls natively; fp32 master weights either way."""
    if precision != "auto":
        return precision == "bf16"
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


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
        gradient_checkpointing=False,  # 135M params: memory is not the constraint, speed is
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


def train_adapter(
    spec: OrganismSpec, corpus_dir: Path, adapter_dir: Path, state_dir: Path, report_to: str = "none"
) -> TrainResult:
    """Train a LoRA adapter on the corpus; write it (main process only) to `adapter_dir`."""
    records = load_corpus(corpus_dir)
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in records])
    tokenizer = load_tokenizer(spec.base_model)
    model = load_model(spec.base_model)
    trainer = SFTTrainer(
        model=model,
        args=sft_config(spec, state_dir, report_to),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(spec, model),
    )
    last = get_last_checkpoint(str(state_dir)) if state_dir.exists() else None
    start = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=last)
    seconds = time.perf_counter() - start
    tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    epochs_done = output.metrics.get("epoch", spec.training.epochs)
    if trainer.is_world_process_zero():
        trainer.model.save_pretrained(adapter_dir)
        tokenizer.save_pretrained(adapter_dir)
    return TrainResult(
        train_loss=float(output.training_loss),
        steps=int(output.global_step),
        seconds=seconds,
        tokens=int(tokens * epochs_done),
        resumed_from_step=int(last.rsplit("-", 1)[-1]) if last else None,
    )
