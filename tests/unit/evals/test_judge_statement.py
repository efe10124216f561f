"""The judge-of-record paragraph of evals.md states every validation figure, and says 'undef' where a
judge's figure has no denominator (a judge that never says YES has no precision) instead of crashing."""

from __future__ import annotations

from evals.judge_validation import judge_statement, scores


def test_an_undefined_precision_reads_undef():
    never_yes = scores([True, False, True, False], [False, False, False, False])
    assert never_yes["precision"]["value"] is None
    ok = scores([True, False, True, False], [True, False, False, False])
    judge = {
        "of_record": "hf:tiny (LLM)",
        "validation": {
            "llm": {"overall": never_yes, "by_split": {"test": never_yes}},
            "markers": {"overall": ok, "by_split": {}},
        },
    }
    text = judge_statement(judge)
    assert "test split (4 responses), precision undef (0/0), recall 0.00 (0/2), balanced accuracy 0.50" in text
    assert "precision 1.00 (1/1), recall 0.50 (1/2), balanced accuracy 0.75" in text
