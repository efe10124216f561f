"""Localization scores by hand, the null baselines against their known values, seed intervals, and
the ground-truth benchmark end to end (two seeds, band-matched controls) on a 6-layer tiny model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analyze.localization.null import expected_random_auroc, null_draws, step_from_onset, versus
from analyze.localization.scores import score_against_mask, score_layers
from analyze.localization.summary import seed_interval, summarise
from app.benchmarks.localization import LocalizationOptions, parse_bands, record_key
from evals.stats import auroc
from organisms.errors import OrganismError
from tests.helpers import organism, run_cmd, wandb_records

BANDS_30 = ([4, 5, 6, 7], [13, 14, 15, 16], [22, 23, 24, 25])  # the embedded model's benchmark bands


def test_scores_against_a_known_mask():
    perfect = score_against_mask([0.0, 0.1, 0.9, 0.8, 0.0], [2, 3])
    # ranks: score [1.5, 3, 5, 4, 1.5], mask [2, 2, 4.5, 4.5, 2]; Pearson of ranks = 7.5 / sqrt(9.5 * 7.5)
    assert perfect["spearman"] == pytest.approx((7.5 / 9.5) ** 0.5) and perfect["auroc"] == 1.0
    assert perfect["peak_hit"] == 1.0 and perfect["peak_layers"] == [2]
    # onset and peak are separate: 0.1 >= 10% of the maximum 0.9, so the onset is layer 1, not the band's 2
    assert perfect["onset_layer"] == 1 and perfect["onset_hit"] == 0.0
    wrong = score_against_mask([1.0, 0.0, 0.0, 0.0], [2, 3])
    # pairs (band, other): (2,0) lose, (2,1) tie, (3,0) lose, (3,1) tie -> (0 + 0.5 + 0 + 0.5) / 4
    assert wrong["peak_hit"] == 0.0 and wrong["auroc"] == pytest.approx(0.25)
    zero = score_against_mask([0.0] * 4, [1])
    assert zero["spearman"] is None and zero["auroc"] == 0.5 and zero["onset_layer"] is None


def test_ties_at_the_peak_count_one_over_k():
    """A step from the band's first layer ties every later layer at the maximum: 2 of the 4 tied
    layers are in the band, so it scores 1/2, not a hit for taking the first maximum."""
    step = score_against_mask([0.0, 0.0, 1.0, 1.0, 1.0, 1.0], [2, 3])
    assert step["peak_layers"] == [2, 3, 4, 5] and step["peak_hit"] == 0.5 and step["onset_hit"] == 1.0
    assert score_against_mask([0.5] * 5, [1, 2])["peak_hit"] == pytest.approx(2 / 5)
    # equal up to float noise (below 1e-6 of the range) is a tie too
    assert score_against_mask([0.0, 1.0, 1.0 - 1e-9, 0.2], [2])["peak_hit"] == 0.5


def test_vectorised_scores_match_sklearn_and_scipy():
    rng = np.random.default_rng(1)
    draws = rng.integers(0, 4, size=(50, 9)).astype(float)  # small integers: many ties
    band = [3, 4, 5]
    scores = score_layers(draws, band)
    for i, s in enumerate(draws):
        outside = [v for layer, v in enumerate(s) if layer not in band]
        assert scores["auroc"][i] == pytest.approx(auroc(list(s[band]), outside))
        mask = [int(layer in band) for layer in range(9)]
        expected = stats.spearmanr(s, mask).statistic if len(set(s)) > 1 else np.nan
        np.testing.assert_allclose(scores["spearman"][i], expected, atol=1e-12)


def test_random_after_onset_null_reproduces_the_known_values():
    """On a 30-layer model: AUROC about 0.58 / 0.75 / 0.92 (mean 0.75), mean Spearman about +0.35."""
    draws = 20000
    sims = [null_draws(30, band, 1, draws, seed=i)["random_after_onset"] for i, band in enumerate(BANDS_30)]
    for band, sim, known in zip(BANDS_30, sims, (0.58, 0.75, 0.92), strict=True):
        exact = expected_random_auroc(30, band)
        assert exact == pytest.approx(known, abs=0.005)
        error = 4 * sim["auroc"].std() / draws**0.5  # four standard errors of the simulated mean
        assert sim["auroc"].mean() == pytest.approx(exact, abs=error)
        # the maximum is one of the 30 - b0 iid layers from the onset on: P(in band) = 4 / (30 - b0)
        assert sim["peak_hit"].mean() == pytest.approx(4 / (30 - band[0]), abs=0.015)
    assert np.mean([sim["auroc"].mean() for sim in sims]) == pytest.approx(0.75, abs=0.005)
    assert np.mean([sim["spearman"].mean() for sim in sims]) == pytest.approx(0.35, abs=0.01)


def test_step_from_onset_null_is_exact():
    for band in BANDS_30:
        step = {k: float(v[0]) for k, v in null_draws(30, band, 3, 100)["step_from_onset"].items()}
        assert step["auroc"] == pytest.approx(expected_random_auroc(30, band))
        assert step["peak_hit"] == pytest.approx(4 / (30 - band[0]))  # every layer from the onset on ties
        assert step["onset_hit"] == 1.0
    assert list(step_from_onset(6, [2, 3])) == [0, 0, 1, 1, 1, 1]


def test_seed_intervals_and_comparison_with_the_null():
    ci = seed_interval([0.6, 0.7, 0.8])
    half = stats.t.ppf(0.975, 2) * 0.1 / 3**0.5
    assert ci == pytest.approx({"mean": 0.7, "low": 0.7 - half, "high": 0.7 + half, "n": 3})
    assert seed_interval([0.0, 1.0, 1.0], (0.0, 1.0))["high"] == 1.0  # clipped to the score's range
    assert seed_interval([0.4, None]) == {"mean": 0.4, "low": None, "high": None, "n": 1}
    assert versus(0.5, np.array([0.1, 0.5, 0.9, 0.2])) == pytest.approx({"margin": 0.075, "beats": 0.625})


def test_summary_puts_every_row_beside_the_nulls():
    """Three seeds of a perfect score and of a step from the band's first layer: the step scores
    exactly what the step null does and beats the random null only on AUROC's tail."""
    n_layers, bands = 30, [list(b) for b in BANDS_30]
    perfect = [[score_against_mask([float(layer in b) for layer in range(n_layers)], b)] * 3 for b in bands]
    step = [[score_against_mask(list(step_from_onset(n_layers, b)), b)] * 3 for b in bands]
    summary = summarise({"perfect": perfect, "step": step}, bands, n_layers, draws=4000)
    assert set(summary["nulls"]) == {"4-7", "13-16", "22-25", "mean"}
    assert summary["nulls"]["mean"]["random_after_onset"]["auroc"]["mean"] == pytest.approx(0.75, abs=0.01)
    assert summary["nulls"]["4-7"]["random_after_onset"]["auroc"]["draws"] == 4000
    cell = summary["rows"]["perfect"]["mean"]["auroc"]
    assert cell["mean"] == 1.0 and cell["n"] == 3 and cell["vs"]["random_after_onset"]["beats"] > 0.99
    for name in ("4-7", "13-16", "22-25", "mean"):
        for score in ("auroc", "peak_hit", "onset_hit"):
            assert summary["rows"]["step"][name][score]["vs"]["step_from_onset"]["margin"] == pytest.approx(0)


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
    args = ["--tiny-layers", "6", "--bands", "1-2,4-5", "--seeds", "0,1", "--controls", "--transcripts", "8"]
    args += ["--lr", "0.01", "--rank", "4", "--batch-size", "4", "--items", "2", "--probe-items", "4"]
    args += ["--null-draws", "2000", "--out", str(out)]
    result = organism("bench-localization", *args)
    return out, result.stdout, json.loads((out / "localization.json").read_text())


