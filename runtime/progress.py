"""Progress bars: every bar draws on one stderr console, so a bar inside another (the LLM judge's
requests inside the eval's) nests under it instead of fighting over the terminal. A bar shows only on a
terminal and is cleared when done. While one shows, lines for a terminal stdout go through `above_bars`
(app/console.py's `log` does), so they print above the bar instead of through it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from rich.console import Console
from rich.progress import Progress, ProgressColumn

CONSOLE = Console(stderr=True)
_shown = 0  # bars started and not yet stopped


@contextlib.contextmanager
def progress_bar(*columns: str | ProgressColumn) -> Iterator[Progress]:
    """A transient bar on the shared console."""
    global _shown
    with Progress(*columns, console=CONSOLE, transient=True, redirect_stdout=sys.stdout.isatty()) as bar:
        _shown += 1
        try:
            yield bar
        finally:
            _shown -= 1


def above_bars() -> Console | None:
    """The bars' console while a bar is drawn on the terminal that stdout also writes to, else None."""
    return CONSOLE if _shown and CONSOLE.is_terminal and sys.stdout.isatty() else None
