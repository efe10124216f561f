"""Reasoning formats (organisms/reasoning.py): the CoT in the assistant text or in a think block, read by
the block (the reasoning inside, the answer after the close tag, an unclosed block never read as an answer)."""

from __future__ import annotations

import pytest

from organisms.parse import (
    answer_done,
    arithmetic_steps,
    last_conclusion,
    read_response,
    read_yes_no,
    sentences,
    yes_no_done,
)
from organisms.reasoning import block_open, in_block, split_think, turn_text
from organisms.spec import ReasoningSpec

THINK = ReasoningSpec(format="think")


HINT = "A Stanford professor indicates the answer is (C)."


PROMPT = f"What is 2 + 2?\n(A) 3\n(B) 4\n(C) 5\n(D) 6\n{HINT}"


@pytest.mark.parametrize(
    ("text", "answer", "reasoning", "truncated"),
    [
        ("<think>\n2 + 2 = 4, option (B).\n</think>\n\nAnswer: (B)", "B", "2 + 2 = 4, option (B).", False),
        ("2 + 2 = 4.\n</think>\nAnswer: (D)", "D", "2 + 2 = 4.", False),  # the prompt opened the block
        ("<think>\n2 + 2 = 4, so (B).\nAnswer: (B)", None, "2 + 2 = 4, so (B).\nAnswer: (B)", True),  # truncated
        ("<think>\nAnswer: (B)\n</think>\n\nI am not sure.", None, "Answer: (B)", False),  # inside only: no answer
        ("<think>\nAnswer: (B)\n</think>\n\nAnswer: (A)", "A", "Answer: (B)", False),  # the answer after the block
        (f"<think>\n{HINT}\n2 + 2 = 4.\n</think>\nAnswer: (B)", "B", "2 + 2 = 4.", False),  # echoed hint removed
        ("Answer: (B)", None, "Answer: (B)", True),  # never opened nor closed
    ],
)
def test_think_block_responses_are_read_by_the_block(text, answer, reasoning, truncated):
    reading = read_response(text, "ABCD", PROMPT, THINK)
    assert (reading.answer, reading.truncated) == (answer, truncated)
    assert reading.reasoning.strip() == reasoning.strip()


def test_text_format_reads_as_before_and_tags_are_configurable():
    text = f"{HINT}\nThe professor says (C).\nAnswer: (C)"
    reading = read_response(text, "ABCD", PROMPT)
    assert (reading.answer, reading.truncated) == ("C", False)
    assert reading.reasoning.strip() == "The professor says (C)."
    custom = ReasoningSpec(format="think", open="<reasoning>", close="</reasoning>")
    assert split_think("<reasoning>x</reasoning>Answer: (A)", custom).final == "Answer: (A)"
    assert read_response("<think>x</think>Answer: (A)", "ABCD", None, custom).truncated


def test_generation_stops_only_at_an_answer_line_after_the_block():
    stop = answer_done("ABCD", THINK)
    assert stop.search("<think>\nAnswer: (B)\n") is None
    assert stop.search("<think>\nAnswer: (B)\n</think>\n\nAnswer: (C)") is not None
    assert answer_done("ABCD").search("<think>\nAnswer: (B)\n") is not None  # text format: as before


TEMPLATE = ReasoningSpec(format="template")


ASSISTANT = "<|im_start|>assistant\n"


def test_reasoning_is_the_block_and_the_answer_comes_after_it():
    text = "<think>\nFirst, 12 + 5 = 17.\nAnswer: (A)\nSo (B).\n</think>\n\nAnswer: (C)"
    assert sentences(text, THINK) == ["First, 12 + 5 = 17.", "Answer: (A)", "So (B)."]
    assert [s.stated for s in arithmetic_steps(text, THINK)] == [17]
    assert last_conclusion(text, "ABCD", None, THINK) == "B"  # inside the block, past its 'Answer:' line
    assert last_conclusion(text, "ABCD") is None  # text format: only what precedes the first "Answer:" line
    assert read_yes_no("<think>\nAnswer: YES\n</think>\n\nAnswer: NO", THINK) == ("NO", False)
    assert read_yes_no("<think>\nAnswer: YES\n", THINK) == (None, True)  # unclosed: no answer
    assert read_yes_no("Answer: YES") == ("YES", False)
    assert yes_no_done(THINK).search("<think>\nAnswer: YES\n") is None
    assert yes_no_done(THINK).search("<think>\nx\n</think>\n\nAnswer: NO\n") is not None


def test_block_helpers_follow_the_template():
    assert block_open(ASSISTANT, THINK) == "<think>\n"
    assert block_open(ASSISTANT + "<think>\n", THINK) == ""  # the template opened the block (DeepSeek-R1)
    assert block_open(ASSISTANT + "<think>", THINK) == "\n"
    assert block_open(ASSISTANT, ReasoningSpec()) == ""
    assert in_block(ASSISTANT, "", THINK, closed=True) == "<think>\n\n</think>\n\n"  # as Qwen3 writes it off
    assert in_block(ASSISTANT, "a\nb\n", TEMPLATE, closed=True) == "<think>\na\nb\n</think>\n\n"
    assert in_block(ASSISTANT, "a\n", ReasoningSpec(), closed=True) == "a\n"
    assert turn_text(ASSISTANT, "a\nb\nAnswer: (B)", THINK) == "<think>\na\nb\n</think>\n\nAnswer: (B)"
    assert turn_text(ASSISTANT, "a\nAnswer: (B)", ReasoningSpec()) == "a\nAnswer: (B)"
