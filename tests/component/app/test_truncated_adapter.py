"""A run directory's adapter that no longer matches what `organism train` wrote (truncated by a full disk,
a copy cut short, an edit) is a one-line error naming it and the command that rebuilds it, not a
safetensors traceback from inside peft; `organism train` on the run then rebuilds the same adapter."""

from __future__ import annotations

from typer.testing import CliRunner

from app.cli import app
from runtime.rundir import hash_path


def test_eval_on_a_truncated_adapter_says_which_file_and_how_to_rebuild(tmp_path, write_spec, monkeypatch):
    monkeypatch.setenv("COT_ORGANISMS_CACHE", str(tmp_path / "cache"))
    runner = CliRunner()
    spec = write_spec()
    trained = runner.invoke(app, ["train", str(spec), "--runs-dir", str(tmp_path / "runs"), "--no-wandb"])
    assert trained.exit_code == 0, trained.output
    (run_dir,) = (tmp_path / "runs" / "tiny-hidden-hint").iterdir()
    adapter = run_dir / "adapter"
    weights = adapter / "adapter_model.safetensors"
    intact = hash_path(weights)  # the card beside it records wall times: it differs run to run
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])

    result = runner.invoke(app, ["eval", str(run_dir)])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"{adapter}: not what `organism train` wrote" in line and f"organism train {run_dir}" in line
    assert not (run_dir / "evals.json").exists()

    rebuilt = runner.invoke(app, ["train", str(run_dir), "--no-wandb"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert hash_path(weights) == intact
