"""The typer app, the options several commands share, and how a command reports a user's mistake."""

from __future__ import annotations

import functools
import gc
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from app.console import err_console
from organisms.errors import OrganismError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold keys; never print them
    help="Build and dissect CoT model organisms.",
)

RunsDir = Annotated[Path, typer.Option("--runs-dir", help="where runs/<organism>/<run-id>/ live")]
RunId = Annotated[str | None, typer.Option("--run-id", help="default: the spec's hash")]
Target = Annotated[str, typer.Argument(help="catalogue name, spec YAML path, or run directory")]
NoWandb = Annotated[bool, typer.Option("--no-wandb", help="no W&B logging for this run")]
Control = Annotated[str | None, typer.Option(help="matched control: catalogue name, spec or run dir")]
Seeds = Annotated[
    str | None,
    typer.Option(
        "--seeds",
        help="comma-separated training seeds, e.g. 0,1,2: one organism (and control) per seed, each evaluated, "
        "then the across-seed table (runs/seeds/); analyze is skipped",
    ),
]
Suites = Annotated[
    str | None,
    typer.Option(
        "--suites",
        help="with --seeds: eval suites instead of the spec's, e.g. hinted,lanham (add 'ood' to keep the "
        "held-out axes); a changed spec, so its own run directories",
    ),
]
AllowOtherBase = Annotated[
    bool,
    typer.Option(
        "--allow-other-base",
        help="evaluate although the base (--base) or the control was trained from another starting model than "
        "the organism's card records (refused otherwise); evals.md and evals.json then say so",
    ),
]
VaryCorpus = Annotated[bool, typer.Option("--vary-corpus", help="with --seeds: the corpus seed follows it too")]


def user_errors(command):
    """Bad input: one line on stderr (one per invalid spec field), exit code 2. Ctrl-C: exit 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except OrganismError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            pass
        # Outside the handler, so the interrupted frames are gone: progress bars they held print
        # their last state now, not after this line.
        gc.collect()
        err_console.print("interrupted; rerun the same command to resume", highlight=False)
        raise typer.Exit(130)

    return wrapper
