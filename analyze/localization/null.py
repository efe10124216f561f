"""Null baselines: what the construction alone scores on the localization benchmark.

With the adapter confined to a band, base and organism share every weight before the band's first
layer b0, so every activation method is exactly 0 there. Two scores that know only that:

    random after onset   s_l = 0 for l < b0, s_l ~ Uniform(0, 1) iid for l >= b0  (simulated)
    step from onset      s_l = 0 for l < b0, s_l = 1 for l >= b0                   (exact)

Both are scored by `analyze/localization/scores.py`, as the methods are. A method that does not
beat them has located nothing the construction did not hand it. AUROC, Spearman and the peak depend
only on ranks, so the uniform's choice does not matter for them; the onset does (a first value
below a tenth of the maximum misses). The expected AUROC of the random null is exact:
(b0 + a/2) / (b0 + a), a = the layers after the band. Band vs downstream (the layers from b0 on
only) both nulls score AUROC 1/2 (the random one in expectation, the step one exactly: all tied);
the step's Spearman there is undefined (constant).

The random-LoRA null (`analyze/methods/random_adapter.py`, run by `app/benchmarks/localization.py`)
is the measured counterpart: a real adapter in the same band, of the organism's size, that learned
nothing, through the same methods.
"""

from __future__ import annotations

import itertools
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


def sign_flip(values: Sequence[float], centre: float) -> dict:
    """The exchangeability null of a mean of organism - control scores, exact over all 2^n sign flips.

    If the organism and its control were exchangeable (two draws of "an adapter in this band": nothing
    the one property adds), each difference d = s_org - s_ctrl would be as likely as -d, and each
    score v of d as likely as its mirror 2 centre - v: AUROC(-d) = 1 - AUROC(d) (centre 1/2),
    Spearman(-d) = -Spearman(d) (centre 0), in all layers or band vs downstream alike. With
    v_i - centre = x_i (i = 1..n, one per seed, or per band and seed), the null's means are
    centre + (1/n) sum_i e_i x_i over e in {-1, +1}^n; `p` is the share of them at least as far
    from the centre as the observed mean (two-sided; its smallest value is 2 / 2^n)."""
    x = np.asarray(values, dtype=float) - centre
    flips = np.array(list(itertools.product((1.0, -1.0), repeat=x.size)))
    means = flips @ x / x.size
    observed = abs(x.mean())
    p = float((np.abs(means) >= observed - 1e-12).mean())
    return {"mean": float(centre + x.mean()), "centre": centre, "p": p, "flips": int(flips.shape[0])}


def describe(values: np.ndarray) -> dict:
    """Mean and central 95% interval of a null's defined values (an exact null: one value, no interval;
    none defined: all None)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return {"mean": None, "low": None, "high": None, "draws": None}
    if values.size == 1:
        return {"mean": float(values[0]), "low": float(values[0]), "high": float(values[0]), "draws": None}
    low, high = np.quantile(values, [0.025, 0.975])
    return {"mean": float(values.mean()), "low": float(low), "high": float(high), "draws": int(values.size)}


def versus(value: float | None, values: np.ndarray) -> dict | None:
    """A method's score against a null: margin over the null mean, and the fraction of null values
    it beats (ties count 1/2); None where either is undefined."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if value is None or values.size == 0:
        return None
    beats = (values < value).mean() + 0.5 * (values == value).mean()
    return {"margin": float(value - values.mean()), "beats": float(beats)}
