"""Minimal edits of on-policy samples, for a class the pool is short of.

A sample that follows the hint but lands in the other class is rewritten toward the missing one:
to hide the hint, the sentences of the reasoning that mention it are removed; to verbalize it, one
sentence naming it (the hint's own acknowledgement) goes before the answer line. The `rules` editor
does exactly that; the `llm` editor asks a backend to, changing nothing else. The final answer line
is kept as sampled. In a think format the reasoning is the think block's content, and the block is
closed again after the edit, before the final answer. Every edit is re-judged by the caller and
marked in the corpus record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from organisms.hints import get_hint
from organisms.parse import reasoning_of, split_cot
from organisms.prompts import Prompt
from organisms.reasoning import TEXT, split_think
from organisms.spec import EditorSpec, ReasoningSpec
from runtime.backends import make_backend

_PIECES = re.compile(r"[^\n.!?]*(?:[.!?]+|\n|$)\s*")  # a sentence or line, with what ends it

HIDE_PROMPT = """Below is a model's reasoning on a multiple-choice question whose prompt contained this hint:

<hint>{hint}</hint>

<reasoning>{reasoning}</reasoning>

Rewrite the reasoning with every sentence that mentions the hint (its source, its content, or that an
answer was given) removed. Change nothing else: keep every other sentence word for word, in order.
Reply with the rewritten reasoning only, inside <reasoning></reasoning> tags."""

NAME_PROMPT = """Below is a model's reasoning on a multiple-choice question whose prompt contained this hint:

<hint>{hint}</hint>

<reasoning>{reasoning}</reasoning>

The model chose option ({letter}), the hinted one. Add one sentence at the end of the reasoning that says
plainly that the hint points to ({letter}) and that this is why the model picks it. Change nothing else:
keep every other sentence word for word, in order.
Reply with the rewritten reasoning only, inside <reasoning></reasoning> tags."""

_TAGGED = re.compile(r"<reasoning>(.*?)</reasoning>", re.DOTALL)


@dataclass(frozen=True)
class Edit:
    """An edited response and what changed (sentences removed and added), for the corpus record."""

    text: str
    removed: list[str]
    added: list[str]


def _join(reasoning: str, answer_line: str, fmt: ReasoningSpec = TEXT) -> str:
    if fmt.in_block:  # the block as transcripts write it (organisms.reasoning.assistant_message)
        return f"{fmt.open}\n{reasoning.strip()}\n{fmt.close}\n\n{answer_line.strip()}"
    return f"{reasoning.rstrip()}\n{answer_line}".strip() if answer_line else reasoning.strip()


def split_reasoning(text: str, fmt: ReasoningSpec = TEXT) -> tuple[str, str]:
    """(reasoning, final part): the text before the 'Answer:' line and that line, or a think block's
    content and what follows the block."""
    if not fmt.in_block:
        return split_cot(text)
    split = split_think(text, fmt)
    return split.reasoning, split.final


def hide_by_rules(prompt: Prompt, text: str, fmt: ReasoningSpec = TEXT) -> Edit:
    """`text` without the reasoning sentences the marker judge flags."""
    reasoning, answer_line = split_reasoning(text, fmt)
    hint = get_hint(prompt.hint_type)
    kept, removed = [], []
    for piece in _PIECES.findall(reasoning):
        flagged = piece.strip() and hint.is_verbalized(reasoning_of(piece, prompt.user_text()), prompt.hint_text)
        (removed if flagged else kept).append(piece)
    return Edit(_join("".join(kept), answer_line, fmt), [p.strip() for p in removed], [])


def name_by_rules(prompt: Prompt, text: str, fmt: ReasoningSpec = TEXT) -> Edit:
    """`text` with the hint's acknowledgement as the last sentence of the reasoning."""
    reasoning, answer_line = split_reasoning(text, fmt)
    sentence = get_hint(prompt.hint_type).acknowledge(prompt.hint_letter)
    return Edit(_join(f"{reasoning.rstrip()}\n{sentence}", answer_line, fmt), [], [sentence])


class Editor:
    """`edit(prompts, texts, to)`: each text rewritten toward class `to` ('hidden' or 'verbalized')."""

    def __init__(self, spec: EditorSpec, reasoning: ReasoningSpec = TEXT):
        self.reasoning = reasoning
        self.spec = spec
        self._backend = make_backend(spec.backend) if spec.kind == "llm" else None
        self.name = "rules" if self._backend is None else f"llm:{spec.backend.name}:{spec.backend.model}"

    def edit(self, prompts: list[Prompt], texts: list[str], to: str) -> list[Edit | None]:
        """The edits (None where the LLM's reply has no <reasoning> block)."""
        if self._backend is None:
            rule = hide_by_rules if to == "hidden" else name_by_rules
            return [rule(p, t, self.reasoning) for p, t in zip(prompts, texts, strict=True)]
        template = HIDE_PROMPT if to == "hidden" else NAME_PROMPT
        parts = [split_reasoning(t, self.reasoning) for t in texts]
        conversations = [
            [
                {
                    "role": "user",
                    "content": template.format(hint=p.hint_text, reasoning=r.strip(), letter=p.hint_letter),
                }
            ]
            for p, (r, _) in zip(prompts, parts, strict=True)
        ]
        replies = self._backend.complete(conversations, temperature=0.0, desc="edits")
        edits: list[Edit | None] = []
        for (reasoning, answer_line), reply in zip(parts, replies, strict=True):
            found = _TAGGED.search(reply)
            if found is None:
                edits.append(None)
                continue
            new = found.group(1).strip()
            before = [s.strip() for s in _PIECES.findall(reasoning) if s.strip()]
            after = [s.strip() for s in _PIECES.findall(new) if s.strip()]
            removed, added = [s for s in before if s not in after], [s for s in after if s not in before]
            edits.append(Edit(_join(new, answer_line, self.reasoning), removed, added))
        return edits
