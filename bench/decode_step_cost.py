"""What one decoding step costs by the number of rows: why more rows per step is the generation lever.

The embedded model in fp32 (the evals' dtype), a cache of `--context` random tokens per row, one
new token per row; each step is timed `--repeats` times after two warm-up steps (the cache is
cropped back after each). A step bound by reading the weights costs about the same for 1 row as
for 16; then per-row cost falls as rows are added. `--precision fp32 bf16 bf16-weights` times each
row count in fp32, under bf16 autocast (fp32 weights cast on every forward, bf16 matmuls) and with
the weights held in bf16 (a copy of the model cast once), interleaved per row count so all see the
same machine.

    python bench/decode_step_cost.py [--rows 1 8 16 32 64 128] [--context 150] [--precision fp32 bf16 bf16-weights]
"""

from __future__ import annotations

import contextlib
import platform
import time

import torch
from harness import bench_parser, write_report
from rich.console import Console
from rich.table import Table
from transformers import DynamicCache

from runtime.models import load_model

MODEL = "embedded:smollm2-135m"


@torch.inference_mode()
def step_seconds(model, rows: int, context: int, repeats: int) -> float:
    ids = torch.randint(0, 1000, (rows, context), generator=torch.Generator().manual_seed(0))
    cache = DynamicCache(config=model.config)
    model(input_ids=ids, cache=cache, use_cache=True)
    token = torch.randint(0, 1000, (rows, 1), generator=torch.Generator().manual_seed(1))
    for _ in range(2):
        model(input_ids=token, cache=cache, use_cache=True)
        cache.crop(-1)
    start = time.perf_counter()
    for _ in range(repeats):
        model(input_ids=token, cache=cache, use_cache=True)
        cache.crop(-1)
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = bench_parser(__doc__, "decode_step_cost")
    parser.add_argument("--rows", type=int, nargs="*", default=[1, 8, 16, 32, 64, 128])
    parser.add_argument("--context", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--precision", nargs="*", choices=["fp32", "bf16", "bf16-weights"], default=["fp32"])
    args = parser.parse_args()
    model = load_model(MODEL).eval()
    in_bf16 = load_model(MODEL).eval().to(torch.bfloat16) if "bf16-weights" in args.precision else None
    results = []
    for rows in args.rows:
        for precision in args.precision:
            bf16 = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
            with bf16:
                which = in_bf16 if precision == "bf16-weights" else model
                seconds = step_seconds(which, rows, args.context, args.repeats)
            ms = 1000 * seconds
            results.append({"rows": rows, "precision": precision, "step_ms": ms, "per_row_ms": ms / rows})
    table = Table(title=f"one decoding step, {MODEL}, {args.context}-token cache, {torch.get_num_threads()} threads")
    for column in ("rows", "precision", "step ms", "per row ms", "fp32 / this"):
        table.add_column(column, justify="right")
    fp32 = {r["rows"]: r["step_ms"] for r in results if r["precision"] == "fp32"}
    for r in results:
        ratio = f"{fp32[r['rows']] / r['step_ms']:.2f}" if r["rows"] in fp32 else "-"
        table.add_row(str(r["rows"]), r["precision"], f"{r['step_ms']:.1f}", f"{r['per_row_ms']:.1f}", ratio)
    Console(width=120).print(table)
    write_report(
        args,
        {
            "model": MODEL,
            "machine": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "context": args.context,
            "rows": results,
        },
    )


if __name__ == "__main__":
    main()
