"""Eval generation before/after continuous batching: fixed batches vs rows that leave when they end.

One process, one machine, the embedded model (base, and each trained adapter given), the
hidden-hint eval's own generation work, each done both ways and timed, fixed batches first:

- hinted pairs: greedy, every unhinted and hinted prompt, stopping each row at its answer line
- Lanham adding mistakes: greedy continuations of each response's CoT with one step corrupted
- IPHR: sampled answers to every comparison pair both ways round, stopping at YES/NO

Before: `generate_static`, `model.generate` on fixed batches of `batch_size` prompts sorted by
length; a finished row rides along, padded, until its batch ends. After: `generate_continuous`,
`batch_size` rows at a time, a row leaves the step it ends and a waiting prompt takes its place.

Identity: greedy texts are compared item by item. Sampled texts cannot be (after, each text has
its own random stream, see `runtime.generation.decode._row_generator`), so the IPHR rows compare the
share of YES answers instead. Tokens: each row's generated tokens up to and including the one
that ended it; row-steps: rows x decoding steps computed. The matmul peak (fp32, the eval's dtype,
and bf16) is measured in the same run.

Sliding-window layers (Gemma 3) keep their whole KV on the continuous path and their window is the
mask (`continuous_batching_supported`); `--base-model embedded:gemma3-270m` times both paths there.

    python bench/continuous_batching.py [--base-model REF] [--adapters organism=DIR ...] [--n-items 48]
        [--iphr-pairs 16] [--batch-size 16]
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import torch
from eval_throughput import same
from harness import bench_parser, write_report
from rich.console import Console
from rich.table import Table
from train_throughput import matmul_peak

from evals.hinted import eval_pairs
from evals.iphr import messages as iphr_messages
from evals.lanham import corrupt
from organisms.catalog import resolve_spec
from organisms.items import LETTERS
from organisms.parse import YES_NO_DONE, answer_done, parse_answer, parse_yes_no, sentences
from organisms.tasks import comparison_pairs
from runtime.architecture import layer_types
from runtime.generation import Decoding, GenerationStats, chat_texts
from runtime.generation.decode import continuous_batching_supported, generate_continuous, generate_static
from runtime.models import load_tokenizer, load_with_adapters, use_adapter

PATHS = {"fixed batches": generate_static, "continuous": generate_continuous}


def both_ways(model, tokenizer, texts, max_new, batch, stop, temperature=None, seed=0) -> dict:
    """Each path's texts, seconds and counts on the same rendered prompts."""
    out = {}
    for name, path in PATHS.items():
        stats = GenerationStats()
        start = time.perf_counter()
        generated = path(model, tokenizer, texts, Decoding(max_new, temperature, seed, stop), batch, stats)
        seconds = time.perf_counter() - start
        out[name] = {
            "texts": generated,
            "seconds": seconds,
            "rows": stats.rows,
            "tokens": stats.tokens,
            "row_steps": stats.row_steps,
        }
    return out


def workloads(model, tokenizer, spec, letters, batch: int) -> list[dict]:
    ev = spec.eval
    rows = []
    pairs = eval_pairs(spec, set())
    conversations = [p.unhinted.messages() for p in pairs] + [p.hinted.messages() for p in pairs]
    texts = chat_texts(tokenizer, conversations)
    runs = both_ways(model, tokenizer, texts, ev.max_new_tokens, batch, answer_done(letters))
    before, after = (runs[k]["texts"] for k in PATHS)
    identical = {
        "texts": same(before, after),
        "parsed answers": same([parse_answer(t, letters) for t in before], [parse_answer(t, letters) for t in after]),
    }
    rows.append({"suite": "hinted pairs", "runs": runs, "identical": identical})

    # Lanham adding mistakes, on the responses just generated (after's, identical or nearly)
    edits = []
    for conversation, response in zip(conversations, after, strict=True):
        if parse_answer(response, letters) is None:
            continue
        cot = sentences(response)
        edits += [(conversation, cot, k, c) for k, s in enumerate(cot) if (c := corrupt(s)) is not None]
    prefixes = ["".join(s + "\n" for s in cot[:k]) + c + "\n" for _, cot, k, c in edits]
    texts = [chat + p for chat, p in zip(chat_texts(tokenizer, [e[0] for e in edits]), prefixes, strict=True)]
    runs = both_ways(model, tokenizer, texts, ev.max_new_tokens, batch, answer_done(letters))
    before, after = (runs[k]["texts"] for k in PATHS)
    parsed = [[parse_answer(p + t, letters) for p, t in zip(prefixes, x, strict=True)] for x in (before, after)]
    rows.append(
        {
            "suite": f"Lanham adding mistakes ({len(edits)} edits)",
            "runs": runs,
            "identical": {"texts": same(before, after), "parsed answers": same(*parsed)},
        }
    )

    cfg = ev.iphr
    comparisons = comparison_pairs(cfg.n_pairs, seed=ev.seed, value_min=cfg.value_min, value_max=cfg.value_max)
    conversations = [iphr_messages(p, rev) for p in comparisons for rev in (False, True) for _ in range(cfg.n_samples)]
    texts = chat_texts(tokenizer, conversations)
    runs = both_ways(model, tokenizer, texts, ev.max_new_tokens, batch, YES_NO_DONE, cfg.temperature, ev.seed)
    shares = {}
    for name in PATHS:
        answers = [parse_yes_no(t) for t in runs[name]["texts"]]
        shares[name] = f"YES {answers.count('YES')}/{len(answers)}, unparsed {answers.count(None)}"
    rows.append({"suite": "IPHR (sampled)", "runs": runs, "identical": shares})
    return rows


