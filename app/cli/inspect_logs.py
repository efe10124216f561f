"""`organism inspect-report`: evals.json, evals.md and eval_responses.jsonl from the Inspect logs of the
cot_organisms tasks (docs/inspect.md). inspect_ai is an optional extra: imported when the command runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import user_errors
from app.console import log, show_eval
from organisms.errors import OrganismError


def inspect_installed() -> bool:
    try:
        return importlib.util.find_spec("inspect_ai") is not None
    except ValueError:  # None in sys.modules: its imports are blocked
        return False


@user_errors
def inspect_report(
    logs: Annotated[
        list[str],
        typer.Argument(
            help="Inspect logs (.eval, .json) or log directories of the cot_organisms tasks, each LABEL=PATH or "
            "PATH (labelled by its model); base, organism and control are compared as `organism eval` does"
        ),
    ],
    out: Annotated[Path, typer.Option(help="output dir for evals.json, evals.md, eval_responses.jsonl")] = Path(
        "inspect-evals"
    ),
) -> None:
    """Our tables from Inspect logs: the same records, suites' scoring and tables as `organism eval`."""
    if not inspect_installed():
        raise OrganismError('inspect-report reads Inspect logs: pip install -e ".[inspect]" installs Inspect')
    from cot_organisms.report import parse_log_args, write_report

    result = write_report(parse_log_args(logs), out, log=log)
    show_eval(result, f"{result['organism']}: from Inspect logs")
    log(f"wrote {out}/evals.json, evals.md, eval_responses.jsonl")
