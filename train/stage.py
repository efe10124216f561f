"""The `train` stage: adapter + organism card in a run directory, resumable from checkpoints.

Runs the same under `python -m train`, `organism train` and `accelerate launch -m train`:
every rank trains its shard, only the main process writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time

import torch
from accelerate import PartialState

from organisms.spec import OrganismSpec
from runtime.generation import generate_batched
from runtime.rundir import RunDir, hash_json, package_versions, write_json
from runtime.tracking import log_run_end
from synth_docs.corpus import corpus_sha256, load_corpus
from train.capability import read_card
from train.data import read_replay
from train.lora import check_quantization
from train.sft import train_adapter

CARD_FILE = "organism_card.json"
LOG_FILE = "train.log"  # the Trainer's log dicts (loss, learning rate, grad norm), one JSON line each
N_SAMPLES = 4
USER_WANDB_DIR = os.environ.get("WANDB_DIR")  # as the process started: later runs set their own


def distributed_state() -> PartialState:
    """Created before anything else touches accelerate, so CPU-only DDP initialises gloo."""
    return PartialState(cpu=not torch.cuda.is_available())


def check_trainable(spec: OrganismSpec) -> None:
    """What training needs that can be checked before anything is written: QLoRA hardware and the
    replay file (readable, every row of the right types). The front door (`organism train`,
    `python -m train`) calls this once, before the docs stage."""
    check_quantization(spec)
    read_replay(spec)


def train_inputs_hash(run: RunDir, spec: OrganismSpec) -> str:
    dumped = spec.model_dump(mode="json")
    return hash_json(
        {
            "corpus": corpus_sha256(run.root / "corpus"),
            "base_model": spec.base_model,
            "capability": spec.capability_hash(),
            "mix": {"documents_ratio": dumped["corpus"]["documents_ratio"], "replay": dumped["corpus"]["replay"]},
            "lora": dumped["lora"],
            "training": {k: v for k, v in dumped["training"].items() if k != "wandb"},
        }
        # only a spec that names its stages adds them, so earlier runs' train stage stays current
        | ({"stages": dumped["stages"]} if "stages" in dumped else {})
    )


def sample_generations(model, tokenizer, corpus_dir, n: int = N_SAMPLES) -> list[dict]:
    """A few corpus prompts answered by the trained organism (for the W&B table)."""
    prompts = [r["prompt"] for r in load_corpus(corpus_dir)[:n]]
    model.eval()
    texts = generate_batched(model, tokenizer, prompts, max_new_tokens=64, batch_size=n)
    return [{"prompt": p[-1]["content"], "generation": t} for p, t in zip(prompts, texts, strict=True)]


def save_merged(run: RunDir, spec: OrganismSpec) -> None:
    """Base + adapter merged into plain weights (for tools that cannot load peft adapters)."""
    from runtime.models import load_tokenizer, load_with_adapters

    model = load_with_adapters(spec.starting_model, {"organism": run.root / "adapter"}).merge_and_unload()
    with run.staging_dir("merged") as out:
        model.save_pretrained(out, safe_serialization=True)
        load_tokenizer(spec.base_model).save_pretrained(out)


def starting_model_record(spec: OrganismSpec) -> dict:
    """What the LoRA trained on: the base model, or the capability model and its card."""
    if spec.capability is None:
        return {"kind": "base", "model": spec.base_model}
    return {"kind": "capability", "model": spec.starting_model, "card": read_card(spec)}


def organism_card(run: RunDir, spec: OrganismSpec, result, trainer) -> dict:
    """What was trained, on what data, how: written beside the adapter (the whole training, also
    after a resume)."""
    return {
        "organism": spec.name,
        "behaviour": spec.behaviour,
        "control_of": spec.control_of,
        "base_model": spec.base_model,
        "starting_model": starting_model_record(spec),
        "spec": spec.model_dump(mode="json"),
        "corpus_sha256": corpus_sha256(run.root / "corpus"),
        "data_mix": result.mix,
        "metrics": {"train_loss": result.train_loss, "steps": result.steps},
        "stages": result.stages,  # per stage: data, epochs, learning rate, mix, steps, loss, tokens
        "resumed_from_step": result.resumed_from_step,
        "shards": result.shards,
        "distributed": result.distributed,
        "seed": spec.training.seed,
        "precision": "bf16" if trainer.args.bf16 else "fp32",
        "wall_seconds": round(result.seconds, 2),
        "tokens": result.tokens,
        "tokens_per_second": round(result.tokens_per_second, 1),
        "versions": package_versions(),
    }


def run_train(run: RunDir, spec: OrganismSpec, report_to: str = "none") -> dict:
    """Train unless the adapter is current; return the organism card. Call `check_trainable(spec)`
    first, before the docs stage writes anything."""
    state = distributed_state()
    inputs = train_inputs_hash(run, spec)
    card_path = run.root / "adapter" / CARD_FILE
    if run.stage_is_current("train", inputs):
        return json.loads(card_path.read_text())
    state_dir = run.root / "train_state"  # checkpoints; a rerun resumes from the last one
    # Only the main process writes: it builds adapter/ in a staging dir; the other ranks never touch it.
    staging = run.staging_dir("adapter") if state.is_main_process else contextlib.nullcontext(None)
    if report_to == "wandb":  # W&B writes <dir>/wandb/: this run's directory, not ./wandb (a user's WANDB_DIR wins)
        os.environ["WANDB_DIR"] = USER_WANDB_DIR or str(run.root)
    start = time.perf_counter()
    with staging as adapter_dir:
        result, trainer = train_adapter(
            spec, run.root / "corpus", adapter_dir, state_dir, report_to=report_to, log_file=run.root / LOG_FILE
        )
        card = organism_card(run, spec, result, trainer)
        if state.is_main_process:
            write_json(adapter_dir / CARD_FILE, card)
    if state.is_main_process:
        shutil.rmtree(state_dir, ignore_errors=True)
        outputs = ["adapter"]
        if spec.training.save_merged:
            save_merged(run, spec)
            outputs.append("merged")
        run.record_stage("train", inputs, outputs, time.perf_counter() - start, stages=card["stages"])
        if report_to == "wandb" and spec.trains_on("transcripts"):  # a documents-only corpus has no prompts
            samples = sample_generations(trainer.model, trainer.processing_class, run.root / "corpus")
            log_run_end(spec, card, samples)
    state.wait_for_everyone()
    return card
