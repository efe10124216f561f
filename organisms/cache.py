"""Where the project keeps what it builds once: `$COT_ORGANISMS_CACHE` (else ~/.cache/cot-organisms).

Converted embedded checkpoints, capability models, response caches, question sets and the digests of
model files live under it.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """Where converted checkpoints live (`$COT_ORGANISMS_CACHE`, else ~/.cache/cot-organisms)."""
    return Path(os.environ.get("COT_ORGANISMS_CACHE", Path.home() / ".cache" / "cot-organisms"))


def capability_dir(key: str) -> Path:
    """Where a merged capability model lives (built by train/capability.py), by its key
    (`runtime.weights.capability_key`: the recipe, the base weights and the training environment), shared by
    every organism and control that start from the same one."""
    return cache_root() / "capability" / key
