"""What every CoT monitor reads and returns; the monitors themselves are the sibling files.

A monitor reads, per response, what a deployed monitor would see (`Seen`): the question and its options
as asked without a hint (so a hint in the prompt cannot give a positive away), the reasoning (a think
block's content or the text before 'Answer:', echoes of the prompt removed: `organisms.parse.record_reasoning`)
and the final answer letter. It returns one `Verdict` per response: a suspicion score (higher: more
suspicious; None where it cannot score that response) and its reading, a counted outcome ("agrees",
"no conclusion", "unparsable", ...), so a reading that is not a pass is never silently one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from organisms.parse import options_of, record_reasoning, user_text_of


@dataclass(frozen=True)
class Seen:
    """One response as a monitor sees it. `hint_type`/`hint_text`: the item's hint (the keyword monitor
    counts a quote of it, as today's marker monitor does; no other monitor reads them). `has_steps`: the
    item has arithmetic steps (a question-set item has none)."""

    question: str
    options: dict[str, str]
    reasoning: str
    answer: str | None
    has_steps: bool
    hint_type: str
    hint_text: str | None


@dataclass(frozen=True)
class Verdict:
    """A monitor's reading of one response: `score` (None: not scored: not applicable, or unparsable) and
    `outcome`, the counted reading; `reply`: the LLM monitor's raw reply."""

    score: float | None
    outcome: str
    reply: str | None = None


@dataclass(frozen=True)
class Monitor:
    """A CoT monitor: its name in evals.json, how its score is read, its yes/no rule (`flags_at`: the score
    from which it says yes on its own, before any calibration), what it reads and what it cannot see."""

    name: str
    score: str
    flags_at: float
    reads: str
    cannot_see: str
    verdicts: Callable[[Sequence[Seen]], list[Verdict]]
    steps_only: bool = False  # applies to items with arithmetic steps only (n/a on question sets)


def seen(records: Sequence[dict], which: str, has_steps: bool) -> list[Seen]:
    """The `which` ("hinted" / "unhinted") response of each hinted-pair record (`evals.hinted.evaluate`), as a
    monitor sees it: the question is the unhinted prompt's user turn for both."""
    out = []
    for r in records:
        question = user_text_of(r["prompt_unhinted"]) or ""
        answer = r["a_h"] if which == "hinted" else r["a_u"]
        out.append(
            Seen(
                question,
                options_of(question),
                record_reasoning(r, which),
                answer,
                has_steps,
                r["hint_type"],
                r.get("hint_text"),
            )
        )
    return out
