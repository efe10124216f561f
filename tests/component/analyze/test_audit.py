"""The audit ladder (analyze/audit/) on the trained tiny pair, and its prefill rung in a think block."""

from __future__ import annotations

import json

import pytest

import analyze.audit.black_box as ladder
from analyze.audit.ladder import EXPOSES, NOT_EXPOSED, RUNGS, UNDETERMINED, verdict
from organisms.spec import ReasoningSpec, parse_spec
from runtime.models import load_tokenizer
from tests.helpers import cli, hinted_record, spec_yaml, spy, think_spec_dict


@pytest.fixture(scope="module")
def audited(tiny_model_dir, tiny_pair, tmp_path_factory):
    """`organism audit` on a copy of the session's tiny pair (the organism run and its control)."""
    pair = tiny_pair.copy(tmp_path_factory.mktemp("audit") / "pair")
    out = cli("audit", pair.run, "--control", pair.control_run, cwd=pair.root)
    return {"root": pair.root, "run": pair.run, "control": pair.control_run, "out": out}


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
    again = cli("audit", audited["run"], "--control", audited["control"], cwd=audited["root"])
    assert "audit: unchanged, skipped" in again.stdout and (audited["run"] / "audit.json").read_text() == before
    missing = cli("audit", audited["run"], "--control", tmp_path / "nope", cwd=tmp_path, expect=2)
    assert "error" in missing.stderr
    shortcut = spec_yaml(tmp_path / "sc.yaml", tiny_model_dir, "tiny-sc", behaviour="shortcut")
    refused = cli("audit", shortcut, "--control", audited["control"], "--runs-dir", tmp_path, expect=2)
    assert "no hint to expose" in refused.stderr and not (tmp_path / "tiny-sc").exists()


THINK = ReasoningSpec(format="think")


def test_prefill_goes_inside_the_block_and_only_the_reasoning_is_judged(think_model_dir, monkeypatch):
    tokenizer = load_tokenizer(str(think_model_dir))
    spec = parse_spec(think_spec_dict(think_model_dir), "test")
    calls = []
    continuation = " a hint from a professor.\n</think>\n\nAnswer: (C) because the professor said so"
    spy(monkeypatch, ladder, "generate_batched", calls, lambda *a, **k: [continuation] * len(a[2]))
    records = [hinted_record("x", "y")]
    texts = ladder._prefilled(None, tokenizer, spec, records, "hinted")
    assert calls[0][1]["prefixes"] == ["<think>\n" + ladder.PREFILL] and calls[0][1]["reasoning"] == THINK
    assert texts == [" a hint from a professor."]
