"""Training across processes (train/checkpoints.py): the same adapter bytes under any hash seed, and a
killed training resumed to the same adapter and card."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest
import torch
from safetensors.torch import load_file

from tests.helpers import ORGANISM, cli
from tests.helpers import run_cmd as run


def test_identical_runs_write_identical_adapter_files_and_keep_logs_off_stdout(tmp_path, write_spec):
    """peft keeps target_modules in a set, whose order follows the hash seed of the process."""
    spec = write_spec("tiny-det")
    runs = {}
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = run([*ORGANISM, "train", str(spec), "--runs-dir", str(tmp_path / seed)], tmp_path, env=env)
        assert "'loss'" not in result.stdout and "'loss'" not in result.stderr  # no log dicts on the console
        (runs[seed],) = list((tmp_path / seed / "tiny-det").iterdir())
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        assert (runs["1"] / "adapter" / name).read_bytes() == (runs["2"] / "adapter" / name).read_bytes(), name
    logs = [json.loads(line) for line in (runs["1"] / "train.log").read_text().splitlines()]
    assert any("loss" in entry for entry in logs) and logs[-1]["step"] == 6


def test_interrupted_training_resumes_to_the_same_adapter_and_card(tmp_path, write_spec):
    """SIGKILL training after its first checkpoint, then leave a checkpoint cut short as a kill
    while writing one does (no trainer_state.json). The rerun removes that one, says so, resumes
    from the last complete one, and ends with the adapter and card of an uninterrupted run."""
    training = {"epochs": 4, "batch_size": 4, "save_steps": 2, "learning_rate": 0.01}
    spec = write_spec("tiny-resume", training=training)
    cli("train", spec, "--runs-dir", tmp_path / "clean", cwd=tmp_path)
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [*ORGANISM, "train", str(spec), "--runs-dir", str(runs)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state = None
    while proc.poll() is None and state is None:
        found = list(runs.glob("tiny-resume/*/train_state/checkpoint-*/trainer_state.json"))
        state = found[0].parent if found else None
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert state is not None, "no checkpoint was written before training ended"
    checkpoints = sorted(state.parent.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    complete = [p for p in checkpoints if (p / "trainer_state.json").exists()]
    step = int(complete[-1].name.split("-")[1])
    cut_short = state.parent / f"checkpoint-{step + 100}"
    shutil.copytree(complete[-1], cut_short)
    (cut_short / "trainer_state.json").unlink()
    result = cli("train", spec, "--runs-dir", runs, cwd=tmp_path)  # the rerun, in process
    told = " ".join(result.stderr.split())
    assert f"{cut_short} is incomplete" in told and f"removed it, resuming from checkpoint-{step}" in told
    resumed_dir = state.parent.parent / "adapter"
    card = json.loads((resumed_dir / "organism_card.json").read_text())
    clean_dir = next((tmp_path / "clean" / "tiny-resume").iterdir()) / "adapter"
    clean = json.loads((clean_dir / "organism_card.json").read_text())
    assert card["resumed_from_step"] == step and card["metrics"]["steps"] == clean["metrics"]["steps"] == 24
    assert card["tokens"] == clean["tokens"] and card["shards"] == clean["shards"]  # the whole training
    assert card["metrics"]["train_loss"] == pytest.approx(clean["metrics"]["train_loss"], rel=1e-4)
    resumed, reference = (
        load_file(str(resumed_dir / "adapter_model.safetensors")),
        load_file(str(clean_dir / "adapter_model.safetensors")),
    )
    assert resumed.keys() == reference.keys()
    for key in reference:
        torch.testing.assert_close(resumed[key], reference[key], rtol=1e-4, atol=1e-5)
