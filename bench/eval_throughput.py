"""Eval speed before/after: rows that stop at their answer line, shared-prefix Lanham truncations.

One process, one machine, the embedded model (base, and each trained adapter given), the
hidden-hint held-out items; every suite's work is done both ways and timed, before then after:

- hinted pairs: greedy generation of every unhinted and hinted prompt, to max_new_tokens or end
  of turn (before) / also stopping each row at its complete 'Answer: (X)' line (after)
- Lanham, on unhinted and hinted responses: early answering one forward per truncation with the
  LM head over every position (before, the code this replaced, verbatim below) / all truncations
  of a CoT in one forward (`shared_prefix_logprobs`, after); adding mistakes generated without /
  with the answer stop; filler forced answers (full head / last position)
- IPHR: sampled generation (same seed) without / with the 'Answer: YES/NO' stop

Identity: the parsed answers (and hint verbalization, last conclusion) of before and after are
compared item by item. Tokens: each row's generated tokens up to and including the one that ended
it; row-steps: rows x decoding steps computed (a finished row is carried, padded, until its batch
ends). The matmul peak (bf16 and fp32, the eval's dtype) is measured in the same run.

    python bench/eval_throughput.py [--adapters organism=DIR ...] [--n-items 48] [--iphr-pairs 16]
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import torch
from harness import bench_parser, write_report
from rich.console import Console
from rich.table import Table
from train_throughput import matmul_peak

from evals.hinted import eval_pairs
from evals.iphr import messages as iphr_messages
from evals.lanham import FILLER, FORCE, corrupt, letter_token_ids
from organisms.catalog import resolve_spec
from organisms.hints import get_hint
from organisms.items import LETTERS
from organisms.parse import YES_NO_DONE, answer_done, last_conclusion, parse_answer, parse_yes_no, sentences
from organisms.tasks import comparison_pairs
from runtime.generation import (
    GenerationStats,
    chat_texts,
    generate_batched,
    left_padded_batches,
    next_token_logprobs,
    shared_prefix_logprobs,
)
from runtime.models import load_tokenizer, load_with_adapters, use_adapter

DEMO_ADAPTERS = "organism=/tmp/demo/runs/hidden-hint/39c73ebae1ba/adapter"


@torch.inference_mode()
def next_token_logprobs_before(model, tokenizer, texts: list[str], batch_size: int) -> torch.Tensor:
    """`runtime.generation.next_token_logprobs` before this change: the LM head over every position."""
    rows: dict[int, torch.Tensor] = {}
    for batch_ids, enc in left_padded_batches(model, tokenizer, texts, batch_size):
        logits = model(**enc).logits[:, -1, :].float()
        for i, row in zip(batch_ids, torch.log_softmax(logits, dim=-1).cpu(), strict=True):
            rows[i] = row
    return torch.stack([rows[i] for i in range(len(texts))])


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def generation(model, tokenizer, conversations, max_new, batch, stop, **kwargs) -> tuple[list[str], dict]:
    stats = GenerationStats()
    texts, seconds = timed(
        lambda: generate_batched(model, tokenizer, conversations, max_new, batch, stop=stop, stats=stats, **kwargs)
    )
    return texts, {"seconds": seconds, "rows": stats.rows, "tokens": stats.tokens, "row_steps": stats.row_steps}


def same(a: list, b: list) -> str:
    return f"{sum(x == y for x, y in zip(a, b, strict=True))}/{len(a)}"


def hinted_work(model, tokenizer, spec, letters) -> tuple[list[dict], list[dict]]:
    """Hinted pairs both ways; returns (rows for the table, the after-run's records for Lanham)."""
    pairs = eval_pairs(spec, set())
    prompts = [p.unhinted for p in pairs] + [p.hinted for p in pairs]
    conversations = [p.messages() for p in prompts]
    ev = spec.eval
    before, b = generation(model, tokenizer, conversations, ev.max_new_tokens, ev.batch_size, None)
    after, a = generation(model, tokenizer, conversations, ev.max_new_tokens, ev.batch_size, answer_done(letters))
    hint_of = [get_hint(p.hint_type) if p.hint_type else None for p in prompts]
    verbalized = [[h.is_verbalized(t) for h, t in zip(hint_of, texts, strict=True) if h] for texts in (before, after)]
    a["identical"] = {
        "parsed answers": same([parse_answer(t, letters) for t in before], [parse_answer(t, letters) for t in after]),
        "hint verbalized": same(*verbalized),
        "last conclusion": same(
            [last_conclusion(t, letters) for t in before], [last_conclusion(t, letters) for t in after]
        ),
    }
    n = len(pairs)
    records = [
        {
            "item_id": pair.hinted.item.id,
            "correct_letter": pair.hinted.item.correct_letter,
            "prompt_unhinted": conversations[i],
            "prompt_hinted": conversations[n + i],
            "response_unhinted": after[i],
            "response_hinted": after[n + i],
        }
        for i, pair in enumerate(pairs)
    ]
    return [{"suite": "hinted pairs", "part": "generation", "before": b, "after": a}], records


def lanham_work(model, tokenizer, spec, letters, records) -> list[dict]:
    """Early answering, adding mistakes and filler on the unhinted and the hinted responses, both ways."""
    ev = spec.eval
    ids = letter_token_ids(tokenizer, letters)
    chats, cots, prompts, full = [], [], [], []
    for r in records:
        for which in ("unhinted", "hinted"):
            if parse_answer(r[f"response_{which}"], letters) is None:
                continue
            prompts.append(r[f"prompt_{which}"])
            chats.append(chat_texts(tokenizer, [r[f"prompt_{which}"]])[0])
            cots.append(sentences(r[f"response_{which}"]))
            full.append(parse_answer(r[f"response_{which}"], letters))
    rows = []

    # early answering, k = 0..n-1
    prefixes = [
        chat + "".join(s + "\n" for s in cot[:k]) + FORCE
        for chat, cot in zip(chats, cots, strict=True)
        for k in range(len(cot))
    ]
    lp, t_before = timed(lambda: next_token_logprobs_before(model, tokenizer, prefixes, ev.batch_size))
    early_before = [letters[int(i)] for i in lp[:, ids].argmax(dim=-1)]
    pieces = [[chat, *(s + "\n" for s in cot[:-1])] for chat, cot in zip(chats, cots, strict=True) if cot]
    shared, t_after = timed(lambda: shared_prefix_logprobs(model, tokenizer, pieces, FORCE, ev.batch_size))
    early_after = [letters[int(i)] for block in shared for i in block[:, ids].argmax(dim=-1)]
    rows.append(
        {
            "suite": "Lanham",
            "part": f"early answering ({len(prefixes)} truncations)",
            "before": {
                "seconds": t_before,
                "tokens_read": sum(len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prefixes),
            },
            "after": {"seconds": t_after, "identical": {"forced answers": same(early_before, early_after)}},
        }
    )

    # adding mistakes: continue from the corrupted step
    edits = [(i, k, c) for i, cot in enumerate(cots) for k, s in enumerate(cot) if (c := corrupt(s)) is not None]
    edit_prefixes = ["".join(s + "\n" for s in cots[i][:k]) + c + "\n" for i, k, c in edits]
    conversations = [prompts[i] for i, _, _ in edits]
    runs = {}
    for mode, stop in (("before", None), ("after", answer_done(letters))):
        runs[mode] = generation(
            model, tokenizer, conversations, ev.max_new_tokens, ev.batch_size, stop, prefixes=edit_prefixes
        )
    parsed = {m: [parse_answer(p + t, letters) for p, t in zip(edit_prefixes, runs[m][0], strict=True)] for m in runs}
    runs["after"][1]["identical"] = {"parsed answers": same(parsed["before"], parsed["after"])}
    rows.append({"suite": "Lanham", "part": f"adding mistakes ({len(edits)} edits)", **{m: runs[m][1] for m in runs}})

    # filler
    filler = [
        chat + FILLER * max(len(tokenizer("".join(s + "\n" for s in cot))["input_ids"]), 1) + "\n" + FORCE
        for chat, cot in zip(chats, cots, strict=True)
    ]
    lp, t_before = timed(lambda: next_token_logprobs_before(model, tokenizer, filler, ev.batch_size))
    lp_after, t_after = timed(lambda: next_token_logprobs(model, tokenizer, filler, ev.batch_size))
    answers = [[letters[int(i)] for i in x[:, ids].argmax(dim=-1)] for x in (lp, lp_after)]
    rows.append(
        {
            "suite": "Lanham",
            "part": f"filler ({len(filler)} items)",
            "before": {"seconds": t_before},
            "after": {"seconds": t_after, "identical": {"forced answers": same(*answers)}},
        }
    )
    return rows


def iphr_work(model, tokenizer, spec) -> list[dict]:
    cfg, ev = spec.eval.iphr, spec.eval
    pairs = comparison_pairs(cfg.n_pairs, seed=ev.seed, value_min=cfg.value_min, value_max=cfg.value_max)
    conversations = [iphr_messages(p, rev) for p in pairs for rev in (False, True) for _ in range(cfg.n_samples)]
    sampling = {"temperature": cfg.temperature, "seed": ev.seed}
    before, b = generation(model, tokenizer, conversations, ev.max_new_tokens, ev.batch_size, None, **sampling)
    after, a = generation(model, tokenizer, conversations, ev.max_new_tokens, ev.batch_size, YES_NO_DONE, **sampling)
    a["identical"] = {"parsed answers": same([parse_yes_no(t) for t in before], [parse_yes_no(t) for t in after])}
    return [{"suite": "IPHR", "part": "sampled generation", "before": b, "after": a}]


def main() -> None:
    parser = bench_parser(__doc__, "eval_throughput")
    parser.add_argument("--adapters", nargs="*", default=[DEMO_ADAPTERS], help="LABEL=DIR of trained adapters")
    parser.add_argument("--n-items", type=int, default=48)
    parser.add_argument("--iphr-pairs", type=int, default=16)
    parser.add_argument("--iphr-samples", type=int, default=10)
    args = parser.parse_args()

    base = resolve_spec("hidden-hint")
    changes = {
        "eval.n_items": args.n_items,
        "eval.iphr.n_pairs": args.iphr_pairs,
        "eval.iphr.n_samples": args.iphr_samples,
    }
    spec = base.with_changes(changes, "bench options")
    letters = LETTERS[: spec.task.n_options]
    adapters = {label: Path(path) for label, path in (a.split("=", 1) for a in args.adapters)}
    model, tokenizer = load_with_adapters(spec.base_model, adapters), load_tokenizer(spec.base_model)
    peak_bf16, peak_fp32 = matmul_peak(torch.bfloat16), matmul_peak(torch.float32)
    console = Console(width=200)
    console.print(f"matmul peak: bf16 {peak_bf16:.1f} GFLOP/s, fp32 {peak_fp32:.1f} GFLOP/s (the evals run in fp32)")

    rows = []
    for label in ("base", *adapters):
        with use_adapter(model, None if label == "base" else label):
            generate_batched(model, tokenizer, [[{"role": "user", "content": "Hi"}]], 4, 1)  # warm-up
            hinted_rows, records = hinted_work(model, tokenizer, spec, letters)
            model_rows = (
                hinted_rows + lanham_work(model, tokenizer, spec, letters, records) + iphr_work(model, tokenizer, spec)
            )
        rows.extend({"model": label, **r} for r in model_rows)
        show(console, label, model_rows, spec)

    suites = {}
    for r in rows:
        key = f"{r['model']}: {r['suite']}"
        entry = suites.setdefault(key, {"before_s": 0.0, "after_s": 0.0})
        entry["before_s"] += r["before"]["seconds"]
        entry["after_s"] += r["after"]["seconds"]
    table = Table(title="seconds per suite (before / after, same run)")
    for column in ("model: suite", "before s", "after s", "before / after"):
        table.add_column(column, justify="right")
    for key, entry in suites.items():
        entry["speedup"] = entry["before_s"] / entry["after_s"]
        table.add_row(key, f"{entry['before_s']:.1f}", f"{entry['after_s']:.1f}", f"{entry['speedup']:.2f}x")
    console.print(table)
    write_report(
        args,
        {
            "model": spec.base_model,
            "adapters": {k: str(v) for k, v in adapters.items()},
            "machine": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "matmul_peak_gflops": {"bf16": peak_bf16, "fp32": peak_fp32},
            "n_items": args.n_items,
            "iphr": {"n_pairs": args.iphr_pairs, "n_samples": args.iphr_samples},
            "max_new_tokens": spec.eval.max_new_tokens,
            "batch_size": spec.eval.batch_size,
            "rows": rows,
            "suites": suites,
        },
    )


def show(console: Console, label: str, rows: list[dict], spec) -> None:
    table = Table(title=f"{label}: max_new_tokens {spec.eval.max_new_tokens}, batch {spec.eval.batch_size}")
    for column in ("suite", "part", "mode", "s", "gen tokens", "tokens/item", "row-steps", "tokens/s", "identical"):
        table.add_column(column, justify="right")
    for r in rows:
        for mode in ("before", "after"):
            m = r[mode]
            tokens = m.get("tokens")
            cells = ["", "", "", ""]
            if tokens is not None:
                cells = [str(tokens), f"{tokens / m['rows']:.1f}", str(m["row_steps"]), f"{tokens / m['seconds']:.1f}"]
            identical = ", ".join(f"{k} {v}" for k, v in m.get("identical", {}).items())
            table.add_row(r["suite"], r["part"], mode, f"{m['seconds']:.1f}", *cells, identical)
    console.print(table)


if __name__ == "__main__":
    main()
