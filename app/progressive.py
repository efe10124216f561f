"""The progressive demo: each table as soon as its numbers exist, never revised after.

`organism demo` (one seed) trains the organism, then prints organism vs base on the hinted pairs; trains
the control and prints the three side by side; then the held-out axes and the CoT monitors; then every
other suite, the whole evals.md and the analysis. A table is scored from each model's saved generations
(evals/partial.py), which the whole eval scores again unchanged, so its numbers are the ones evals.md
holds; the one exception is the Holm adjustment of the headline paired tests, which depends on how many
tests a table holds, so these tables show each test's own p and say so (evals.table.unadjusted). Each
table is also written to `progress/` in the organism's run directory, with how far into the demo it
appeared.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from app.console import console, log
from organisms.spec import OrganismSpec
from runtime.rundir import RunDir, write_atomic

PROGRESS = "progress"  # the tables, in the organism's run directory


@dataclass
class DemoClock:
    """How far the demo is: minutes since it started, and which table of how many."""

    start: float
    tables: int
    shown: int = 0

    def minutes(self) -> float:
        return (time.perf_counter() - self.start) / 60

    def next(self) -> str:
        self.shown += 1
        return f"table {self.shown} of {self.tables}, {self.minutes():.1f} min into the demo"


def part_table(
    run: RunDir,
    spec: OrganismSpec,
    control: RunDir | None,
    part: tuple[str, ...],
    clock: DemoClock,
    title: str,
    coming: str,
) -> dict:
    """Generate `part`'s suites for every model not yet done (the others' are read back), print the rows
    of those suites with each test's unadjusted p, and write them to progress/; returns the scored part."""
    from evals.stage import run_eval
    from evals.table import markdown_report, rich_report, unadjusted

    result = unadjusted(run_eval(run, spec, control, log=log, part=part))
    where = clock.next()
    heading = f"{spec.name}: {title} ({where})"
    console.print(rich_report(result, heading, only=part))
    out = Path(run.root) / PROGRESS / f"{clock.shown}-{'-'.join(part)}.md"
    note = (
        f"{where}; next: {coming}. Every number here is final: evals.md repeats it, and adds to the "
        "organism's paired tests their Holm p across all of its paired tests.\n\n"
    )
    write_atomic(out, f"# {heading}\n\n{note}" + markdown_report(result, only=part))
    log(f"{title}: {out}")
    return result
