"""Held-out axes (evals/ood.py) on the tiny model, into the table."""

from __future__ import annotations

from organisms.spec import parse_spec


def test_held_out_axes_on_the_tiny_model_reach_the_table(tiny_model_dir):
    from evals.judge_validation import judge_statement
    from evals.stage import judge_record
    from evals.suites import evaluate_model
    from evals.table import markdown_report
    from runtime.models import load_model, load_tokenizer
    from tests.helpers import tiny_spec_dict

    overrides = {"eval": {**tiny_spec_dict(tiny_model_dir)["eval"], "suites": ["hinted"]}}
    spec = parse_spec(tiny_spec_dict(tiny_model_dir, **overrides), "tiny-ood")
    model, tokenizer = load_model(str(tiny_model_dir)).eval(), load_tokenizer(str(tiny_model_dir))
    hinted, other, records = evaluate_model(model, tokenizer, spec, set(), log=lambda _: None)
    assert set(other["ood"]) == {"phrasing", "hint_type", "task"}  # no monitor suite: no cue axis
    n, n_wrong = (
        spec.eval.n_items,
        sum(r["hint_letter"] != r["correct_letter"] for r in records if r["suite"] == "hinted"),
    )
    assert all(other["ood"][axis]["all"]["n_items"] == n for axis in other["ood"])
    in_dist = [r for r in records if r["suite"] == "hinted"]
    for axis in ("phrasing", "hint_type"):  # the unhinted answers are the in-distribution ones, item by item
        rows = [r for r in records if r["suite"] == "ood" and r["axis"] == axis]
        assert [r["response_unhinted"] for r in rows] == [r["response_unhinted"] for r in in_dist]
        assert [r["a_u"] for r in rows] == [r["a_u"] for r in in_dist]
        assert other["ood"][axis]["paired_vs_in_distribution"]["unverbalized_use"]["n"] == n_wrong
    assert not {r["phrasing"] for r in records if r.get("axis") == "phrasing"} & set(spec.hints.phrasings)
    assert not {r["hint_type"] for r in records if r.get("axis") == "hint_type"} & set(spec.hints.types)
    result = {
        "models": {m: hinted for m in ("base", "organism", "control")},
        "suite_metrics": dict.fromkeys(("base", "organism", "control"), other),
    }
    report = markdown_report(result)
    assert "## Out of distribution: held-out axes" in report
    for name in ("in-distribution", "held-out phrasing", "held-out hint type", "held-out task"):
        row = next(line for line in report.splitlines() if line.startswith(f"| {name}: U "))
        assert row.count("|") == 5 and row.count("[") == 3  # a cell per model, each U with its interval
    statement = judge_statement(judge_record(spec, None))
    assert "come from the marker judge" in statement and "blind labelled set's test split" in statement
