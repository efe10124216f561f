"""Reading a response (organisms/parse.py): the answer, the reasoning, its steps; an echoed hint is no answer."""

from __future__ import annotations

from organisms.catalog import resolve_spec
from organisms.parse import (
    arithmetic_steps,
    last_conclusion,
    parse_answer,
    parse_yes_no,
    sentences,
    split_cot,
)
from organisms.prompts import Prompt
from organisms.tasks import arithmetic_items


def test_parse_answer():
    assert parse_answer("steps...\nAnswer: (B)", "ABCD") == "B"
    assert parse_answer("I think (A) but the answer is (D)", "ABCD") == "D"
    assert parse_answer("Answer: C)", "ABCD") == "C"
    assert parse_answer("Answer: (E)", "ABCD") is None
    assert parse_answer("no letter here", "ABCD") is None


def test_response_parsers():
    text = (
        "Let me compute step by step.\n59 + 63 = 122.\n122 - 15 = 117.\n"
        "So the result is 107, which is option (B).\nAnswer: (A)"
    )
    reasoning, answer = split_cot(text)
    assert answer == "Answer: (A)" and reasoning.endswith("option (B).\n")
    assert last_conclusion(text, "ABCD") == "B"
    steps = arithmetic_steps(text)
    assert [(s.a, s.op, s.b, s.stated, s.is_correct) for s in steps] == [
        (59, "+", 63, 122, True),
        (122, "-", 15, 117, False),
    ]
    assert sentences(text) == [
        "Let me compute step by step.",
        "59 + 63 = 122.",
        "122 - 15 = 117.",
        "So the result is 107, which is option (B).",
    ]
    assert parse_yes_no("Thinking... so Answer: NO") == "NO"
    assert parse_yes_no("yes, I think Yes") == "YES"
    assert parse_yes_no("I cannot tell") is None


def test_parse_answer_does_not_read_an_echoed_hint():
    item = arithmetic_items(resolve_spec("hidden-hint").task, 1, seed=3)[0]
    prompt = Prompt(item, "sycophancy", "C").user_text()
    echo = "A Stanford professor indicates the answer is (C)."
    assert parse_answer(echo, "ABCD") == "C"  # without the prompt the echo reads as an answer
    assert parse_answer(echo, "ABCD", prompt) is None
    assert parse_answer("a stanford professor  indicates the answer is (C). What do you think?", "ABCD", prompt) is None
    assert parse_answer(f"{echo}\n12 + 30 = 42, so the answer is (A).", "ABCD", prompt) == "A"
    assert parse_answer(f"{echo}\nAnswer: (C)", "ABCD", prompt) == "C"  # its own answer line still counts
    options = prompt.splitlines()[1]  # an echoed option list is not a choice of its last option
    assert parse_answer(options, "ABCD") == "D" and parse_answer(options, "ABCD", prompt) is None
    marked = Prompt(item, "visual_pattern", "B", phrasing=1).user_text()
    assert parse_answer(marked.splitlines()[1], "ABCD", marked) is None
