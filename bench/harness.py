"""What every benchmark script shares: its argument parser (with `--out`) and its JSON report.

Scripts run as `python bench/<name>.py`, so they import this module as `harness`; the science scripts in
experiments/<name>/ put bench/ on their path to do the same.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def bench_parser(doc: str, name: str, results: Path = Path("bench/results")) -> argparse.ArgumentParser:
    """Parser described by the script's first docstring line; `--out` defaults to <results>/<name>.json."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=results / f"{name}.json")
    return parser


def command(args: argparse.Namespace) -> str:
    """The command that reproduces a run: the script and every option's value except `--out`."""
    options = []
    for key, value in vars(args).items():
        if key != "out":
            shown = " ".join(map(str, value)) if isinstance(value, list) else str(value)
            options.append(f"--{key.replace('_', '-')} {shown}")
    script = Path(sys.argv[0]).resolve()
    root = Path(__file__).resolve().parents[1]
    shown = script.relative_to(root) if script.is_relative_to(root) else script.name
    return " ".join(["python", str(shown), *options])


def write_report(args: argparse.Namespace, report: dict) -> None:
    """`report` plus its `command`, as indented JSON at `args.out`."""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**report, "command": command(args)}, indent=2) + "\n")
