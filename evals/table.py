"""Side-by-side tables of eval results (rich for the terminal, Markdown for evals.md).

Every cell carries its n: rates as 'value [Wilson 95% CI] k/n', AOCs as 'value [bootstrap 95% CI] n=',
paired differences with their McNemar p (and Holm-adjusted p in the paired-tests section) and discordant
counts; alpha and F_norm with intervals propagated from Wilson bounds (docs/metrics.md). The rows are
the suites' own (evals/registry.py); each value prints itself (evals/results.py)."""

from __future__ import annotations

import copy

from rich.table import Table

from evals.registry import sections as suite_sections
from evals.render import markdown_table, rich_table
from evals.results import MISSING, cell, model_tree

METRIC_COLUMN = "metric (95% CI, k/n)"


def _organism_column(result: dict, rows: list[tuple[str, object]]) -> list[list[str]]:
    """(label, stored result) rows with the value in the organism's column, the other models' cells empty."""
    column = list(result["models"]).index("organism")
    n = len(result["models"])
    return [[label, *(cell(value) if i == column else "" for i in range(n))] for label, value in rows]


def sections(result: dict, only: tuple[str, ...] | None = None) -> list[tuple[str, list[list[str]]]]:
    """(title, rows) for every section with at least one value; each row is [label, cell per model].
    `only`: the rows of these suites alone, with the paired tests their metrics feed (the hinted suite's,
    the monitors'); a test group whose `holm_family_size` is None is titled unadjusted (`unadjusted`)."""
    trees = [model_tree(result, label) for label in result["models"]]
    out = []
    for section in suite_sections(only):
        rows = []
        for row in section.rows:
            values = [row.value(tree) for tree in trees]
            if all(v is MISSING for v in values):
                continue
            rows.append([row.label, *("-" if v is MISSING else cell(v) for v in values)])
        if rows:
            out.append((section.title, rows))
    hinted = only is None or "hinted" in only
    retention = result.get("capability_retention", {})
    if retention and hinted:
        labelled = [(f"acc(no hint), {key.replace('_', ' ')}", value) for key, value in retention.items()]
        out.append(("Capability retention (paired, organism column)", _organism_column(result, labelled)))
    tests = result.get("comparisons", {})
    groups = {k: v for k, v in tests.items() if k.startswith("organism_vs_")}
    if any(groups.values()) and hinted:
        labelled = [(f"{g.replace('_', ' ')}: {key}", v) for g, group in groups.items() for key, v in group.items()]
        title = f"Paired tests (exact McNemar; {_family(tests)}; organism column)"
        out.append((title, _organism_column(result, labelled)))
    sensitivity = tests.get("sensitivity", {})
    if any(sensitivity.values()) and hinted:
        labelled = [
            (f"{g.replace('_', ' ')}: {key}", v) for g, group in sensitivity.items() for key, v in group.items()
        ]
        title = "U under other readings (exact McNemar, not in the Holm family; organism column)"
        out.append((title, _organism_column(result, labelled)))
    monitors = result.get("monitor_comparisons", {})
    groups = {k: v for k, v in monitors.items() if k.startswith("organism_vs_")}
    if any(groups.values()) and (only is None or "monitors" in only):
        labelled = [(f"{g.replace('_', ' ')}: {key}", v) for g, group in groups.items() for key, v in group.items()]
        title = (
            "CoT monitors, paired over the report split's items: P(switched to the wrong hint, not flagged) "
            f"(exact McNemar; {_family(monitors)}; organism column)"
        )
        out.append((title, _organism_column(result, labelled)))
    return out


def _family(tests: dict) -> str:
    if tests.get("holm_family_size") is None:
        return "unadjusted p here; evals.md adjusts them with Holm across all its paired tests"
    return f"Holm across these {tests['holm_family_size']} p-values"


def unadjusted(result: dict) -> dict:
    """`result` with the Holm-adjusted p-values taken out of its headline paired tests: a part of the eval
    holds fewer of them than the whole eval will, so a table printed before the eval ends shows each test's
    own p, which the whole eval does not revise (app/progressive.py). The CoT monitors' paired tests keep
    theirs: their Holm family is their own, complete in the part that prints them."""
    out = copy.deepcopy(result)
    tests = out.get("comparisons")  # the monitors' family is their own suite's tests: final in its part
    if tests:
        tests["holm_family_size"] = None
        for name, group in tests.items():
            if name.startswith("organism_vs_"):
                for test in group.values():
                    test.pop("holm_p", None)
    return out


def rich_report(result: dict, title: str, only: tuple[str, ...] | None = None) -> Table:
    columns = (METRIC_COLUMN, *result["models"])
    return rich_table(columns, title=title, align="l" + "r" * len(result["models"]), sections=sections(result, only))


def markdown_report(result: dict, only: tuple[str, ...] | None = None) -> str:
    columns = (METRIC_COLUMN, *result["models"])
    align = "l" + "r" * len(result["models"])
    tables = sections(result, only)
    parts = ["\n".join([f"## {title}", "", *markdown_table(columns, rows, align)]) for title, rows in tables]
    return "\n\n".join(parts) + "\n"
