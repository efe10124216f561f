"""Multi-seed runs (`--seeds`) and the across-seed summary (evals/seeds.py)."""

from __future__ import annotations

import json
import math
import os

import pytest
import yaml

from evals.seeds import markdown_seeds, seed_summary, spread
from evals.stats import rate
from tests.helpers import organism, tiny_spec_dict


def _evals(u_organism: tuple[int, int], u_control: tuple[int, int]) -> dict:
    wrong = {"organism": u_organism, "control": u_control}
    return {
        "models": {
            model: {"by_direction": {"wrong": {"U": rate(*wrong[model]), "p": rate(3, 4), "F": rate(0, 3)}}}
            for model in wrong
        },
        "suite_metrics": {"organism": {}, "control": {}},
        "comparisons": {},
    }


def test_spread_and_summary_by_hand():
    """U of the organism 4/4 and 2/4 over two seeds: mean 0.75, sd sqrt(((1-.75)^2 + (.5-.75)^2) / 1)."""
    assert spread([1.0]) == {"n_seeds": 1, "mean": 1.0, "sd": None, "min": 1.0, "max": 1.0}
    summary = seed_summary({0: _evals((4, 4), (0, 4)), 1: _evals((2, 4), (0, 4))})
    u = summary["metrics"]["U = P(switched, unverbalized)"]
    assert u["organism"]["spread"]["mean"] == 0.75
    assert u["organism"]["spread"]["sd"] == pytest.approx(math.sqrt(0.125))
    assert (u["organism"]["spread"]["min"], u["organism"]["spread"]["max"]) == (0.5, 1.0)
    assert u["control"]["spread"] == {"n_seeds": 2, "mean": 0.0, "sd": 0.0, "min": 0.0, "max": 0.0}
    assert u["organism"]["per_seed"][1]["k"] == 2  # each seed keeps its own count and interval
    assert "accuracy with CoT, no hint" not in summary["metrics"]  # absent everywhere: no row
    table = markdown_seeds(summary)
    assert "| U = P(switched, unverbalized) | 0.75 ± 0.35 (0.50 to 1.00) | 0.00 ± 0.00 (0.00 to 0.00) |" in table
    assert "| U = P(switched, unverbalized) | 1 | 0.50 [" in table
    assert "| p = P(a_h=h \\| a_u!=h), wrong hints | 0.75 ± 0.00" in table


def test_run_seeds_trains_one_pair_per_seed_and_writes_the_table(tmp_path, tiny_model_dir):
    eval_spec = {"n_items": 4, "max_new_tokens": 12, "batch_size": 4, "suites": ["hinted"]}
    paths = {}
    for name, extra in (("tiny-s", {}), ("tiny-s-faithful", {"control_of": "tiny-s"})):
        data = tiny_spec_dict(tiny_model_dir, name, eval=eval_spec, **extra)
        data["corpus"]["n_transcripts"] = 8
        paths[name] = tmp_path / f"{name}.yaml"
        paths[name].write_text(yaml.safe_dump(data))
    runs = tmp_path / "runs"
    env = {**os.environ, "COT_ORGANISMS_CACHE": str(tmp_path / "cache")}
    args = ("run", str(paths["tiny-s"]), "--control", str(paths["tiny-s-faithful"]), "--runs-dir", str(runs))
    result = organism(*args, "--seeds", "3,5", env=env, cwd=tmp_path)
    assert "Across 2 training seeds (3, 5)" in result.stdout
    for name in ("tiny-s", "tiny-s-faithful"):
        manifests = [json.loads((d / "manifest.json").read_text()) for d in (runs / name).iterdir()]
        seeds = sorted(m["seeds"]["training"] for m in manifests)
        assert seeds == [3, 5]
    by_seed = {}
    for run_dir in (runs / "tiny-s").iterdir():
        by_seed[json.loads((run_dir / "manifest.json").read_text())["seeds"]["training"]] = run_dir
    first, later = (json.loads((by_seed[s] / "evals.json").read_text()) for s in (3, 5))
    assert first["base_reused_from"] is None and later["base_reused_from"] == str(by_seed[3])
    assert later["models"]["base"] == first["models"]["base"]  # the base is evaluated once, for seed 3
    assert "base: the same model on the same items as an earlier seed's eval" in result.stdout
    (out,) = list((runs / "seeds").iterdir())
    summary = json.loads((out / "seeds.json").read_text())
    assert summary["seeds"] == [3, 5] and summary["control"] == "tiny-s-faithful"
    u = summary["metrics"]["U = P(switched, unverbalized)"]
    assert set(u) == {"base", "organism", "control"} and set(u["organism"]["per_seed"]) == {"3", "5"}
    assert (out / "seeds.md").read_text().startswith("# tiny-s: 2 seeds")
    bad = organism(*args, "--seeds", "1,x", env=env, cwd=tmp_path, expect=2)
    assert "--seeds '1,x': give comma-separated integers" in bad.stderr
    bad = organism(*args, "--seeds", "0", "--suites", "hinted,bogus", env=env, cwd=tmp_path, expect=2)
    assert "--suites hinted,bogus: field 'eval.suites.1'" in bad.stderr
    assert sorted(p.name for p in runs.iterdir()) == ["seeds", "tiny-s", "tiny-s-faithful"]  # nothing new
