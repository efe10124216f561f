"""SIGTERM (what `timeout`, schedulers and `kill` send) is handled as Ctrl-C is: the staging dir goes, a
run dir with no finished stage goes, the command says how to resume and exits 143 (128 + SIGTERM), and
the rerun resumes. A real `python -m app.cli` process: the point is the signal."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from tests.helpers import ORGANISM, organism, spec_yaml

RESUME = "terminated; rerun the same command to resume"


def wait_for(predicate, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert process.poll() is None, "the command ended before the moment the test waits for"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def terminate(process: subprocess.Popen) -> str:
    """SIGTERM, then the process's stderr once it has exited."""
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    return err


def test_sigterm_during_docs_leaves_no_run_dir_and_no_staging(tmp_path, tiny_model_dir):
    corpus = {"seed": 0, "n_transcripts": 3000, "documents": {"universe": "mercury-rings", "n_documents": 400}}
    spec = spec_yaml(tmp_path / "slow-docs.yaml", tiny_model_dir, "tiny-slow-docs", corpus=corpus)
    runs = tmp_path / "runs"
    process = subprocess.Popen(
        [*ORGANISM, "docs", str(spec), "--runs-dir", str(runs)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: any(runs.glob("tiny-slow-docs/*/.corpus.staging-*")), process)
    err = terminate(process)
    assert process.returncode == 143, err[-2000:]
    assert err.strip().splitlines()[-1] == RESUME and "Traceback" not in err
    assert not runs.exists() or not any(runs.rglob("*")), sorted(runs.rglob("*"))


def test_sigterm_during_training_keeps_the_corpus_and_checkpoint_and_the_rerun_resumes(tmp_path, tiny_model_dir):
    training = {"epochs": 4, "batch_size": 4, "learning_rate": 0.01, "save_steps": 2, "max_length": 256}
    spec = spec_yaml(tmp_path / "term.yaml", tiny_model_dir, "tiny-term", training=training)
    runs = tmp_path / "runs"
    args = ["train", str(spec), "--runs-dir", str(runs), "--no-wandb"]
    process = subprocess.Popen(
        [*ORGANISM, *args], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    wait_for(lambda: any(runs.glob("tiny-term/*/train_state/checkpoint-*/trainer_state.json")), process)
    err = terminate(process)
    assert process.returncode == 143, err[-2000:]
    assert err.strip().splitlines()[-1] == RESUME and "Traceback" not in err
    (run_dir,) = (runs / "tiny-term").iterdir()
    assert not [p for p in run_dir.iterdir() if ".staging-" in p.name]
    assert (run_dir / "corpus" / "stats.json").exists() and not (run_dir / "adapter").exists()
    assert any(run_dir.glob("train_state/checkpoint-*/trainer_state.json"))

    organism(*args, cwd=tmp_path)
    card = json.loads((run_dir / "adapter" / "organism_card.json").read_text())
    assert card["resumed_from_step"] is not None and card["metrics"]["steps"] == 24
    assert Path(run_dir / "adapter" / "adapter_model.safetensors").exists()
