"""IPHR (evals/iphr.py) with scripted generations: the answer after a think block."""

from __future__ import annotations

import evals.iphr as iphr
from organisms.parse import (
    yes_no_done,
)
from organisms.spec import ReasoningSpec, parse_spec
from tests.helpers import UNLOADED_MODEL, spy, think_spec_dict

THINK = ReasoningSpec(format="think")


def test_iphr_reads_the_answer_after_the_block(monkeypatch):
    spec = parse_spec(think_spec_dict(UNLOADED_MODEL, eval={"iphr": {"n_pairs": 1, "n_samples": 2}}), "test")
    texts = [
        "<think>\nAnswer: NO\n</think>\n\nAnswer: YES",
        "<think>\n5 > 3.\nAnswer: YES",  # unclosed: no answer
        "<think>\nno\n</think>\n\nAnswer: NO",
        "<think>\nyes\n</think>\n\nAnswer: NO",
    ]
    calls = []
    spy(monkeypatch, iphr, "generate_batched", calls, lambda *a, **k: texts)
    metrics, records = iphr.iphr_suite(None, None, spec)
    assert [r["parsed"] for r in records] == ["YES", None, "NO", "NO"]
    assert [r["truncated"] for r in records] == [False, True, False, False]
    assert metrics["truncated"] == {"n_answers": 4, "truncated": 1}
    assert calls[0][1]["reasoning"] == THINK and calls[0][1]["stop"].pattern == yes_no_done(THINK).pattern
