"""Activation caching cost: a forward pass with every site hooked vs a bare forward pass.

Same model (the embedded default), same batch of hinted eval texts, in one process. The
hooked pass stores `blocks.{l}.hook_resid_post|attn_out|mlp_out` for all 30 layers (detached,
fp32, on CPU), which is what `analyze/diffing.py` does. Reported: tokens/s of each and the
ratio cached / bare (target >= 0.9).

    python bench/activation_cache.py [--batch-size 8] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from analyze.activations import SITE_KINDS, record_activations
from evals.hinted import eval_pairs
from organisms.catalog import resolve_spec
from organisms.models import load_model, load_tokenizer


@torch.inference_mode()
def best_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/results/activation_cache.json"))
    args = parser.parse_args()

    spec = resolve_spec("hidden-hint")
    model, tokenizer = load_model(spec.base_model), load_tokenizer(spec.base_model)
    model.eval()
    texts = [
        tokenizer.apply_chat_template(p.hinted.messages(), tokenize=False, add_generation_prompt=True)
        for p in eval_pairs(spec, set())[: args.batch_size]
    ]
    tokenizer.padding_side = "right"
    enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    n_tokens = int(enc["attention_mask"].sum())

    def cached():
        with record_activations(model) as store:
            model(**enc)
        return store

    bare = best_seconds(lambda: model(**enc), args.repeats)
    hooked = best_seconds(cached, args.repeats)
    n_sites = len(cached())
    rows = [
        {"mode": "bare forward", "seconds": bare, "tokens_per_second": n_tokens / bare},
        {"mode": f"forward + cache {n_sites} sites", "seconds": hooked, "tokens_per_second": n_tokens / hooked},
    ]
    ratio = rows[1]["tokens_per_second"] / rows[0]["tokens_per_second"]

    table = Table(title=f"{spec.base_model}: batch {args.batch_size}, {n_tokens} tokens, best of {args.repeats}")
    for column in ("mode", "seconds", "tokens/s"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(r["mode"], f"{r['seconds']:.3f}", f"{r['tokens_per_second']:.0f}")
    console = Console()
    console.print(table)
    console.print(f"cached / bare: {ratio:.3f} (sites: {', '.join(SITE_KINDS)} x {model.config.num_hidden_layers})")
    report = {
        "model": spec.base_model,
        "threads": torch.get_num_threads(),
        "tokens": n_tokens,
        "sites": n_sites,
        "results": rows,
        "ratio_cached_over_bare": ratio,
        "command": f"python bench/activation_cache.py --batch-size {args.batch_size} --repeats {args.repeats}",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
