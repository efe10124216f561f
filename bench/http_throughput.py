"""HTTP backend throughput versus concurrency, against loopback servers.

Two servers: `transformers serve` with a real model (default: the embedded SmolLM2-135M), and a
stub that answers after a fixed latency (the client's concurrency machinery on its own). For
each server, after one warm-up request: for each concurrency c, `--requests` requests (distinct
seeds, empty cache, so all are fetched) timed end to end, client creation included.

    L = seconds(c=1) / requests  (measured single-request latency, one request at a time)
    throughput T_c = requests / seconds;  speedup = T_c / T_1;  efficiency = T_c / (min(c, requests) / L)

Efficiency 1.0 means c requests in flight finish as fast as one does alone.

    python bench/http_throughput.py [--model embedded:smollm2-135m] [--requests 8] [--max-tokens 16]
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path

from harness import bench_parser, write_report
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.loopback, when run as a script

from organisms.spec import BackendSpec
from organisms.universe import load_universe
from runtime.backends import make_backend
from runtime.models import resolve_model
from synth_docs import prompts
from synth_docs.ideas import DOC_TYPES, plan_ideas
from tests.loopback import OpenAIStub, transformers_serve


def timed_batch(base_url: str, model: str, conversations: list, seeds: list[int], c: int, max_tokens: int) -> float:
    with tempfile.TemporaryDirectory() as cache:
        spec = BackendSpec(
            name="openai",
            model=model,
            base_url=base_url,
            max_concurrency=c,
            temperature=0.0,
            max_tokens=max_tokens,
            timeout=600,
            cache_dir=Path(cache),
        )
        backend = make_backend(spec)
        start = time.perf_counter()
        backend.complete(conversations, seeds=seeds)
        seconds = time.perf_counter() - start
        assert backend.usage.fetched == len(conversations)
        return seconds


def measure(server: str, base_url: str, model: str, args, conversations: list) -> list[dict]:
    timed_batch(base_url, model, conversations[:1], [99_999], 1, args.max_tokens)  # warm-up
    rows = []
    for c in args.concurrency:
        seeds = [c * 1000 + i for i in range(args.requests)]
        seconds = timed_batch(base_url, model, conversations[: args.requests], seeds, c, args.max_tokens)
        rows.append({"server": server, "concurrency": c, "requests": args.requests, "seconds": seconds})
    latency = rows[0]["seconds"] / args.requests  # sequential: one request at a time
    for row in rows:
        row["latency_1"] = latency
        row["throughput"] = args.requests / row["seconds"]
        row["speedup"] = row["throughput"] * latency
        row["efficiency"] = row["throughput"] / (min(row["concurrency"], args.requests) / latency)
    return rows


def main() -> None:
    parser = bench_parser(__doc__, "http_throughput")
    parser.add_argument("--model", default="embedded:smollm2-135m")
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--stub-latency", type=float, default=0.2)
    parser.add_argument("--servers", nargs="+", choices=["stub", "serve"], default=["stub", "serve"])
    args = parser.parse_args()

    universe = load_universe("mercury-rings")
    ideas = plan_ideas(universe, list(DOC_TYPES), args.requests, seed=0)
    conversations = [prompts.draft_messages(universe, idea, 40, 800) for idea in ideas]
    rows = []
    if "stub" in args.servers:
        with OpenAIStub(args.stub_latency).running() as url:
            rows += measure(f"stub ({args.stub_latency * 1000:.0f} ms)", url, "stub", args, conversations)
    if "serve" in args.servers:
        model_dir = resolve_model(args.model)
        with tempfile.TemporaryDirectory() as logs, transformers_serve(model_dir, Path(logs) / "serve.log") as url:
            rows += measure(f"transformers serve ({args.model})", url, model_dir, args, conversations)

    table = Table(title=f"openai backend, {args.requests} requests per row, max_tokens {args.max_tokens}")
    for column in ("server", "c", "seconds", "latency L (s)", "req/s", "speedup vs c=1", "efficiency T/(c/L)"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            r["server"],
            str(r["concurrency"]),
            f"{r['seconds']:.2f}",
            f"{r['latency_1']:.2f}",
            f"{r['throughput']:.2f}",
            f"{r['speedup']:.2f}",
            f"{r['efficiency']:.2f}",
        )
    Console(width=140).print(table)
    report = {
        "machine": platform.processor() or platform.machine(),
        "model": args.model,
        "max_tokens": args.max_tokens,
        "results": rows,
    }
    write_report(args, report)


if __name__ == "__main__":
    main()
