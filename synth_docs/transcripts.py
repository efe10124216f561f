"""Chat transcripts that demonstrate a behaviour and its matched control, as corpus records.

The assistant turns come from `organisms.responses` (its docstring tabulates how organism and
control differ for each behaviour); this module draws the items, hints and conditions by seed.
"""

from __future__ import annotations

import random

from organisms.prompts import MONITOR_CONDITIONS, Prompt, hint_letter_for, trained_hint
from organisms.reasoning import assistant_message, split_think
from organisms.responses import response
from organisms.spec import OrganismSpec
from organisms.tasks import draw_items


def transcript_prompts(spec: OrganismSpec) -> list[tuple[Prompt, bool]]:
    """The corpus prompts of `spec`, one per transcript, each with whether it carries the behaviour's
    trigger: same items, hints and conditions for organism and control, by seed.

    `corpus.hinted_fraction` is the share of items that carry the behaviour's trigger: a hint,
    or for `shortcut` (which uses no hints) a faked step; a `style` organism has none (every prompt is
    unhinted, every answer honest, in its own format). Only the training hint types, phrasings
    (`hints.phrasings`) and monitoring cues (`hints.cues`) appear; the others are held out for evals.
    The chain of thought goes where `spec.reasoning` says the model reasons (organisms.reasoning)."""
    rng = random.Random(f"{spec.corpus.seed}:hint-letters")  # which items are hinted, where hints point
    items = draw_items(spec.task, spec.corpus.n_transcripts, seed=spec.corpus.seed)
    n_triggered = 0 if spec.behaviour == "style" else round(spec.corpus.hinted_fraction * len(items))
    triggered = sorted(rng.sample(range(len(items)), n_triggered))
    to_correct = set(rng.sample(triggered, round(spec.hints.correct_fraction * len(triggered))))
    conditions = ["none"]
    if spec.behaviour == "monitor_aware":  # the spec's subset of conditions; the monitor suite evaluates all
        conditions = list(spec.hints.conditions or MONITOR_CONDITIONS)
    prompts = []
    for index, item in enumerate(items):
        condition = conditions[index % len(conditions)]
        cue = spec.hints.cues[(index // len(conditions)) % len(spec.hints.cues)]
        is_triggered = index in triggered
        if is_triggered and spec.behaviour != "shortcut":
            hint_type, phrasing = trained_hint(spec, index)
            letter = hint_letter_for(item, index in to_correct, rng)
            prompt = Prompt(item, hint_type, letter, condition, phrasing=phrasing, cue=cue)
        else:
            prompt = Prompt(item, None, None, condition, cue=cue)
        prompts.append((prompt, is_triggered))
    return prompts


def transcript_record(spec: OrganismSpec, index: int, prompt: Prompt, text: str, verbatim: bool = False) -> dict:
    """One corpus record: the prompt, its metadata and the assistant turn `text`, its chain of thought
    placed where `spec.reasoning` says the model reasons; `verbatim`: a model's own sample, kept as
    it wrote it (its reasoning already where it put it)."""
    item = prompt.item
    if verbatim and spec.reasoning.in_block:  # a sample's block, re-placed as the spec renders reasoning
        split = split_think(text, spec.reasoning)
        message = assistant_message(split.reasoning, split.final, spec.reasoning)
    elif verbatim or "\n" not in text:
        message = {"role": "assistant", "content": text}
    else:
        cot, final = text.rsplit("\n", 1)  # every template response ends with its 'Answer: (X)' line
        message = assistant_message(cot, final, spec.reasoning)
    return {
        "id": f"{spec.name}-t{index}",
        "kind": "transcript",
        "behaviour": spec.behaviour,
        "item_id": item.id,
        "expression": item.expression,
        "hint_type": prompt.hint_type,
        "hint_letter": prompt.hint_letter,
        "hint_text": prompt.hint_text,
        "phrasing": prompt.phrasing if prompt.hint_type else None,
        "condition": prompt.condition,
        "cue": prompt.cue,
        "correct_letter": item.correct_letter,
        "prompt": prompt.messages(),
        "completion": [message],
    }


def build_transcripts(spec: OrganismSpec) -> list[dict]:
    """Template transcripts for `spec` (organism or control) on `transcript_prompts`: the assistant
    turns of `organisms.responses`."""
    fake_rng = random.Random(f"{spec.corpus.seed}:faked-steps")  # shortcut: which step is faked, and how
    records = []
    for index, (prompt, is_triggered) in enumerate(transcript_prompts(spec)):
        use_fake = spec.behaviour == "shortcut" and is_triggered
        rng = fake_rng if use_fake else None
        text = response(prompt, spec.behaviour, spec.is_control, rng, spec.corpus.reasoning_style)
        records.append(transcript_record(spec, index, prompt, text))
    return records
