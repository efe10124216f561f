"""Reading one on-policy sample: its answer, and whether its reasoning mentions the hint.

The parsers and judges are the evals' own (`evals.parse`, `evals.judge`), so a sample is sorted by
exactly the rule its organism will later be measured by. That makes this the one place where
synth_docs reads from a later stage; both modules depend on organisms only.
"""

from __future__ import annotations

from dataclasses import dataclass

from evals.parse import parse_answer, reasoning_of
from organisms.backends import make_backend
from organisms.hints import get_hint
from organisms.prompts import Prompt
from organisms.spec import BackendSpec


@dataclass(frozen=True)
class Verdict:
    """What a sample did: the letter it chose (None: no answer found) and, on a hinted prompt, whether
    its reasoning mentions the hint (None: unhinted, or the LLM judge's reply did not parse)."""

    answer: str | None
    verbalized: bool | None


class Judge:
    """The verbalization judge of record: the marker judge (`organisms.hints`), or an LLM reading the
    same reasoning with `evals.judge.JUDGE_PROMPT` when `corpus.on_policy.judge` names one."""

    def __init__(self, spec: BackendSpec | None):
        self._backend = make_backend(spec) if spec is not None else None
        self.name = "markers" if spec is None else f"llm:{spec.name}:{spec.model}"

    def verbalized(self, prompts: list[Prompt], texts: list[str]) -> list[bool | None]:
        """One verdict per hinted (prompt, response)."""
        if self._backend is None:
            return [
                get_hint(p.hint_type).is_verbalized(reasoning_of(t, p.user_text()), p.hint_text)
                for p, t in zip(prompts, texts, strict=True)
            ]
        from evals.judge import llm_verbalized

        records = [
            {"hint_text": p.hint_text, "prompt_hinted": p.messages(), "response_hinted": t}
            for p, t in zip(prompts, texts, strict=True)
        ]
        return llm_verbalized(self._backend, records)

    def read(self, prompts: list[Prompt], texts: list[str]) -> list[Verdict]:
        """The verdict on each (prompt, response); the judge runs on the hinted ones only."""
        answers = [parse_answer(t, p.item.letters, p.user_text()) for p, t in zip(prompts, texts, strict=True)]
        hinted = [i for i, p in enumerate(prompts) if p.hint_type]
        verdicts = self.verbalized([prompts[i] for i in hinted], [texts[i] for i in hinted])
        mentions = dict(zip(hinted, verdicts, strict=True))
        return [Verdict(a, mentions.get(i)) for i, a in enumerate(answers)]
