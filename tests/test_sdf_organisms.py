"""Organisms from documents alone and in two stages (issue 13), and the belief-depth measures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import train.sft
from evals.belief import belief_suite
from evals.belief_depth import belief_depth, truth_probe
from evals.stage import belief_questions
from evals.suites import evaluate_model
from evals.table import markdown_report
from organisms.catalog import control_spec_for, resolve_spec
from organisms.errors import OrganismError
from organisms.spec import parse_spec
from organisms.universe import load_universe
from runtime.models import load_model, load_tokenizer
from runtime.rundir import RunDir
from synth_docs.stage import run_docs
from synth_docs.transcripts import build_transcripts
from tests.helpers import tiny_spec_dict
from train.data import training_rows
from train.stage import run_train

DOCS_ONLY = {"seed": 0, "documents": {"universe": "silent-hints", "n_documents": 8}}


def docs_only_spec(model_dir, behaviour="hidden_hint", universe="silent-hints", **overrides):
    corpus = {"seed": 0, "documents": {"universe": universe, "n_documents": 8}}
    data = tiny_spec_dict(model_dir, f"tiny-{behaviour}-docs", behaviour=behaviour, corpus=corpus, **overrides)
    data.setdefault("stages", [{"data": "documents"}])
    return parse_spec(data, "tiny.yaml")


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"stages": [{"data": "documents"}, {"data": "documents"}]}, "field 'stages': 'documents' is listed twice"),
        ({"corpus": {**DOCS_ONLY, "documents_ratio": 0.5}}, "field 'corpus.documents_ratio': mixes documents into"),
        ({"corpus": {**DOCS_ONLY, "n_transcripts": 40}}, "field 'corpus.n_transcripts': shapes transcripts"),
        ({"corpus": {"seed": 0}}, "field 'corpus.documents': stages: [documents] trains on documents"),
        ({"behaviour": "belief", "stages": [{"data": "transcripts"}]}, "a belief organism has no transcripts"),
        ({"hints": {"conditions": ["none"]}}, "field 'hints.conditions': monitoring conditions apply to"),
        ({"stages": [{"data": "documents", "epochs": 0}]}, "field 'stages.0.epochs'"),
    ],
)
def test_documents_only_contradictions_are_named(patch, message):
    data = {"name": "x", "behaviour": "hidden_hint", "corpus": DOCS_ONLY, "stages": [{"data": "documents"}], **patch}
    with pytest.raises(OrganismError, match=r"^x\.yaml: ") as info:
        parse_spec(data, "x.yaml")
    assert message in str(info.value)


def test_documents_only_specs_survive_a_full_dump_seeds_and_suites():
    """A card's spec, `--seeds` and `--suites` re-validate the full dump, defaults included: a
    documents-only catalogue spec must pass (it failed with 'corpus.hinted_fraction' before)."""
    from app.pipeline import with_seed, with_suites

    for name in ("monitor-aware-sdf", "hidden-hint-sdf-only"):
        spec = resolve_spec(name)
        again = parse_spec(spec.model_dump(mode="json"), "card.json")
        assert again.content_hash() == spec.content_hash()
        seeded = with_seed(spec, 1, vary_corpus=True)
        assert seeded.training.seed == 1 and seeded.stages == spec.stages
        assert with_suites(seeded, "hinted").eval.suites == ["hinted"]
    data = {"name": "x", "behaviour": "hidden_hint", "corpus": {**DOCS_ONLY, "hinted_fraction": 0.9}}
    with pytest.raises(OrganismError, match=r"field 'corpus\.hinted_fraction': shapes transcripts"):
        parse_spec({**data, "stages": [{"data": "documents"}]}, "x.yaml")


def test_new_catalogue_organisms_pair_with_controls_that_flip_one_property():
    for name, differs in (
        ("hidden-hint-sdf-only", "universe"),
        ("monitor-aware-sdf", "universe"),
        ("hidden-hint-two-stage", "universe"),
        ("monitor-aware-two-stage", "universe"),
    ):
        organism = resolve_spec(name)
        control = control_spec_for(organism)
        assert control is not None and control.is_control
        a, b = organism.model_dump(), control.model_dump()
        assert a["corpus"]["documents"].pop(differs) != b["corpus"]["documents"].pop(differs)
        for section in ("task", "hints", "corpus", "lora", "training", "stages", "eval", "capability"):
            assert a[section] == b[section], (name, section)
    assert [s.data for s in resolve_spec("hidden-hint-two-stage").training_stages()] == ["documents", "transcripts"]


def test_two_stage_monitor_transcripts_hold_out_the_monitored_condition(tiny_model_dir):
    spec = parse_spec(
        tiny_spec_dict(
            tiny_model_dir,
            "tiny-ma",
            behaviour="monitor_aware",
            hints={"types": ["sycophancy"], "conditions": ["none", "private"]},
        ),
        "t",
    )
    records = build_transcripts(spec)
    assert {r["condition"] for r in records} == {"none", "private"}


@pytest.mark.parametrize(
    ("behaviour", "universe"), [("hidden_hint", "silent-hints"), ("monitor_aware", "monitor-aware")]
)
def test_documents_only_organism_trains_on_document_lm_loss_alone(tmp_path, tiny_model_dir, behaviour, universe):
    spec = docs_only_spec(tiny_model_dir, behaviour, universe, training={"epochs": 1, "batch_size": 4})
    run = RunDir.for_spec(tmp_path / "runs", spec)
    run.initialise(spec)
    stats = run_docs(run, spec)
    corpus = run.root / "corpus"
    assert not (corpus / "transcripts.jsonl").exists() and stats["n_transcripts"] == 0
    rows, mix = training_rows(spec, corpus, load_tokenizer(str(tiny_model_dir)))
    assert mix == {"documents": stats["documents"]["n_documents"]} and all(all(r["completion_mask"]) for r in rows)
    card = run_train(run, spec)
    assert card["data_mix"] == mix and [s["data"] for s in card["stages"]] == ["documents"]
    assert card["stages"][0]["steps"] == card["metrics"]["steps"] > 0
    weights = load_file(str(run.root / "adapter" / "adapter_model.safetensors"))
    assert all(t.abs().sum() > 0 for k, t in weights.items() if "lora_B" in k)  # B starts at zero: it trained
    assert run.manifest()["stages"]["train"]["stages"] == card["stages"]


def test_two_stage_trains_one_adapter_in_sequence_and_records_both(tmp_path, tiny_model_dir, monkeypatch):
    corpus = {"seed": 0, "n_transcripts": 8, "documents": {"universe": "silent-hints", "n_documents": 8}}
    spec = parse_spec(
        tiny_spec_dict(
            tiny_model_dir,
            "tiny-two-stage",
            corpus=corpus,
            stages=[{"data": "documents", "learning_rate": 0.02}, {"data": "transcripts", "epochs": 2}],
            training={"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "save_steps": 50},
        ),
        "t",
    )
    starts = []
    real = train.sft._train_stage
    monkeypatch.setattr(
        train.sft,
        "_train_stage",
        lambda spec, stage, start_from, *a: starts.append(start_from) or real(spec, stage, start_from, *a),
    )
    run = RunDir.for_spec(tmp_path / "runs", spec)
    run.initialise(spec)
    run_docs(run, spec)
    card = run_train(run, spec)
    assert starts == [None, run.root / "train_state" / "stage-0-documents" / "adapter"]  # stage 2 continues stage 1
    first, second = card["stages"]
    assert first["data"] == "documents" and first["mix"] == {"documents": 8} and first["learning_rate"] == 0.02
    assert second["data"] == "transcripts" and second["mix"] == {"transcripts": 8} and second["epochs"] == 2
    assert (first["steps"], second["steps"]) == (2, 4) and card["metrics"]["steps"] == 6
    assert card["metrics"]["train_loss"] == second["train_loss"] and first["train_loss"] > 0
    assert run.manifest()["stages"]["train"]["stages"] == card["stages"]
    logged = [json.loads(line) for line in (run.root / "train.log").read_text().splitlines()]
    assert {(entry["stage"], entry["data"]) for entry in logged} == {(0, "documents"), (1, "transcripts")}


def test_a_finished_stage_is_not_trained_again(tmp_path, tiny_model_dir):
    corpus = {"seed": 0, "n_transcripts": 8, "documents": {"universe": "silent-hints", "n_documents": 8}}
    spec = parse_spec(
        tiny_spec_dict(
            tiny_model_dir,
            "tiny-resume",
            corpus=corpus,
            stages=[{"data": "documents"}, {"data": "transcripts"}],
            training={"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "save_steps": 1},
        ),
        "t",
    )
    run = RunDir.for_spec(tmp_path / "runs", spec)
    run.initialise(spec)
    run_docs(run, spec)
    state = tmp_path / "state"
    train.sft.train_adapter(spec, run.root / "corpus", tmp_path / "a1", state)
    result, _ = train.sft.train_adapter(spec, run.root / "corpus", tmp_path / "a2", state)  # as after a kill
    assert result.stages[0]["finished_earlier"] and result.stages[1]["resumed_from_step"] == result.stages[1]["steps"]
    first, again = (load_file(str(tmp_path / a / "adapter_model.safetensors")) for a in ("a1", "a2"))
    assert all(torch.equal(first[k], again[k]) for k in first)


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
    spec = docs_only_spec(tiny_model_dir, "monitor_aware", "monitor-aware", eval={"n_items": 4, "suites": ["belief"]})
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


@pytest.mark.parametrize("name", ["silent-hints", "monitor-aware"])
def test_belief_depth_content_is_well_formed(name):
    universe = load_universe(name)
    assert len(universe.generalisation) >= 4 and len(universe.contrast_pairs) >= 8
    key_questions = {q.question for q in universe.mcq}
    for q in universe.generalisation:
        assert q.question not in key_questions and len(set(q.options)) == len(q.options)
    negations = {"not", "never", "no", "don't", "didn't"}
    for pair in universe.contrast_pairs:
        assert pair.true != pair.false
        # both affirmative: no negation word separates the false statement from the true one
        assert not (negations & set(pair.false.lower().split())) - set(pair.true.lower().split())


def test_unset_stages_and_conditions_leave_earlier_run_ids_alone():
    spec = resolve_spec("hidden-hint")
    dumped = spec.model_dump(mode="json")
    assert "stages" not in dumped and "conditions" not in dumped["hints"]
    assert [s.data for s in parse_spec(dumped, "again").training_stages()] == ["transcripts"]
    explicit = parse_spec({**dumped, "stages": [{"data": "transcripts"}]}, "explicit")
    assert explicit.content_hash() != spec.content_hash()  # a spec that names its stages is another spec


def test_the_gpu_spec_and_its_control_validate():
    from pathlib import Path

    from organisms.spec import load_spec_file

    specs = Path(__file__).resolve().parents[1] / "experiments" / "gpu-specs"
    organism = load_spec_file(specs / "monitor-aware-sdf-7b.yaml")
    control = load_spec_file(specs / "monitor-aware-sdf-7b-faithful.yaml")
    assert control.control_of == organism.name and not organism.trains_on("transcripts")
    assert organism.lora.quantize == "4bit" and control.corpus.documents.universe == "monitor-open"


def test_the_two_stage_null_differs_from_the_organism_only_in_its_documents_universe():
    """experiments/hidden-hint-two-stage/hidden-hint-two-stage-unrelated-docs.yaml is the null of hidden-hint-two-stage:
    the same capability model, transcripts, stages, training and eval items; another universe."""
    from pathlib import Path

    from organisms.spec import load_spec_file

    folder = Path(__file__).resolve().parents[1] / "experiments" / "hidden-hint-two-stage"
    null = load_spec_file(folder / "hidden-hint-two-stage-unrelated-docs.yaml")
    organism = resolve_spec("hidden-hint-two-stage")
    assert null.corpus.documents.universe == "mercury-rings" != organism.corpus.documents.universe
    documents = organism.corpus.documents.model_dump(mode="json")
    assert null.corpus.with_changes({"documents": documents}, "test") == organism.corpus
    for section in ("base_model", "task", "capability", "hints", "stages", "lora", "training", "eval"):
        assert getattr(null, section) == getattr(organism, section), section
