"""Removal (analyze/audit/removal.py, analyze/audit/null.py): the null's random directions, its p-value, the
perplexity matching, the resumable null file and the across-seed summary, on constructed numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from analyze.audit.null import (
    load_measured,
    match_scale,
    null_directions,
    null_p_value,
    null_summary,
    other_keys,
    random_like,
    save_measured,
)
from analyze.audit.removal import across_seeds, markdown_seeds


def test_random_direction_has_the_norm_and_not_the_direction():
    vector = torch.randn(64)
    r = random_like(vector, seed=0)
    assert r.norm() == pytest.approx(float(vector.norm()), rel=1e-5)
    assert abs(float(torch.nn.functional.cosine_similarity(r, vector, dim=0))) < 0.5
    assert torch.equal(r, random_like(vector, seed=0))


def test_null_directions_are_fixed_by_the_seed_whatever_n():
    vector = torch.randn(64)
    three = null_directions(vector, 3, seed=0)
    assert three.shape == (3, 64)
    assert torch.allclose(three.norm(dim=-1), vector.norm().expand(3), rtol=1e-5)
    assert torch.equal(three, null_directions(vector, 3, seed=0))
    assert torch.equal(three[:2], null_directions(vector, 2, seed=0))  # a larger N only adds directions
    other = null_directions(vector, 3, seed=1)
    assert not any(torch.allclose(a, b) for a in three for b in other)
    assert len({tuple(d.tolist()) for d in three}) == 3
    assert null_directions(vector, 0, seed=0).shape == (0, 64)


def test_p_value_counts_the_real_direction_as_one_draw():
    assert null_p_value(0.5, [0.1, 0.5, 0.7, 0.2]) == pytest.approx((1 + 2) / 5)  # ties count as >=
    assert null_p_value(0.9, [0.1] * 99) == pytest.approx(1 / 100)  # never 0
    assert null_p_value(-1.0, [0.0, 0.2]) == pytest.approx(1.0)
    assert null_p_value(0.3, []) == 1.0


def _arm(u_k: int, u_n: int, scale: float, ratio: float, **extra) -> dict:
    rate = {"value": u_k / u_n if u_n else None, "k": u_k, "n": u_n, "ci95": None}
    other = {"value": 0.5, "k": 1, "n": 2, "ci95": None}
    return {
        "U": rate,
        "F": other,
        "p": other,
        "accuracy_no_hint": other,
        "scale": scale,
        "neutral_ppl_ratio": ratio,
        **extra,
    }


def test_null_summary_places_the_real_drop():
    # U(0) = 0.8; null U = 0.7, 0.6, 0.8, undefined -> drops 0.1, 0.2, 0.0 (the undefined one left out)
    records = [
        {"norm": _arm(7, 10, 4.0, 1.2), "perplexity": _arm(7, 10, 2.0, 1.1, matched=True)},
        {"norm": _arm(6, 10, 4.0, 1.4), "perplexity": _arm(6, 10, 3.0, 1.1, matched=True)},
        {"norm": _arm(8, 10, 4.0, 1.3), "perplexity": _arm(8, 10, 8.0, 1.0, matched=False)},
        {"norm": _arm(0, 0, 4.0, 1.5), "perplexity": _arm(0, 0, 1.0, 1.1, matched=True)},
    ]
    norm = null_summary(0.15, 0.8, records, "norm")
    assert norm["n_directions"] == 4 and norm["n_undefined"] == 1
    assert norm["U_drop_values"] == pytest.approx([0.1, 0.2, 0.0])
    assert norm["U_drop"]["median"] == pytest.approx(0.1)
    assert norm["U_drop"]["p"] == pytest.approx((1 + 1) / 4)
    assert norm["neutral_ppl_ratio"]["median"] == pytest.approx(1.35)
    assert norm["U_drop"]["range95"][0] == pytest.approx(0.005) and norm["U_drop"]["range95"][1] == pytest.approx(0.195)
    ppl = null_summary(0.15, 0.8, records, "perplexity")
    assert ppl["n_matched"] == 3 and ppl["scale"]["median"] == pytest.approx(2.5)
    # the unmatched direction is no draw of the perplexity-matched null: drops 0.1, 0.2 (and one undefined)
    assert ppl["U_drop_values"] == pytest.approx([0.1, 0.2]) and ppl["n_undefined"] == 1
    assert ppl["U_drop"]["p"] == pytest.approx((1 + 1) / 3)
    assert null_summary(None, 0.8, records, "norm")["U_drop"]["p"] is None


def test_a_perplexity_null_with_no_matched_direction_has_no_p():
    """The real direction lowered perplexity (Gemma's removal did): no random one can be matched to it."""
    records = [{"norm": _arm(0, 10, 4.0, 1e9), "perplexity": _arm(8, 10, 0.0, 1.0, matched=False)}] * 3
    ppl = null_summary(0.97, 0.97, records, "perplexity")
    assert ppl["n_matched"] == 0 and ppl["U_drop"]["n"] == 0 and ppl["U_drop"]["p"] is None
    assert null_summary(0.97, 0.97, records, "norm")["U_drop"]["p"] == pytest.approx(1.0)


def test_match_scale_bisects_to_the_target_ratio():
    calls = []

    def ratio(t: float) -> float:  # perplexity ratio exp(t^2): 1 at t = 0, increasing
        calls.append(t)
        return math.exp(t * t)

    found = match_scale(ratio, 1.5, start=4.0)
    assert found["matched"] and abs(found["ratio"] / 1.5 - 1) <= 0.01
    assert found["scale"] == pytest.approx(math.sqrt(math.log(1.5)), rel=0.02)
    assert found["evaluations"] == len(calls) <= 1 + 6 + 12
    # the bracket doubles when the start scale is too small
    assert match_scale(ratio, 1.5, start=0.1)["matched"]
    # a target at or below 1: scale 0 (matched within 1%, else flagged)
    assert match_scale(ratio, 1.005, start=4.0) == {"scale": 0.0, "ratio": 1.0, "matched": True, "evaluations": 0}
    assert match_scale(ratio, 0.9, start=4.0)["matched"] is False
    # never reached: the top of the bracket, unmatched
    capped = match_scale(lambda t: 1 + 0.1 * math.tanh(t), 2.0, start=1.0)
    assert capped["matched"] is False and capped["scale"] == 64.0


def test_null_file_keeps_each_key_apart(tmp_path):
    path = tmp_path / "removal_null.jsonl"
    assert load_measured(path, "a") == {}
    save_measured(path, "a", {0: {"key": "a", "index": 0}, 1: {"key": "a", "index": 1}})
    save_measured(path, "b", {0: {"key": "b", "index": 0}})
    assert sorted(load_measured(path, "a")) == [0, 1] and sorted(load_measured(path, "b")) == [0]
    save_measured(path, "a", {**load_measured(path, "a"), 2: {"key": "a", "index": 2}})
    assert sorted(load_measured(path, "a")) == [0, 1, 2] and len(path.read_text().splitlines()) == 4
    # what a rerun under another key (e.g. a retrained adapter that is not byte-identical) is told
    assert other_keys(path, "a") == 1 and other_keys(path, "b") == 3 and other_keys(path, "c") == 4
    assert other_keys(tmp_path / "none.jsonl", "a") == 0


def _removal_json(run_dir, seed: int, drop: float, p_norm: float, p_ppl: float) -> None:
    steer = {
        "arm": "steer",
        "scale": 4.0,
        "change_from_unsteered": {"U": {"value": -drop, "ci95": [-drop - 0.1, -drop + 0.1]}},
    }
    null = {
        "n_directions": 100,
        "norm_matched": {"U_drop": {"median": 0.05, "p": p_norm}},
        "perplexity_matched": {"U_drop": {"median": 0.02, "p": p_ppl}},
    }
    result = {"organism": "o", "training_seed": seed, "layer": 3, "reported_scale": 4.0, "arms": [steer], "null": null}
    run_dir.mkdir()
    (run_dir / "removal.json").write_text(json.dumps(result))


def test_across_seeds_reports_each_seed_and_the_mean(tmp_path):
    _removal_json(tmp_path / "s0", 0, 0.6, 0.01, 0.02)
    _removal_json(tmp_path / "s1", 1, 0.2, 0.3, 0.4)
    summary = across_seeds([tmp_path / "s0", tmp_path / "s1"])
    assert [r["training_seed"] for r in summary["seeds"]] == [0, 1]
    assert [r["U_drop"] for r in summary["seeds"]] == pytest.approx([0.6, 0.2])
    assert summary["seeds"][0]["U_drop_ci95"] == pytest.approx([0.5, 0.7])
    assert [(r["p_norm"], r["p_perplexity"]) for r in summary["seeds"]] == [(0.01, 0.02), (0.3, 0.4)]
    assert summary["mean_U_drop"] == pytest.approx(0.4) and summary["n_seeds"] == 2
    assert summary["sd_U_drop"] == pytest.approx(math.sqrt(0.08))
    # Fisher: X = -2 (ln p_0 + ln p_1) on chi2 with 4 degrees of freedom, whose survival is exp(-X/2)(1 + X/2)
    x = -2 * (math.log(0.02) + math.log(0.4))
    assert summary["combined_p_perplexity"]["p"] == pytest.approx(math.exp(-x / 2) * (1 + x / 2))
    assert summary["combined_p_perplexity"]["n_seeds"] == 2
    md = markdown_seeds(summary)
    assert "+0.60 [+0.50, +0.70]" in md and "Mean U drop over 2 seeds: +0.40 (sd 0.28)" in md
    assert "Fisher's combined p (perplexity-matched null, 2 seeds)" in md


def test_across_seeds_leaves_a_seed_without_a_null_p_out_of_the_combination(tmp_path):
    _removal_json(tmp_path / "s0", 0, 0.6, 0.01, 0.02)
    _removal_json(tmp_path / "s1", 1, 0.2, 0.3, None)
    combined = across_seeds([tmp_path / "s0", tmp_path / "s1"])["combined_p_perplexity"]
    assert combined["n_seeds"] == 1 and combined["n_undefined"] == 1
    assert combined["p"] == pytest.approx(0.02)  # one p combines to itself
    assert "1 seed without a p left out" in markdown_seeds(across_seeds([tmp_path / "s0", tmp_path / "s1"]))


def test_the_seeds_script_prints_the_table_and_writes_json(tmp_path, monkeypatch, capsys):
    import runpy

    _removal_json(tmp_path / "s0", 0, 0.6, 0.01, 0.02)
    _removal_json(tmp_path / "s1", 1, 0.2, 0.3, 0.4)
    script = Path(__file__).resolve().parents[3] / "experiments" / "removal" / "seeds.py"
    out = tmp_path / "summary.json"
    monkeypatch.setattr("sys.argv", ["seeds.py", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(out)])
    runpy.run_path(str(script), run_name="__main__")
    assert "Mean U drop over 2 seeds: +0.40" in capsys.readouterr().out
    assert json.loads(out.read_text())["mean_U_drop"] == pytest.approx(0.4)


def _seed_with_null(run_dir, real_drop: float, null_u: list[float | None], matched=None, null_seed: int = 0) -> None:
    """A removal.json with an unsteered U of 0.9 and its null file: direction i leaves U at null_u[i]."""
    none = {"arm": "none", "scale": 0.0, "U": {"value": 0.9}}
    steer = {"arm": "steer", "scale": 4.0, "change_from_unsteered": {"U": {"value": -real_drop, "ci95": None}}}
    null = {
        "n_directions": len(null_u),
        "seed": null_seed,
        "key": "k",
        "real": {"U_drop": real_drop},
        "norm_matched": {"U_drop": {"median": 0.0, "p": 0.5}},
        "perplexity_matched": {"U_drop": {"median": 0.0, "p": 0.5}},
    }
    result = {
        "organism": "o",
        "training_seed": 0,
        "layer": 3,
        "reported_scale": 4.0,
        "arms": [none, steer],
        "null": null,
    }
    run_dir.mkdir()
    (run_dir / "removal.json").write_text(json.dumps(result))
    matched = matched or [True] * len(null_u)
    records = {
        i: {"key": "k", "index": i, "norm": {"U": {"value": u}}, "perplexity": {"U": {"value": u}, "matched": m}}
        for i, (u, m) in enumerate(zip(null_u, matched, strict=True))
    }
    save_measured(run_dir / "removal_null.jsonl", "k", records)


def test_pooled_null_sums_each_shared_direction_over_the_seeds(tmp_path):
    # real drops 0.3 + 0.3 = 0.6; the directions drop (0.4, 0.5, 0.0) on seed 0 and (0.4, 0.0, 0.0) on
    # seed 1: on seed 0 alone two directions reach 0.3, pooled only direction 0 (0.8) reaches 0.6
    _seed_with_null(tmp_path / "s0", 0.3, [0.5, 0.4, 0.9])
    _seed_with_null(tmp_path / "s1", 0.3, [0.5, 0.9, 0.9])
    pooled = across_seeds([tmp_path / "s0", tmp_path / "s1"])["pooled_norm"]
    assert pooled["real_sum"] == pytest.approx(0.6) and pooled["n_directions"] == 3
    assert pooled["p"] == pytest.approx((1 + 1) / 4)  # only direction 0's sum (0.8) reaches 0.6
    assert "Pooled p (norm-matched null, each direction run on every seed): 0.5" in markdown_seeds(
        across_seeds([tmp_path / "s0", tmp_path / "s1"])
    )


def test_pooled_null_keeps_only_directions_defined_and_matched_on_every_seed(tmp_path):
    _seed_with_null(tmp_path / "s0", 0.3, [0.5, None, 0.9], matched=[False, True, True])
    _seed_with_null(tmp_path / "s1", 0.3, [0.5, 0.4, 0.9])
    summary = across_seeds([tmp_path / "s0", tmp_path / "s1"])
    assert summary["pooled_norm"]["n_directions"] == 2  # direction 1's U is undefined on seed 0
    assert summary["pooled_perplexity"]["n_directions"] == 1  # and direction 0 is unmatched there


def test_pooled_null_is_undefined_when_the_seeds_drew_different_directions(tmp_path):
    _seed_with_null(tmp_path / "s0", 0.3, [0.5], null_seed=0)
    _seed_with_null(tmp_path / "s1", 0.3, [0.5], null_seed=1)
    pooled = across_seeds([tmp_path / "s0", tmp_path / "s1"])["pooled_norm"]
    assert pooled["p"] is None and "--null-seed" in pooled["why"]
