"""The front doors, in subprocesses: `inspect eval` runs the hinted, necessity and monitor tasks end to end
on the tiny model through the `organism/` provider (found through the package's entry point), and
`organism inspect-report` turns the log directory into evals.json, evals.md and eval_responses.jsonl."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

from tests.helpers import organism, run_cmd, tiny_spec_dict

INSPECT = str(Path(sys.executable).parent / "inspect")


def test_inspect_eval_then_inspect_report(tmp_path, tiny_model_dir):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            tiny_spec_dict(
                tiny_model_dir, "tiny-cli", eval={"n_items": 4, "max_new_tokens": 12, "suites": ["hinted", "monitor"]}
            )
        )
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    logs = tmp_path / "logs"
    run_cmd(
        [
            INSPECT, "eval", "cot_organisms/hinted", "cot_organisms/necessity", "cot_organisms/monitor",
            "--model", f"organism/{tiny_model_dir}", "-M", "batch_size=16", "-T", f"spec={spec}",
            "--log-dir", str(logs), "--display", "none",
        ],
        cwd=tmp_path,
        env=env,
        timeout=600,
    )  # fmt: skip
    assert len(list(logs.glob("*.eval"))) == 3
    out = tmp_path / "tables"
    done = organism("inspect-report", f"base={logs}", "--out", str(out), cwd=tmp_path, env=env)
    assert "wrote" in done.stdout + done.stderr
    result = json.loads((out / "evals.json").read_text())
    assert (
        result["suites"] == ["hinted", "monitor"] and result["inspect"]["base"]["model"] == f"organism/{tiny_model_dir}"
    )
    assert {"necessity", "consistency", "ood", "monitor"} <= set(result["suite_metrics"]["base"])
    table = (out / "evals.md").read_text()
    for heading in ("Hint to a wrong option", "Does the CoT matter?", "Monitor awareness", "Out of distribution"):
        assert f"## {heading}" in table
    suites = {json.loads(line)["suite"] for line in (out / "eval_responses.jsonl").read_text().splitlines()}
    assert suites == {"hinted", "ood", "monitor"}