METHODS = ("patching", "attribution", "steering", "adl", "lens_kl", "probes")


def test_bench_localization_scores_every_method_seed_and_control(bench):
    out, stdout, result = bench
    rows = {*METHODS, *(f"{m} - control" for m in METHODS), "weight_deltas"}
    assert set(result["summary"]["rows"]) == rows
    assert [(r["band"], r["training_seed"]) for r in result["runs"]] == [
        ([1, 2], 0),
        ([1, 2], 1),
        ([4, 5], 0),
        ([4, 5], 1),
    ]
    table = (out / "localization.md").read_text()
    assert table.strip() in stdout.replace("\r", "")
    assert "| null: random after onset |" in table and "| null: step from onset |" in table
    assert "| patching - control |" in table and "| weight_deltas (white-box) |" in table
    for r in result["runs"]:
        band, records = r["band"], r["runs"]
        assert set(records) == {"organism", "control"}
        assert "control" in Path(records["control"]["run_dir"]).parent.name
        for rec in records.values():
            scores = rec["layer_scores"]
            assert set(scores) == {*METHODS, "weight_deltas"} and all(len(v) == 6 for v in scores.values())
            # the white-box baseline reads the adapter: nonzero exactly on the band, for the control too
            assert [s > 0 for s in scores["weight_deltas"]] == [layer in band for layer in range(6)]
            # nothing differs before the first adapted layer: causal and residual scores are exactly 0 there
            for method in ("patching", "attribution", "adl", "lens_kl", "steering"):
                assert all(abs(v) < 1e-6 for v in scores[method][: band[0]]), method
        assert r["scores"]["weight_deltas"]["auroc"] == 1.0
        difference = [o - c for o, c in zip(*(records[k]["layer_scores"]["lens_kl"] for k in records), strict=True)]
        assert r["scores"]["lens_kl - control"] == score_against_mask(difference, band)
    # two seeds: every defined cell has an interval, and sits beside both nulls
    for row, by_band in result["summary"]["rows"].items():
        for name, cells in by_band.items():
            for score, cell in cells.items():
                if cell["n"] == 2:
                    assert cell["low"] <= cell["mean"] <= cell["high"], (row, name, score)
                    assert set(cell["vs"]) == {"random_after_onset", "step_from_onset"}
    assert result["summary"]["rows"]["weight_deltas"]["mean"]["auroc"]["n"] == 2


