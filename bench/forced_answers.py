"""What Lanham's interventions cost by forced-answer batch size, and whether the answers stay the same.

Lanham (evals/lanham.py) is the eval's largest suite. Its forced answers (early answering after every
prefix of every CoT; filler; paraphrase) are scored `eval.batch_size` prompts per forward, and its
adding-mistakes continuations are generated `eval.decode_rows` rows at a time. This runs the suite's
own `interventions` on a finished run's saved hinted responses (organism, unhinted and hinted), once per
`--batch-sizes` value and `--precision` (the eval's weights), timing the scoring and the generation
apart, and compares each result with the first batch size's in the same precision: every forced
letter must be the same (the results are compared whole).

    python bench/forced_answers.py --run runs/hidden-hint/<id> [--batch-sizes 16 32 64] [--precision fp32 bf16]
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch
from harness import bench_parser, write_report
from rich.console import Console
from rich.table import Table

import evals.lanham
from runtime.models import load_tokenizer, load_with_adapters, use_adapter
from runtime.precision import eval_dtype
from runtime.rundir import RunDir

TIMED = ("shared_prefix_logprobs", "next_token_logprobs", "generate_batched")  # evals.lanham's globals


def hinted_records(run: Path, model: str) -> list[dict]:
    """`model`'s hinted-suite records, as the lanham suite receives them (eval_responses.jsonl)."""
    rows = [json.loads(line) for line in (run / "eval_responses.jsonl").read_text().splitlines()]
    return [
        {k: v for k, v in r.items() if k != "model"} for r in rows if r["model"] == model and r["suite"] == "hinted"
    ]


def timed_interventions(model, tokenizer, records, spec) -> tuple[dict, dict[str, float]]:
    """Both conditions' interventions, with the seconds spent in each timed function."""
    seconds = dict.fromkeys(TIMED, 0.0)
    originals = {name: getattr(evals.lanham, name) for name in TIMED}

    def timer(name):
        def wrapped(*args, **kwargs):
            start = time.perf_counter()
            try:
                return originals[name](*args, **kwargs)
            finally:
                seconds[name] += time.perf_counter() - start

        return wrapped

    for name in TIMED:
        setattr(evals.lanham, name, timer(name))
    try:
        result = {
            which: evals.lanham.interventions(model, tokenizer, records, which, spec)
            for which in ("unhinted", "hinted")
        }
    finally:
        for name, original in originals.items():
            setattr(evals.lanham, name, original)
    return result, seconds


def main() -> None:
    parser = bench_parser(__doc__, "forced_answers")
    parser.add_argument("--run", type=Path, required=True, help="a run directory with eval_responses.jsonl")
    parser.add_argument("--model", default="organism", help="whose responses: organism, control or base")
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[16, 32, 64])
    parser.add_argument("--precision", nargs="*", default=["fp32"], choices=["fp32", "bf16"])
    args = parser.parse_args()
    if args.model == "control":
        raise SystemExit("--model control: pass the control's own run directory with --model organism")
    spec = RunDir.open(args.run).spec
    tokenizer = load_tokenizer(spec.base_model)
    adapters = {} if args.model == "base" else {args.model: args.run / "adapter"}
    records = hinted_records(args.run, args.model)
    rows, first = [], {}
    for precision in args.precision:
        model = load_with_adapters(spec.base_model, adapters, dtype=eval_dtype(precision))
        with use_adapter(model, None if args.model == "base" else args.model):
            for size in args.batch_sizes:
                sized = spec.with_changes({"eval.batch_size": size}, "--batch-sizes")
                start = time.perf_counter()
                result, seconds = timed_interventions(model, tokenizer, records, sized)
                total = time.perf_counter() - start
                first.setdefault(precision, result)
                rows.append(
                    {
                        "precision": precision,
                        "batch_size": size,
                        "seconds": total,
                        "scoring_seconds": seconds["shared_prefix_logprobs"] + seconds["next_token_logprobs"],
                        "generation_seconds": seconds["generate_batched"],
                        "same_as_first": result == first[precision],
                    }
                )
        del model
    title = f"Lanham interventions, {args.model} of {args.run}, {len(records)} items x 2 conditions"
    table = Table(title=f"{title}, {torch.get_num_threads()} threads")
    columns = ("precision", "batch size", "whole s", "forced answers s", "mistake continuations s")
    for column in (*columns, "same results as the first batch size"):
        table.add_column(column, justify="right")
    for r in rows:
        cells = (r["seconds"], r["scoring_seconds"], r["generation_seconds"])
        same = "yes" if r["same_as_first"] else "NO"
        table.add_row(r["precision"], str(r["batch_size"]), *(f"{c:.1f}" for c in cells), same)
    Console(width=140).print(table)
    write_report(
        args,
        {
            "machine": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "run": str(args.run),
            "items": len(records),
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
