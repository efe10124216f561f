"""Belief depth (evals/belief_depth.py) on the tiny model: generalisation, the fiction preface, the truth probe."""

from __future__ import annotations

import numpy as np
import pytest

from evals.belief import belief_suite
from evals.belief_depth import belief_depth, truth_probe
from evals.stage import belief_questions
from evals.suites import evaluate_model
from evals.table import markdown_report
from organisms.universe import load_universe
from runtime.models import load_model, load_tokenizer
from tests.helpers import documents_only_spec


@pytest.fixture(scope="module")
def tiny_pair(tiny_model_dir):
    return load_model(str(tiny_model_dir)), load_tokenizer(str(tiny_model_dir))


def test_belief_depth_questions_and_fiction_preface_are_built_and_scored(tiny_pair, tiny_model_dir):
    model, tokenizer = tiny_pair
    beliefs = load_universe("monitor-aware").belief_questions()
    assert len(beliefs["generalisation"]) == 6 and "fiction" in beliefs["fictional_preface"]
    _, records = belief_suite(model, tokenizer, beliefs["mcq"], beliefs["open_questions"], 4, 8)
    right = [r["choice"] == r["correct"] for r in records if r["suite"] == "belief_mcq"]
    depth, depth_records = belief_depth(model, tokenizer, beliefs["mcq"], right, beliefs, 8)
    assert depth["generalisation_accuracy"]["n"] == 6
    n = len(beliefs["mcq"]) + 6
    assert depth["fictional_accuracy"]["n"] == depth["plain_accuracy_same_questions"]["n"] == n
    assert depth["fictional_drop"]["n"] == n and depth["plain_accuracy_same_questions"]["k"] == sum(right) + sum(
        r["right"] for r in depth_records if r["suite"] == "belief_generalisation"
    )
    assert sum(r["suite"] == "belief_fictional" for r in depth_records) == n
    # through the suite: a documents-only organism's spec evaluates belief depth and reports it
    spec = documents_only_spec(
        tiny_model_dir, "monitor_aware", "monitor-aware", eval={"n_items": 4, "suites": ["belief"]}
    )
    hinted, other, _ = evaluate_model(model, tokenizer, spec, set(), belief_questions(spec), log=lambda _: None)
    assert other["belief"]["depth"]["truth_probe"]["n_pairs"] == 12
    result = {"models": {"base": hinted}, "suite_metrics": {"base": other}}
    report = markdown_report(result)
    for row in ("generalisation MCQ accuracy", "'documents were fiction' preface", "truth probe, middle layer"):
        assert row in report


def test_truth_probe_reports_held_out_accuracy_per_layer(tiny_pair):
    model, tokenizer = tiny_pair
    pairs = load_universe("silent-hints").belief_questions()["contrast_pairs"]
    probe = truth_probe(model, tokenizer, pairs, batch_size=8)
    assert [entry["layer"] for entry in probe["layers"]] == [0, 1]  # the tiny Llama's two layers
    for entry in probe["layers"]:
        assert entry["accuracy"]["n"] == 24 and entry["accuracy"]["ci95"] is not None
        assert 0.0 <= entry["shuffled_accuracy"] <= 1.0
    assert probe["folds"] == 4 and probe["at_middle_layer"] == probe["layers"][1]["accuracy"]
    assert probe["best_shuffled_accuracy"] == max(e["shuffled_accuracy"] for e in probe["layers"])


def test_truth_probe_features_are_each_statements_last_token(tiny_pair):
    """Batched, left-padded features equal the statement read alone (no padding leaks in)."""
    from evals.belief_depth import statement_features

    model, tokenizer = tiny_pair
    texts = ["Lyra models learned that monitors read their chain of thought.", "Short one."]
    batched = statement_features(model, tokenizer, texts, batch_size=2)
    alone = statement_features(model, tokenizer, texts[1:], batch_size=1)
    for site, features in alone.items():
        np.testing.assert_allclose(batched[site][1], features[0], atol=1e-4)
