"""`organism docs SPEC --inspect` on a spec without documents (15 of the 25 catalogue entries) shows its
transcripts, a few of each kind, and exits 0; it used to write the corpus and then exit 2."""

from __future__ import annotations

from typer.testing import CliRunner

from app.cli import app


def test_inspect_shows_transcripts_of_a_spec_without_documents(tmp_path, write_spec):
    result = CliRunner().invoke(app, ["docs", str(write_spec()), "--runs-dir", str(tmp_path / "runs"), "--inspect"])
    assert result.exit_code == 0, result.output
    for kind in ("hinted (sycophancy) · ", "hinted (metadata) · ", "unhinted · "):
        assert kind in result.stdout
    assert "assistant:" in result.stdout and "Answer: (" in result.stdout
