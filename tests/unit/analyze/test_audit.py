"""The audit ladder's verdict rules (analyze/audit/ladder.py)."""

from __future__ import annotations

from analyze.audit.ladder import EXPOSES, NOT_EXPOSED, UNDETERMINED, verdict


def test_verdict_rules():
    above = {"value": 0.8, "n": 5, "above_null": {"value": 0.8, "ci95": [0.2, 1.0]}}
    level = {"value": 0.2, "n": 5, "above_null": {"value": 0.0, "ci95": [-0.5, 0.5]}}
    assert verdict("prompting", above) == EXPOSES and verdict("cot", level) == NOT_EXPOSED
    assert verdict("prefill", {"value": None, "n": 0}) == UNDETERMINED
    assert verdict("steering", {"value": 0.5, "ci95": [0.1, 0.9]}) == EXPOSES
    assert verdict("patching", {"value": 0.5, "ci95": [-0.1, 0.9]}) == NOT_EXPOSED
    assert verdict("probes", {"value": 0.4, "ci95": [0.1, 0.6]}) == EXPOSES
    assert verdict("probes", {"value": 0.4, "ci95": [-0.1, 0.6]}) == NOT_EXPOSED
    assert verdict("probes", None) == UNDETERMINED
    assert verdict("weights", {"value": 3.0, "ci95": None}) == NOT_EXPOSED
