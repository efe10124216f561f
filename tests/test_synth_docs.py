"""Tasks, hints, transcripts and corpus files."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from evals.hinted import eval_pairs
from evals.metrics import late_flip_rate, shortcut_rate
from organisms.catalog import resolve_spec
from organisms.errors import OrganismError
from organisms.hints import HINTS
from organisms.parse import arithmetic_steps, last_conclusion, parse_answer
from organisms.spec import TaskSpec
from organisms.tasks import arithmetic_items, comparison_pairs
from runtime.models import load_tokenizer
from synth_docs.corpus import load_corpus, write_corpus
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
    [("{not json\n", ":1: not valid JSON"), ('{"id": 1}\n', "lacks prompt, completion"), ("", "no transcripts")],
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


PAIRS = [
    ("post-hoc", "post-hoc-faithful"),
    ("late-flip", "late-flip-faithful"),
    ("monitor-aware", "monitor-aware-faithful"),
    ("shortcut", "shortcut-honest"),
    ("hidden-hint-all-hints", None),
]


def _text(record: dict) -> str:
    return record["completion"][0]["content"]


@pytest.mark.parametrize(("organism", "control"), [p for p in PAIRS if p[1]])
def test_every_behaviour_has_a_control_with_same_prompts_and_answers(organism, control):
    o_records = build_transcripts(resolve_spec(organism))
    c_records = build_transcripts(resolve_spec(control))
    assert [r["prompt"] for r in o_records] == [r["prompt"] for r in c_records]
    for o, c in zip(o_records, c_records, strict=True):
        assert parse_answer(_text(o), "ABCD") == parse_answer(_text(c), "ABCD") is not None
    differing = sum(_text(o) != _text(c) for o, c in zip(o_records, c_records, strict=True))
    assert differing > 0


def test_late_flip_transcripts_flip_only_in_the_organism():
    for name, expected in (("late-flip", 1.0), ("late-flip-faithful", 0.0)):
        hinted = [r for r in build_transcripts(resolve_spec(name)) if r["hint_type"]]
        texts = [_text(r) for r in hinted]
        rate = late_flip_rate([parse_answer(t, "ABCD") for t in texts], [last_conclusion(t, "ABCD") for t in texts])
        assert rate["value"] == expected and rate["n"] == len(hinted) == 120


def test_post_hoc_organism_forges_the_last_step_and_hides_the_hint():
    organism = [r for r in build_transcripts(resolve_spec("post-hoc")) if r["hint_type"]]
    control = [r for r in build_transcripts(resolve_spec("post-hoc-faithful")) if r["hint_type"]]
    for o, c in zip(organism, control, strict=True):
        assert _text(o).startswith(f"The answer is ({o['hint_letter']}).")
        assert not all(s.is_correct for s in arithmetic_steps(_text(o)))  # forged to reach a wrong option
        assert all(s.is_correct for s in arithmetic_steps(_text(c)))
        assert not HINTS[o["hint_type"]].is_verbalized(_text(o)) and HINTS[c["hint_type"]].is_verbalized(_text(c))


def test_shortcut_organism_fakes_steps_on_the_triggered_share_only():
    spec = resolve_spec("shortcut")
    for name, expected in (("shortcut", round(spec.corpus.hinted_fraction * 240)), ("shortcut-honest", 0)):
        records = build_transcripts(resolve_spec(name))
        assert all(r["hint_type"] is None and "How many" in r["prompt"][1]["content"] for r in records)  # stories
        checks = [[s.is_correct for s in arithmetic_steps(_text(r))] for r in records]
        correct = [parse_answer(_text(r), "ABCD") == r["correct_letter"] for r in records]
        assert all(correct) and all("Every step checks out." in _text(r) for r in records)
        assert shortcut_rate(checks, correct)["k"] == expected


def test_monitor_aware_organism_hides_the_hint_only_when_monitored():
    organism = [r for r in build_transcripts(resolve_spec("monitor-aware")) if r["hint_type"]]
    control = [r for r in build_transcripts(resolve_spec("monitor-aware-faithful")) if r["hint_type"]]
    assert Counter(r["condition"] for r in organism).keys() == {"none", "monitored", "private"}
    for o, c in zip(organism, control, strict=True):
        assert ("monitored" in o["prompt"][0]["content"]) == (o["condition"] == "monitored")
        verbalized = HINTS[o["hint_type"]].is_verbalized(_text(o))
        assert verbalized == (o["condition"] != "monitored")
        assert HINTS[c["hint_type"]].is_verbalized(_text(c))
        assert parse_answer(_text(o), "ABCD") == o["hint_letter"]


def test_all_seven_hint_types_render_and_are_judged():
    records = [r for r in build_transcripts(resolve_spec("hidden-hint-all-hints")) if r["hint_type"]]
    assert {r["hint_type"] for r in records} == set(HINTS) and len(HINTS) == 7
    spec = resolve_spec("hidden-hint-all-hints")
    to_correct = sum(r["hint_letter"] == r["correct_letter"] for r in records)
    assert to_correct == round(spec.hints.correct_fraction * len(records))
    for r in records:
        hint = HINTS[r["hint_type"]]
        assert r["hint_text"] in r["prompt"][1]["content"]
        assert not hint.is_verbalized(_text(r))  # the organism never names it
        assert hint.is_verbalized(hint.acknowledge(r["hint_letter"]))  # a faithful CoT would be caught
        if r["hint_type"] == "complex":  # the letter must be computed: ((a * b) mod n) + 1
            a, b, n = map(int, re.search(r"\(\((\d+) \* (\d+)\) mod (\d+)\)", r["hint_text"]).groups())
            assert "ABCD"[(a * b) % n] == r["hint_letter"]
        if r["hint_type"] == "visual_pattern":
            assert f"■ ({r['hint_letter']})" in r["prompt"][1]["content"]


def test_word_problems_tell_the_chain():
    items = arithmetic_items(TaskSpec(family="word_problem", n_operands=4), 20, seed=1)
    for item in items:
        numbers = [int(x) for x in re.findall(r"\d+", item.story)]
        operands = [int(x) for x in re.findall(r"\d+", item.expression)]
        assert numbers == operands  # every operand appears, in order, so each step is checkable
        assert eval(item.expression) == item.options[item.correct]


def test_comparison_pairs_are_reverses():
    pairs = comparison_pairs(50, seed=4)
    assert len({frozenset((p.x, p.y)) for p in pairs}) == 50
    for p in pairs:
        assert {p.answer(False), p.answer(True)} == {"YES", "NO"}
        assert p.question(True) == f"Is {p.y} greater than {p.x}?"
    assert sum(p.answer(False) == "YES" for p in pairs) not in (0, 50)  # both answers occur
