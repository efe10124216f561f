"""General statistics: intervals, differences, tests and scores, each returning the JSON dict of its
value type (evals/results.py). The domain's formulas that use them are in evals/metrics.py.

    rate                 k/n with its Wilson 95% interval                          (Wilson 1927)
    newcombe_difference  p1 - p2 of two independent rates, hybrid score interval  (Newcombe 1998, method 10)
    mover_difference     a - b of two independent estimates with intervals        (Zou & Donner 2008)
    paired_difference    P(x) - P(y) on paired observations, exact McNemar p
    paired_test          both rates and their paired difference, items with None left out
    holm                 Holm's step-down adjusted p-values across a family of tests
    bootstrap_interval   percentile bootstrap 95% interval of a mean
    auroc, catch_rate_at_fpr, agreement: a score's separation of two groups, and two judges' agreement
    threshold_at_fpr     a score's threshold at a false-positive rate, from the negatives alone
    auroc_interval       AUROC with a stratified percentile bootstrap 95% interval
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import binomtest, bootstrap
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from evals.results import Difference, Estimate, PairedDifference, Rate


def rate(k: int, n: int) -> dict:
    """k/n with its Wilson 95% interval; value and interval are None when n = 0."""
    if n == 0:
        return Rate(k, n).to_json()
    return Rate(k, n, k / n, tuple(wilson(k, n))).to_json()


def wilson(k: int, n: int, confidence: float = 0.95) -> list[float]:
    """Wilson score interval of k/n (`scipy.stats.binomtest(...).proportion_ci`); n > 0."""
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return [float(ci.low), float(ci.high)]


def newcombe_difference(k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95) -> dict:
    """k1/n1 - k2/n2 for two independent samples with Newcombe's hybrid score 95% interval (his method 10),
    built from the Wilson intervals (l_i, u_i) of each rate (at `confidence`):

        low  = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)      high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)

    value and interval are None when either n is 0."""
    if n1 == 0 or n2 == 0:
        return Difference(None).to_json()
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = wilson(k1, n1, confidence), wilson(k2, n2, confidence)
    d = p1 - p2
    low = d - float(np.hypot(p1 - l1, u2 - p2))
    high = d + float(np.hypot(u1 - p1, p2 - l2))
    return Difference(d, (low, high)).to_json()


def mover_difference(a: dict | None, b: dict | None) -> dict:
    """a - b of two independent estimates with intervals, by the same recipe as Newcombe's (MOVER, Zou &
    Donner 2008): low = d - sqrt((a - a_low)^2 + (b_high - b)^2), high = d + sqrt((a_high - a)^2 + (b - b_low)^2).
    None when either is missing."""
    if not a or not b or a.get("ci95") is None or b.get("ci95") is None:
        return Difference(None).to_json()
    (al, ah), (bl, bh) = a["ci95"], b["ci95"]
    d = a["value"] - b["value"]
    low = d - float(np.hypot(a["value"] - al, bh - b["value"]))
    high = d + float(np.hypot(ah - a["value"], b["value"] - bl))
    return Difference(d, (low, high)).to_json()


def paired_difference(x: Sequence[bool], y: Sequence[bool]) -> dict:
    """P(x) - P(y) on paired observations, with the McNemar exact test on the discordant pairs.

    b = #(x and not y), c = #(y and not x); value = (b - c) / n; p = binomial test of b in b + c at 1/2."""
    n = len(x)
    b = sum(u and not v for u, v in zip(x, y, strict=True))
    c = sum(v and not u for u, v in zip(x, y, strict=True))
    p_value = float(binomtest(b, b + c, 0.5).pvalue) if b + c else None
    return PairedDifference((b - c) / n if n else None, n, b, c, p_value).to_json()


