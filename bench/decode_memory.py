"""How much resident memory the eval's decoding takes beyond the model, and whether it is the allocator's.

The demo's eval climbs from about 2 to 7-8 GiB within one stage (bench/RESULTS.md, the progressive
demo). Decoding grows a KV cache by concatenation every step (64 rows x 30 layers x 2 tensors of up to
~20 MB each at the embedded model's shapes), which leaves glibc's heap full of freed blocks of every
size. This decodes a finished run's hinted prompts (both conditions, as the hinted suite does, greedy,
`eval.decode_rows` rows) in a fresh process per setting, samples its RSS every 50 ms, and reports the
peak over the RSS after loading, and the seconds. A setting is an environment: glibc's own tunables
(`MALLOC_MMAP_THRESHOLD_` fixes the size above which a block is mmapped and so returned when freed;
unset, glibc raises it as large blocks are freed), the size of oneDNN's primitive cache (bf16 matmuls on
CPU go through oneDNN, which keeps a primitive per shape), or nothing.

    python bench/decode_memory.py --run runs/hidden-hint/<id> [--settings default mmap-1m mmap-4m]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch
from forced_answers import hinted_records
from harness import bench_parser, write_report
from rich.console import Console
from rich.table import Table

SETTINGS = {
    "default": {},
    "mmap-1m": {"MALLOC_MMAP_THRESHOLD_": str(1 << 20)},
    "mmap-4m": {"MALLOC_MMAP_THRESHOLD_": str(4 << 20)},
    "mmap-32m": {"MALLOC_MMAP_THRESHOLD_": str(32 << 20)},
    "arena-1": {"MALLOC_ARENA_MAX": "1"},
    # oneDNN (torch's CPU bf16 matmuls) caches a primitive per shape; 1024 by default
    "onednn-cache-0": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "0"},
    "onednn-cache-16": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "16"},
}


def child(run: Path, precision: str, attention: str) -> None:
    """In the measured process: load, decode, print one JSON line."""
    from runtime.generation import generate_batched
    from runtime.memory import resident_bytes
    from runtime.models import load_tokenizer, load_with_adapters, use_adapter
    from runtime.precision import eval_dtype
    from runtime.rundir import RunDir

    spec = RunDir.open(run).spec
    hinted = hinted_records(run, "organism")
    prompts = [r[f"prompt_{which}"] for which in ("unhinted", "hinted") for r in hinted]
    tokenizer = load_tokenizer(spec.base_model)
    model = load_with_adapters(spec.base_model, {"organism": run / "adapter"}, dtype=eval_dtype(precision))
    if attention != "sdpa":
        model.base_model.model.set_attn_implementation(attention)
    loaded = resident_bytes()
    peak = [loaded]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], resident_bytes())
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    with use_adapter(model, "organism"):
        texts = generate_batched(model, tokenizer, prompts, spec.eval.max_new_tokens, spec.eval.decode_rows)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    peak[0] = max(peak[0], resident_bytes())
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    print(json.dumps({"loaded": loaded, "peak": peak[0], "seconds": seconds, "texts": len(texts), "sha": digest}))


def main() -> None:
    parser = bench_parser(__doc__, "decode_memory")
    parser.add_argument("--run", type=Path, required=True, help="a run directory with eval_responses.jsonl")
    parser.add_argument("--settings", nargs="*", default=["default", "mmap-1m", "mmap-4m"], choices=list(SETTINGS))
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--attention", default="sdpa", choices=["sdpa", "eager"], help="the model's attention")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # the measured process
    args = parser.parse_args()
    if args.child:
        return child(args.run, args.precision, args.attention)
    results = []
    for name in args.settings:
        env = {**os.environ, **SETTINGS[name]}
        options = ["--run", str(args.run), "--precision", args.precision, "--attention", args.attention]
        command = [sys.executable, __file__, *options, "--child"]
        out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
        measured = json.loads(out.strip().splitlines()[-1])
        results.append({"setting": name, "environment": SETTINGS[name], **measured})
    gib = 1 << 30
    table = Table(
        title=f"decoding {results[0]['texts']} hinted prompts, {args.precision}, {torch.get_num_threads()} threads"
    )
    for column in ("setting", "RSS after load GiB", "peak RSS GiB", "peak - load GiB", "seconds", "texts sha256"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r["setting"],
            f"{r['loaded'] / gib:.2f}",
            f"{r['peak'] / gib:.2f}",
            f"{(r['peak'] - r['loaded']) / gib:.2f}",
            f"{r['seconds']:.1f}",
            r["sha"],
        )
    Console(width=140).print(table)
    report = {"run": str(args.run), "precision": args.precision, "attention": args.attention, "settings": results}
    write_report(args, report)


if __name__ == "__main__":
    main()
