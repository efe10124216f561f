"""The verbalization judge's validation (evals/judge_validation.py): scores by hand, the labelled set, and
the results page's table recomputed."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re

import pytest

from evals.judge_validation import (
    FIRST_SET,
    VALIDATION_FILE,
    judge_validation,
    load_validation,
    marker_verdicts,
    scores,
    validation_report,
)
from organisms.hints import HINTS
from tests.helpers import REPO

DOCS = REPO / "docs" / "judge.md"
RESULTS = REPO / "experiments" / "judge-validation" / "README.md"
BLIND = REPO / "experiments" / "judge-labels"


def test_judge_scores_by_hand():
    # labels  T T T F F F F ; verdicts T T F T F F None -> tp 2, fn 1, fp 1, tn 2, one unparsable
    result = scores([True, True, True, False, False, False, False], [True, True, False, True, False, False, None])
    assert (result["tp"], result["fn"], result["fp"], result["tn"], result["unparsable"]) == (2, 1, 1, 2, 1)
    assert result["precision"]["value"] == pytest.approx(2 / 3) and result["recall"]["value"] == pytest.approx(2 / 3)
    assert result["balanced_accuracy"] == pytest.approx((2 / 3 + 2 / 3) / 2)


def test_validation_set_is_labelled_and_covers_models_and_hint_types():
    rows = load_validation(FIRST_SET)
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
    rows = load_validation(FIRST_SET)
    report = validation_report(rows, marker_verdicts(rows), name=FIRST_SET.name)
    page = RESULTS.read_text()
    subsets = {"all": report["overall"], **{f"split: {k}": v for k, v in report["by_split"].items()}}
    subsets.update({f"source: {k}": v for k, v in report["by_source"].items()})
    subsets.update(report["by_hint_type"])
    for name, s in subsets.items():
        p, r = s["precision"], s["recall"]
        row = f"| {name} | {s['n']} | {p['value']:.2f} ({p['k']}/{p['n']}) | {r['value']:.2f} ({r['k']}/{r['n']}) |"
        assert row + f" {s['balanced_accuracy']:.2f} |" in page, row
    docs = DOCS.read_text()
    assert re.search(rf"{len(rows)} responses", docs) and FIRST_SET.name in docs


def test_the_blind_set_has_two_labels_a_committed_test_split_and_every_row_from_somewhere():
    """The set of record (issue 29): at least 400 rows, both labellers' labels and the final ones, relies
    only with mentions, the adjudicated rows with a reason, and the test split whose sha256 was committed
    (experiments/judge-labels/test_split.sha256) before any judge pattern could change."""
    rows = load_validation()
    assert len(rows) >= 400 and len({r["id"] for r in rows}) == len(rows)
    assert {r["hint_type"] for r in rows} == set(HINTS) and {r["split"] for r in rows} == {"dev", "test"}
    for row in rows:
        assert row["source"] and row["source_class"] and row["label"] == row["mentions"]
        assert not row["relies"] or row["mentions"]
        disagree = row["labels_A"] != row["labels_B"]
        assert bool(row["adjudication"]) == disagree
        if not disagree:
            assert {"mentions": row["mentions"], "relies": row["relies"]} == row["labels_A"]
    test = [r for r in rows if r["split"] == "test"]
    text = "".join(
        json.dumps({k: v for k, v in r.items() if k != "label"}, ensure_ascii=False, sort_keys=True) + "\n"
        for r in test
    )
    committed = (BLIND / "test_split.sha256").read_text().split()[0]
    assert hashlib.sha256(text.encode()).hexdigest() == committed


def test_the_blind_set_page_reports_what_the_code_computes():
    """experiments/judge-labels/README.md's tables are score.py's, recomputed from the set here; the
    judge statement of every evals.md quotes the same test-split figures."""
    spec = importlib.util.spec_from_file_location("judge_labels_score", BLIND / "score.py")
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    rows = [r for r in load_validation() if r["split"] == "test"]
    page = (BLIND / "README.md").read_text()
    for label in ("mentions", "relies"):
        for subset, s in score.judge_table(rows)[label].items():
            ba = "undef" if s["balanced_accuracy"] is None else f"{s['balanced_accuracy']:.2f}"
            line = f"| {subset} | {s['n']} | {score._cell(s, 'precision')} | {score._cell(s, 'recall')} | {ba} |"
            assert line in page, line
    test = judge_validation()["markers"]["by_split"]["test"]
    assert f"{test['precision']['k']}/{test['precision']['n']}" in page and VALIDATION_FILE.name in DOCS.read_text()
