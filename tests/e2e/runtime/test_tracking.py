"""W&B (runtime/tracking.py) offline in a real process: no route to the server, plots and tables, no secrets."""

from __future__ import annotations

import json
import os
import socket
import sys
import time

from tests.helpers import ORGANISM, REPO, run_cmd, wandb_records
from tests.helpers import run_cmd as run


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_wandb_unreachable_logs_offline_in_the_run_dir_without_secrets(tmp_path, write_spec):
    """A key but no route to the server: offline at once (not ~110 s of retries and a traceback),
    the W&B files inside the run directory (not ./wandb), loss and config logged, no secret."""
    spec = write_spec("tiny-wandb", training={"epochs": 1, "batch_size": 4, "wandb": {"enabled": True, "project": "t"}})
    secret = "sk-test-DO-NOT-LOG-1234567890"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(
        OPENAI_API_KEY=secret,
        WANDB_API_KEY="x" * 40,
        WANDB_BASE_URL=f"http://127.0.0.1:{_closed_port()}",
        WANDB_SILENT="true",
    )
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    start = time.perf_counter()
    result = run([*ORGANISM, "train", str(spec), "--runs-dir", str(tmp_path / "runs")], cwd, env=env)
    assert time.perf_counter() - start < 100
    assert "W&B: cannot reach http://127.0.0.1:" in result.stderr and "logging offline" in result.stderr
    assert not (cwd / "wandb").exists()
    (run_file,) = list((tmp_path / "runs" / "tiny-wandb").glob("*/wandb/offline-run-*/run-*.wandb"))
    records = wandb_records(run_file)
    history_keys = {
        item.key or "/".join(item.nested_key) for r in records if r.HasField("history") for item in r.history.item
    }
    assert "train/loss" in history_keys
    assert "samples/_type" in history_keys and "organism_card/_type" in history_keys  # W&B tables
    config_updates = [r.run.config for r in records if r.HasField("run")]
    config_updates += [r.config for r in records if r.HasField("config")]
    config_keys = {item.key for update in config_updates for item in update.update}
    assert "organism_spec" in config_keys and "learning_rate" in config_keys
    for path in [*tmp_path.rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data and b"x" * 40 not in data, path


LOG_ANALYSIS = """
import os
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from pathlib import Path
from organisms.spec import parse_spec
from runtime.tracking import log_analysis, report_to

model_dir, out = sys.argv[1:]
secret = os.environ["OPENAI_API_KEY"]  # a secret that reaches a table cell must be redacted
spec = parse_spec(
    {"name": "w", "behaviour": "hidden_hint", "base_model": model_dir, "training": {"wandb": {"enabled": True}}}, "t"
)
assert report_to(spec) == "wandb"  # no key: offline
image = Path(out) / "patching_heatmap.png"
plt.plot([0, 1]); plt.savefig(image); plt.close()
lists = {"organism": [[secret, "b"], ["c"]], "random": [["x", "b"], ["y"]]}
norms = {"organism": [0.3, 0.4], "random": [0.1, 0.1]}
lens = {"lists": lists, "relative_norm": norms, "shared": {"random": [["b"], []]}}
log_analysis(spec, [image], {"patching": [0.1, 0.9]}, lens, run_dir=Path(out))
"""


def test_analysis_goes_to_wandb_offline_with_plots_and_tables(tmp_path, tiny_model_dir):
    """In a subprocess (as `organism analyze` runs it), so the offline run is fully written at exit."""
    import os

    secret = "sk-test-DO-NOT-LOG-0987654321"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update({"WANDB_SILENT": "true", "OPENAI_API_KEY": secret, "PYTHONPATH": str(REPO)})
    args = [sys.executable, "-c", LOG_ANALYSIS, str(tiny_model_dir), str(tmp_path)]
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    run_cmd(args, cwd=cwd, env=env, timeout=300)
    assert not list(cwd.iterdir())  # W&B files go under the run directory, not ./wandb
    (run_file,) = list(tmp_path.glob("wandb/offline-run-*/run-*.wandb"))
    keys = {
        item.key or "/".join(item.nested_key)
        for r in wandb_records(run_file)
        if r.HasField("history")
        for item in r.history.item
    }
    assert {"analysis/patching_heatmap/_type", "analysis/layer_scores/_type", "analysis/adl_logit_lens/_type"} <= keys
    (lens_file,) = list(tmp_path.rglob("adl_logit_lens*.table.json"))
    lens = json.loads(lens_file.read_text())  # the organism's list beside its baseline's, so noise reads as noise
    assert lens["columns"] == [
        "layer",
        "organism relative norm",
        "organism top tokens",
        "random relative norm",
        "random top tokens",
        "shared with random",
    ]
    assert lens["data"][0][3:] == [0.1, "'x' | 'b'", "'b'"]
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix != ".png":
            assert secret.encode() not in path.read_bytes(), path