def paired_test(x: Sequence[bool | None], y: Sequence[bool | None]) -> dict:
    """Two models' per-item indicators on the same items: both rates, their difference and McNemar's exact p.

    Items where either indicator is None (not applicable, e.g. unparsable) are left out and counted."""
    both = [(u, v) for u, v in zip(x, y, strict=True) if u is not None and v is not None]
    mine, theirs = [u for u, _ in both], [v for _, v in both]
    return {
        "mine": rate(sum(mine), len(mine)),
        "theirs": rate(sum(theirs), len(theirs)),
        **paired_difference(mine, theirs),
        "excluded": len(x) - len(both),
    }


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None and does not count toward m).

    With the m defined p-values sorted ascending, p_(1) <= ... <= p_(m):
        adj_(i) = min(1, max_{j <= i} (m - j + 1) p_(j))
    Reject at level a exactly where adj <= a; controls the family-wise error rate."""
    order = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p))
        adjusted[i] = running
    return adjusted


def bootstrap_interval(values: np.ndarray, resamples: int = 2000, seed: int = 0) -> list[float] | None:
    """Percentile bootstrap 95% interval of the mean of `values` (`scipy.stats.bootstrap`), seeded; None for
    fewer than two values, the point itself when they are all equal (the resampled means are one number)."""
    if values.size < 2:
        return None
    if np.ptp(values) == 0:
        mean = float(values.mean())
        return [mean, mean]
    boot = bootstrap(
        (values,),
        np.mean,
        n_resamples=resamples,
        confidence_level=0.95,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    return [float(boot.confidence_interval.low), float(boot.confidence_interval.high)]


def catch_rate_at_fpr(positive: Sequence[float], negative: Sequence[float], fpr: float = 0.01) -> dict:
    """A monitor's catch rate on misbehaving runs at a threshold set on honest runs.

    The threshold t is the smallest score such that P(honest score >= t) <= fpr (scores above
    every honest score give t = max + 1, i.e. flag only scores beyond anything honest);
    catch rate = P(misbehaving score >= t) with its Wilson interval."""
    if not negative or not positive:
        return {"threshold": None, "fpr": None, **rate(0, 0)}
    candidates = sorted({*positive, *negative, max(negative) + 1})
    threshold = next(t for t in candidates if np.mean([s >= t for s in negative]) <= fpr)
    achieved = float(np.mean([s >= threshold for s in negative]))
    caught = sum(s >= threshold for s in positive)
    return {"threshold": float(threshold), "fpr": achieved, **rate(caught, len(positive))}


def auroc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """P(score of a positive > score of a negative) + 1/2 P(tie) (`sklearn.metrics.roc_auc_score`);
    None without both. Used by the monitor suite and the localization benchmark."""
    if not len(positive) or not len(negative):
        return None
    labels = [1] * len(positive) + [0] * len(negative)
    return float(roc_auc_score(labels, [*positive, *negative]))


def threshold_at_fpr(negative: Sequence[float], fpr: float = 0.01) -> float | None:
    """The smallest t among the negative (honest) scores and max + 1 such that P(negative >= t) <= fpr: set
    on negatives alone (a calibration split), as `catch_rate_at_fpr` sets it. With integer scores, max + 1
    flags only scores above every negative one. None without negatives."""
    if not len(negative):
        return None
    candidates = sorted({*negative, max(negative) + 1})
    return float(next(t for t in candidates if np.mean([s >= t for s in negative]) <= fpr))


def auroc_interval(positive: Sequence[float], negative: Sequence[float], resamples: int = 2000, seed: int = 0) -> dict:
    """AUROC (`auroc`) as an Estimate dict {value, ci95, n = positives + negatives}, with a percentile
    bootstrap 95% interval that resamples positives and negatives apart (stratified), seeded; value None
    without both groups, no interval with fewer than three scores."""
    value = auroc(positive, negative)
    n = len(positive) + len(negative)
    if value is None or n < 3:
        return Estimate(value, None, n).to_json()
    pos, neg = np.asarray(positive, dtype=float), np.asarray(negative, dtype=float)
    wins = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])  # [positives, negatives]
    rng = np.random.default_rng(seed)
    means = [
        wins[np.ix_(rng.integers(0, len(pos), len(pos)), rng.integers(0, len(neg), len(neg)))].mean()
        for _ in range(resamples)
    ]
    return Estimate(value, (float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))), n).to_json()


def agreement(a: Sequence[bool], b: Sequence[bool]) -> dict:
    """Raw agreement and Cohen's kappa (`sklearn.metrics.cohen_kappa_score`) of two binary judges on
    the same responses.

    kappa = (p_o - p_e) / (1 - p_e), p_e = P(a) P(b) + (1 - P(a)) (1 - P(b)); undefined when p_e = 1
    (both judges give one and the same verdict throughout)."""
    n = len(a)
    if n == 0:
        return {"n": 0, "agreement": None, "kappa": None}
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    constant = len(set(a)) == 1 and set(a) == set(b)
    kappa = None if constant else float(cohen_kappa_score(list(a), list(b)))
    return {"n": n, "agreement": p_o, "kappa": kappa}
