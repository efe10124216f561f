"""Lanham interventions (evals/lanham.py) without a model: the corrupted step."""

from __future__ import annotations

from evals.lanham import corrupt


def test_corrupt_changes_only_the_stated_result():
    assert corrupt("37 + 48 = 85.") == "37 + 48 = 95."
    assert corrupt("So the result is 66, which is option (A).") is None
