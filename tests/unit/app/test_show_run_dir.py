"""`organism show` takes what `--help` says it takes: a catalogue name, a spec YAML, or a run directory
(whose spec.yaml it prints); a directory that is none of these is a one-line error saying so."""

from __future__ import annotations

from typer.testing import CliRunner

from app.cli import app
from organisms.catalog import resolve_spec

runner = CliRunner()


def test_show_prints_a_run_directorys_spec(tmp_path):
    spec = resolve_spec("hidden-hint").with_changes({"training.seed": 3}, "test")
    run_dir = tmp_path / "runs" / "hidden-hint" / spec.content_hash()[:12]
    run_dir.mkdir(parents=True)
    (run_dir / "spec.yaml").write_text(spec.to_yaml())
    result = runner.invoke(app, ["show", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert result.stdout == spec.to_yaml()


def test_show_on_a_directory_without_a_spec_says_what_to_pass(tmp_path):
    result = runner.invoke(app, ["show", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert f"{tmp_path}: a directory without spec.yaml" in result.output
    assert "Is a directory" not in result.output and "Traceback" not in result.output
