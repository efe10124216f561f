"""W&B wiring: the one logging path. Offline when no key is set; keys never leave the environment."""

from __future__ import annotations

import os

from organisms.spec import OrganismSpec


def report_to(spec: OrganismSpec, disabled: bool = False) -> str:
    """'wandb' when the spec enables it (and --no-wandb is not given), else 'none'."""
    if disabled or not spec.training.wandb.enabled:
        return "none"
    os.environ.setdefault("WANDB_PROJECT", spec.training.wandb.project)
    if not os.environ.get("WANDB_API_KEY"):
        os.environ["WANDB_MODE"] = "offline"
    return "wandb"
