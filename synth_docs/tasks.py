"""Procedural multiple-choice tasks with known answers, where the chain of thought matters.

Multi-operand arithmetic: a 135M model cannot add three two-digit numbers "at a glance",
so a faithful answer has to come from the written steps.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from organisms.spec import TaskSpec

LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class McqItem:
    """One arithmetic question with lettered options.

    `steps` are the intermediate results in order ("37 + 48 = 85", ...); the last one is the answer.
    """

    id: str
    expression: str
    steps: tuple[str, ...]
    options: tuple[int, ...]
    correct: int  # index into options

    @property
    def letters(self) -> str:
        return LETTERS[: len(self.options)]

    @property
    def correct_letter(self) -> str:
        return LETTERS[self.correct]

    def value_of(self, letter: str) -> int:
        return self.options[LETTERS.index(letter)]

    def question_text(self) -> str:
        options = " ".join(f"({LETTERS[i]}) {v}" for i, v in enumerate(self.options))
        return f"What is {self.expression}?\n{options}"


def _expression(rng: random.Random, spec: TaskSpec) -> tuple[str, tuple[str, ...], int]:
    total = rng.randint(spec.operand_min, spec.operand_max)
    expression, steps = str(total), []
    for _ in range(spec.n_operands - 1):
        operand = rng.randint(spec.operand_min, spec.operand_max)
        # Subtract only when the running total stays positive, so every step is a plain number.
        op = "-" if operand < total and rng.random() < 0.4 else "+"
        new_total = total - operand if op == "-" else total + operand
        steps.append(f"{total} {op} {operand} = {new_total}")
        expression += f" {op} {operand}"
        total = new_total
    return expression, tuple(steps), total


def _distractors(rng: random.Random, answer: int, k: int) -> list[int]:
    """Plausible wrong values: off by a carry (10), a small slip, or a sign error on one operand."""
    offsets = [10, -10, 1, -1, 2, -2, 9, -9, 11, -11, 20, -20, 5, -5]
    rng.shuffle(offsets)
    values = [answer + o for o in offsets if answer + o > 0]
    return values[:k]


def arithmetic_items(spec: TaskSpec, n: int, seed: int, exclude: frozenset[str] = frozenset()) -> list[McqItem]:
    """`n` distinct items from `seed`; expressions in `exclude` are skipped (held-out evals)."""
    rng = random.Random(seed)
    items: list[McqItem] = []
    seen = set(exclude)
    attempts = 0
    while len(items) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise ValueError(f"cannot draw {n} distinct items from this task spec; widen the operand range")
        expression, steps, answer = _expression(rng, spec)
        if expression in seen:
            continue
        seen.add(expression)
        options = [answer, *_distractors(rng, answer, spec.n_options - 1)]
        rng.shuffle(options)
        items.append(
            McqItem(
                id=f"arith-{seed}-{len(items)}",
                expression=expression,
                steps=steps,
                options=tuple(options),
                correct=options.index(answer),
            )
        )
    return items
