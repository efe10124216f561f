"""What ran across processes, for the organism card: the distributed type accelerate actually used,
and how the examples were split between ranks."""

from __future__ import annotations

import os
import sys

from accelerate.utils import gather_object
from transformers import Trainer

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


def across_ranks(seen: list[str], tokens: int) -> tuple[dict, int]:
    """(shards, tokens) over every rank, from this rank's example fingerprints `seen` and `tokens`:
    each rank's example count and how many examples all ranks share (0 when the data was split),
    and the tokens trained on in all. A collective: call it on every rank."""
    per_rank = gather_object([seen])
    total = sum(gather_object([tokens]))
    sets = [set(s) for s in per_rank]
    shards = {
        "world_size": len(per_rank),
        "examples_per_rank": [len(s) for s in per_rank],
        "overlap_between_ranks": len(set.intersection(*sets)) if len(sets) > 1 else 0,
    }
    return shards, total
