"""Tables, the one way: Markdown for the .md files, rich for the terminal. Every emitter of the project
(evals, seeds, audit, blind audit, removal, localization) builds rows of cell strings and renders them here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.table import Table


def _line(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> list[str]:
    """The lines of a Markdown table: header, rule, one line per row. A '|' in any cell is escaped ('\\|').
    `align`: 'l' or 'r' per column (default: every column left)."""
    align = align or "l" * len(columns)
    rule = "|" + "".join("---:|" if a == "r" else "---|" for a in align)
    return [_line(columns), rule, *(_line(row) for row in rows)]


def rich_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]] = (),
    title: str | None = None,
    align: str = "",
    sections: Iterable[tuple[str, Iterable[Sequence[str]]]] = (),
) -> Table:
    """A rich table of `rows` (cells may hold rich markup), then of each (heading, rows) of `sections`
    under its bold heading, closed by a rule. `align` as `markdown_table`'s."""
    table = Table(title=title)
    for column, a in zip(columns, align or "l" * len(columns), strict=True):
        table.add_column(column, justify="right" if a == "r" else "left")
    for row in rows:
        table.add_row(*row)
    for heading, group in sections:
        table.add_row(f"[bold]{heading}[/]", *("" for _ in columns[1:]), end_section=False)
        for row in group:
            table.add_row(*row)
        table.add_section()
    return table
