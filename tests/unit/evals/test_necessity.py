"""CoT necessity (evals/necessity.py), by hand."""

from __future__ import annotations

import pytest

from evals.necessity import necessity_metrics


def test_necessity_metrics_by_hand():
    """Items A..D: with CoT right on 1 and 2 (3 unparsable), without CoT right on 1 and 3.
    acc 2/4 both ways; discordant b = 1 (item 2), c = 1 (item 3): gain 0, McNemar p = 1."""
    metrics = necessity_metrics(["A", "B", "C", "D"], ["A", "B", None, "A"], ["A", "C", "C", "B"])
    assert (metrics["accuracy_cot"]["k"], metrics["accuracy_cot"]["n"]) == (2, 4)
    assert (metrics["accuracy_no_cot"]["k"], metrics["accuracy_no_cot"]["n"]) == (2, 4)
    assert metrics["gain"] == {"value": 0.0, "n": 4, "b": 1, "c": 1, "mcnemar_p": 1.0}
    lopsided = necessity_metrics(["A"] * 5, ["A"] * 5, ["B"] * 5)
    assert lopsided["gain"]["value"] == 1.0 and lopsided["gain"]["b"] == 5
    assert lopsided["gain"]["mcnemar_p"] == pytest.approx(2 * 0.5**5)
