"""What training leaves on disk: checkpoints to resume from (the last complete one; ones cut short
by a kill are removed) and, at the end, the peft adapter."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from accelerate import PartialState
from transformers import Trainer
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR


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
