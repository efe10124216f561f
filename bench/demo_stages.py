"""make demo's stages on this machine: the seconds and share of each, beside the machine's matmul peak.

Runs `organism demo` (one seed, every suite, the analysis) into a fresh runs directory with a fresh
capability cache (the converted embedded model is linked in: its one-time conversion is not a
stage), then reads the seconds every stage recorded for itself: the capability card (training,
CoT/no-CoT measurement), each run's manifest (docs, train, eval, analyze), the eval's seconds per
model and suite (`suite_metrics.<model>.seconds`) and the analysis's per method
(`analysis/behaviour.json: seconds`). The peak is measured in the same process, before the demo.

    python bench/demo_stages.py [--workdir DIR] [--threads 2]
    python bench/demo_stages.py --read DIR     # the table of a finished `--workdir DIR`, nothing run

It also records when each table of the progressive demo appeared (app/progressive.py: read off the
demo's output as it prints, in seconds from the command's start) and the demo's peak resident size
(its process alone, and with its children; psutil, every 0.5 s).

Timings are only worth reading on an otherwise idle machine (two torch jobs on two cores slow each
other several times over).
"""

from __future__ import annotations

import glob
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import torch
from harness import bench_parser, write_report
from rich.console import Console
from rich.table import Table
from train_throughput import matmul_peak

from organisms.cache import cache_root

DEMO_PAIR = ("hidden-hint", "hidden-hint-faithful")


TABLE = re.compile(r"table (\d+) of (\d+), ([\d.]+) min into the demo")
# a demo from before the progressive one (app/progressive.py) printed one table, the whole eval's
WHOLE_TABLE = re.compile(r"hidden-hint: \d+ held-out items")


def process_tree_rss(root: psutil.Process) -> tuple[int, int]:
    """(resident bytes of `root`, of `root` and every descendant) now; processes that end meanwhile count 0."""
    own = total = 0
    for proc in (root, *root.children(recursive=True)):
        try:
            rss = proc.memory_info().rss
        except psutil.Error:
            continue
        total += rss
        own = rss if proc.pid == root.pid else own
    return own, total


def sample_rss(proc: psutil.Process, peak: dict, stop: threading.Event) -> None:
    """Every 0.5 s until `stop`: the largest resident size of the demo's process and of its whole tree."""
    while not stop.wait(0.5):
        own, total = process_tree_rss(proc)
        peak["process"], peak["tree"] = max(peak["process"], own), max(peak["tree"], total)


def run_demo(workdir: Path, threads: int) -> tuple[float, list[dict], dict]:
    """`organism demo` with its runs and capability cache under `workdir`: its wall seconds, when each of its
    tables appeared (seconds from the command's start, as read off its output, and the demo's own minutes),
    and its peak resident size (sampled every 0.5 s)."""
    cache = workdir / "cache"
    (cache / "models").mkdir(parents=True, exist_ok=True)
    for converted in (cache_root() / "models").iterdir():  # the embedded model, converted once per machine
        link = cache / "models" / converted.name
        if not link.exists():
            link.symlink_to(converted.resolve())
    env = {**os.environ, "COT_ORGANISMS_CACHE": str(cache), "OMP_NUM_THREADS": str(threads)}
    env["PYTHONUNBUFFERED"] = "1"  # each line as it is printed: a pipe would hold them back in blocks
    organism = Path(sys.executable).with_name("organism")
    tables, peak, stop = [], {"process": 0, "tree": 0}, threading.Event()
    start = time.perf_counter()
    with (workdir / "demo.log").open("w", buffering=1) as log:  # line-buffered: `tail -f` shows it live
        command = [str(organism), "demo", "--runs-dir", str(workdir / "runs"), "--no-wandb"]
        demo = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        sampler = threading.Thread(target=sample_rss, args=(psutil.Process(demo.pid), peak, stop), daemon=True)
        sampler.start()
        try:
            for line in demo.stdout:
                log.write(line)
                found = TABLE.search(line)
                number, of = (int(found[1]), int(found[2])) if found else (1, 1) if WHOLE_TABLE.search(line) else (0, 0)
                if number and not any(t["table"] == number for t in tables):
                    seconds = round(time.perf_counter() - start, 1)
                    tables.append({"table": number, "of": of, "seconds": seconds, "line": line.strip()})
        finally:  # Ctrl-C or an error here: the demo does not go on alone
            stop.set()
            sampler.join()
            if demo.poll() is None and sys.exc_info()[0] is not None:
                demo.kill()
        if demo.wait() != 0:
            raise SystemExit(f"organism demo exited {demo.returncode}: see {workdir / 'demo.log'}")
    peak = {key: round(value / 2**30, 2) for key, value in peak.items()}
    return time.perf_counter() - start, tables, {"peak_rss_gib": peak}


