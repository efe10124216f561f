"""Where the pipeline and the CLI print: one console, one timestamped log line, one eval table renderer."""

from __future__ import annotations

import sys
import time

from rich.console import Console

from runtime.progress import above_bars

console = Console(width=None if sys.stdout.isatty() else 132)  # logs and CI get the whole table
err_console = Console(stderr=True)


def log(message: str) -> None:
    """One progress line, prefixed with the wall-clock time (rich markup allowed); above a progress bar
    while one is drawn on the same terminal."""
    (above_bars() or console).print(f"[dim]{time.strftime('%H:%M:%S')}[/] {message}", highlight=False)


def show_eval(result: dict, title: str) -> None:
    """The side-by-side eval table (base, organism, control) of an `evals.json` result."""
    from evals.table import rich_report

    console.print(rich_report(result, title))
