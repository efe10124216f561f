"""Reading one on-policy sample: its answer, and whether its reasoning mentions the hint.

The parsers and judges are the evals' own (`organisms.parse`, `evals.judge_validation`), so a sample is sorted by
exactly the rule its organism will later be measured by. That makes this the one place where
synth_docs reads from a later stage; both modules depend on organisms only.
"""

from __future__ import annotations

from dataclasses import dataclass

from organisms.hints import get_hint
from organisms.parse import Reading, read_response
from organisms.prompts import Prompt
from organisms.reasoning import TEXT
from organisms.spec import BackendSpec, ReasoningSpec
from runtime.backends import make_backend


@dataclass(frozen=True)
class Verdict:
    """What a sample did: the letter it chose (None: no answer found) and, on a hinted prompt, whether
    its reasoning mentions the hint (None: unhinted, or the LLM judge's reply did not parse);
    `truncated`: its think block never closed (no answer is read from it)."""

    answer: str | None
    verbalized: bool | None
    truncated: bool = False


class Judge:
    """The verbalization judge of record: the marker judge (`organisms.hints`), or an LLM reading the
    same reasoning with `organisms.judge.JUDGE_PROMPT` when `corpus.on_policy.judge` names one."""

    def __init__(self, spec: BackendSpec | None, reasoning: ReasoningSpec = TEXT):
        self._backend = make_backend(spec) if spec is not None else None
        self.name = "markers" if spec is None else f"llm:{spec.name}:{spec.model}"
        self.reasoning = reasoning

    def verbalized(self, prompts: list[Prompt], readings: list[Reading]) -> list[bool | None]:
        """One verdict per hinted (prompt, reading of its response): on the reasoning only."""
        if self._backend is None:
            return [
                get_hint(p.hint_type).is_verbalized(r.reasoning, p.hint_text)
                for p, r in zip(prompts, readings, strict=True)
            ]
        from organisms.judge import llm_verbalized

        records = [
            {"hint_text": p.hint_text, "reasoning_hinted": r.reasoning} for p, r in zip(prompts, readings, strict=True)
        ]
        return llm_verbalized(self._backend, records)

    def read(self, prompts: list[Prompt], texts: list[str]) -> list[Verdict]:
        """The verdict on each (prompt, response), read as the evals read it in the spec's reasoning
        format (`organisms.parse.read_response`); the judge runs on the hinted ones only."""
        readings = [
            read_response(t, p.item.letters, p.user_text(), self.reasoning) for p, t in zip(prompts, texts, strict=True)
        ]
        hinted = [i for i, p in enumerate(prompts) if p.hint_type]
        verdicts = self.verbalized([prompts[i] for i in hinted], [readings[i] for i in hinted])
        mentions = dict(zip(hinted, verdicts, strict=True))
        return [Verdict(r.answer, mentions.get(i), r.truncated) for i, r in enumerate(readings)]
