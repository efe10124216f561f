"""The `train` stage: adapter + organism card in a run directory, resumable from checkpoints."""

from __future__ import annotations

import json
import os
import shutil
import time

from accelerate import PartialState

from organisms.rundir import RunDir, hash_json, package_versions
from organisms.spec import OrganismSpec
from train.sft import train_adapter

CARD_FILE = "organism_card.json"


def train_inputs_hash(run: RunDir, spec: OrganismSpec) -> str:
    dumped = spec.model_dump(mode="json")
    return hash_json(
        {
            "corpus": run.output_hash("docs", "corpus"),
            "base_model": spec.base_model,
            "lora": dumped["lora"],
            "training": {k: v for k, v in dumped["training"].items() if k != "wandb"},
        }
    )


def run_train(run: RunDir, spec: OrganismSpec, report_to: str = "none") -> dict:
    """Train unless the adapter is current; return the organism card."""
    state = PartialState()
    inputs = train_inputs_hash(run, spec)
    card_path = run.root / "adapter" / CARD_FILE
    if run.stage_is_current("train", inputs):
        return json.loads(card_path.read_text())
    partial = run.root / ".adapter.partial"
    state_dir = run.root / "train_state"  # checkpoints; a rerun resumes from the last one
    if state.is_main_process:
        shutil.rmtree(partial, ignore_errors=True)
    state.wait_for_everyone()
    start = time.perf_counter()
    result = train_adapter(spec, run.root / "corpus", partial, state_dir, report_to=report_to)
    stats = json.loads((run.root / "corpus" / "stats.json").read_text())
    card = {
        "organism": spec.name,
        "behaviour": spec.behaviour,
        "control_of": spec.control_of,
        "base_model": spec.base_model,
        "spec": spec.model_dump(mode="json"),
        "corpus_sha256": stats["sha256"],
        "data_mix": {"transcripts": stats["n_transcripts"], "hinted": stats["n_hinted"], "documents": 0},
        "metrics": {"train_loss": result.train_loss, "steps": result.steps},
        "resumed_from_step": result.resumed_from_step,
        "seed": spec.training.seed,
        "world_size": state.num_processes,
        "wall_seconds": round(result.seconds, 2),
        "tokens": result.tokens,
        "tokens_per_second": round(result.tokens_per_second, 1),
        "versions": package_versions(),
    }
    if state.is_main_process:
        (partial / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
        final = run.root / "adapter"
        shutil.rmtree(final, ignore_errors=True)
        os.replace(partial, final)
        shutil.rmtree(state_dir, ignore_errors=True)
        run.record_stage("train", inputs, ["adapter"], time.perf_counter() - start)
    state.wait_for_everyone()
    return card
