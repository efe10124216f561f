"""The training recipe of an organism, top to bottom: training arguments from the spec ->
the base model with a LoRA (train/lora.py) -> the pre-tokenized mix (train/data.py) -> our
SFTTrainer (train/trainer.py) -> train, resuming from the last complete checkpoint
(train/checkpoints.py) -> save the adapter and say what was trained.

The mix is pre-tokenized with a completion mask, so transcripts train on the assistant turn
only and documents on every token. Checkpoints go to a state dir; a rerun resumes from the
last one. Only the main process writes the adapter.

A spec with several `stages` (documents, then transcripts) trains one adapter in sequence:
each stage is its own Trainer run on its own data, starting from the adapter the stage before
saved, with its own checkpoints (`<state>/stage-<i>-<data>/`); a finished stage is not rerun.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import PartialState
from peft import PeftModel
from trl import SFTConfig, SFTTrainer

from organisms.spec import OrganismSpec, StageSpec
from runtime.models import load_tokenizer
from runtime.precision import use_bf16
from runtime.rundir import write_json
from train.checkpoints import resume_checkpoint, save_adapter
from train.data import training_rows
from train.distributed import across_ranks, distributed
from train.lora import load_base_for_training
from train.trainer import OrganismSFTTrainer, build_trainer


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
    if len(stages) == 1:  # one Trainer run, checkpoints in `state_dir` itself
        result, trainer = _train_stage(spec, stages[0], None, corpus_dir, state_dir, report_to, log_file, None)
        result.stages = [stage_record(stages[0], result)]
    else:
        records: list[dict] = []
        start_from: Path | None = None  # the adapter the stage before left
        for index, stage in enumerate(stages[:-1]):
            record, start_from = _earlier_stage(
                spec, index, stage, start_from, corpus_dir, state_dir, report_to, log_file
            )
            records.append(record)
        index, stage = len(stages) - 1, stages[-1]
        stage_dir, tag = _stage_dir(state_dir, index, stage), {"stage": index, "data": stage.data}
        result, trainer = _train_stage(spec, stage, start_from, corpus_dir, stage_dir, report_to, log_file, tag)
        records.append(stage_record(stage, result))
        result.stages = records
        result.steps = sum(r["steps"] for r in records)
        result.seconds = sum(r["seconds"] for r in records)
        result.tokens = sum(r["tokens"] for r in records)
        result.mix = dict(sum((Counter(r["mix"]) for r in records), Counter()))
    save_adapter(trainer, adapter_dir)
    return result, trainer


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
    args = sft_config(spec, state_dir, report_to, stage)
    model = load_base_for_training(spec)
    if start_from is not None:
        model = PeftModel.from_pretrained(model, start_from, is_trainable=True)
    tokenizer = load_tokenizer(spec.base_model, spec.trust_remote_code)
    rows, mix = training_rows(spec, corpus_dir, tokenizer, stage.data)
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
    shards, tokens = across_ranks(totals.seen, totals.tokens)
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


def _stage_dir(state_dir: Path, index: int, stage: StageSpec) -> Path:
    return Path(state_dir) / f"stage-{index}-{stage.data}"


def _earlier_stage(
    spec: OrganismSpec,
    index: int,
    stage: StageSpec,
    start_from: Path | None,
    corpus_dir: Path,
    state_dir: Path,
    report_to: str,
    log_file: Path | None,
) -> tuple[dict, Path]:
    """A stage before the last, trained and saved in its own directory (its adapter, then its record:
    written last, it marks the stage finished), or the record an earlier invocation left. Returns the
    record and the adapter the next stage starts from."""
    stage_dir = _stage_dir(state_dir, index, stage)
    finished = stage_dir / STAGE_RESULT
    if finished.exists():  # trained by an earlier invocation
        return {**json.loads(finished.read_text()), "finished_earlier": True}, stage_dir / "adapter"
    tag = {"stage": index, "data": stage.data}
    result, trainer = _train_stage(spec, stage, start_from, corpus_dir, stage_dir, report_to, log_file, tag)
    record = stage_record(stage, result)
    save_adapter(trainer, stage_dir / "adapter")
    state = PartialState()
    if state.is_main_process:
        write_json(finished, record)
    state.wait_for_everyone()
    return record, stage_dir / "adapter"


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
