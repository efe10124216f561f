"""The progressive demo on the tiny pair: a table as soon as its numbers exist (organism vs base before the
control is trained), `--quick` stopping after the held-out axes and monitors, and a second call that goes on
from there and ends with the numbers a one-shot `organism run` gives, every printed row unchanged."""

from __future__ import annotations

import contextlib
import io
import json
import re

import evals.stage
from app import pipeline
from evals.suites import HEADLINE_TESTS
from runtime.models import load_with_adapters
from runtime.rundir import hash_path


def table_rows(markdown: str, columns: int) -> set[tuple[str, ...]]:
    """The value rows of a Markdown file's tables (no header, no rule), each as its first `columns` cells."""
    lines = [line for line in markdown.splitlines() if line.startswith("| ") and not line.startswith("| metric")]
    return {tuple(cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1])[:columns] for line in lines}


def demo(tiny_pair, tmp_path, quick: bool) -> tuple[pipeline.RunDir, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.chdir(tmp_path):
        organism_run, spec = pipeline.open_target(str(tiny_pair.organism), tmp_path / "runs")
        control_run, control_spec = pipeline.open_target(str(tiny_pair.control), tmp_path / "runs")
        pipeline.progressive(organism_run, spec, control_run, control_spec, no_wandb=True, quick=quick)
    return organism_run, out.getvalue()


def test_tables_appear_in_order_are_final_and_the_demo_ends_where_a_one_shot_run_ends(tiny_pair, tmp_path, monkeypatch):
    organism_run, printed = demo(tiny_pair, tmp_path, quick=True)
    progress = organism_run.root / "progress"
    tables = sorted(p.name for p in progress.iterdir())
    assert tables == ["1-hinted.md", "2-hinted.md", "3-ood-monitors.md"]
    first, second, third = (progress / name for name in tables)
    assert "| metric (95% CI, k/n) | base | organism |" in first.read_text()
    assert "| metric (95% CI, k/n) | base | organism | control |" in second.read_text()
    assert "table 1 of 3" in first.read_text() and "next: the control (tiny-faithful)" in first.read_text()
    control_adapter = next((tmp_path / "runs" / "tiny-faithful").iterdir()) / "adapter"
    # organism vs base was written before the control was trained
    assert first.stat().st_mtime < min(p.stat().st_mtime for p in control_adapter.iterdir())
    assert "## Out of distribution: held-out axes" in third.read_text() and "## CoT monitors" in third.read_text()
    assert "unadjusted p here" in second.read_text() and "Holm p=" not in second.read_text()
    assert not (organism_run.root / "evals.json").exists()  # --quick stops before the whole eval
    assert "demo (--quick) finished" in printed

    loads = []

    def counted(*args, **kwargs):
        loads.append(args)
        return load_with_adapters(*args, **kwargs)

    monkeypatch.setattr(evals.stage, "load_with_adapters", counted)
    organism_run, printed = demo(tiny_pair, tmp_path, quick=False)
    # tables 1-3 again from the saved generations, nothing loaded; then the model once, for Lanham and IPHR
    assert len(loads) == 1 and "suites' generations reused" in printed
    assert (organism_run.root / "report.html").exists()

    # the same weights as the one-shot `organism run` of tiny_pair (the cards differ in timings), so the same numbers
    weights = "adapter/adapter_model.safetensors"
    assert hash_path(organism_run.root / weights) == hash_path(tiny_pair.run / weights)
    final = json.loads((organism_run.root / "evals.json").read_text())
    one_shot = json.loads((tiny_pair.run / "evals.json").read_text())
    for label in ("base", "organism", "control"):
        final["suite_metrics"][label].pop("seconds"), one_shot["suite_metrics"][label].pop("seconds")
    for key in ("models", "suite_metrics", "comparisons", "monitor_comparisons", "capability_retention"):
        assert final[key] == one_shot[key], key
    responses = (organism_run.root / "eval_responses.jsonl").read_text()
    assert responses == (tiny_pair.run / "eval_responses.jsonl").read_text()

    # every row a progressive table printed is in evals.md unchanged, but for evals.md's Holm p
    evals_md = (organism_run.root / "evals.md").read_text()
    without_holm = re.sub(r", Holm p=[^ |),]+", "", evals_md)  # the headline tests' Holm p: evals.md's alone
    for table, columns in ((first, 3), (second, 4), (third, 4)):  # label, base, organism (, control)
        printed_rows = table_rows(table.read_text(), columns)
        whole = table_rows(evals_md, columns)
        headline = {row for row in table_rows(without_holm, columns) if row[0].split(": ")[-1] in HEADLINE_TESTS}
        missing = printed_rows - whole - headline
        assert printed_rows and not missing, (table.name, missing)
    assert "Holm p=" in third.read_text(), "the monitors' own Holm family is complete in table 3: kept"
