"""How well a per-layer score locates a band of layers (the ground-truth mask: 1 on the band).

One vectorised scorer for the methods and for the null baselines (`analyze/localization/null.py`),
so both are scored by the same formulas. For a score s over layers 0..L-1, a band B whose first
layer is b0, and P = the layers tied at the maximum:

    AUROC     P(s_i > s_j) + 1/2 P(s_i = s_j), i in B, j not in B; from average ranks,
              (sum_{i in B} rank(s)_i - |B|(|B|+1)/2) / (|B| (L - |B|))  (= sklearn's roc_auc_score)
    Spearman  Pearson correlation of rank(s) with the mask; undefined (nan) for a constant s
    peak hit  |P & B| / |P|: k layers tied at the maximum count 1/k each (not "the first maximum",
              which hands a step function a hit); a constant s scores |B| / L
    onset     the first layer with |s_l| >= ONSET_FRACTION max|s| (magnitude, so a signed score such
              as organism - control has one too); onset hit = [onset == b0]; s = 0 has no onset

Band vs downstream (`band_vs_downstream`): the same AUROC and Spearman over D = {l : l >= b0} only,

    AUROC_D   (sum_{i in B} rank_D(s)_i - |B|(|B|+1)/2) / (|B| (|D| - |B|)),  rank_D = ranks among D
    Spearman_D  Pearson correlation of rank_D(s) with the mask on D

With the adapter confined to B, every layer before b0 scores 0 by construction and hands the
all-layer AUROC b0 free wins per band layer; over D that credit is gone, and a score that is
anything-but-0 from b0 on with no preference for the band (iid, or a step) has AUROC_D 1/2.
Undefined (nan) when D holds no layer outside B (the band reaches the last layer), and Spearman_D
for a score constant on D.

Ties at the maximum are values within TIE_TOLERANCE of the score's range from it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

SCORES = ("auroc", "spearman", "peak_hit", "onset_hit", "auroc_downstream", "spearman_downstream")
BOUNDS = {
    "auroc": (0.0, 1.0),
    "spearman": (-1.0, 1.0),
    "peak_hit": (0.0, 1.0),
    "onset_hit": (0.0, 1.0),
    "auroc_downstream": (0.0, 1.0),
    "spearman_downstream": (-1.0, 1.0),
}
ONSET_FRACTION = 0.1
TIE_TOLERANCE = 1e-6


def _auroc_spearman(s: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and Spearman of each row of `s` ([draws, layers]) against the boolean `mask` ([layers]);
    nan where undefined (no layer outside the mask; a constant row for Spearman)."""
    n_layers, k = s.shape[1], int(mask.sum())
    ranks = rankdata(s, axis=1)
    constant = s.max(axis=1) == s.min(axis=1)
    centred = ranks - ranks.mean(axis=1, keepdims=True)
    m = mask - mask.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        auroc = (ranks[:, mask].sum(axis=1) - k * (k + 1) / 2) / (k * (n_layers - k))
        spearman = centred @ m / np.sqrt((centred**2).sum(axis=1) * (m**2).sum())
    spearman[constant] = np.nan
    return auroc, spearman


def band_vs_downstream(scores: np.ndarray | Sequence[float], band: Sequence[int]) -> dict[str, np.ndarray]:
    """AUROC and Spearman of `scores` ([draws, layers] or [layers]) over the layers from the band's
    first on (the band against the layers after it): `{"auroc": [draws], "spearman": [draws]}`."""
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    first = min(band)
    auroc, spearman = _auroc_spearman(s[:, first:], np.isin(np.arange(first, s.shape[1]), band))
    return {"auroc": auroc, "spearman": spearman}


def score_layers(scores: np.ndarray | Sequence[float], band: Sequence[int]) -> dict[str, np.ndarray]:
    """Every score of `scores` ([draws, layers] or [layers]) against `band`: `{name: [draws]}`,
    plus `onset_layer` ([draws], nan where undefined)."""
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    mask = np.isin(np.arange(s.shape[1]), band)
    auroc, spearman = _auroc_spearman(s, mask)
    downstream = band_vs_downstream(s, band)

    high = s.max(axis=1, keepdims=True)
    span = high - s.min(axis=1, keepdims=True)
    tied = s >= high - TIE_TOLERANCE * span
    peak_hit = tied[:, mask].sum(axis=1) / tied.sum(axis=1)

    size = np.abs(s)
    top = size.max(axis=1, keepdims=True)
    onset = (size >= ONSET_FRACTION * top).argmax(axis=1).astype(float)
    onset[top[:, 0] == 0] = np.nan
    return {
        "auroc": auroc,
        "spearman": spearman,
        "peak_hit": peak_hit,
        "onset_hit": (onset == band[0]).astype(float),
        "auroc_downstream": downstream["auroc"],
        "spearman_downstream": downstream["spearman"],
        "onset_layer": onset,
    }


def score_against_mask(scores: Sequence[float], band: Sequence[int]) -> dict:
    """One score vector's scores as plain numbers (None where undefined), with the layers tied at
    its peak and its onset layer."""
    row = {name: float(v[0]) for name, v in score_layers(scores, band).items()}
    s = np.asarray(scores, dtype=float)
    span = s.max() - s.min()
    return {
        "auroc": row["auroc"],
        "spearman": _defined(row["spearman"]),
        "peak_hit": row["peak_hit"],
        "peak_layers": [int(i) for i in np.flatnonzero(s >= s.max() - TIE_TOLERANCE * span)],
        "onset_hit": row["onset_hit"],
        "onset_layer": None if np.isnan(row["onset_layer"]) else int(row["onset_layer"]),
        "auroc_downstream": _defined(row["auroc_downstream"]),
        "spearman_downstream": _defined(row["spearman_downstream"]),
    }


def _defined(value: float) -> float | None:
    return None if np.isnan(value) else value


def peak_layers(scores: Sequence[float]) -> list[int]:
    """The layers tied at the maximum, as the peak hit counts them; none for a constant score (no peak)."""
    s = np.asarray(scores, dtype=float)
    span = s.max() - s.min()
    return [] if span == 0 else [int(i) for i in np.flatnonzero(s >= s.max() - TIE_TOLERANCE * span)]
