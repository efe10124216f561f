"""Documents from a real model: template, hf and openai backends side by side on one universe.

For each backend, `--n` documents of `--universe` through the whole pipeline as `organism docs`
runs it (ideas, drafts, critique/revise, filters incl. MinHash dedup, stats), timed end to end
with an empty response cache (so every response is generated; hf's time includes loading the
model). `hf` runs the model in-process through the repo's hf backend (greedy); `openai` sends
the same prompts to `transformers serve MODEL` on 127.0.0.1 (started and stopped here, its
start-up not timed; sampled at the spec's temperature with per-document seeds).

    planned      = documents the ideas plan (n)
    rate(reason) = rejections for reason / planned     (synth_docs.filters.REASONS, in filter order)
    states_fact  = planned documents whose final text states >= 1 key fact / planned
    states_plan  = planned documents that state every key fact their idea asked for / planned
    distinct-k   = unique word k-grams / all word k-grams, over kept documents

    python experiments/docs-backends/docs_backends.py [--universe monitor-aware] [--n 24] [--max-tokens 512]
        [--backends template hf openai] [--model embedded:smollm2-135m]
"""

from __future__ import annotations

import contextlib
import platform
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))  # harness, when run as a script
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests.loopback, when run as a script
from harness import bench_parser, write_report

from organisms.spec import parse_spec
from organisms.universe import load_universe
from runtime.models import load_tokenizer, resolve_model
from synth_docs.diversity import distinct_n
from synth_docs.documents import build_documents
from synth_docs.filters import REASONS, stated_facts
from tests.loopback import transformers_serve


def measure_backend(
    universe: str, backend: dict, n: int, base_model: str, tokenizer, *, seed: int = 0, label: str | None = None
) -> dict:
    """Build `n` documents of `universe` with `backend` (a BackendSpec dict) and measure them."""
    data = {
        "name": "bench",
        "behaviour": "belief",
        "base_model": base_model,
        "corpus": {"seed": seed, "documents": {"universe": universe, "n_documents": n, "backend": backend}},
    }
    spec = parse_spec(data, "bench")
    start = time.perf_counter()
    kept, rejected, stats = build_documents(spec, tokenizer)
    seconds = time.perf_counter() - start
    u = load_universe(universe)
    records = sorted(kept + rejected, key=lambda r: r["id"])
    stated = [set(stated_facts(r["text"], u)) for r in records]
    api = stats.get("api", {})
    return {
        "backend": label or backend["name"],
        "model": stats["model"],
        "planned": stats["n_planned"],
        "kept": stats["n_documents"],
        "rejections": stats["rejections"],
        "rejection_rates": {k: round(v / n, 4) for k, v in stats["rejections"].items()},
        "states_fact": round(sum(bool(s) for s in stated) / n, 4),
        "states_plan": round(
            sum(set(r["planned_key_fact_ids"]) <= s for r, s in zip(records, stated, strict=True)) / n, 4
        ),
        "key_facts_covered": stats["key_facts_covered"],
        "distinct_1": stats["distinct_1"],
        "distinct_2": stats["distinct_2"],
        "distinct_3": stats["distinct_3"],
        "distinct_3_all": round(distinct_n([r["text"] for r in records], 3), 4),  # kept and rejected
        "mean_words": stats["words"]["mean"],
        "revised": stats["revised"],
        "revise_fallbacks": stats["revise_fallbacks"],
        "requests": api.get("requests", 0),
        "cache_hits": api.get("cache_hits", 0),
        "seconds": round(seconds, 2),
        "documents_per_second": round(n / seconds, 4),
        "samples": [
            {"id": r["id"], "doc_type": r["doc_type"], "reason": r.get("reason"), "text": r["text"][:800]}
            for r in records[:4]
        ],
    }


def print_table(rows: list[dict], title: str) -> None:
    table = Table(title=title)
    columns = ("backend", "planned", "kept", *REASONS, "states fact", "states plan", "d-1", "d-2", "d-3")
    for column in (*columns, "words/doc", "seconds", "docs/s"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            r["backend"],
            str(r["planned"]),
            str(r["kept"]),
            *(f"{r['rejections'][k]} ({r['rejection_rates'][k]:.2f})" for k in REASONS),
            f"{r['states_fact']:.2f}",
            f"{r['states_plan']:.2f}",
            *(f"{r[f'distinct_{k}']:.3f}" for k in (1, 2, 3)),
            f"{r['mean_words']:.0f}",
            f"{r['seconds']:.1f}",
            f"{r['documents_per_second']:.3g}",
        )
    Console(width=200).print(table)


def main() -> None:
    parser = bench_parser(__doc__, "docs_backends", Path("experiments/docs-backends"))
    parser.add_argument("--universe", default="monitor-aware")
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--model", default="embedded:smollm2-135m")
    parser.add_argument("--backends", nargs="+", default=["template", "hf", "openai"])
    args = parser.parse_args()
    tokenizer = load_tokenizer(args.model)
    model_dir = resolve_model(args.model)
    rows, startup = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.backends:
            backend = {"name": name, "max_tokens": args.max_tokens, "cache_dir": str(Path(tmp) / name)}
            with contextlib.ExitStack() as stack:
                if name == "openai":
                    start = time.perf_counter()
                    url = stack.enter_context(transformers_serve(model_dir, Path(tmp) / "serve.log"))
                    startup = round(time.perf_counter() - start, 1)
                    backend.update(model=model_dir, base_url=url, max_concurrency=1, timeout=1800)
                elif name == "hf":
                    backend["model"] = args.model
                label = {"hf": "hf (in-process)", "openai": "openai (transformers serve)"}.get(name, name)
                rows.append(measure_backend(args.universe, backend, args.n, args.model, tokenizer, label=label))
                print(f"{label}: {rows[-1]['seconds']:.1f} s", flush=True)
    title = f"{args.universe}, {args.n} documents per backend, model {args.model}, max_tokens {args.max_tokens}"
    print_table(rows, title)
    report = {
        "machine": platform.processor() or platform.machine(),
        "universe": args.universe,
        "n": args.n,
        "model": args.model,
        "max_tokens": args.max_tokens,
        "serve_startup_seconds": startup,
        "results": rows,
    }
    write_report(args, report)


if __name__ == "__main__":
    main()
