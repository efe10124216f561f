"""Null baselines: what the construction alone scores on the localization benchmark.

With the adapter confined to a band, base and organism share every weight before the band's first
layer b0, so every activation method is exactly 0 there. Two scores that know only that:

    random after onset   s_l = 0 for l < b0, s_l ~ Uniform(0, 1) iid for l >= b0  (simulated)
    step from onset      s_l = 0 for l < b0, s_l = 1 for l >= b0                   (exact)

Both are scored by `analyze/localization/scores.py`, as the methods are. A method that does not
beat them has located nothing the construction did not hand it. AUROC, Spearman and the peak depend
only on ranks, so the uniform's choice does not matter for them; the onset does (a first value
below a tenth of the maximum misses). The expected AUROC of the random null is exact:
(b0 + a/2) / (b0 + a), a = the layers after the band.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analyze.localization.scores import SCORES, score_layers

NULLS = ("random_after_onset", "step_from_onset")


def random_after_onset(n_layers: int, band: Sequence[int], draws: int, rng: np.random.Generator) -> np.ndarray:
    """[draws, n_layers]: 0 before the band's first layer, iid Uniform(0, 1) from it on."""
    s = rng.uniform(size=(draws, n_layers))
    s[:, : band[0]] = 0.0
    return s


def step_from_onset(n_layers: int, band: Sequence[int]) -> np.ndarray:
    """[n_layers]: 0 before the band's first layer, 1 from it on."""
    return (np.arange(n_layers) >= band[0]).astype(float)


def null_draws(n_layers: int, band: Sequence[int], n_seeds: int, draws: int, seed: int = 0) -> dict:
    """`{null: {score: values}}`: for the random null, `draws` values of the mean over `n_seeds`
    independent organisms (the null of a seed mean); for the step null, its one exact value."""
    rng = np.random.default_rng(seed)
    random = score_layers(random_after_onset(n_layers, band, draws * n_seeds, rng), band)
    step = score_layers(step_from_onset(n_layers, band), band)
    return {
        "random_after_onset": {k: random[k].reshape(draws, n_seeds).mean(axis=1) for k in SCORES},
        "step_from_onset": {k: step[k] for k in SCORES},
    }


def expected_random_auroc(n_layers: int, band: Sequence[int]) -> float:
    """Exact mean AUROC of the random null: band layers beat the b0 zeros, tie the rest on average."""
    before, after = band[0], n_layers - band[-1] - 1
    return (before + after / 2) / (before + after)


def describe(values: np.ndarray) -> dict:
    """Mean and central 95% interval of a null's values (an exact null: one value, no interval)."""
    values = np.asarray(values, dtype=float)
    if values.size == 1:
        return {"mean": float(values[0]), "low": float(values[0]), "high": float(values[0]), "draws": None}
    low, high = np.quantile(values, [0.025, 0.975])
    return {"mean": float(values.mean()), "low": float(low), "high": float(high), "draws": int(values.size)}


def versus(value: float | None, values: np.ndarray) -> dict | None:
    """A method's score against a null: margin over the null mean, and the fraction of null values
    it beats (ties count 1/2)."""
    if value is None:
        return None
    values = np.asarray(values, dtype=float)
    beats = (values < value).mean() + 0.5 * (values == value).mean()
    return {"margin": float(value - values.mean()), "beats": float(beats)}
