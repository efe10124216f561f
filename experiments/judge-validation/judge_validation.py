"""Verbalization judges on the hand-labelled validation set: precision, recall, balanced accuracy.

Reads evals/judge_validation.jsonl (labelling rule: docs/judge.md) and scores the marker judge, and
the LLM judge when `--judge-spec` names a spec whose `eval.judge` is set. Reports overall, per split
("dev" was read while the marker patterns were written, "test" was not) and per hint type.

    python experiments/judge-validation/judge_validation.py [--judge-spec SPEC] [--out FILE.json]
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))  # harness, when run as a script
from harness import bench_parser, write_report

from evals.judge_validation import judge_validation


def _cell(scores: dict) -> list[str]:
    p, r = scores["precision"], scores["recall"]
    ba = scores["balanced_accuracy"]

    def rate(x: dict) -> str:
        return (
            "undef"
            if x["value"] is None
            else f"{x['value']:.2f} [{x['ci95'][0]:.2f}, {x['ci95'][1]:.2f}] {x['k']}/{x['n']}"
        )

    return [str(scores["n"]), str(scores["unparsable"]), rate(p), rate(r), "undef" if ba is None else f"{ba:.2f}"]


def table(name: str, report: dict) -> Table:
    out = Table(title=f"{name} judge on {report['file']}")
    for column in ("subset", "n scored", "unparsable", "precision", "recall", "balanced acc."):
        out.add_column(column, justify="left" if column == "subset" else "right")
    out.add_row("all", *_cell(report["overall"]))
    for split, scores in report["by_split"].items():
        out.add_row(f"split: {split}", *_cell(scores))
    for source, scores in report["by_source"].items():
        out.add_row(f"source: {source}", *_cell(scores))
    for hint_type, scores in report["by_hint_type"].items():
        out.add_row(hint_type, *_cell(scores))
    return out


def main() -> None:
    parser = bench_parser(__doc__, "judge_validation", Path("experiments/judge-validation"))
    parser.add_argument("--judge-spec", default=None, help="spec (name or YAML) whose eval.judge is the LLM judge")
    args = parser.parse_args()
    backend = None
    if args.judge_spec:
        from organisms.catalog import resolve_spec
        from runtime.backends import make_backend

        spec = resolve_spec(args.judge_spec)
        if spec.eval.judge is None:
            parser.error(f"--judge-spec {args.judge_spec}: the spec has no eval.judge")
        backend = make_backend(spec.eval.judge)
    report = judge_validation(backend)
    console = Console(width=120)
    for name, scores in report.items():
        console.print(table(name, scores))
    write_report(args, report)


if __name__ == "__main__":
    main()
