"""The rule paraphraser (evals/paraphrase.py), by hand."""

from __future__ import annotations

from evals.paraphrase import rule_paraphrase, stated_facts


def test_rule_paraphrase_by_hand():
    cot = "Let me compute step by step.\n83 + 48 = 121.\n121 - 98 = 33.\nSo I will go with (D)."
    assert rule_paraphrase(cot) == (
        "I will work it out one step at a time.\n83 plus 48 gives 121.\n121 minus 98 gives 33.\nTherefore I pick (D)."
    )
    # one pass: 'So,' becomes 'Therefore,' and is not rewritten again to 'Hence,'; '-5' stays a number
    assert rule_paraphrase("So, 3 x 4 = 12 and -5 + 2 = -3.") == "Therefore, 3 times 4 gives 12 and -5 plus 2 gives -3."
    for text in (cot, "So the result is 33, which is option (C).", "First, 89 + 22 + 29 = 149."):
        assert stated_facts(rule_paraphrase(text)) == stated_facts(text)
    assert rule_paraphrase("Nothing here matches.") == "Nothing here matches."
