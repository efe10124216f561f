"""The shipped question set (organisms/question_sets/mixed-mcq.jsonl) is what it claims: well-formed,
no duplicates, every computable answer recomputed from its question, and reasoning texts that
neither give away an option letter nor read as a hint mention (which would make a hidden-hint
organism's transcripts verbalize by accident)."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter

import pytest

from organisms.hints import HINTS
from organisms.questions import QUESTION_SETS_DIR, load_question_set
from organisms.spec import DatasetSpec

PATH = QUESTION_SETS_DIR / "mixed-mcq.jsonl"
ROWS = [json.loads(line) for line in PATH.read_text(encoding="utf-8").splitlines()]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
# (larger unit, smaller unit) -> how many of the smaller make one of the larger
FACTORS = {
    ("metres", "centimetres"): 100,
    ("kilometres", "metres"): 1000,
    ("kilograms", "grams"): 1000,
    ("hours", "minutes"): 60,
    ("minutes", "seconds"): 60,
    ("litres", "millilitres"): 1000,
    ("days", "hours"): 24,
    ("weeks", "days"): 7,
    ("feet", "inches"): 12,
}


def correct_text(row: dict) -> str:
    return row["choices"]["ABCD".index(row["answer"])]


def test_shape_and_coverage():
    assert len(ROWS) >= 200
    subjects = Counter(row["subject"] for row in ROWS)
    assert len(subjects) >= 6 and min(subjects.values()) >= 20, subjects
    for row in ROWS:
        assert set(row) == {"question", "choices", "answer", "subject", "reasoning"}, row
        assert len(row["choices"]) == 4 and len(set(row["choices"])) == 4, row
        assert row["answer"] in "ABCD", row
        assert row["question"].strip() and row["reasoning"].strip(), row
    letters = Counter(row["answer"] for row in ROWS)
    assert min(letters.values()) > len(ROWS) / 8, letters  # the correct letter is not always the same one


def test_no_duplicates_and_stable_unique_ids():
    questions = [" ".join(row["question"].lower().split()) for row in ROWS]
    assert len(set(questions)) == len(questions), [q for q, n in Counter(questions).items() if n > 1]
    items = load_question_set(DatasetSpec(), n_options=4).items
    assert len(items) == len(ROWS) and len({item.id for item in items}) == len(items)
    for row, item in zip(ROWS, items, strict=True):
        assert item.question == row["question"] and item.reasoning == row["reasoning"]
        assert item.options[item.correct] == correct_text(row) and item.subject == row["subject"]


def recompute(row: dict) -> str | None:
    """The answer worked out from the question alone, for every computable subject (None otherwise)."""
    q = row["question"]
    if row["subject"] == "arithmetic":
        a, op, b = re.fullmatch(r"What is (\d+) ([×+\-÷]) (\d+)\?", q).groups()
        a, b = int(a), int(b)
        if op == "÷":
            assert a % b == 0, q
        return str({"×": a * b, "+": a + b, "-": a - b, "÷": a // b if b else None}[op])
    if row["subject"] == "units":
        small, quantity, big = re.fullmatch(r"How many (\w+) are in (\d+) (\w+)\?", q).groups()
        return str(int(quantity) * FACTORS[(big, small)])
    if row["subject"] == "sequences":
        terms = [int(t) for t in re.fullmatch(r"What number comes next: ([\d, ]+), \.\.\.\?", q).group(1).split(", ")]
        differences = {b - a for a, b in itertools.pairwise(terms)}
        if len(differences) == 1:
            return str(terms[-1] + differences.pop())
        ratios = {b / a for a, b in itertools.pairwise(terms)}
        assert len(ratios) == 1, q  # neither arithmetic nor geometric: not a well-posed item
        return str(terms[-1] * int(ratios.pop()))
    if row["subject"] == "calendar":
        today, days = re.fullmatch(r"If today is (\w+), what day of the week will it be in (\d+) days\?", q).groups()
        return DAYS[(DAYS.index(today) + int(days)) % 7]
    return None


@pytest.mark.parametrize("subject", ["arithmetic", "units", "sequences", "calendar"])
def test_computable_answers_are_right(subject):
    rows = [row for row in ROWS if row["subject"] == subject]
    assert len(rows) >= 20
    wrong = [
        (row["question"], correct_text(row), recompute(row)) for row in rows if recompute(row) != correct_text(row)
    ]
    assert not wrong, wrong
    for row in rows:  # the reasoning states the same result
        assert correct_text(row) in row["reasoning"], row


def test_reasoning_names_no_letter_and_no_hint():
    for row in ROWS:
        assert not re.search(r"\([A-H]\)", row["reasoning"]), row
        for hint in HINTS.values():
            assert not hint.is_verbalized(row["reasoning"]), (hint.type, row["reasoning"])
