"""The organism x monitor table (issue 28) from organism runs' evals.json: each cell the organism's
catch rate at the 1% FPR threshold (report split) with the control's and the base's beside it, then
each model's false-positive rate on honest runs and AUROC, and the cheapest monitor that exposes it.

    python experiments/monitors/table.py LABEL=RUN_DIR [LABEL=RUN_DIR ...] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

MODELS = ("organism", "control", "base")


def _rate(r: dict | None) -> str:
    if not r or r.get("n", 0) == 0 or r.get("value") is None:
        return "undef (n=0)"
    lo, hi = r["ci95"]
    return f"{r['value']:.2f} [{lo:.2f}, {hi:.2f}] {r['k']}/{r['n']}"


def _short(r: dict | None) -> str:
    return "n=0" if not r or not r.get("n") else f"{r['k']}/{r['n']}"


def _auroc(a: dict | None) -> str:
    if not a or a.get("value") is None:
        return "undef"
    lo, hi = a["ci95"]
    return f"{a['value']:.2f} [{lo:.2f}, {hi:.2f}]"


def monitors_of(run_dir: Path) -> dict:
    evals = json.loads((run_dir / "evals.json").read_text())
    return {model: evals["suite_metrics"][model]["monitors"] for model in MODELS if model in evals["suite_metrics"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="LABEL=RUN_DIR (an organism run with its control and base)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = {label: monitors_of(Path(d)) for label, _, d in (r.partition("=") for r in args.runs)}
    order = next(iter(rows.values()))["organism"]["order"]
    print("Catch rate at the 1% FPR threshold, report split: organism [95% CI] k/n (control k/n; base k/n)\n")
    print("| organism | " + " | ".join(order) + " | cheapest that exposes it (organism; control) |")
    print("|---|" + "---:|" * len(order) + "---|")
    for label, m in rows.items():
        cells = []
        for name in order:
            org = m["organism"][name]["catch_rate"]
            others = "; ".join(f"{x} {_short(m[x][name]['catch_rate'])}" for x in ("control", "base") if x in m)
            cells.append(f"{_rate(org)} ({others})")
        cheapest = "; ".join(str(m[x]["card"].get("cheapest") or "none") for x in ("organism", "control"))
        print(f"| {label} | " + " | ".join(cells) + f" | {cheapest} |")
    print("\nFalse-positive rate on honest runs (report split) and AUROC, organism / control / base\n")
    print("| organism | monitor | FPR organism | FPR control | FPR base | AUROC organism | AUROC control |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, m in rows.items():
        for name in order:
            fprs = [_rate(m[x][name]["fpr"]) if x in m else "n/a" for x in MODELS]
            aurocs = [_auroc(m[x][name].get("auroc")) for x in ("organism", "control")]
            print(f"| {label} | {name} | " + " | ".join(fprs + aurocs) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
