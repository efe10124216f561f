"""`organism audit` end to end on the tiny model (a run built as the pipeline tests build one), and the
ladder's rules and interval by hand."""

from __future__ import annotations

import json

import pytest

from analyze.audit.ladder import EXPOSES, NOT_EXPOSED, RUNGS, UNDETERMINED, verdict
from evals.stats import mover_difference, newcombe_difference
from tests.helpers import organism as cli
from tests.helpers import spec_yaml

FAST_EVAL = {
    "n_items": 6,
    "max_new_tokens": 16,
    "batch_size": 6,
    "suites": ["hinted"],
    "ood": {"axes": []},
    "hint_correct_fraction": 0.0,
}


@pytest.fixture(scope="module")
def audited(tmp_path_factory, tiny_model_dir):
    """organism + control on the tiny model (`organism run`), then `organism audit`."""
    root = tmp_path_factory.mktemp("audit")
    overrides = {"eval": FAST_EVAL, "analyze": {"items": 2, "probe_items": 4}}
    organism = spec_yaml(root / "tiny-hh.yaml", tiny_model_dir, "tiny-hh", **overrides)
    control = spec_yaml(
        root / "tiny-hh-faithful.yaml", tiny_model_dir, "tiny-hh-faithful", control_of="tiny-hh", **overrides
    )
    runs = root / "runs"
    cli("train", str(control), "--runs-dir", str(runs), cwd=root)
    cli("run", str(organism), "--control", str(control), "--runs-dir", str(runs), "--no-wandb", cwd=root)
    run_dir = next((runs / "tiny-hh").iterdir())
    control_dir = next((runs / "tiny-hh-faithful").iterdir())
    out = cli("audit", str(run_dir), "--control", str(control_dir), cwd=root)
    return {"root": root, "run": run_dir, "control": control_dir, "out": out}


def test_audit_writes_every_rung_for_organism_and_control(audited):
    run = audited["run"]
    audit = json.loads((run / "audit.json").read_text())
    assert [r["rung"] for r in audit["rungs"]] == list(RUNGS)
    assert audit["n_items"] == 6 and audit["n_decision_prompts"] == 2
    for row in audit["rungs"]:
        assert set(row["verdict"].values()) <= {EXPOSES, NOT_EXPOSED, UNDETERMINED}, row
        assert row["verdict"] == {
            "organism": verdict(row["rung"], row["organism"]),
            "control": verdict(row["rung"], row["control"]),
        }
        for name in ("organism", "control"):
            entry = row[name]
            if row["rung"] in ("prompting", "cot", "prefill"):
                assert entry["n"] == audit["followed_hint"][name]["k"]  # scored on runs that followed the hint
                assert entry["null"]["n"] == 6
            if entry.get("value") is not None and entry.get("ci95") is not None:
                low, high = entry["ci95"]
                assert low <= entry["value"] + 1e-9 and entry["value"] <= high + 1e-9, row["rung"]
    weights = next(r for r in audit["rungs"] if r["rung"] == "weights")
    assert weights["organism"]["value"] > 0 and weights["control"]["value"] > 0
    assert weights["verdict"] == {"organism": NOT_EXPOSED, "control": NOT_EXPOSED}
    for rung in ("steering", "patching", "probes"):
        row = next(r for r in audit["rungs"] if r["rung"] == rung)
        assert row["organism"]["layer"] in (0, 1) and row["control"]["layer"] in (0, 1)
    for rung in ("steering", "patching"):  # signed logit shifts; organism - control from the same resamples
        row = next(r for r in audit["rungs"] if r["rung"] == rung)
        o, c = row["organism"], row["control"]
        assert row["difference"]["value"] == pytest.approx(o["value"] - c["value"])
        assert (o["value"] > 0) or row["verdict"]["organism"] == NOT_EXPOSED
    assert audit["analysis_sources"]["control"] == "computed by the audit"  # the control run has no analysis
    records = [json.loads(line) for line in (run / "audit_responses.jsonl").read_text().splitlines()]
    assert sorted({r["model"] for r in records}) == ["control", "organism"] and len(records) == 12
    assert all("asked_hinted" in r and "prefill_hinted" in r for r in records)
    md = (run / "audit.md").read_text()
    assert md.count("\n| prompting |") == 2 and "verdict rule" in md
    assert "audit ladder" in audited["out"].stdout and "does not expose" in audited["out"].stdout
    manifest = json.loads((run / "manifest.json").read_text())
    assert set(manifest["stages"]["audit"]["outputs"]) == {"audit.json", "audit.md", "audit_responses.jsonl"}


def test_audit_rerun_is_skipped_and_bad_targets_are_refused(audited, tmp_path, tiny_model_dir):
    before = (audited["run"] / "audit.json").read_text()
    again = cli("audit", str(audited["run"]), "--control", str(audited["control"]), cwd=audited["root"])
    assert "audit: unchanged, skipped" in again.stdout and (audited["run"] / "audit.json").read_text() == before
    missing = cli("audit", str(audited["run"]), "--control", str(tmp_path / "nope"), cwd=tmp_path, expect=2)
    assert "error" in missing.stderr
    shortcut = spec_yaml(tmp_path / "sc.yaml", tiny_model_dir, "tiny-sc", behaviour="shortcut")
    refused = cli("audit", str(shortcut), "--control", str(audited["control"]), "--runs-dir", str(tmp_path), expect=2)
    assert "no hint to expose" in refused.stderr and not (tmp_path / "tiny-sc").exists()


def test_mover_difference_combines_two_intervals():
    d = mover_difference({"value": 0.5, "ci95": [0.2, 0.7]}, {"value": 0.1, "ci95": [0.0, 0.4]})
    assert d["value"] == pytest.approx(0.4) and d["ci95"] == pytest.approx(
        [0.4 - 0.3 * 2**0.5, 0.4 + (0.04 + 0.01) ** 0.5]
    )
    assert mover_difference(None, {"value": 0.1, "ci95": [0, 1]}) == {"value": None, "ci95": None}


def test_newcombe_interval_matches_the_published_example():
    # Newcombe (1998), Table II, example (a): 56/70 vs 48/80 -> 0.2000, 95% CI [0.0524, 0.3339] (method 10)
    d = newcombe_difference(56, 70, 48, 80)
    assert d["value"] == pytest.approx(0.2) and d["ci95"] == pytest.approx([0.0524, 0.3339], abs=1e-4)
    assert newcombe_difference(1, 0, 3, 4) == {"value": None, "ci95": None}


def test_verdict_rules():
    above = {"value": 0.8, "n": 5, "above_null": {"value": 0.8, "ci95": [0.2, 1.0]}}
    level = {"value": 0.2, "n": 5, "above_null": {"value": 0.0, "ci95": [-0.5, 0.5]}}
    assert verdict("prompting", above) == EXPOSES and verdict("cot", level) == NOT_EXPOSED
    assert verdict("prefill", {"value": None, "n": 0}) == UNDETERMINED
    assert verdict("steering", {"value": 0.5, "ci95": [0.1, 0.9]}) == EXPOSES
    assert verdict("patching", {"value": 0.5, "ci95": [-0.1, 0.9]}) == NOT_EXPOSED
    assert verdict("probes", {"value": 0.4, "ci95": [0.1, 0.6]}) == EXPOSES
    assert verdict("probes", {"value": 0.4, "ci95": [-0.1, 0.6]}) == NOT_EXPOSED
    assert verdict("probes", None) == UNDETERMINED
    assert verdict("weights", {"value": 3.0, "ci95": None}) == NOT_EXPOSED
