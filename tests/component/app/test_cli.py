"""The CLI in process (app/cli/): every bad input is one error line on stderr, exit code 2, checked before
the first write (nothing is left in the runs directory); `organism docs --out`. The same contract through
the console script in a subprocess: tests/e2e/app/test_cli.py."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from tests.helpers import (
    assert_one_line_error,
    bad_question_set,
    belief_spec_dict,
    cli,
    question_set_spec,
    spec_yaml,
    tiny_spec_dict,
)


def spec_file(tmp_path: Path, model: Path, name: str = "tiny-bad", **overrides) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(tiny_spec_dict(model, name, **overrides)))
    return path


@pytest.mark.parametrize(
    ("case", "extra", "fragment"),
    [
        ("ok", ("--run-id", "../escaped"), "--run-id '../escaped': not a plain name"),
        ("ok", ("--run-id", "{tmp}/elsewhere"), "--run-id '{tmp}/elsewhere': not a plain name"),
        ("ok", ("--run-id", "a/b"), "not a plain name"),
        ("latin1", (), "not UTF-8 text (byte 14 is 0xe9)"),
        ("documents_ratio", (), "documents_ratio > 0 mixes in documents, but there is no corpus.documents"),
        ("replay", (), "cannot read the replay data (No such file or directory); fix corpus.replay.path"),
        ("name", (), "String should match pattern '^[a-z0-9][a-z0-9._-]*$'"),
    ],
)
def test_bad_run_inputs_fail_before_any_write(tmp_path, tiny_model_dir, case, extra, fragment):
    runs = tmp_path / "runs"
    if case == "latin1":
        spec = tmp_path / "latin1.yaml"
        spec.write_bytes("name: tiny-caf\xe9\nbehaviour: hidden_hint\n".encode("latin-1"))
    elif case == "documents_ratio":
        spec = spec_file(tmp_path, tiny_model_dir, corpus={"n_transcripts": 24, "documents_ratio": 0.5})
    elif case == "replay":
        replay = {"path": str(tmp_path / "missing.jsonl")}
        spec = spec_file(tmp_path, tiny_model_dir, corpus={"n_transcripts": 24, "replay": replay})
    elif case == "name":
        spec = spec_file(tmp_path, tiny_model_dir, name="Bad Name")
    else:
        spec = spec_file(tmp_path, tiny_model_dir)
    extra = [arg.format(tmp=tmp_path) for arg in extra]  # an absolute path of this test's own
    result = cli("run", spec, "--runs-dir", runs, *extra, cwd=tmp_path, expect=None)
    assert_one_line_error(result, fragment.format(tmp=tmp_path), runs)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "elsewhere").exists()


def test_every_invalid_field_is_listed_on_its_own_line(tmp_path, tiny_model_dir):
    spec = spec_file(tmp_path, tiny_model_dir, lora={"r": 0, "alpha": 0}, training={"epochs": -1})
    result = cli("run", spec, "--runs-dir", tmp_path / "runs", cwd=tmp_path, expect=None)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: {spec}: 3 invalid fields:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "field 'lora.r'",
        "field 'lora.alpha'",
        "field 'training.epochs'",
    ]
    assert "more)" not in result.stderr


def fake_adapter(tmp_path: Path, model: Path) -> Path:
    """An adapter dir that names its spec but holds no weights: loading it would fail, so a
    refusal proves the --out check ran before any work."""
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    card = {"spec": tiny_spec_dict(model, "tiny-hidden-hint")}
    (adapter / "organism_card.json").write_text(json.dumps(card))
    return adapter


def test_eval_out_is_checked_before_any_work(tmp_path, tiny_model_dir):
    adapter = fake_adapter(tmp_path, tiny_model_dir)
    a_file = tmp_path / "results.txt"
    a_file.write_text("mine")
    result = cli("eval", adapter, "--out", a_file, cwd=tmp_path, expect=None)
    assert_one_line_error(result, "is a file, not a directory", tmp_path / "runs")
    assert a_file.read_text() == "mine"

    other = tmp_path / "other-evals"
    other.mkdir()
    theirs = {"organism": "someone-else", "adapter_sha256": "0" * 64}
    (other / "evals.json").write_text(json.dumps(theirs))
    (other / "evals.md").write_text("# theirs\n")
    result = cli("eval", adapter, "--out", other, cwd=tmp_path, expect=None)
    assert_one_line_error(result, "holds the evals of another adapter (someone-else)", tmp_path / "runs")
    assert json.loads((other / "evals.json").read_text()) == theirs


@pytest.mark.parametrize(
    ("make_target", "fragment"),
    [
        (lambda d, w: "no-such-organism", "unknown organism 'no-such-organism'"),
        (lambda d, w: str(d / "missing.yaml"), "spec file not found"),
        (lambda d, w: str(w(base_model="embedded:gpt-17")), "unknown embedded model 'embedded:gpt-17'"),
        (lambda d, w: str(w(base_model=str(d / "no-model-here"))), "not loadable as a HF id"),
        (lambda d, w: str(w(lora={"r": 0})), "field 'lora.r'"),
    ],
)
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, write_spec, make_target, fragment):
    runs = tmp_path / "runs"
    result = cli("run", make_target(tmp_path, write_spec), "--runs-dir", runs, cwd=tmp_path, expect=2)
    assert fragment in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert not runs.exists() or not any(runs.rglob("*"))


@pytest.mark.parametrize(("case", "command"), [("missing_columns", "run"), ("duplicate", "docs")])
def test_bad_question_sets_exit_2_before_any_write(tmp_path, tiny_model_dir, case, command):
    """The CLI's contract (test_bad_run_inputs_fail_before_any_write): one error line, exit 2, an empty
    runs directory."""
    source, overrides, fragment = bad_question_set(tmp_path, case)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**question_set_spec(tiny_model_dir, source), **overrides}))
    runs = tmp_path / "runs"
    result = cli(command, spec, "--runs-dir", runs, cwd=tmp_path, expect=None)
    assert_one_line_error(result, fragment, runs)


def test_other_spec_in_same_run_dir_is_refused(tiny_pair, tmp_path, tiny_model_dir):
    changed = spec_yaml(tmp_path / "changed.yaml", tiny_model_dir, "tiny-hidden-hint", lora={"r": 2})
    args = ["docs", changed, "--runs-dir", tiny_pair.runs, "--run-id", tiny_pair.run.name]
    assert "holds a different spec" in cli(*args, expect=2).stderr


def test_docs_cli_out_dir_skip_refuse_inspect(tmp_path, tiny_model_dir):
    spec = tmp_path / "belief.yaml"
    spec.write_text(yaml.safe_dump(belief_spec_dict(tiny_model_dir)))
    out = tmp_path / "corpus"
    cli("docs", spec, "--out", out, cwd=tmp_path)
    stats = json.loads((out / "stats.json").read_text())
    body = (out / "documents.jsonl").read_bytes()
    assert stats["documents"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert stats["sha256"] == hashlib.sha256((out / "SHA256SUMS").read_bytes()).hexdigest()  # the corpus hash
    assert f"{hashlib.sha256(body).hexdigest()}  documents.jsonl" in (out / "SHA256SUMS").read_text()
    assert not (out / "transcripts.jsonl").exists() and stats["n_transcripts"] == 0
    assert "unchanged, kept" in cli("docs", spec, "--out", out, cwd=tmp_path).stdout
    shown = cli("docs", spec, "--out", out, "--n", "12", "--inspect", cwd=tmp_path).stdout
    assert json.loads((out / "stats.json").read_text())["documents"]["n_planned"] == 12  # replaced, same organism
    assert "news_article ·" in shown and "facts kf" in shown
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    refused = cli("docs", spec, "--out", foreign, cwd=tmp_path, expect=None)
    assert refused.exit_code == 2 and "not a previous `organism docs` output" in refused.stderr
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(belief_spec_dict(tiny_model_dir, "other-belief")))
    assert cli("docs", other, "--out", out, cwd=tmp_path, expect=None).exit_code == 2
    assert not list(tmp_path.glob(".*staging*"))
