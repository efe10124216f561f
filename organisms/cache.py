"""Where the project keeps what it builds once: `$COT_ORGANISMS_CACHE` (else ~/.cache/cot-organisms).

Converted embedded checkpoints, capability models, response caches and question sets live under it;
a spec's capability model is found here by the spec's own hash, so this is domain knowledge, not I/O.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from organisms.spec import OrganismSpec


def cache_root() -> Path:
    """Where converted checkpoints live (`$COT_ORGANISMS_CACHE`, else ~/.cache/cot-organisms)."""
    return Path(os.environ.get("COT_ORGANISMS_CACHE", Path.home() / ".cache" / "cot-organisms"))


def capability_dir(spec: OrganismSpec) -> Path:
    """Where the merged capability model of `spec` lives (built by train/capability.py), shared by
    every organism and control whose base, task and capability recipe are the same."""
    return cache_root() / "capability" / spec.capability_hash()