def test_bench_localization_reuses_finished_records(bench):
    """A second call (or a last call after one process per band) trains and analyses nothing again:
    every (band, seed) record comes from `records/`, and the table is the same."""
    out, _, first = bench
    args = ["--tiny-layers", "6", "--bands", "1-2,4-5", "--seeds", "0,1", "--controls", "--transcripts", "8"]
    args += ["--lr", "0.01", "--rank", "4", "--batch-size", "4", "--items", "2", "--probe-items", "4"]
    again = organism("bench-localization", *args, "--null-draws", "2000", "--out", str(out))
    assert again.stdout.count("reused ") == 4 and "trained: loss" not in again.stdout
    second = json.loads((out / "localization.json").read_text())
    assert second["runs"] == first["runs"] and second["summary"] == first["summary"]
    assert sorted(p.name for p in (out / "records").iterdir()) == [
        "1-2-seed0.json",
        "1-2-seed1.json",
        "4-5-seed0.json",
        "4-5-seed1.json",
    ]
    # a record made with another recipe is not reused for this one
    key = record_key(first["base_model"], [1, 2], 0, LocalizationOptions(causal_items=2))
    assert key != record_key(first["base_model"], [1, 2], 0, LocalizationOptions(causal_items=3))
    assert key == record_key(first["base_model"], [1, 2], 0, LocalizationOptions(causal_items=2, null_draws=5000))


def test_bench_localization_refuses_bad_bands(tmp_path):
    args = ["bench-localization", "--tiny-layers", "4", "--bands", "2-7", "--out", str(tmp_path / "out")]
    result = organism(*args, expect=2)
    assert "--bands" in result.stderr and "0-3" in result.stderr
    assert not (tmp_path / "out").exists()


def test_bench_localization_refuses_repeated_seeds_and_few_null_draws(tmp_path):
    for args, message in ((["--seeds", "0,0"], "--seeds '0,0'"), (["--null-draws", "10"], "--null-draws 10")):
        result = organism("bench-localization", "--tiny-layers", "4", *args, "--out", str(tmp_path / "out"), expect=2)
        assert message in result.stderr
    assert not (tmp_path / "out").exists()


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
