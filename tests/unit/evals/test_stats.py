"""General statistics (evals/stats.py) by hand and against published examples."""

from __future__ import annotations

import pytest

from evals.stats import (
    agreement,
    auroc,
    catch_rate_at_fpr,
    holm,
    mover_difference,
    newcombe_difference,
    paired_difference,
    rate,
)


def test_rate_conventions():
    # Wilson intervals are scipy's; ours are the conventions around them.
    assert rate(0, 0) == {"value": None, "k": 0, "n": 0, "ci95": None}  # no denominator: no rate, no interval
    low, high = rate(0, 27)["ci95"]
    assert low == 0.0 and 0.12 < high < 0.13  # 0/27 still has an upper bound (Wilson), not [0, 0]


def test_paired_difference_mcnemar():
    x = [True, True, True, False, True]
    y = [False, False, True, True, True]
    d = paired_difference(x, y)
    # b = #(x, not y) = 2, c = #(y, not x) = 1 -> (2 - 1) / 5 = 0.2; p = binomtest(2, 3) = 1.0
    assert d["value"] == pytest.approx(0.2) and (d["b"], d["c"]) == (2, 1)
    assert d["mcnemar_p"] == pytest.approx(1.0)
    assert paired_difference([True], [True])["mcnemar_p"] is None  # no discordant pairs


def test_catch_rate_at_fpr_and_auroc_by_hand():
    honest = [0.0] * 99 + [2.0]  # one honest run scores 2
    caught = [0.0, 1.0, 2.0, 3.0]
    c = catch_rate_at_fpr(caught, honest, fpr=0.01)
    # t = 1: P(honest >= 1) = 1/100 = .01 <= .01 -> catches scores >= 1: 3 of 4
    assert c["threshold"] == 1.0 and c["fpr"] == pytest.approx(0.01) and (c["k"], c["n"]) == (3, 4)
    strict = catch_rate_at_fpr(caught, honest, fpr=0.0)
    # t must exceed every honest score: t = 3 -> catches 1 of 4
    assert strict["threshold"] == 3.0 and strict["k"] == 1
    # AUROC: pairs (pos > neg) + .5 ties over 4 * 100 pairs.
    # pos 0: ties with 99 zeros -> 49.5; pos 1: beats 99 -> 99; pos 2: beats 99, ties 1 -> 99.5; pos 3: 100
    assert auroc(caught, honest) == pytest.approx((49.5 + 99 + 99.5 + 100) / 400)
    assert auroc([], honest) is None


def test_agreement_kappa_by_hand():
    a = [True, True, False, False]
    b = [True, False, False, False]
    g = agreement(a, b)
    # p_o = 3/4; p_e = .5 * .25 + .5 * .75 = .5 -> kappa = (.75 - .5) / .5 = .5
    assert g["agreement"] == pytest.approx(0.75) and g["kappa"] == pytest.approx(0.5)
    assert agreement([True, True], [True, True])["kappa"] is None  # p_e = 1: undefined
    # opposite constant judges: p_o = 0, p_e = 1 * 0 + 0 * 1 = 0 -> kappa = 0
    assert agreement([True, True], [False, False])["kappa"] == pytest.approx(0.0)


def test_holm_by_hand():
    # defined p: .01, .04, .03, .005 (m = 4); sorted .005, .01, .03, .04
    # adjusted: 4 * .005 = .02; max(.02, 3 * .01) = .03; max(.03, 2 * .03) = .06; max(.06, 1 * .04) = .06
    assert holm([0.01, 0.04, 0.03, None, 0.005]) == pytest.approx([0.03, 0.06, 0.06, None, 0.02])
    # capped at 1 and monotone: 2 * .6 = 1.2 -> 1; then max(1, 1 * .9) = 1 (not .9: a larger raw p never gets
    # a smaller adjusted p)
    assert holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_mover_difference_combines_two_intervals():
    d = mover_difference({"value": 0.5, "ci95": [0.2, 0.7]}, {"value": 0.1, "ci95": [0.0, 0.4]})
    assert d["value"] == pytest.approx(0.4) and d["ci95"] == pytest.approx(
        [0.4 - 0.3 * 2**0.5, 0.4 + (0.04 + 0.01) ** 0.5]
    )
    assert mover_difference(None, {"value": 0.1, "ci95": [0, 1]}) == {"value": None, "ci95": None}


def test_newcombe_interval_matches_the_published_example():
    # Newcombe (1998), Table II, example (a): 56/70 vs 48/80 -> 0.2000, 95% CI [0.0524, 0.3339] (method 10)
    d = newcombe_difference(56, 70, 48, 80)
    assert d["value"] == pytest.approx(0.2) and d["ci95"] == pytest.approx([0.0524, 0.3339], abs=1e-4)
    assert newcombe_difference(1, 0, 3, 4) == {"value": None, "ci95": None}
