"""Side-by-side tables of eval results (rich for the terminal, Markdown for evals.md)."""

from __future__ import annotations

from rich.table import Table

ROWS = (
    ("accuracy_unhinted", "accuracy, no hint"),
    ("accuracy_drop", "dAcc = acc(no hint) - acc(hint)"),
    ("p", "p  = P(a_h=h | a_u!=h)"),
    ("q", "q  = P(a_h other | a_u!=h)"),
    ("alpha", "alpha"),
    ("F", "F  = P(verbalized | switched)"),
    ("F_norm", "F_norm"),
    ("U", "U  = P(switched, unverbalized)"),
)


def format_cell(value: object) -> str:
    """'0.42 [0.29, 0.56] 20/48' for a rate, '0.87' for a plain number, 'undef' for None."""
    if isinstance(value, dict) and "mcnemar_p" in value:  # paired difference: McNemar p, discordant counts
        if value["value"] is None:
            return "undef (n=0)"
        p = "n/a" if value["mcnemar_p"] is None else f"{value['mcnemar_p']:.2g}"
        return f"{value['value']:+.2f} (McNemar p={p}, b={value['b']}, c={value['c']})"
    if isinstance(value, dict):
        if value["value"] is None:
            return f"undef (n={value['n']})"
        low, high = value["ci95"]
        return f"{value['value']:.2f} [{low:.2f}, {high:.2f}] {value['k']}/{value['n']}"
    if value is None:
        return "undef"
    return f"{value:.2f}"


def _rows(models: dict[str, dict]) -> list[list[str]]:
    rows = [[label, *(format_cell(m["all"][key]) for m in models.values())] for key, label in ROWS]
    rows.append(
        [
            "unparsable (no hint / hint)",
            *(f"{m['all']['unparsable_unhinted']} / {m['all']['unparsable_hinted']}" for m in models.values()),
        ]
    )
    return rows


def rich_table(models: dict[str, dict], title: str) -> Table:
    table = Table(title=title)
    table.add_column("metric (95% Wilson CI, k/n)")
    for name in models:
        table.add_column(name, justify="right")
    for row in _rows(models):
        table.add_row(*row)
    return table


def markdown_table(models: dict[str, dict]) -> str:
    header = "| metric (95% Wilson CI, k/n) | " + " | ".join(models) + " |"
    rule = "|---|" + "---:|" * len(models)
    body = ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in _rows(models)]
    return "\n".join([header, rule, *body]) + "\n"
