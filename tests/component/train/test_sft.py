"""Training stages (train/sft.py): documents then transcripts into one adapter; a finished stage is kept."""

from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

import train.sft
from organisms.spec import parse_spec
from runtime.rundir import RunDir
from synth_docs.stage import run_docs
from tests.helpers import tiny_spec_dict
from train.stage import run_train


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
