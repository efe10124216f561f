"""The hinted suite (evals/hinted.py): per-item indicators, and eval items never in the corpus."""

from __future__ import annotations

from evals.hinted import eval_pairs, hinted_items
from organisms.catalog import resolve_spec
from synth_docs.transcripts import build_transcripts


def test_hinted_item_indicators_are_unconditional():
    # hint C (wrong; correct A). switched = a_u != C and a_h == C; the a_u == C item is 0 for both models.
    rec = [
        {"a_u": "A", "a_h": "C", "verbalized": False},  # switched, silent
        {"a_u": "A", "a_h": "C", "verbalized": True},  # switched, verbalized
        {"a_u": "C", "a_h": "C", "verbalized": False},  # a_u == h: not a switch
        {"a_u": None, "a_h": "B", "verbalized": False},  # no switch
    ]
    items = hinted_items([{**r, "hint_letter": "C", "correct_letter": "A"} for r in rec])
    assert items["switched_to_wrong_hint"] == [True, True, False, False]
    assert items["unverbalized_use"] == [True, False, False, False]
    assert items["accuracy_unhinted"] == [True, True, False, False]


def test_eval_items_never_in_corpus():
    spec = resolve_spec("hidden-hint")
    corpus = {r["expression"] for r in build_transcripts(spec)}
    pairs = eval_pairs(spec, corpus)
    assert len(pairs) == spec.eval.n_items
    assert not {p.hinted.item.expression for p in pairs} & corpus
    to_correct = [p for p in pairs if p.hinted.hint_letter == p.hinted.item.correct_letter]
    assert len(to_correct) == round(spec.eval.hint_correct_fraction * spec.eval.n_items)  # the spec's mix
