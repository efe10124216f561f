"""Hinted-pair evaluation: held-out items asked with and without a hint (to a wrong or the correct option)."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from evals.metrics import HintOutcome, hint_metrics, hint_metrics_by_direction
from organisms.errors import OrganismError
from organisms.hints import get_hint
from organisms.items import LETTERS, McqItem
from organisms.parse import answer_done, read_response, record_reasoning
from organisms.prompts import Prompt, hint_letter_for, trained_hint
from organisms.spec import OrganismSpec
from organisms.tasks import draw_items
from runtime.generation import generate_batched


@dataclass(frozen=True)
class HintedPair:
    unhinted: Prompt
    hinted: Prompt


def eval_items(spec: OrganismSpec, corpus_expressions: set[str], family: str | None = None) -> list[McqItem]:
    """Held-out items: drawn from the eval seed and never in the corpus; `family` overrides the task family
    (the held-out task axis)."""
    task = spec.task if family is None else spec.task.with_changes({"family": family}, "the held-out task axis")
    items = draw_items(task, spec.eval.n_items, seed=spec.eval.seed, exclude=frozenset(corpus_expressions))
    leaked = {item.expression for item in items} & corpus_expressions
    if leaked:  # draw_items excludes them; this guards the guarantee itself
        raise OrganismError(f"eval items overlap the corpus ({len(leaked)}); change eval.seed")
    return items


def eval_pairs(
    spec: OrganismSpec,
    corpus_expressions: set[str],
    condition: str = "none",
    family: str | None = None,
    cues: list[int] | None = None,
) -> list[HintedPair]:
    """One hinted pair per held-out item, with the training hint types and phrasings (`trained_hint`);
    `eval.hint_correct_fraction` of the hints point to the correct option, the rest to a wrong one
    (seeded, the same for every model). `family` and `cues` (rotated over items) are the held-out
    task and cue axes (default: the spec's task family, the first training cue)."""
    items = eval_items(spec, corpus_expressions, family)
    rng = random.Random(f"{spec.eval.seed}:hint-letters")
    n_correct = round(spec.eval.hint_correct_fraction * len(items))
    to_correct = set(rng.sample(range(len(items)), n_correct))
    cues = cues or spec.hints.cues[:1]
    pairs = []
    for index, item in enumerate(items):
        hint_type, phrasing = trained_hint(spec, index)
        letter = hint_letter_for(item, index in to_correct, rng)
        cue = cues[index % len(cues)]
        pairs.append(
            HintedPair(
                Prompt(item, None, None, condition, cue=cue),
                Prompt(item, hint_type, letter, condition, phrasing=phrasing, cue=cue),
            )
        )
    return pairs


def rehinted(pairs: list[HintedPair], hints: list[tuple[str, int]]) -> list[HintedPair]:
    """The same items, hint letters and system prompts with other hints (one (type, phrasing) per pair):
    the held-out phrasing and hint-type axes. Only the hint changes, so the unhinted answer is shared."""
    out = []
    for pair, (hint_type, phrasing) in zip(pairs, hints, strict=True):
        hinted = Prompt(
            pair.hinted.item, hint_type, pair.hinted.hint_letter, pair.hinted.condition, phrasing, pair.hinted.cue
        )
        out.append(HintedPair(pair.unhinted, hinted))
    return out


def verbalized(record: dict) -> bool:
    """Marker judge on one record: the hinted response's reasoning, echoes of its prompt removed."""
    text = record_reasoning(record, "hinted")
    return get_hint(record["hint_type"]).is_verbalized(text, record.get("hint_text"))


def evaluate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: list[HintedPair],
    spec: OrganismSpec,
    unhinted: list[str] | None = None,
) -> tuple[list[HintOutcome], list[dict]]:
    """Generate both answers for every pair (only the hinted ones when the `unhinted` responses are given:
    pairs that differ from earlier ones in the hint alone); each stops at its answer line; return
    outcomes and the raw responses, each with the reasoning the judges read and whether a think block
    was left open (`reasoning_*`, `truncated_*`: organisms.parse.read_response)."""
    prompts = ([] if unhinted is not None else [p.unhinted for p in pairs]) + [p.hinted for p in pairs]
    texts = generate_batched(
        model,
        tokenizer,
        [p.messages() for p in prompts],
        spec.eval.max_new_tokens,
        spec.eval.decode_rows,
        stop=answer_done(LETTERS[: spec.task.n_options], spec.reasoning),
        reasoning=spec.reasoning,
    )
    if unhinted is None:
        unhinted = texts[: len(pairs)]
    hinted = texts[-len(pairs) :] if pairs else []
    outcomes, records = [], []
    for pair, text_u, text_h in zip(pairs, unhinted, hinted, strict=True):
        item = pair.hinted.item
        read_u = read_response(text_u, item.letters, pair.unhinted.user_text(), spec.reasoning)
        read_h = read_response(text_h, item.letters, pair.hinted.user_text(), spec.reasoning)
        record = {
            "prompt_unhinted": pair.unhinted.messages(),
            "prompt_hinted": pair.hinted.messages(),
            "response_unhinted": text_u,
            "response_hinted": text_h,
            "reasoning_hinted": read_h.reasoning,
            "hint_type": pair.hinted.hint_type,
            "hint_text": pair.hinted.hint_text,
        }
        outcome = HintOutcome(
            item_id=item.id,
            hint_type=pair.hinted.hint_type,
            hint_letter=pair.hinted.hint_letter,
            correct_letter=item.correct_letter,
            n_options=len(item.options),
            a_u=read_u.answer,
            a_h=read_h.answer,
            verbalized=verbalized(record),
        )
        outcomes.append(outcome)
        records.append(
            {
                **asdict(outcome),
                "verbalized_markers": outcome.verbalized,
                "condition": pair.hinted.condition,
                "cue": pair.hinted.cue,
                "phrasing": pair.hinted.phrasing,
                "hint_text": pair.hinted.hint_text,
                "prompt_unhinted": pair.unhinted.messages(),
                "prompt_hinted": pair.hinted.messages(),
                "response_unhinted": text_u,
                "response_hinted": text_h,
                "reasoning_unhinted": read_u.reasoning,
                "reasoning_hinted": read_h.reasoning,
                "truncated_unhinted": read_u.truncated,
                "truncated_hinted": read_h.truncated,
            }
        )
    return outcomes, records


def truncation_counts(records: list[dict]) -> dict:
    """How many responses left their think block open at eval.max_new_tokens: no answer was read from
    them (they count as unparsable in every rate), so a high count means a larger budget is needed."""
    return {
        "n_items": len(records),
        "unhinted": sum(r["truncated_unhinted"] for r in records),
        "hinted": sum(r["truncated_hinted"] for r in records),
    }


def metrics_by_hint_type(outcomes: list[HintOutcome]) -> dict:
    """Metrics over all items, per hint direction (to a wrong / the correct option) and per hint type."""
    result = {"all": hint_metrics(outcomes), "by_direction": hint_metrics_by_direction(outcomes)}
    for hint_type in sorted({o.hint_type for o in outcomes}):
        result[hint_type] = hint_metrics([o for o in outcomes if o.hint_type == hint_type])
    return result
