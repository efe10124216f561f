"""The benchmarks (app/benchmarks/) on trained tiny organisms: the blind audit scored against the truth,
and the ground-truth localization benchmark (two seeds, band-matched controls, equal-norm random LoRAs,
a 6-layer tiny model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from analyze.blind.audit import adapter_digest
from analyze.localization.scores import score_against_mask
from analyze.methods.weights import lora_deltas
from app.benchmarks.localization import LocalizationOptions, null_rows, record_key
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


RECIPE = ["--tiny-layers", "6", "--controls", "--transcripts", "8", "--lr", "0.01", "--rank", "4"]
RECIPE += ["--batch-size", "4", "--items", "2", "--probe-items", "4", "--null-draws", "2000"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("localization")
    # one band (two seeds: the intervals over seeds) keeps the suite's slowest fixture near a minute
    result = cli("bench-localization", *RECIPE, "--bands", "1-2", "--seeds", "0,1", "--out", str(out))
    return out, result.stdout, json.loads((out / "localization.json").read_text())


METHODS = ("patching", "attribution", "steering", "adl", "lens_kl", "probes")
ROWS = ("{}", "{} [control]", "{} [random LoRA]", "{} - control", "{} - control [random LoRAs]")


def test_bench_localization_scores_every_method_seed_and_control(bench):
    out, stdout, result = bench
    rows = {*(row.format(m) for row in ROWS for m in METHODS), "weight_deltas"}
    assert set(result["summary"]["rows"]) == rows
    assert [(r["band"], r["training_seed"]) for r in result["runs"]] == [([1, 2], 0), ([1, 2], 1)]
    table = (out / "localization.md").read_text()
    assert table.strip() in stdout.replace("\r", "")
    assert "| null: random after onset |" in table and "| null: step from onset |" in table
    assert "| patching - control |" in table and "| weight_deltas (white-box) |" in table
    assert "| lens_kl [random LoRA] |" in table and "| adl - control [random LoRAs] |" in table
    assert "### AUROC, band vs downstream" in table and "| patching: AUROC downstream |" in table
    for r in result["runs"]:
        band, records = r["band"], r["runs"]
        assert set(records) == {"organism", "control", "random", "random_control"}
        assert "control" in Path(records["control"]["run_dir"]).parent.name
        for role, source in (("random", "organism"), ("random_control", "control")):
            null, trained = records[role], records[source]
            # equal norm, new directions: the same ||delta W||_F per layer, other weights
            np.testing.assert_allclose(
                null["layer_scores"]["weight_deltas"], trained["layer_scores"]["weight_deltas"], rtol=1e-5
            )
            assert null["drawn_from_sha256"] == trained["adapter_sha256"] != null["adapter_sha256"]
            # the same decision prompts: the base model's metric on them is the same number
            assert null["behaviour"]["base"] == pytest.approx(trained["behaviour"]["base"])
            assert "train_loss" not in null
        assert records["random"]["random_seed"] != records["random_control"]["random_seed"]
        for rec in records.values():
            scores = rec["layer_scores"]
            assert set(scores) == {*METHODS, "weight_deltas"} and all(len(v) == 6 for v in scores.values())
            # the white-box baseline reads the adapter: nonzero exactly on the band, for the control too
            assert [s > 0 for s in scores["weight_deltas"]] == [layer in band for layer in range(6)]
            # nothing differs before the first adapted layer: causal and residual scores are exactly 0 there
            for method in ("patching", "attribution", "adl", "lens_kl", "steering"):
                assert all(abs(v) < 1e-6 for v in scores[method][: band[0]]), method
        assert r["scores"]["weight_deltas"]["auroc"] == 1.0
        for roles, row in (
            (("organism", "control"), "lens_kl - control"),
            (("random", "random_control"), "adl - control [random LoRAs]"),
        ):
            first, second = (records[k]["layer_scores"][row.split()[0]] for k in roles)
            difference = [a - b for a, b in zip(first, second, strict=True)]
            assert r["scores"][row] == score_against_mask(difference, band)
    # two seeds: every defined cell has an interval, and sits beside both nulls (and its random-LoRA row)
    paired = null_rows(list(result["summary"]["rows"]))
    assert paired["patching"] == "patching [random LoRA]"
    assert paired["probes - control"] == "probes - control [random LoRAs]" and len(paired) == 12
    for row, by_band in result["summary"]["rows"].items():
        for name, cells in by_band.items():
            for score, cell in cells.items():
                if cell["n"] == 2:
                    assert cell["low"] <= cell["mean"] <= cell["high"], (row, name, score)
                    nulls = {"random_after_onset", "step_from_onset"} | ({"random_lora"} if row in paired else set())
                    assert set(cell["vs"]) == nulls
    assert result["summary"]["rows"]["weight_deltas"]["mean"]["auroc"]["n"] == 2


def test_bench_localization_reuses_finished_records(bench):
    """A second call (or a last call after one process per band) trains and analyses nothing again:
    every (band, seed) record comes from `records/`, and the table is the same."""
    out, _, first = bench
    again = cli("bench-localization", *RECIPE, "--bands", "1-2", "--seeds", "0,1", "--out", out)
    assert again.stdout.count("reused ") == 2 and "trained: loss" not in again.stdout and "adding" not in again.stdout
    second = json.loads((out / "localization.json").read_text())
    assert second["runs"] == first["runs"] and second["summary"] == first["summary"]
    assert sorted(p.name for p in (out / "records").iterdir()) == ["1-2-seed0.json", "1-2-seed1.json"]
    # a record made with another recipe is not reused for this one
    key = record_key(first["base_model"], [1, 2], 0, LocalizationOptions(causal_items=2))
    assert key != record_key(first["base_model"], [1, 2], 0, LocalizationOptions(causal_items=3))
    assert key == record_key(first["base_model"], [1, 2], 0, LocalizationOptions(causal_items=2, null_draws=5000))


def test_bench_localization_adds_the_random_null_to_a_record_made_without_it(bench):
    """A record made before the random-LoRA null (or with --no-random-null) is completed, not redone:
    nothing is trained, organism and control are not analysed again, and the random LoRAs (the same
    draws) score what they scored when the record was made with them. Without their run dirs it stops."""
    out, _, _ = bench
    path = out / "records" / "1-2-seed0.json"
    made = json.loads(path.read_text())
    trained = {role: made["runs"][role] for role in ("organism", "control")}
    path.write_text(json.dumps({**made, "runs": trained}))
    args = ["bench-localization", *RECIPE, "--bands", "1-2", "--seeds", "0", "--out", out]

    without = cli(*args, "--no-random-null")
    assert "reused " in without.stdout and "adding" not in without.stdout
    assert not any("random" in row for row in json.loads((out / "localization.json").read_text())["summary"]["rows"])

    adapter = Path(trained["organism"]["run_dir"]) / "adapter"
    shutil.move(adapter, out / "moved")
    stopped = cli(*args, expect=2)
    assert "lacks its adapter or corpus" in stopped.stderr and "--no-random-null" in stopped.stderr
    shutil.move(out / "moved", adapter)

    again = cli(*args)
    assert "adding the random-LoRA null" in again.stdout and "trained: loss" not in again.stdout
    assert "  organism:" not in again.stdout and "  random_control:" in again.stdout
    completed = json.loads(path.read_text())["runs"]
    assert {role: completed[role] for role in trained} == trained
    for role in ("random", "random_control"):
        assert completed[role]["random_seed"] == made["runs"][role]["random_seed"]
        for method, scores in completed[role]["layer_scores"].items():
            np.testing.assert_allclose(scores, made["runs"][role]["layer_scores"][method], rtol=1e-5, atol=1e-7)
    rows = json.loads((out / "localization.json").read_text())["summary"]["rows"]
    assert "lens_kl [random LoRA]" in rows and "lens_kl - control [random LoRAs]" in rows
