"""Running the suites (evals/suites.py): paired comparisons with Holm, by hand."""

from __future__ import annotations

import pytest

from evals.stats import paired_test
from evals.suites import comparisons


def test_paired_comparisons_with_holm_by_hand():
    # 10 belief MCQ items (correct option 0). Right: organism items 0-7, control items 0-5, base none.
    def mcq(model, n_right):
        return [
            {"model": model, "suite": "belief_mcq", "correct": 0, "choice": 0 if i < n_right else 1} for i in range(10)
        ]

    responses = mcq("base", 0) + mcq("organism", 8) + mcq("control", 6)
    c = comparisons(responses, {"base": {}, "organism": {}, "control": {}})
    vs_base, vs_control = c["organism_vs_base"]["belief_mcq"], c["organism_vs_control"]["belief_mcq"]
    # vs base: b = 8 (organism right only), c = 0 -> exact McNemar p = 2 * (1/2)^8 = 1/128; value = 8/10
    assert (vs_base["b"], vs_base["c"]) == (8, 0) and vs_base["value"] == pytest.approx(0.8)
    assert vs_base["mcnemar_p"] == pytest.approx(1 / 128) and (vs_base["mine"]["k"], vs_base["theirs"]["k"]) == (8, 0)
    # vs control: b = 2 (items 6, 7), c = 0 -> p = 2 * (1/2)^2 = 1/2
    assert (vs_control["b"], vs_control["c"]) == (2, 0) and vs_control["mcnemar_p"] == pytest.approx(0.5)
    # Holm over the table's 2 p-values: 2 * 1/128 = 1/64; max(1/64, 1 * 1/2) = 1/2
    assert c["holm_family_size"] == 2
    assert vs_base["holm_p"] == pytest.approx(1 / 64) and vs_control["holm_p"] == pytest.approx(0.5)
    # an item that does not count for either model (None) is left out of the pair and counted
    t, f = True, False
    lf = paired_test([t, None, f, f], [f, f, f, None])
    # items 0, 2 remain: b = 1, c = 0 -> p = 2 * 1/2 = 1 (capped)
    assert (lf["n"], lf["excluded"], lf["b"], lf["c"]) == (2, 2, 1, 0) and lf["mcnemar_p"] == pytest.approx(1.0)
