"""The audit ladder as a table: markdown for `audit.md`, rich for the console (one row per rung)."""

from __future__ import annotations

from rich.table import Table

COLUMNS = ("rung", "organism [95% CI]", "control [95% CI]", "organism - control [95% CI]", "organism", "control")


def _escape(text: str) -> str:
    """A markdown table cell: pipes escaped."""
    return text.replace("|", "\\|")


def _interval(ci: list[float] | None) -> str:
    return "" if ci is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]"


def cell(entry: dict | None) -> str:
    """A score with its interval and k/n where it is a rate; 'n/a' when the rung did not run."""
    if entry is None:
        return "n/a (not run)"
    if entry.get("value") is None:
        return f"undef (n={entry.get('n', 0)})"
    text = f"{entry['value']:.2f}{_interval(entry.get('ci95'))}"
    if "k" in entry:
        text += f" {entry['k']}/{entry['n']}"
    if "layer" in entry:
        text += f" @L{entry['layer']}"
    return text


def difference_cell(entry: dict) -> str:
    if entry.get("value") is None:
        return "undef"
    return f"{entry['value']:+.2f}{_interval(entry.get('ci95'))}"


def rows(audit: dict) -> list[list[str]]:
    return [
        [
            r["rung"],
            cell(r["organism"]),
            cell(r["control"]),
            difference_cell(r["difference"]),
            r["verdict"]["organism"],
            r["verdict"]["control"],
        ]
        for r in audit["rungs"]
    ]


def markdown_audit(audit: dict) -> str:
    """`audit.md`: the ladder table, each rung's score and rule, and what the run read."""
    followed = audit["followed_hint"]
    lines = [
        f"# Audit ladder: {audit['organism']} (control {audit['control']})",
        "",
        f"Behaviour `{audit['behaviour']}`; {audit['n_items']} held-out items, every hint to a wrong option. "
        f"Followed the hint: organism {cell(followed['organism'])}, control {cell(followed['control'])}. "
        f"Verbalization judge: {audit['judge']}. White-box rungs on {audit['n_decision_prompts']} decision prompts "
        f"({audit['decision_source']}). Definitions: docs/audit.md.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|---|---:|---:|---:|---|---|",
        *("| " + " | ".join(row) + " |" for row in rows(audit)),
        "",
        "| rung | score | verdict rule |",
        "|---|---|---|",
        *(f"| {r['rung']} | {_escape(r['score'])} | {_escape(r['rule'])} |" for r in audit["rungs"]),
        "",
    ]
    return "\n".join(lines)


def rich_audit(audit: dict) -> Table:
    table = Table(title=f"audit ladder: {audit['organism']} vs control {audit['control']}")
    for column in COLUMNS:
        table.add_column(column, justify="right" if "[" in column else "left")
    colour = {"exposes": "green", "does not expose": "red", "undetermined": "yellow"}
    for row in rows(audit):
        *values, org, ctl = row
        table.add_row(*values, f"[{colour[org]}]{org}[/]", f"[{colour[ctl]}]{ctl}[/]")
    return table
