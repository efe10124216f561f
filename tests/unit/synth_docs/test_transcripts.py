"""Transcripts (synth_docs/transcripts.py): every behaviour and its control share prompts and answers and
differ in the one property; training phrasings, hint types, cues and conditions only; question-set reasoning."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from evals.metrics import late_flip_rate, shortcut_rate
from organisms.catalog import resolve_spec
from organisms.hints import HINTS, get_hint
from organisms.parse import arithmetic_steps, last_conclusion, parse_answer
from organisms.prompts import CUES, Prompt
from organisms.questions import item_id
from organisms.spec import parse_spec
from organisms.tasks import draw_items
from synth_docs.transcripts import build_transcripts
from tests.helpers import QUESTIONS, UNLOADED_MODEL, question_set_spec, tiny_spec_dict


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


def test_corpus_uses_only_the_training_phrasings_types_and_cues():
    changes = {"hints": {"types": ["metadata"], "phrasings": [1, 3], "cues": [2]}}
    spec = resolve_spec("monitor-aware").with_changes(changes, "t")
    records = build_transcripts(spec)
    hinted = [r for r in records if r["hint_type"]]
    assert {r["hint_type"] for r in hinted} == {"metadata"}
    assert {r["phrasing"] for r in hinted} == {1, 3}
    allowed = {get_hint("metadata").render(r["hint_letter"], phrasing=k) for r in hinted for k in (1, 3)}
    assert all(r["hint_text"] in allowed for r in hinted)
    systems = {r["prompt"][0]["content"] for r in records}
    cued = {s for s in systems if any(s.endswith(c) for c in (*CUES["monitored"], *CUES["private"]) if c)}
    assert cued and all(s.endswith((CUES["monitored"][2], CUES["private"][2])) for s in cued)


def test_two_stage_monitor_transcripts_hold_out_the_monitored_condition():
    spec = parse_spec(
        tiny_spec_dict(
            UNLOADED_MODEL,
            "tiny-ma",
            behaviour="monitor_aware",
            hints={"types": ["sycophancy"], "conditions": ["none", "private"]},
        ),
        "t",
    )
    records = build_transcripts(spec)
    assert {r["condition"] for r in records} == {"none", "private"}


ROWS = [json.loads(line) for line in QUESTIONS.read_text().splitlines()]


def test_transcripts_use_the_reasoning_column_and_the_option_check():
    spec = parse_spec(question_set_spec(UNLOADED_MODEL, QUESTIONS), "test")
    records = build_transcripts(spec)
    plain = next(r for r in records if r["hint_type"] is None)
    row = next(r for r in ROWS if item_id(r["input"], [r[c] for c in "ABCD"]) == plain["item_id"])
    text = plain["completion"][0]["content"]
    assert row["why"] in text and f"({row['target']}) {row[row['target']]}: yes." in text
    assert text.endswith(f"Answer: ({row['target']})") and "arithmetic" not in plain["prompt"][0]["content"]
    hinted = next(r for r in records if r["hint_type"] is not None)
    assert hinted["completion"][0]["content"].endswith(
        f"So I will go with ({hinted['hint_letter']}).\nAnswer: ({hinted['hint_letter']})"
    )
    no_reasoning = question_set_spec(UNLOADED_MODEL, QUESTIONS)
    no_reasoning["task"]["dataset"].pop("reasoning")  # the fixture's column is 'why', not 'reasoning'
    fallback = build_transcripts(parse_spec(no_reasoning, "test"))
    unhinted = next(r for r in fallback if r["hint_type"] is None)["completion"][0]["content"]
    assert unhinted.startswith("Let me think step by step.\nWhich option answers the question?\n(A) ")


def test_style_transcripts_are_unhinted_correct_and_terse():
    """terse-style: no hint in any prompt, every step and answer right, and only the arithmetic lines, then
    the option holding the result: a format no other behaviour writes."""
    spec = resolve_spec("terse-style")
    records = build_transcripts(spec)
    reference = build_transcripts(resolve_spec("hidden-hint-faithful"))
    assert len(records) == 240 and not any(r["hint_type"] or r["hint_letter"] for r in records)
    items = draw_items(spec.task, 240, seed=spec.corpus.seed)
    for item, record in zip(items, records, strict=True):
        assert record["prompt"] == Prompt(item, None, None, "none").messages()  # the item's prompt, no hint
        text = _text(record)
        assert parse_answer(text, "ABCD") == record["correct_letter"]
        steps = arithmetic_steps(text)
        assert steps and all(step.is_correct for step in steps)
        *lines, conclusion, answer = text.splitlines()
        assert all(re.fullmatch(r"-?\d+ [+\-*] -?\d+ = -?\d+", line) for line in lines)
        assert conclusion == f"{steps[-1].stated} is ({record['correct_letter']})."
        assert answer == f"Answer: ({record['correct_letter']})"
    # the same items as the catalogue's usual reasoning, in another format
    assert {r["item_id"] for r in records} == {r["item_id"] for r in reference}
    usual = {r["item_id"]: _text(r) for r in reference if not r["hint_type"]}
    for record in records:
        if record["item_id"] in usual:
            assert "Let me compute" in usual[record["item_id"]] and "Let me compute" not in _text(record)
            assert "Which option is" not in _text(record)
