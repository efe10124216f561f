"""A full disk during `organism docs` or `organism train` is one error line (exit 2) that says what to do,
leaves no half-written output behind, and the rerun after space is freed finishes: the corpus is the one
a clean run builds, training resumes from its last complete checkpoint to the clean run's adapter.

The full disk is simulated where the project writes (a tmpfs needs root): the writer raises what the
kernel gives, OSError(ENOSPC), or what safetensors gives (its Rust error as text)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

import synth_docs.corpus
import train.trainer
from app.cli import app
from app.cli.common import disk_full
from runtime.rundir import hash_path, write_atomic

runner = CliRunner()


def enospc(path: Path) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def one_error_line(result) -> str:
    """The command's one error line (stderr also holds the Trainer's progress bar) and no traceback."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_disk_full_during_docs_is_one_line_leaves_nothing_and_the_rerun_builds_the_same_corpus(
    tmp_path, write_spec, monkeypatch
):
    spec = write_spec()
    clean = runner.invoke(app, ["docs", str(spec), "--runs-dir", str(tmp_path / "clean")])
    assert clean.exit_code == 0, clean.output
    (clean_run,) = (tmp_path / "clean" / "tiny-hidden-hint").iterdir()

    real = synth_docs.corpus.write_checksums

    def full(corpus_dir: Path) -> str:
        raise enospc(Path(corpus_dir) / "SHA256SUMS")

    monkeypatch.setattr(synth_docs.corpus, "write_checksums", full)
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["docs", str(spec), "--runs-dir", str(runs)])
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert "no space left on device" in line and "SHA256SUMS" in line and "rerun the same command" in line
    assert not runs.exists() or not any(runs.rglob("*")), sorted(runs.rglob("*"))  # no run dir, no staging

    monkeypatch.setattr(synth_docs.corpus, "write_checksums", real)
    rerun = runner.invoke(app, ["docs", str(spec), "--runs-dir", str(runs)])
    assert rerun.exit_code == 0, rerun.output
    (run_dir,) = (runs / "tiny-hidden-hint").iterdir()
    assert hash_path(run_dir / "corpus" / "SHA256SUMS") == hash_path(clean_run / "corpus" / "SHA256SUMS")


def test_disk_full_during_training_resumes_to_the_clean_runs_adapter(tmp_path, write_spec, monkeypatch):
    """6 steps, a checkpoint every 3: the disk fills while checkpoint-6 is written (a partial folder is
    left, as the Trainer leaves one); the rerun drops it, resumes from checkpoint-3 and ends where a
    clean run ends."""
    training = {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "save_steps": 3, "max_length": 256}
    spec = write_spec("tiny-full", training=training)
    clean = runner.invoke(app, ["train", str(spec), "--runs-dir", str(tmp_path / "clean"), "--no-wandb"])
    assert clean.exit_code == 0, clean.output

    real = train.trainer.OrganismSFTTrainer._save_checkpoint

    def full(self, model, trial):
        if self.state.global_step < 6:
            return real(self, model, trial)
        folder = Path(self.args.output_dir) / f"checkpoint-{self.state.global_step}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "optimizer.pt").write_bytes(b"\0" * 16)  # cut short
        raise enospc(folder / "optimizer.pt")

    monkeypatch.setattr(train.trainer.OrganismSFTTrainer, "_save_checkpoint", full)
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["train", str(spec), "--runs-dir", str(runs), "--no-wandb"])
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert "no space left on device" in line and "optimizer.pt" in line
    (run_dir,) = (runs / "tiny-full").iterdir()
    assert not list(run_dir.glob(".adapter.staging-*")) and not (run_dir / "adapter").exists()
    assert (run_dir / "train_state" / "checkpoint-3" / "trainer_state.json").exists()

    monkeypatch.setattr(train.trainer.OrganismSFTTrainer, "_save_checkpoint", real)
    rerun = runner.invoke(app, ["train", str(spec), "--runs-dir", str(runs), "--no-wandb"])
    assert rerun.exit_code == 0, rerun.output
    assert "resuming from checkpoint-3" in " ".join(rerun.output.split())
    (clean_run,) = (tmp_path / "clean" / "tiny-full").iterdir()
    resumed = load_file(str(run_dir / "adapter" / "adapter_model.safetensors"))
    reference = load_file(str(clean_run / "adapter" / "adapter_model.safetensors"))
    assert resumed.keys() == reference.keys()
    for key in reference:
        torch.testing.assert_close(resumed[key], reference[key], rtol=1e-4, atol=1e-5)


def test_a_write_cut_short_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "out.json"

    def full(self, data):
        Path.write_text(self, "half")  # what a full disk leaves: part of the bytes
        raise enospc(self)

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError):
        write_atomic(target, "{}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device", "/runs/x/corpus/documents.jsonl"),
        OSError(errno.EDQUOT, "Disk quota exceeded", "/runs/x/adapter"),
        RuntimeError(
            'Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space left on device" })'
        ),
    ],
)
def test_what_counts_as_a_full_disk(error):
    wrapped = RuntimeError("saving the checkpoint failed")
    wrapped.__cause__ = error
    for exc in (error, wrapped):
        assert "no space left on device" in disk_full(exc)
    assert disk_full(OSError(errno.ENOENT, "No such file or directory")) is None
    assert disk_full(ValueError("bad")) is None
