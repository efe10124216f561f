"""The removal's null: N random directions, matched to the real one on norm and on perplexity cost.

Direction i is r_i ~ N(0, I) rescaled to |r_i| = |v_l| (uniform on the sphere of that radius), drawn
from the seed `direction_seed(seed, i)`, so a null is the same for the same `--null-seed` whatever N.
Each is run as the real direction's steering arm is, s * r_i subtracted at layer l:

    norm-matched        at s* (the scale the real direction is reported at)
    perplexity-matched  at the scale t_i where its neutral-text perplexity ratio meets the real one's
                        at s*, rho* = exp(mean_texts(NLL(s* v_l) - NLL(0))); `match_scale` finds t_i

Against the drop of each, D_i = U(0) - U_i, the real drop D = U(0) - U(s* v_l) gets the one-sided
empirical p-value (the +1s count the real direction as one draw of the null: p is never 0)

    p = (1 + #{i : D_i >= D}) / (N + 1)

The measured directions are kept in the run dir's `removal_null.jsonl`, one line each, under a key
of what determines them (`removal.null_key`): a rerun with the same key measures only the missing ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from organisms.jsonl import read_jsonl
from runtime.rundir import write_atomic

NULL_FILE = "removal_null.jsonl"
# perplexity matching: within 1% of the real ratio, found in at most this many ratio evaluations
TOLERANCE = 0.01
BISECTION_STEPS = 12
DOUBLINGS = 6  # the bracket grows s*, 2 s*, ... up to 2^6 s*


def direction_seed(seed: int, index: int) -> int:
    """The generator seed of null direction `index` under `--null-seed seed` (independent streams)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def random_like(vector: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A seeded random direction with the norm of `vector`, `[d_model]`."""
    generator = torch.Generator().manual_seed(seed)
    r = torch.randn(vector.shape, generator=generator, dtype=torch.float32)
    return (r / r.norm() * vector.float().norm()).to(vector.dtype)


def null_directions(vector: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """The first `n` null directions, `[n, d_model]`, each with the norm of `vector`."""
    if n == 0:
        return vector.new_zeros((0, *vector.shape))
    return torch.stack([random_like(vector, direction_seed(seed, i)) for i in range(n)])


def match_scale(ratio_at: Callable[[float], float], target: float, start: float) -> dict:
    """The scale t >= 0 whose perplexity ratio `ratio_at(t)` is within TOLERANCE of `target`.

    ratio_at(0) = 1. A target at or below 1 + TOLERANCE is met at t = 0 (a random direction is not
    expected to lower perplexity; below 1 - TOLERANCE it is flagged unmatched). Otherwise the bracket
    [0, start] is doubled until its top reaches the target (at most DOUBLINGS times; unmatched at the
    top if it never does), then bisected (at most BISECTION_STEPS times) to the point closest to it."""
    calls = 0

    def ratio(t: float) -> float:
        nonlocal calls
        calls += 1
        return ratio_at(t)

    def close(value: float) -> bool:
        return abs(value / target - 1) <= TOLERANCE

    if target <= 1 + TOLERANCE:
        return {"scale": 0.0, "ratio": 1.0, "matched": close(1.0), "evaluations": 0}
    lo, r_lo, hi = 0.0, 1.0, float(start)
    r_hi = ratio(hi)
    for _ in range(DOUBLINGS):
        if r_hi >= target:
            break
        lo, r_lo, hi = hi, r_hi, 2 * hi
        r_hi = ratio(hi)
    if r_hi < target:
        return {"scale": hi, "ratio": r_hi, "matched": close(r_hi), "evaluations": calls}
    for _ in range(BISECTION_STEPS):
        if close(r_hi) or close(r_lo):
            break
        mid = (lo + hi) / 2
        r_mid = ratio(mid)
        if r_mid < target:
            lo, r_lo = mid, r_mid
        else:
            hi, r_hi = mid, r_mid
    t, r = min(((lo, r_lo), (hi, r_hi)), key=lambda point: abs(np.log(point[1] / target)))
    return {"scale": t, "ratio": r, "matched": close(r), "evaluations": calls}


def null_p_value(real: float, null: Sequence[float]) -> float:
    """One-sided empirical p of the real drop against the null drops: (1 + #{null >= real}) / (N + 1)."""
    return (1 + sum(d >= real for d in null)) / (len(null) + 1)


def spread(values: Sequence[float]) -> dict:
    """Median and central 95% range (2.5th and 97.5th percentiles) of `values`; None when empty."""
    if not values:
        return {"n": 0, "median": None, "range95": None}
    a = np.asarray(values, dtype=float)
    return {"n": len(a), "median": float(np.median(a)), "range95": [float(np.percentile(a, q)) for q in (2.5, 97.5)]}


def null_summary(real_drop: float | None, u_unsteered: float | None, records: list[dict], matching: str) -> dict:
    """Where the real drop falls among the null's drops under one matching ('norm' or 'perplexity'):
    the drops' spread and p, and the spread of the other per-arm quantities. Directions whose U is
    undefined (no item with a_u != h) are left out of the drops (`n_undefined`), and so, under perplexity
    matching, are the directions that could not be matched (`n_matched` counts the others): a direction
    that never reaches the real ratio (the real direction may even lower perplexity, which no random one
    does) is no draw of a perplexity-matched null, so with none matched p is undefined."""
    arms = [r[matching] for r in records]
    kept = [a for a in arms if matching != "perplexity" or a["matched"]]
    drops = [u_unsteered - a["U"]["value"] for a in kept if a["U"]["value"] is not None and u_unsteered is not None]
    p = null_p_value(real_drop, drops) if real_drop is not None and drops else None
    out = {
        "n_directions": len(arms),
        "n_undefined": len(kept) - len(drops),
        "U_drop": {**spread(drops), "p": p},
        "neutral_ppl_ratio": spread([a["neutral_ppl_ratio"] for a in arms]),
        "scale": spread([a["scale"] for a in arms]),
    }
    for key in ("F", "p", "accuracy_no_hint"):
        out[key] = spread([a[key]["value"] for a in arms if a[key]["value"] is not None])
    if matching == "perplexity":
        out["n_matched"] = sum(a["matched"] for a in arms)
    out["U_drop_values"] = drops
    return out


def load_measured(path: Path, key: str) -> dict[int, dict]:
    """The directions already measured under `key` in the null file, by index (none without the file)."""
    if not path.exists():
        return {}
    records = read_jsonl(path, f"delete {path.name} to measure the null again", "null direction")
    return {r["index"]: r for _, r in records if r.get("key") == key}


def other_keys(path: Path, key: str) -> int:
    """How many directions in the null file were measured under another key (another adapter, spec,
    items or options): kept in the file, never reused. An adapter retrained on another machine, not
    byte-identical to the first, lands here."""
    if not path.exists():
        return 0
    return sum(r.get("key") != key for _, r in read_jsonl(path, "", "null direction"))


def save_measured(path: Path, key: str, measured: dict[int, dict]) -> None:
    """Rewrite the null file (atomically) with `measured` under `key` and every other key's lines kept."""
    kept = []
    if path.exists():
        kept = [r for _, r in read_jsonl(path, "", "null direction") if r.get("key") != key]
    lines = [json.dumps(r, sort_keys=True) for r in [*kept, *(measured[i] for i in sorted(measured))]]
    write_atomic(path, "\n".join(lines) + "\n")
