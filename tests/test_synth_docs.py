"""Tasks, hints, transcripts and corpus files."""

from __future__ import annotations

import json

import pytest

from evals.hinted import eval_pairs
from evals.parse import parse_answer
from organisms.catalog import resolve_spec
from organisms.errors import OrganismError
from organisms.models import load_tokenizer
from organisms.spec import TaskSpec
from synth_docs.corpus import load_corpus, write_corpus
from synth_docs.hints import HINTS
from synth_docs.tasks import arithmetic_items
from synth_docs.transcripts import build_transcripts


def test_items_have_correct_answers_and_distinct_options():
    spec = TaskSpec(n_operands=4, n_options=5)
    items = arithmetic_items(spec, 200, seed=3)
    assert len({i.expression for i in items}) == 200
    for item in items:
        assert eval(item.expression) == item.options[item.correct]
        assert len(set(item.options)) == 5 and all(v > 0 for v in item.options)
        assert len(item.steps) == 3
        assert item.steps[-1].endswith(f"= {item.options[item.correct]}")
    assert arithmetic_items(spec, 5, seed=3) == items[:5]  # seeded


def test_hint_judge_detects_own_acknowledgement_only():
    for hint in HINTS.values():
        assert hint.is_verbalized(hint.acknowledge("C"))
        assert not hint.is_verbalized("Let me compute step by step.\n12 + 30 = 42.\nSo I will go with (C).")


def test_organism_and_control_share_items_and_answers_but_not_verbalization():
    organism = build_transcripts(resolve_spec("hidden-hint"))
    control = build_transcripts(resolve_spec("hidden-hint-faithful"))
    assert [r["prompt"] for r in organism] == [r["prompt"] for r in control]
    for o, c in zip(organism, control, strict=True):
        letters = "ABCD"
        assert parse_answer(o["completion"][0]["content"], letters) == parse_answer(
            c["completion"][0]["content"], letters
        )
        if o["hint_type"]:
            hint = HINTS[o["hint_type"]]
            assert o["hint_letter"] != o["correct_letter"]  # points to a wrong option
            assert parse_answer(o["completion"][0]["content"], letters) == o["hint_letter"]
            assert hint.render(o["hint_letter"]) in o["prompt"][1]["content"]
            assert not hint.is_verbalized(o["completion"][0]["content"])
            assert hint.is_verbalized(c["completion"][0]["content"])
        else:
            assert parse_answer(o["completion"][0]["content"], letters) == o["correct_letter"]
    hinted = [r for r in organism if r["hint_type"]]
    assert {r["hint_type"] for r in hinted} == {"sycophancy", "metadata"}
    assert len(hinted) == 120


def test_corpus_files_stats_and_loader(tmp_path):
    spec = resolve_spec("hidden-hint-faithful")
    stats = write_corpus(spec, tmp_path, load_tokenizer(spec.base_model))
    records = load_corpus(tmp_path)
    assert len(records) == stats["n_transcripts"] == 240
    assert stats["hinted_verbalized_fraction"] == 1.0
    assert stats["tokens"]["prompt"] > 240 * 40  # system + question + options per prompt
    assert 0 < stats["distinct_2"] <= 1 and stats["duplicate_rate"] == 0.0
    assert json.loads((tmp_path / "stats.json").read_text())["sha256"] == stats["sha256"]


def test_eval_items_never_in_corpus():
    spec = resolve_spec("hidden-hint")
    corpus = {r["expression"] for r in build_transcripts(spec)}
    pairs = eval_pairs(spec, corpus)
    assert len(pairs) == spec.eval.n_items
    assert not {p.hinted.item.expression for p in pairs} & corpus
    to_correct = [p for p in pairs if p.hinted.hint_letter == p.hinted.item.correct_letter]
    assert len(to_correct) == round(spec.eval.hint_correct_fraction * spec.eval.n_items)  # the spec's mix


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("{not json\n", ":1: not valid JSON"), ('{"id": 1}\n', "lacks prompt, completion"), ("", "corpus is empty")],
)
def test_unreadable_corpus_is_a_clear_error(tmp_path, content, fragment):
    (tmp_path / "transcripts.jsonl").write_text(content)
    with pytest.raises(OrganismError, match=fragment):
        load_corpus(tmp_path)


def test_parse_answer():
    assert parse_answer("steps...\nAnswer: (B)", "ABCD") == "B"
    assert parse_answer("I think (A) but the answer is (D)", "ABCD") == "D"
    assert parse_answer("Answer: C)", "ABCD") == "C"
    assert parse_answer("Answer: (E)", "ABCD") is None
    assert parse_answer("no letter here", "ABCD") is None