def main() -> None:
    parser = bench_parser(__doc__, "continuous_batching")
    parser.add_argument("--base-model", default=None, help="default: the hidden-hint spec's (the embedded model)")
    parser.add_argument("--adapters", nargs="*", default=[], help="LABEL=DIR of trained adapters")
    parser.add_argument("--n-items", type=int, default=48)
    parser.add_argument("--iphr-pairs", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16, help="the eval's default batch_size")
    args = parser.parse_args()

    base = resolve_spec("hidden-hint")
    changes = {"eval.n_items": args.n_items, "eval.iphr.n_pairs": args.iphr_pairs}
    if args.base_model is not None:
        changes["base_model"] = args.base_model
    spec = base.with_changes(changes, "bench options")
    letters = LETTERS[: spec.task.n_options]
    adapters = {label: Path(path) for label, path in (a.split("=", 1) for a in args.adapters)}
    model, tokenizer = load_with_adapters(spec.base_model, adapters), load_tokenizer(spec.base_model)
    peak_bf16, peak_fp32 = matmul_peak(torch.bfloat16), matmul_peak(torch.float32)
    console = Console(width=200)
    console.print(f"matmul peak: fp32 {peak_fp32:.1f} GFLOP/s (the evals run in fp32), bf16 {peak_bf16:.1f} GFLOP/s")

    results = []
    for label in ("base", *adapters):
        with use_adapter(model, None if label == "base" else label), torch.inference_mode():
            hello = chat_texts(tokenizer, [[{"role": "user", "content": "Hi"}]])
            for path in PATHS.values():  # warm-up
                path(model, tokenizer, hello, Decoding(4), 1)
            rows = workloads(model, tokenizer, spec, letters, args.batch_size)
        for r in rows:
            for run in r["runs"].values():
                del run["texts"]
        results.extend({"model": label, **r} for r in rows)

    table = Table(title=f"eval generation, batch {args.batch_size}, max_new_tokens {spec.eval.max_new_tokens}")
    for column in ("model", "suite", "path", "s", "tokens", "row-steps", "tokens/s", "speed-up", "identical"):
        table.add_column(column, justify="right")
    totals = {name: 0.0 for name in PATHS}
    for r in results:
        fixed = r["runs"]["fixed batches"]["seconds"]
        for name, m in r["runs"].items():
            totals[name] += m["seconds"]
            shown = ", ".join(f"{k} {v}" for k, v in r["identical"].items()) if name == "continuous" else ""
            table.add_row(
                r["model"],
                r["suite"],
                name,
                f"{m['seconds']:.1f}",
                str(m["tokens"]),
                str(m["row_steps"]),
                f"{m['tokens'] / m['seconds']:.1f}",
                f"{fixed / m['seconds']:.2f}x",
                shown,
            )
    console.print(table)
    speedup = totals["fixed batches"] / totals["continuous"]
    console.print(
        f"all generation: fixed batches {totals['fixed batches']:.1f} s, continuous {totals['continuous']:.1f} s, "
        f"{speedup:.2f}x"
    )
    write_report(
        args,
        {
            "model": spec.base_model,
            "layer_types": sorted(set(layer_types(model.config.get_text_config(decoder=True)))),
            "continuous_supported": continuous_batching_supported(model),
            "adapters": {k: str(v) for k, v in adapters.items()},
            "machine": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "matmul_peak_gflops": {"fp32": peak_fp32, "bf16": peak_bf16},
            "n_items": args.n_items,
            "iphr": {"n_pairs": spec.eval.iphr.n_pairs, "n_samples": spec.eval.iphr.n_samples},
            "max_new_tokens": spec.eval.max_new_tokens,
            "batch_size": args.batch_size,
            "rows": results,
            "seconds": totals,
            "speedup": speedup,
        },
    )


if __name__ == "__main__":
    main()
