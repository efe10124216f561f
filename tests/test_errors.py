"""Every bad input is one error line on stderr, exit code 2, checked before the first write:
nothing is left in the runs directory (issue 10)."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import organism as run_organism
from tests.helpers import tiny_spec_dict

# every probe here expects a failure: the exit code is asserted by each test
organism = functools.partial(run_organism, expect=None, timeout=300)


def unprivileged() -> tuple[str, ...]:
    """A command prefix under which file permissions apply (root ignores them unless it drops these)."""
    if os.geteuid() != 0:
        return ()
    # setpriv is util-linux (essential on Debian): without it, as root, these probes cannot run
    assert shutil.which("setpriv"), "running as root without setpriv (util-linux): cannot make permissions apply"
    return ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str, runs: Path) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    assert fragment in lines[0]
    assert not runs.exists() or not any(runs.rglob("*")), sorted(runs.rglob("*"))


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
    result = organism("run", str(spec), "--runs-dir", str(runs), *extra, cwd=tmp_path)
    assert_one_line_error(result, fragment.format(tmp=tmp_path), runs)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "elsewhere").exists()


def test_every_invalid_field_is_listed_on_its_own_line(tmp_path, tiny_model_dir):
    spec = spec_file(tmp_path, tiny_model_dir, lora={"r": 0, "alpha": 0}, training={"epochs": -1})
    result = organism("run", str(spec), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: {spec}: 3 invalid fields:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "field 'lora.r'",
        "field 'lora.alpha'",
        "field 'training.epochs'",
    ]
    assert "more)" not in result.stderr


def test_hf_id_with_unreachable_hub_fails_fast(tmp_path, tiny_model_dir):
    spec = spec_file(tmp_path, tiny_model_dir, base_model="some-org/not-cached-model")
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0"}  # nothing listens on port 9
    env.pop("HTTPS_PROXY", None), env.pop("https_proxy", None)
    start = time.perf_counter()
    result = organism("run", str(spec), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path, env=env)
    seconds = time.perf_counter() - start
    assert_one_line_error(result, "the hub (http://127.0.0.1:9) is unreachable", tmp_path / "runs")
    assert seconds < 25, seconds  # huggingface_hub alone retried for ~28 s before failing


def test_unreadable_model_file_and_dir(tmp_path, tiny_model_dir):
    prefix = unprivileged()
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    spec = spec_file(tmp_path, model)
    (model / "model.safetensors").chmod(0)
    try:
        result = organism("run", str(spec), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path, prefix=prefix)
        assert_one_line_error(result, "model.safetensors is not readable (permission denied)", tmp_path / "runs")
        (model / "model.safetensors").chmod(0o644)
        model.chmod(0)
        result = organism("run", str(spec), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path, prefix=prefix)
        assert_one_line_error(result, f"{model} is not readable (permission denied)", tmp_path / "runs")
    finally:
        model.chmod(0o755)
        (model / "model.safetensors").chmod(0o644)


def test_read_only_runs_dir(tmp_path, tiny_model_dir):
    prefix = unprivileged()
    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o555)
    try:
        result = organism(
            "docs", str(spec_file(tmp_path, tiny_model_dir)), "--runs-dir", str(runs), cwd=tmp_path, prefix=prefix
        )
        assert_one_line_error(result, "cannot create the run directory (Permission denied)", runs)
    finally:
        runs.chmod(0o755)


def test_bench_localization_bad_numbers_write_nothing(tmp_path):
    out = tmp_path / "bench"
    result = organism(
        "bench-localization", "--transcripts", "-5", "--tiny-layers", "2", "--out", str(out), cwd=tmp_path
    )
    assert_one_line_error(result, "--transcripts -5: must be >= 4", out)
    assert not out.exists()


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
    result = organism("eval", str(adapter), "--out", str(a_file), cwd=tmp_path)
    assert_one_line_error(result, "is a file, not a directory", tmp_path / "runs")
    assert a_file.read_text() == "mine"

    other = tmp_path / "other-evals"
    other.mkdir()
    theirs = {"organism": "someone-else", "adapter_sha256": "0" * 64}
    (other / "evals.json").write_text(json.dumps(theirs))
    (other / "evals.md").write_text("# theirs\n")
    result = organism("eval", str(adapter), "--out", str(other), cwd=tmp_path)
    assert_one_line_error(result, "holds the evals of another adapter (someone-else)", tmp_path / "runs")
    assert json.loads((other / "evals.json").read_text()) == theirs
