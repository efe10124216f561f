"""The `organism` command in a subprocess: the console script's bad-input contract, what only a real process
shows (the hub's retries, file permissions, the start-up warning filters), and `organism run` end to end.
The bad-input contract case by case, in process: tests/component/app/test_cli.py."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import QUESTIONS, assert_one_line_error, organism, run_cmd, think_spec_dict, tiny_spec_dict

CONSOLE_SCRIPT = Path(sys.executable).with_name("organism")  # what `pip install` put beside this interpreter


def unprivileged() -> tuple[str, ...]:
    """A command prefix under which file permissions apply (root ignores them unless it drops these)."""
    if os.geteuid() != 0:
        return ()
    # setpriv is util-linux (essential on Debian): without it, as root, these probes cannot run
    assert shutil.which("setpriv"), "running as root without setpriv (util-linux): cannot make permissions apply"
    return ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")


def spec_file(tmp_path: Path, model: Path, name: str = "tiny-bad", **overrides) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(tiny_spec_dict(model, name, **overrides)))
    return path


def test_console_script_refuses_bad_input_in_one_line_and_writes_nothing(tmp_path):
    assert CONSOLE_SCRIPT.exists(), (
        f"no console script at {CONSOLE_SCRIPT}: install the package (make .venv/.installed)"
    )
    runs = tmp_path / "runs"
    result = run_cmd([str(CONSOLE_SCRIPT), "run", "no-such-organism", "--runs-dir", str(runs)], tmp_path, expect=None)
    assert_one_line_error(result, "unknown organism 'no-such-organism'", runs)
    assert "Traceback" not in result.stderr


def test_hf_id_with_unreachable_hub_fails_fast(tmp_path, tiny_model_dir):
    spec = spec_file(tmp_path, tiny_model_dir, base_model="some-org/not-cached-model")
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0"}  # nothing listens on port 9
    env.pop("HTTPS_PROXY", None), env.pop("https_proxy", None)
    start = time.perf_counter()
    result = organism("run", str(spec), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path, env=env, expect=None)
    seconds = time.perf_counter() - start
    assert_one_line_error(result, "the hub (http://127.0.0.1:9) is unreachable", tmp_path / "runs")
    assert seconds < 25, seconds  # huggingface_hub alone retried for ~28 s before failing


def test_unreadable_model_file_and_dir(tmp_path, tiny_model_dir):
    prefix = unprivileged()
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    spec = spec_file(tmp_path, model)
    args = ("run", str(spec), "--runs-dir", str(tmp_path / "runs"))
    (model / "model.safetensors").chmod(0)
    try:
        result = organism(*args, cwd=tmp_path, prefix=prefix, expect=None)
        assert_one_line_error(result, "model.safetensors is not readable (permission denied)", tmp_path / "runs")
        (model / "model.safetensors").chmod(0o644)
        model.chmod(0)
        result = organism(*args, cwd=tmp_path, prefix=prefix, expect=None)
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
        spec = spec_file(tmp_path, tiny_model_dir)
        result = organism("docs", str(spec), "--runs-dir", str(runs), cwd=tmp_path, prefix=prefix, expect=None)
        assert_one_line_error(result, "cannot create the run directory (Permission denied)", runs)
    finally:
        runs.chmod(0o755)


@pytest.fixture(scope="module")
def think_run(tmp_path_factory, think_model_dir):
    """`organism run` in a subprocess (docs -> train -> eval with every default hidden_hint suite -> analyze)
    on the JSONL fixture, the tiny model reasoning in think blocks through the Qwen3-style template:
    (its run directory, the finished process)."""
    root = tmp_path_factory.mktemp("think-run")
    task = {
        "family": "dataset",
        "dataset": {
            "source": str(QUESTIONS),
            "question": "input",
            "choices": ["A", "B", "C", "D"],
            "answer": "target",
            "reasoning": "why",
        },
    }
    evals = {**tiny_spec_dict(think_model_dir)["eval"], "n_items": 4, "iphr": {"n_pairs": 1, "n_samples": 2}}
    spec_dict = think_spec_dict(
        think_model_dir, "tiny-think-run", task=task, eval=evals, analyze={"items": 2, "probe_items": 4}
    )
    spec_dict["corpus"]["n_transcripts"] = 12
    spec = root / "tiny-think-run.yaml"
    spec.write_text(yaml.safe_dump(spec_dict))
    runs = root / "runs"
    result = organism("run", str(spec), "--runs-dir", str(runs), "--no-wandb", cwd=root, timeout=900)
    return next((runs / "tiny-think-run").iterdir()), result


def test_output_is_quiet(think_run):
    """Third-party notices that are not ours to fix are filtered at CLI start-up."""
    _, result = think_run
    assert "gemm_4bit_forward" not in result.stderr
    assert "FutureWarning" not in result.stderr


def test_organism_run_end_to_end_on_a_question_set_with_think_blocks(think_run):
    """Within 16 new tokens the tiny random model never closes its block: every suite must say so rather
    than read an answer from inside it."""
    run, _ = think_run
    manifest = json.loads((run / "manifest.json").read_text())
    assert set(manifest["stages"]) == {"docs", "train", "eval", "analyze"}
    for name in ("evals.json", "evals.md", "eval_responses.jsonl", "analysis/patching.json"):
        assert (run / name).exists(), name
    evals_json = json.loads((run / "evals.json").read_text())
    assert evals_json["suites"] == ["hinted", "lanham", "iphr"] and evals_json["think_metrics_version"] >= 1
    responses = [json.loads(line) for line in (run / "eval_responses.jsonl").read_text().splitlines()]
    for label, suites in evals_json["suite_metrics"].items():
        hinted = [r for r in responses if r["model"] == label and r["suite"] == "hinted"]
        unclosed = sum("</think>" not in r["response_unhinted"] for r in hinted)
        assert suites["truncated"]["unhinted"] == unclosed
        assert suites["lanham"]["excluded_truncated"] == unclosed  # never read as answers
        assert suites["iphr"]["truncated"]["n_answers"] == 4
        assert "task" in suites["truncated_ood"]
        for r in (r for r in responses if r["model"] == label and r["suite"] == "iphr"):
            assert r["truncated"] == ("</think>" not in r["response"])
            if r["truncated"]:
                assert r["parsed"] is None
    assert "think block never closed" in (run / "evals.md").read_text()
