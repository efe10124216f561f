"""Held-out axes (evals/ood.py): what each spec holds out, and pairs that change one thing each."""

from __future__ import annotations

import pytest

from evals.hinted import eval_pairs
from evals.ood import held_out, ood_pairs
from organisms.catalog import resolve_spec
from organisms.errors import OrganismError
from organisms.hints import HINTS
from organisms.spec import parse_spec
from tests.helpers import QUESTIONS, UNLOADED_MODEL, question_set_spec, tiny_spec_dict


def test_defaults_hold_out_something_on_every_axis_and_catalogue_specs_stay_valid():
    spec = parse_spec({"name": "x", "behaviour": "hidden_hint"}, "x")
    axes = held_out(spec)
    assert axes == {
        "phrasing": [1, 2, 3, 4],
        "hint_type": ["consistency", "visual_pattern", "grader_hacking", "unethical_information", "complex"],
        "cue": [1, 2, 3, 4],
        "task": ["word_problem"],
    }
    for name in ("hidden-hint", "hidden-hint-faithful", "monitor-aware", "shortcut", "hidden-hint-all-hints"):
        catalogue = resolve_spec(name)
        assert held_out(catalogue)["phrasing"] and held_out(catalogue)["task"] != [catalogue.task.family]
    assert held_out(resolve_spec("hidden-hint-all-hints"))["hint_type"] == []  # it trains on every type


def test_held_out_pairs_change_one_thing_each():
    spec = resolve_spec("hidden-hint")
    pairs = eval_pairs(spec, set())
    axes = ood_pairs(spec, set(), pairs)
    for axis in ("phrasing", "hint_type"):  # same items, letters and unhinted prompts; only the hint differs
        assert [p.unhinted for p in axes[axis]] == [p.unhinted for p in pairs]
        assert [p.hinted.hint_letter for p in axes[axis]] == [p.hinted.hint_letter for p in pairs]
    assert [p.hinted.hint_type for p in axes["phrasing"]] == [p.hinted.hint_type for p in pairs]
    assert {p.hinted.phrasing for p in axes["phrasing"]} == {1, 2, 3, 4}
    assert {p.hinted.phrasing for p in pairs} == {0}
    assert {p.hinted.hint_type for p in axes["hint_type"]} == set(HINTS) - {"sycophancy", "metadata"}
    task = axes["task"]
    assert len(task) == spec.eval.n_items and all(p.hinted.item.story for p in task)
    assert {p.hinted.hint_type for p in task} == {"sycophancy", "metadata"}
    with pytest.raises(OrganismError, match=r"eval\.ood\.task_family"):
        parse_spec({**spec.model_dump(mode="json"), "eval": {"ood": {"task_family": "arithmetic_mcq"}}}, "t")


def test_the_shipped_set_is_a_held_out_task_source():
    from evals.ood import held_out, ood_pairs

    spec = parse_spec(tiny_spec_dict(UNLOADED_MODEL, eval={"n_items": 6, "ood": {"task_family": "dataset"}}), "t")
    assert held_out(spec)["task"] == ["dataset"]
    pairs = ood_pairs(spec, set(), [])["task"]
    assert len(pairs) == 6 and all(p.hinted.item.question and not p.hinted.item.has_steps for p in pairs)
    assert all(p.hinted.item.reasoning for p in pairs)  # the shipped set's reasoning column is picked up
    from_set = parse_spec(question_set_spec(UNLOADED_MODEL, QUESTIONS), "t")
    assert held_out(from_set)["task"] == ["arithmetic_mcq"]  # a question-set organism: held out = arithmetic
