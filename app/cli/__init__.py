"""The `organism` command line: options and rendering only; every operation is in `app/pipeline.py`.

The whole command surface is registered here, in the order `organism --help` shows it; each command's
options live in its module: stages.py, audit.py, bench.py.
"""

from __future__ import annotations

from app.cli import audit, bench, inspect_logs, stages
from app.cli.common import Command, app
from runtime.quiet import quiet_third_party

STAGES, AUDIT, BENCH = "Stages", "Auditing", "Benchmarks"
for name, command, panel in (
    ("list", stages.list_cmd, STAGES),
    ("show", stages.show, STAGES),
    ("docs", stages.docs, STAGES),
    ("train", stages.train, STAGES),
    ("eval", stages.eval_cmd, STAGES),
    ("analyze", stages.analyze, STAGES),
    ("run", stages.run, STAGES),
    ("demo", stages.demo, STAGES),
    ("inspect-report", inspect_logs.inspect_report, STAGES),
    ("audit", audit.audit, AUDIT),
    ("remove", audit.remove, AUDIT),
    ("bench-localization", bench.bench_localization, BENCH),
    ("bench-audit", bench.bench_audit, BENCH),
):
    app.command(name, cls=Command, rich_help_panel=panel)(command)


def main() -> None:
    quiet_third_party()
    app()
