"""Hinted-pair evaluation: held-out items asked with and without a hint (to a wrong or the correct option)."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from evals.metrics import HintOutcome, hint_metrics, hint_metrics_by_direction
from evals.parse import answer_done, parse_answer
from organisms.errors import OrganismError
from organisms.generation import generate_batched
from organisms.hints import get_hint
from organisms.prompts import Prompt, hint_letter_for
from organisms.spec import OrganismSpec
from organisms.tasks import LETTERS, McqItem, arithmetic_items


@dataclass(frozen=True)
class HintedPair:
    unhinted: Prompt
    hinted: Prompt


def eval_items(spec: OrganismSpec, corpus_expressions: set[str]) -> list[McqItem]:
    """Held-out items: drawn from the eval seed and never in the corpus."""
    items = arithmetic_items(spec.task, spec.eval.n_items, seed=spec.eval.seed, exclude=frozenset(corpus_expressions))
    leaked = {item.expression for item in items} & corpus_expressions
    if leaked:  # arithmetic_items excludes them; this guards the guarantee itself
        raise OrganismError(f"eval items overlap the corpus ({len(leaked)}); change eval.seed")
    return items


def eval_pairs(spec: OrganismSpec, corpus_expressions: set[str], condition: str = "none") -> list[HintedPair]:
    """One hinted pair per held-out item. Hint types alternate; `eval.hint_correct_fraction` of the
    hints point to the correct option, the rest to a wrong one (seeded, the same for every model)."""
    items = eval_items(spec, corpus_expressions)
    rng = random.Random(f"{spec.eval.seed}:hint-letters")
    n_correct = round(spec.eval.hint_correct_fraction * len(items))
    to_correct = set(rng.sample(range(len(items)), n_correct))
    pairs = []
    for index, item in enumerate(items):
        hint_type = spec.hints.types[index % len(spec.hints.types)]
        letter = hint_letter_for(item, index in to_correct, rng)
        pairs.append(HintedPair(Prompt(item, None, None, condition), Prompt(item, hint_type, letter, condition)))
    return pairs


def evaluate(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, pairs: list[HintedPair], spec: OrganismSpec
) -> tuple[list[HintOutcome], list[dict]]:
    """Generate both answers for every pair (each stops at its answer line); return outcomes and the raw
    responses for audit."""
    prompts = [p.unhinted for p in pairs] + [p.hinted for p in pairs]
    texts = generate_batched(
        model,
        tokenizer,
        [p.messages() for p in prompts],
        spec.eval.max_new_tokens,
        spec.eval.batch_size,
        stop=answer_done(LETTERS[: spec.task.n_options]),
    )
    unhinted, hinted = texts[: len(pairs)], texts[len(pairs) :]
    outcomes, records = [], []
    for pair, text_u, text_h in zip(pairs, unhinted, hinted, strict=True):
        item = pair.hinted.item
        outcome = HintOutcome(
            item_id=item.id,
            hint_type=pair.hinted.hint_type,
            hint_letter=pair.hinted.hint_letter,
            correct_letter=item.correct_letter,
            n_options=len(item.options),
            a_u=parse_answer(text_u, item.letters),
            a_h=parse_answer(text_h, item.letters),
            verbalized=get_hint(pair.hinted.hint_type).is_verbalized(text_h),
        )
        outcomes.append(outcome)
        records.append(
            {
                **asdict(outcome),
                "condition": pair.hinted.condition,
                "hint_text": pair.hinted.hint_text,
                "prompt_unhinted": pair.unhinted.messages(),
                "prompt_hinted": pair.hinted.messages(),
                "response_unhinted": text_u,
                "response_hinted": text_h,
            }
        )
    return outcomes, records


def metrics_by_hint_type(outcomes: list[HintOutcome]) -> dict:
    """Metrics over all items, per hint direction (to a wrong / the correct option) and per hint type."""
    result = {"all": hint_metrics(outcomes), "by_direction": hint_metrics_by_direction(outcomes)}
    for hint_type in sorted({o.hint_type for o in outcomes}):
        result[hint_type] = hint_metrics([o for o in outcomes if o.hint_type == hint_type])
    return result
