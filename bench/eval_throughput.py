"""Eval generation throughput: our batched greedy generation vs one prompt at a time.

Same model (the embedded default), same prompts (hidden-hint held-out pairs, hinted and
unhinted), same `max_new_tokens`, greedy, in one process. Generated tokens are counted up to
and including the end-of-turn token, from the outputs themselves.

    python bench/eval_throughput.py [--n-prompts 32] [--batch-size 16] [--out bench/results/eval_throughput.json]
"""

from __future__ import annotations

import time

import torch
from harness import bench_parser, write_report
from rich.console import Console
from rich.table import Table

from evals.hinted import eval_pairs
from organisms.catalog import resolve_spec
from organisms.generation import generate_batched
from organisms.models import load_model, load_tokenizer


def count_tokens(tokenizer, texts: list[str], max_new: int) -> int:
    """Tokens generated: the text's tokens plus the end-of-turn token, capped at max_new_tokens."""
    return sum(min(len(tokenizer(t, add_special_tokens=False)["input_ids"]) + 1, max_new) for t in texts)


def timed(fn) -> tuple[list[str], float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = bench_parser(__doc__, "eval_throughput")
    parser.add_argument("--n-prompts", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    spec = resolve_spec("hidden-hint")
    model, tokenizer = load_model(spec.base_model), load_tokenizer(spec.base_model)
    model.eval()
    pairs = eval_pairs(spec, set())[: args.n_prompts // 2]
    prompts = [p.unhinted.messages() for p in pairs] + [p.hinted.messages() for p in pairs]
    max_new = spec.eval.max_new_tokens
    generate_batched(model, tokenizer, prompts[:2], max_new, batch_size=2)  # warm-up

    batched, t_batched = timed(lambda: generate_batched(model, tokenizer, prompts, max_new, args.batch_size))
    single, t_single = timed(lambda: [generate_batched(model, tokenizer, [p], max_new, 1)[0] for p in prompts])
    n_batched, n_single = count_tokens(tokenizer, batched, max_new), count_tokens(tokenizer, single, max_new)
    same = sum(a == b for a, b in zip(batched, single, strict=True))
    rows = [
        {"mode": f"batched (batch {args.batch_size}, left padding)", "seconds": t_batched, "tokens": n_batched},
        {"mode": "one prompt at a time", "seconds": t_single, "tokens": n_single},
    ]
    for r in rows:
        r["tokens_per_second"] = r["tokens"] / r["seconds"]
    speedup = rows[0]["tokens_per_second"] / rows[1]["tokens_per_second"]

    table = Table(title=f"greedy generation, {spec.base_model}, {len(prompts)} prompts, max_new_tokens {max_new}")
    for column in ("mode", "seconds", "generated tokens", "tokens/s"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(r["mode"], f"{r['seconds']:.1f}", str(r["tokens"]), f"{r['tokens_per_second']:.1f}")
    console = Console()
    console.print(table)
    console.print(f"batched / one at a time: {speedup:.2f}x; identical outputs: {same}/{len(prompts)}")
    report = {
        "model": spec.base_model,
        "threads": torch.get_num_threads(),
        "n_prompts": len(prompts),
        "max_new_tokens": max_new,
        "results": rows,
        "speedup": speedup,
        "identical_outputs": same,
    }
    write_report(args, report)


if __name__ == "__main__":
    main()
