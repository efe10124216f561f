"""`organism docs --out DIR` over its own earlier output replaces the corpus, and never a file the user
put in DIR: with one there, it refuses (exit 2, naming the file) before writing anything."""

from __future__ import annotations

from typer.testing import CliRunner

from app.cli import app

runner = CliRunner()


def test_docs_out_refuses_to_replace_an_output_holding_a_users_file(tmp_path, write_spec):
    spec = str(write_spec())
    out = tmp_path / "corpus"
    first = runner.invoke(app, ["docs", spec, "--out", str(out)])
    assert first.exit_code == 0, first.output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "notes.md").write_text("my reading of these transcripts")

    kept = runner.invoke(app, ["docs", spec, "--out", str(out)])  # unchanged inputs: nothing replaced
    assert kept.exit_code == 0 and "unchanged, kept" in kept.stdout, kept.output

    refused = runner.invoke(app, ["docs", spec, "--out", str(out), "--seed", "1"])
    assert refused.exit_code == 2, refused.output
    assert "notes.md" in refused.output and "nothing was written" in refused.output
    assert (out / "notes.md").read_text() == "my reading of these transcripts"
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != "notes.md"} == before
    assert not list(tmp_path.glob(".corpus.*"))

    (out / "notes.md").unlink()
    replaced = runner.invoke(app, ["docs", spec, "--out", str(out), "--seed", "1"])
    assert replaced.exit_code == 0, replaced.output
    assert (out / "transcripts.jsonl").read_bytes() != before["transcripts.jsonl"]
