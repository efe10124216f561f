"""A multiple-choice item and its option letters: what every task source (procedural or question set) yields."""

from __future__ import annotations

from dataclasses import dataclass

LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class McqItem:
    """One question with lettered options.

    `steps` are the intermediate results in order ("37 + 48 = 85", ...); the last one is the answer.
    `expression` is the item's identity across stages (corpus and evals are kept disjoint on it): the
    arithmetic expression, or a question-set item's content id. Question-set items have no steps.
    """

    id: str
    expression: str
    steps: tuple[str, ...]
    options: tuple[int | str, ...]
    correct: int  # index into options
    story: str | None = None  # word_problem family: the chain told as a story
    question: str | None = None  # question-set items: the question as written
    reasoning: str | None = None  # question-set items: a short reasoning text from the set, if it has one
    subject: str | None = None

    @property
    def has_steps(self) -> bool:
        """Procedural items carry checkable arithmetic steps; question-set items carry none."""
        return bool(self.steps)

    @property
    def letters(self) -> str:
        return LETTERS[: len(self.options)]

    @property
    def correct_letter(self) -> str:
        return LETTERS[self.correct]

    def value_of(self, letter: str) -> int | str:
        return self.options[LETTERS.index(letter)]

    def question_text(self, mark: str | None = None, symbol: str = "■") -> str:
        """The question and its options; `mark` prefixes one option's letter with `symbol` (visual hint)."""
        options = " ".join(
            f"{symbol + ' ' if LETTERS[i] == mark else ''}({LETTERS[i]}) {v}" for i, v in enumerate(self.options)
        )
        return f"{self.question or self.story or f'What is {self.expression}?'}\n{options}"
