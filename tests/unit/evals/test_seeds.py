"""The across-seed summary (evals/seeds.py), by hand."""

from __future__ import annotations

import math

import pytest

from evals.seeds import markdown_seeds, seed_summary, spread
from evals.stats import rate


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


def test_the_seed_table_names_the_judge_its_f_and_u_come_from():
    """F and U are the judge of record's verdicts: seeds.md opens with the same judge paragraph as evals.md."""
    from evals.judge_validation import judge_statement, judge_validation

    judge = {"of_record": "markers", "validation": judge_validation()}
    runs = {seed: {**_evals((4, 4), (0, 4)), "judge": judge} for seed in (0, 1)}
    table = markdown_seeds(seed_summary(runs))
    assert table.startswith(judge_statement(judge)) and "come from the marker judge" in table
