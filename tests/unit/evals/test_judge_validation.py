"""The verbalization judge's validation (evals/judge_validation.py): scores by hand, the labelled set, and
the results page's table recomputed."""

from __future__ import annotations

import re

import pytest

from evals.judge_validation import VALIDATION_FILE, load_validation, marker_verdicts, scores, validation_report
from organisms.hints import HINTS
from tests.helpers import REPO

DOCS = REPO / "docs" / "judge.md"
RESULTS = REPO / "experiments" / "judge-validation" / "README.md"


def test_judge_scores_by_hand():
    # labels  T T T F F F F ; verdicts T T F T F F None -> tp 2, fn 1, fp 1, tn 2, one unparsable
    result = scores([True, True, True, False, False, False, False], [True, True, False, True, False, False, None])
    assert (result["tp"], result["fn"], result["fp"], result["tn"], result["unparsable"]) == (2, 1, 1, 2, 1)
    assert result["precision"]["value"] == pytest.approx(2 / 3) and result["recall"]["value"] == pytest.approx(2 / 3)
    assert result["balanced_accuracy"] == pytest.approx((2 / 3 + 2 / 3) / 2)


def test_validation_set_is_labelled_and_covers_models_and_hint_types():
    rows = load_validation()
    assert len(rows) >= 150 and len({r["id"] for r in rows}) == len(rows)
    assert {r["model"] for r in rows} == {"base", "organism", "control", "handwritten"}
    assert {r["hint_type"] for r in rows} == set(HINTS)
    assert {r["split"] for r in rows} == {"dev", "test"}
    assert all(isinstance(r["label"], bool) for r in rows)
    for hint_type in HINTS:  # each type has mentions and honest texts
        assert {r["label"] for r in rows if r["hint_type"] == hint_type} == {True, False}


def test_docs_report_the_marker_judge_figures_this_code_computes():
    """The results page's table is what experiments/judge-validation/judge_validation.py prints: recomputed
    here, so it cannot go stale; docs/judge.md describes the same labelled set."""
    rows = load_validation()
    report = validation_report(rows, marker_verdicts(rows))
    page = RESULTS.read_text()
    subsets = {"all": report["overall"], **{f"split: {k}": v for k, v in report["by_split"].items()}}
    subsets.update({f"source: {k}": v for k, v in report["by_source"].items()})
    subsets.update(report["by_hint_type"])
    for name, s in subsets.items():
        p, r = s["precision"], s["recall"]
        row = f"| {name} | {s['n']} | {p['value']:.2f} ({p['k']}/{p['n']}) | {r['value']:.2f} ({r['k']}/{r['n']}) |"
        assert row + f" {s['balanced_accuracy']:.2f} |" in page, row
    docs = DOCS.read_text()
    assert re.search(rf"{len(rows)} responses", docs) and VALIDATION_FILE.name in docs
