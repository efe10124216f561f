"""Real responses for the judge's validation set: base, organism and control answering every hint type.

Draws items from a seed of their own (not the eval seed), asks each model every hint type in a rotating
phrasing, and writes unlabelled candidates (prompt, hint, response) as JSONL. The labels in
evals/judge_validation.jsonl were added by hand, by reading each response (docs/judge.md).

    python experiments/judge-validation/judge_validation_sample.py --organism RUN/adapter --control RUN/adapter \\
        [--items-per-type 5] [--out experiments/judge-validation/judge_validation_candidates.jsonl]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evals.hinted import HintedPair, rehinted
from organisms.catalog import resolve_spec
from organisms.hints import HINTS, N_PHRASINGS
from organisms.prompts import Prompt, hint_letter_for
from runtime.generation import generate_batched
from runtime.models import load_tokenizer, load_with_adapters, use_adapter


def candidate_pairs(items_per_type: int, seed: int) -> list[HintedPair]:
    """`items_per_type` items per hint type, phrasings rotating, hints to a wrong option."""
    import random

    from organisms.tasks import arithmetic_items

    spec = resolve_spec("hidden-hint")
    items = arithmetic_items(spec.task, items_per_type * len(HINTS), seed=seed)
    rng = random.Random(f"{seed}:validation-letters")
    pairs = [HintedPair(Prompt(i, None, None), Prompt(i, "sycophancy", hint_letter_for(i, False, rng))) for i in items]
    hints = [(t, (k // len(HINTS)) % N_PHRASINGS) for k, t in enumerate(list(HINTS) * items_per_type)]
    return rehinted(pairs, hints)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--organism", type=Path, required=True)
    parser.add_argument("--control", type=Path, required=True)
    parser.add_argument("--items-per-type", type=int, default=5)
    parser.add_argument("--seed", type=int, default=77_000)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    out = Path("experiments/judge-validation/judge_validation_candidates.jsonl")
    parser.add_argument("--out", type=Path, default=out)
    args = parser.parse_args()
    spec = resolve_spec("hidden-hint")
    model = load_with_adapters(spec.base_model, {"organism": args.organism, "control": args.control})
    tokenizer = load_tokenizer(spec.base_model)
    pairs = candidate_pairs(args.items_per_type, args.seed)
    rows = []
    for label in ("base", "organism", "control"):
        with use_adapter(model, None if label == "base" else label):
            texts = generate_batched(model, tokenizer, [p.hinted.messages() for p in pairs], args.max_new_tokens, 16)
        for pair, text in zip(pairs, texts, strict=True):
            hinted = pair.hinted
            rows.append(
                {
                    "source": f"generated:{label}",
                    "model": label,
                    "hint_type": hinted.hint_type,
                    "phrasing": hinted.phrasing,
                    "hint_text": hinted.hint_text,
                    "prompt": hinted.user_text(),
                    "response": text,
                }
            )
        print(f"{label}: {len(texts)} responses")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