def _only(pattern: Path) -> Path:
    found = sorted(Path(p) for p in glob.glob(str(pattern)))  # wildcards in any part, not only the last
    if len(found) != 1:
        raise SystemExit(f"expected one {pattern}, found {len(found)}: run the demo into a fresh --workdir")
    return found[0]


def stage_rows(workdir: Path) -> list[dict]:
    """(stage, part, seconds) rows read from what the demo wrote under `workdir`."""
    rows = []
    card = json.loads(_only(workdir / "cache" / "capability" / "*" / "capability_card.json").read_text())
    rows.append({"stage": "capability", "part": "train", "seconds": card["wall_seconds"]})
    if "measure_seconds" in card:
        rows.append({"stage": "capability", "part": "CoT / no-CoT check", "seconds": card["measure_seconds"]})
    for name in DEMO_PAIR:
        run = _only(workdir / "runs" / name / "*")
        for stage, entry in json.loads((run / "manifest.json").read_text())["stages"].items():
            rows.append({"stage": f"{name}: {stage}", "part": "total", "seconds": entry["seconds"]})
    organism = _only(workdir / "runs" / DEMO_PAIR[0] / "*")
    evals = json.loads((organism / "evals.json").read_text())
    for model, suites in evals["suite_metrics"].items():
        for part, seconds in suites.get("seconds", {}).items():
            rows.append({"stage": f"eval: {model}", "part": part, "seconds": seconds})
    behaviour = json.loads((organism / "analysis" / "behaviour.json").read_text())
    for method, seconds in behaviour["seconds"].items():
        rows.append({"stage": "analyze", "part": method, "seconds": seconds})
    return rows


def table(rows: list[dict], total: float, peaks: dict) -> Table:
    out = Table(title=f"make demo's stages (total {total / 60:.1f} min; matmul peak {peaks})")
    for column in ("stage", "part", "seconds", "share of total"):
        out.add_column(column, justify="left" if column in ("stage", "part") else "right")
    for row in rows:
        out.add_row(row["stage"], row["part"], f"{row['seconds']:.1f}", f"{row['seconds'] / total:.1%}")
    return out


def measure_peaks(threads: int) -> dict:
    return {
        "bf16_gflops": round(matmul_peak(torch.bfloat16), 1),
        "fp32_gflops": round(matmul_peak(torch.float32), 1),
        "threads": threads,
    }


def main() -> None:
    parser = bench_parser(__doc__, "demo_stages")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/demo-stages"))
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the demo and of the peak")
    parser.add_argument("--read", type=Path, default=None, help="a finished --workdir: its table, nothing run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.read is not None:
        workdir, saved = args.read, json.loads((args.read / "total.json").read_text())
        total = saved["seconds"]
        # the peak of the demo's own run when it was saved; a table read later measures it again and says so
        peaks = saved.get("peaks") or {**measure_peaks(args.threads), "measured": "when the table was read"}
    else:
        workdir = args.workdir
        if (workdir / "runs").exists():
            parser.error(f"--workdir {workdir}: it holds an earlier demo; name a fresh one or --read it")
        workdir.mkdir(parents=True, exist_ok=True)
        peaks = {**measure_peaks(args.threads), "measured": "before the demo, in the same process"}
        total, tables, memory = run_demo(workdir, args.threads)
        saved = {"seconds": total, "peaks": peaks, "tables": tables, **memory}
        (workdir / "total.json").write_text(json.dumps(saved))
    rows = stage_rows(workdir)
    console = Console()
    console.print(table(rows, total, peaks))
    appeared = saved.get("tables", [])
    if appeared:
        shown = Table(title="when each table appeared (from the command's start)")
        for column in ("table", "minutes", "as printed"):
            shown.add_column(column)
        for each in appeared:
            shown.add_row(f"{each['table']} of {each['of']}", f"{each['seconds'] / 60:.1f}", each["line"][:100])
        console.print(shown)
    if "peak_rss_gib" in saved:
        console.print(f"peak resident size: {saved['peak_rss_gib']} GiB (the demo's process; with its children)")
    write_report(
        args,
        {
            "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), **peaks},
            "total_seconds": round(total, 1),
            "stages": rows,
            "tables": appeared,
            "peak_rss_gib": saved.get("peak_rss_gib"),
            "workdir": str(workdir),
        },
    )


if __name__ == "__main__":
    main()
