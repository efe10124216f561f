"""CoT necessity (evals/necessity.py): the no-CoT answer after an empty closed block."""

from __future__ import annotations

import evals.necessity as necessity
from organisms.items import McqItem
from organisms.prompts import Prompt
from organisms.spec import ReasoningSpec
from tests.helpers import spy

THINK = ReasoningSpec(format="think")


ASSISTANT = "<|im_start|>assistant\n"


def test_no_cot_answer_is_forced_after_an_empty_closed_block(think_lm, monkeypatch):
    model, tokenizer = think_lm
    item = McqItem("i0", "12 + 5", ("12 + 5 = 17",), (16, 17, 18, 19), 1)
    calls = []
    spy(monkeypatch, necessity, "forced_answers", calls)
    answers = necessity.no_cot_answers(model, tokenizer, [Prompt(item, None, None, "none")], 4, THINK)
    assert len(answers) == 1 and answers[0] in "ABCD"
    assert calls[0][0][2][0].endswith(ASSISTANT + "<think>\n\n</think>\n\n")
    necessity.no_cot_answers(model, tokenizer, [Prompt(item, None, None, "none")], 4)
    assert calls[1][0][2][0].endswith("<think>\n\n</think>\n\n")  # text format: the template's own empty block
