"""The typer app, the options several commands share, and how a command reports a user's mistake."""

from __future__ import annotations

import contextlib
import errno
import functools
import gc
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from app.console import err_console
from organisms.errors import OrganismError


class _PlainFlags:
    """typer's --help prints `<bool>` after every flag, as if it took a value; a flag takes none, so it is
    shown bare (`--inspect`), and options that take a value keep their type (`--n <int>`)."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class Command(_PlainFlags, TyperCommand):
    """Every `organism VERB`."""


class Group(_PlainFlags, TyperGroup):
    """`organism` itself."""


app = typer.Typer(
    cls=Group,
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


FULL_DISK = (errno.ENOSPC, errno.EDQUOT)
FULL_DISK_TEXT = ("No space left on device", "Disk quota exceeded")  # as safetensors' Rust errors say it


def disk_full(exc: BaseException) -> str | None:
    """The one-line message for an error a full disk (or quota) caused anywhere in `exc`'s chain, else None.
    Every writer leaves nothing half-written (write_atomic, staged_dir, the Trainer's checkpoints), so the
    rerun picks up where this one stopped."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in FULL_DISK:
            where = f" writing {exc.filename}" if exc.filename else ""
            reason = "no space left on device" if exc.errno == errno.ENOSPC else "no space left on device (quota)"
            break
        if any(text in str(exc) for text in FULL_DISK_TEXT):
            where, reason = "", "no space left on device"
            break
        exc = exc.__cause__ or exc.__context__
    else:
        return None
    return (
        f"{reason}{where}; free space (or pass --runs-dir on another disk) and rerun the same command: "
        "finished stages are kept and training resumes from its last checkpoint"
    )


class Terminated(KeyboardInterrupt):
    """SIGTERM (`timeout`, a scheduler, `kill`), raised where the command is as Ctrl-C raises
    KeyboardInterrupt, so the same cleanup runs: staging dirs go, a run dir no stage finished goes."""


def _terminated(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While a command runs (in the main thread, where Python delivers signals), SIGTERM is `Terminated`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def user_errors(command):
    """Bad input: one line on stderr (one per invalid spec field), exit code 2; a full disk too.
    Ctrl-C: exit 130; SIGTERM: exit 143 (128 + the signal), after the same cleanup."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        full, stopped = None, "interrupted"
        try:
            with sigterm_as_interrupt():
                return command(*args, **kwargs)
        except OrganismError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except Terminated:
            stopped = "terminated"
        except KeyboardInterrupt:
            pass
        except Exception as exc:
            full = disk_full(exc)
            if full is None:
                raise
        # Outside the handler, so the interrupted frames are gone: progress bars they held print
        # their last state now, not after this line.
        gc.collect()
        if full is not None:
            err_console.print(f"[bold red]error:[/] {escape(full)}", highlight=False, soft_wrap=True)
            raise typer.Exit(2)
        err_console.print(f"{stopped}; rerun the same command to resume", highlight=False)
        raise typer.Exit(143 if stopped == "terminated" else 130)

    return wrapper
