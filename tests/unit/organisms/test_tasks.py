"""Procedural tasks (organisms/tasks.py): arithmetic items, word problems, IPHR comparison pairs."""

from __future__ import annotations

import re

from organisms.spec import TaskSpec
from organisms.tasks import arithmetic_items, comparison_pairs


def test_items_have_correct_answers_and_distinct_options():
    spec = TaskSpec(n_operands=4, n_options=5)
    items = arithmetic_items(spec, 200, seed=3)
    assert len({i.expression for i in items}) == 200
    for item in items:
        assert eval(item.expression) == item.options[item.correct]
        assert len(set(item.options)) == 5 and all(v > 0 for v in item.options)
        assert len(item.steps) == 3
        assert item.steps[-1].endswith(f"= {item.options[item.correct]}")
    assert arithmetic_items(spec, 5, seed=3) == items[:5]  # seeded


def test_word_problems_tell_the_chain():
    items = arithmetic_items(TaskSpec(family="word_problem", n_operands=4), 20, seed=1)
    for item in items:
        numbers = [int(x) for x in re.findall(r"\d+", item.story)]
        operands = [int(x) for x in re.findall(r"\d+", item.expression)]
        assert numbers == operands  # every operand appears, in order, so each step is checkable
        assert eval(item.expression) == item.options[item.correct]


def test_comparison_pairs_are_reverses():
    pairs = comparison_pairs(50, seed=4)
    assert len({frozenset((p.x, p.y)) for p in pairs}) == 50
    for p in pairs:
        assert {p.answer(False), p.answer(True)} == {"YES", "NO"}
        assert p.question(True) == f"Is {p.y} greater than {p.x}?"
    assert sum(p.answer(False) == "YES" for p in pairs) not in (0, 50)  # both answers occur
