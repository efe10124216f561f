"""The benchmarks (app/benchmarks/) on trained tiny organisms: the blind audit scored against the truth,
and the ground-truth localization benchmark (two seeds, band-matched controls, a 6-layer tiny model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyze.blind.audit import adapter_digest
from analyze.localization.scores import score_against_mask
from analyze.methods.weights import lora_deltas
from app.benchmarks.localization import LocalizationOptions, record_key
from tests.helpers import cli


@pytest.fixture(scope="module")
def benched(tiny_pair, tmp_path_factory):
    """The session's tiny organism, its faithful control (a copy: bench-audit finds them trained) and the
    equal-norm random LoRA of the organism, audited blind by `organism bench-audit`."""
    pair = tiny_pair.copy(tmp_path_factory.mktemp("bench-audit") / "pair")
    specs = f"{pair.organism},{pair.control},random-lora:{pair.organism}"
    out = cli(
        "bench-audit",
        "--specs",
        specs,
        "--runs-dir",
        pair.runs,
        "--out",
        pair.root / "bench",
        "--items",
        "2",
        "--max-new-tokens",
        "8",
        cwd=pair.root,
    )
    return {"root": pair.root, "specs": specs, "out": out}


def test_bench_audit_scores_the_blind_audit_against_the_truth(benched):
    bench = benched["root"] / "bench"
    summary = json.loads((bench / "bench_audit.json").read_text())
    rows = summary["rows"]
    assert [r["organism"] for r in rows] == ["tiny-hidden-hint", "tiny-faithful", "random-lora-tiny-hidden-hint-seed0"]
    assert [r["true_behaviour"] for r in rows] == ["hidden_hint", "none", "none"]
    assert rows[0]["true_hint_types"] and rows[1]["true_hint_types"] == rows[2]["true_hint_types"] == []
    assert [r["saw_hints"] for r in rows] == [True, True, False]
    assert summary["behaviour_top1"]["n"] == 3 and summary["hint_top1"]["n"] == 1
    correct = sum(r["predicted_behaviour"] == r["true_behaviour"] for r in rows)
    assert summary["behaviour_top1"]["k"] == correct
    false_positives = sum(r["predicted_behaviour"] != "none" for r in rows[1:])
    assert (summary["false_positive_rate"]["k"], summary["false_positive_rate"]["n"]) == (false_positives, 2)
    assert summary["unhinted_negative_hint_named"]["n"] == 1  # the random LoRA; the control followed hints
    for row in rows:
        assert (bench / row["organism"] / "blind_audit.json").exists()
    table = (bench / "bench_audit.md").read_text()
    assert "Behaviour top-1" in table and "false-positive rate P(top-ranked hypothesis != none | truth none)" in table
    assert "bench-audit finished" in benched["out"].stdout + benched["out"].stderr


def test_bench_audit_random_lora_keeps_every_module_norm_of_its_reference(benched):
    """The random-lora entry is the organism's adapter with random directions and the same ||delta W||_F per
    module, written under runs/random-lora/ keyed by the reference's weights, and audited blind itself."""
    row = json.loads((benched["root"] / "bench" / "bench_audit.json").read_text())["rows"][2]
    reference = next((benched["root"] / "runs" / "tiny-hidden-hint").iterdir()) / "adapter"
    random = Path(row["adapter"])
    key = f"tiny-hidden-hint-{adapter_digest(reference)[:12]}-seed0"
    assert random == benched["root"] / "runs" / "random-lora" / key
    real, null = lora_deltas(reference, n_layers=2), lora_deltas(random, n_layers=2)
    assert null["modules"] == real["modules"] and any(v > 0 for layer in real["frobenius"] for v in layer)
    for null_layer, real_layer in zip(null["frobenius"], real["frobenius"], strict=True):
        assert null_layer == pytest.approx(real_layer, rel=1e-4)
    assert adapter_digest(random) != adapter_digest(reference)
    audit = json.loads((benched["root"] / "bench" / row["organism"] / "blind_audit.json").read_text())
    assert audit["adapter_sha256"] == adapter_digest(random)


def test_bench_audit_reuses_audits_of_the_same_weights_and_options(benched):
    """A second call scores the audits already made (same adapter bytes, same options); other
    options redo them."""
    root = benched["root"]
    specs = benched["specs"]
    first = json.loads((root / "bench" / "bench_audit.json").read_text())
    common = ["bench-audit", "--specs", specs, "--runs-dir", root / "runs", "--items", "2"]
    random = Path(first["rows"][2]["adapter"]) / "adapter_model.safetensors"
    written = random.stat().st_mtime_ns
    again = cli(*common, "--out", root / "bench", "--max-new-tokens", "8", cwd=root)
    assert (again.stdout + again.stderr).count("reused ") == 3
    assert random.stat().st_mtime_ns == written  # the random LoRA is built once
    second = json.loads((root / "bench" / "bench_audit.json").read_text())
    assert second["rows"] == first["rows"]
    audit = json.loads((root / "bench" / "tiny-hidden-hint" / "blind_audit.json").read_text())
    assert audit["max_new_tokens"] == 8 and len(audit["adapter_sha256"]) == 64
    other = cli(*common, "--out", root / "bench", "--max-new-tokens", "6", cwd=root)
    assert "reused " not in other.stdout + other.stderr
    assert json.loads((root / "bench" / "tiny-hidden-hint" / "blind_audit.json").read_text())["max_new_tokens"] == 6


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("localization")
    args = ["--tiny-layers", "6", "--bands", "1-2,4-5", "--seeds", "0,1", "--controls", "--transcripts", "8"]
    args += ["--lr", "0.01", "--rank", "4", "--batch-size", "4", "--items", "2", "--probe-items", "4"]
    args += ["--null-draws", "2000", "--out", str(out)]
    result = cli("bench-localization", *args)
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
    again = cli("bench-localization", *args, "--null-draws", "2000", "--out", out)
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
