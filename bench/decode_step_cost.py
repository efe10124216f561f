"""What one decoding step costs by the number of rows: why more rows per step is the generation lever.

The embedded model in fp32 (the evals' dtype), a cache of `--context` random tokens per row, one
new token per row; each step is timed `--repeats` times after two warm-up steps (the cache is
cropped back after each). A step bound by reading the weights costs about the same for 1 row as
for 16; then per-row cost falls as rows are added.

    python bench/decode_step_cost.py [--rows 1 8 16 32 64 128] [--context 150]
"""

from __future__ import annotations

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
    args = parser.parse_args()
    model = load_model(MODEL).eval()
    results = []
    for rows in args.rows:
        seconds = step_seconds(model, rows, args.context, args.repeats)
        results.append({"rows": rows, "step_ms": 1000 * seconds, "per_row_ms": 1000 * seconds / rows})
    table = Table(
        title=f"one decoding step, {MODEL} fp32, {args.context}-token cache, {torch.get_num_threads()} threads"
    )
    for column in ("rows", "step ms", "per row ms"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(str(r["rows"]), f"{r['step_ms']:.1f}", f"{r['per_row_ms']:.1f}")
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
