"""Localization scoring by hand, and the ground-truth benchmark end to end on a 6-layer tiny model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from analyze.localization import parse_bands, score_against_mask
from organisms.errors import OrganismError
from tests.helpers import organism, run_cmd, wandb_records


def test_scores_against_a_known_mask():
    perfect = score_against_mask([0.0, 0.1, 0.9, 0.8, 0.0], [2, 3])
    # ranks: score [1.5, 3, 5, 4, 1.5], mask [2, 2, 4.5, 4.5, 2]; Pearson of ranks = 7.5 / sqrt(9.5 * 7.5)
    expected = {"top1_layer": 2, "top1_hit": True, "spearman": pytest.approx((7.5 / 9.5) ** 0.5), "auroc": 1.0}
    assert perfect == expected
    wrong = score_against_mask([1.0, 0.0, 0.0, 0.0], [2, 3])
    assert wrong["top1_hit"] is False and wrong["auroc"] == pytest.approx(0.25)
    # pairs (band, other): (2,0) lose, (2,1) tie, (3,0) lose, (3,1) tie -> (0 + 0.5 + 0 + 0.5) / 4
    flat = score_against_mask([0.5] * 4, [1])
    assert flat == {"top1_layer": None, "top1_hit": False, "spearman": None, "auroc": 0.5}


def test_parse_bands_checks_range_and_overlap():
    assert parse_bands("0-1, 3 ,4-5", 6) == [[0, 1], [3], [4, 5]]
    bad_bands = (
        ("0-6", "outside"),
        ("0-2,2-3", "overlap"),
        ("a-b", "cannot read"),
        ("3-1", "outside"),
        ("0-5", "every"),
    )
    for bad, message in bad_bands:
        with pytest.raises(OrganismError, match=message):
            parse_bands(bad, 6)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("localization")
    args = ["--tiny-layers", "6", "--bands", "0-1,2-3,4-5", "--transcripts", "8", "--lr", "0.01", "--rank", "4"]
    args += ["--batch-size", "4", "--items", "2", "--probe-items", "4", "--out", str(out)]
    result = organism("bench-localization", *args)
    return out, result.stdout, json.loads((out / "localization.json").read_text())


def test_bench_localization_scores_every_method_on_every_band(bench):
    out, stdout, result = bench
    methods = {"patching", "attribution", "steering", "adl", "lens_kl", "probes", "weight_deltas"}
    assert set(result["summary"]) == methods
    assert [b["band"] for b in result["bands_results"]] == [[0, 1], [2, 3], [4, 5]]
    table = (out / "localization.md").read_text()
    assert "| weight_deltas (white-box) | 3/3 |" in table and table.strip() in stdout.replace("\r", "")
    for band in result["bands_results"]:
        assert set(band["layer_scores"]) == methods and all(len(v) == 6 for v in band["layer_scores"].values())
        # the white-box baseline reads the adapter: nonzero exactly on the band
        assert [s > 0 for s in band["layer_scores"]["weight_deltas"]] == [layer in band["band"] for layer in range(6)]
        assert band["scores"]["weight_deltas"]["auroc"] == 1.0
        # nothing differs before the first adapted layer, so causal and residual scores are exactly 0 there
        for method in ("patching", "attribution", "adl", "lens_kl", "steering"):
            assert all(abs(v) < 1e-6 for v in band["layer_scores"][method][: band["band"][0]]), method


def test_bench_localization_refuses_bad_bands(tmp_path):
    args = ["bench-localization", "--tiny-layers", "4", "--bands", "2-7", "--out", str(tmp_path / "out")]
    result = organism(*args, expect=2)
    assert "--bands" in result.stderr and "0-3" in result.stderr
    assert not (tmp_path / "out").exists()


LOG_ANALYSIS = """
import os
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from pathlib import Path
from organisms.spec import parse_spec
from organisms.tracking import log_analysis, report_to

model_dir, out = sys.argv[1:]
secret = os.environ["OPENAI_API_KEY"]  # a secret that reaches a table cell must be redacted
spec = parse_spec(
    {"name": "w", "behaviour": "hidden_hint", "base_model": model_dir, "training": {"wandb": {"enabled": True}}}, "t"
)
assert report_to(spec) == "wandb"  # no key: offline
image = Path(out) / "patching_heatmap.png"
plt.plot([0, 1]); plt.savefig(image); plt.close()
log_analysis(spec, [image], {"patching": [0.1, 0.9]}, [[[secret, 1.0], ["b", 0.5]], [["c", 2.0]]], run_dir=Path(out))
"""


def test_analysis_goes_to_wandb_offline_with_plots_and_tables(tmp_path, tiny_model_dir):
    """In a subprocess (as `organism analyze` runs it), so the offline run is fully written at exit."""
    import os

    secret = "sk-test-DO-NOT-LOG-0987654321"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update({"WANDB_SILENT": "true", "OPENAI_API_KEY": secret, "PYTHONPATH": str(Path(__file__).parents[1])})
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
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix != ".png":
            assert secret.encode() not in path.read_bytes(), path
