"""The benchmark's numbers: every row's scores over training seeds, beside the null baselines.

A row is a method, the white-box weight deltas, or a method's organism-minus-control score. Per
row, band and score: the mean over seeds with a 95% t-interval (`scipy.stats.t`, n - 1 degrees of
freedom, clipped to the score's range; none for one seed), its margin over each null's mean and
the share of null draws it beats.
The random null is simulated for a mean over as many seeds as the row has, so its interval is the
one the seed mean must clear. "mean" (over bands) averages each seed's band scores first, then
takes the interval over seeds; its null is the mean of the bands' independent nulls.
A row with a random-LoRA counterpart (`null_rows`: the same method on the equal-norm random LoRA
of the same (band, seed)'s adapter) is also compared with it, paired by seed: the mean and
t-interval of row - counterpart over the seeds where both are defined (`vs.random_lora`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from analyze.localization.null import NULLS, describe, null_draws, versus
from analyze.localization.scores import BOUNDS, SCORES

MEAN = "mean"


def band_name(band: Sequence[int]) -> str:
    return f"{band[0]}-{band[-1]}"


def seed_interval(values: Sequence[float | None], bounds: tuple[float, float] = (-np.inf, np.inf)) -> dict:
    """Mean and 95% t-interval of the defined values (an interval needs two), clipped to `bounds`
    (the score's range: three hit shares of 0, 1, 1 give a t-interval far outside [0, 1])."""
    kept = [float(v) for v in values if v is not None]
    n = len(kept)
    if n == 0:
        return {"mean": None, "low": None, "high": None, "n": 0}
    mean = float(np.mean(kept))
    if n == 1:
        return {"mean": mean, "low": None, "high": None, "n": 1}
    sem = float(stats.sem(kept))
    low, high = (mean, mean) if sem == 0 else stats.t.interval(0.95, n - 1, loc=mean, scale=sem)
    return {"mean": mean, "low": float(max(low, bounds[0])), "high": float(min(high, bounds[1])), "n": n}


def _defined_mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def _versus_nulls(values: list[float | None], score: str, sims: dict) -> dict:
    cell = seed_interval(values, BOUNDS[score])
    cell["vs"] = {null: versus(cell["mean"], sims[null][score]) for null in NULLS}
    return cell


def paired_difference(values: list[float | None], nulls: list[float | None], score: str) -> dict:
    """Mean and 95% t-interval over seeds of value - null, seeds where both are defined (`margin`:
    the mean), clipped to the difference's range."""
    low, high = BOUNDS[score]
    kept = [v - n for v, n in zip(values, nulls, strict=True) if v is not None and n is not None]
    cell = seed_interval(kept, (low - high, high - low))
    return {"margin": cell["mean"], "low": cell["low"], "high": cell["high"], "n": cell["n"]}


def summarise(
    per_seed: dict[str, list[list[dict]]],
    bands: list[list[int]],
    n_layers: int,
    draws: int,
    seed: int = 0,
    null_rows: dict[str, str] | None = None,
) -> dict:
    """`per_seed[row][band index][seed index]` = that run's scores (`score_against_mask`); `null_rows`:
    row -> its random-LoRA counterpart row.
    Returns `{"nulls": {band|mean: {null: {score: mean, low, high, draws}}}, "rows": {row: {band|mean:
    {score: mean, low, high, n, vs: {null: margin, beats; random_lora: margin, low, high, n}}}}}`."""
    n_seeds = max(len(runs) for rows in per_seed.values() for runs in rows)
    sims = [null_draws(n_layers, band, n_seeds, draws, seed + i) for i, band in enumerate(bands)]
    names = [band_name(b) for b in bands]
    sims_by = dict(zip(names, sims, strict=True))
    sims_by[MEAN] = {null: {s: np.mean([sim[null][s] for sim in sims], axis=0) for s in SCORES} for null in NULLS}
    nulls = {n: {null: {s: describe(sim[null][s]) for s in SCORES} for null in NULLS} for n, sim in sims_by.items()}

    values = {}
    for row, by_band in per_seed.items():
        values[row] = {n: {s: [run[s] for run in runs] for s in SCORES} for n, runs in zip(names, by_band, strict=True)}
        seeds = range(len(by_band[0]))
        values[row][MEAN] = {s: [_defined_mean([runs[i][s] for runs in by_band]) for i in seeds] for s in SCORES}
    rows = {
        row: {name: {s: _versus_nulls(v[s], s, sims_by[name]) for s in SCORES} for name, v in by_name.items()}
        for row, by_name in values.items()
    }
    for row, null in (null_rows or {}).items():
        for name, cells in rows[row].items():
            for s, cell in cells.items():
                cell["vs"]["random_lora"] = paired_difference(values[row][name][s], values[null][name][s], s)
    return {"nulls": nulls, "rows": rows}
