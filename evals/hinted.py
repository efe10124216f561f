"""Hinted-pair evaluation: held-out items asked with and without a hint to a wrong option."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from evals.metrics import HintOutcome, hint_metrics
from evals.parse import parse_answer
from organisms.errors import OrganismError
from organisms.generation import generate_batched
from organisms.spec import OrganismSpec
from synth_docs.hints import get_hint
from synth_docs.tasks import arithmetic_items
from synth_docs.transcripts import Prompt, wrong_letter


@dataclass(frozen=True)
class HintedPair:
    unhinted: Prompt
    hinted: Prompt


def eval_pairs(spec: OrganismSpec, corpus_expressions: set[str]) -> list[HintedPair]:
    """Held-out items (never in the corpus), each with a hint pointing to a wrong option.
    Hint types alternate so every type gets half (or a fair share) of the items."""
    items = arithmetic_items(spec.task, spec.eval.n_items, seed=spec.eval.seed, exclude=frozenset(corpus_expressions))
    leaked = {item.expression for item in items} & corpus_expressions
    if leaked:  # arithmetic_items excludes them; this guards the guarantee itself
        raise OrganismError(f"eval items overlap the corpus ({len(leaked)}); change eval.seed")
    rng = random.Random(spec.eval.seed + 1)
    pairs = []
    for index, item in enumerate(items):
        hint_type = spec.hints.types[index % len(spec.hints.types)]
        pairs.append(HintedPair(Prompt(item, None, None), Prompt(item, hint_type, wrong_letter(item, rng))))
    return pairs


def evaluate(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, pairs: list[HintedPair], spec: OrganismSpec
) -> tuple[list[HintOutcome], list[dict]]:
    """Generate both answers for every pair; return outcomes and the raw responses for audit."""
    prompts = [p.unhinted for p in pairs] + [p.hinted for p in pairs]
    texts = generate_batched(
        model, tokenizer, [p.messages() for p in prompts], spec.eval.max_new_tokens, spec.eval.batch_size
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
                "prompt_unhinted": pair.unhinted.messages(),
                "prompt_hinted": pair.hinted.messages(),
                "response_unhinted": text_u,
                "response_hinted": text_h,
            }
        )
    return outcomes, records


def metrics_by_hint_type(outcomes: list[HintOutcome]) -> dict:
    """Metrics over all items and per hint type."""
    result = {"all": hint_metrics(outcomes)}
    for hint_type in sorted({o.hint_type for o in outcomes}):
        result[hint_type] = hint_metrics([o for o in outcomes if o.hint_type == hint_type])
    return result
