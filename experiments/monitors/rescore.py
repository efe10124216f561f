"""Re-score a run's stored responses with the CoT monitors, without generating any answer again:
the monitors section of `organism eval` recomputed from `eval_responses.jsonl`, optionally with the LLM
monitor added (`--llm hf`: the run's base model through the hf backend, the weak default; any
`eval.monitor` mapping as JSON for another). For runs evaluated before the monitors existed, and to
try the LLM monitor on responses already paid for.

    python experiments/monitors/rescore.py RUN_DIR [--llm hf | --llm '{"name": "openai", ...}']
        [--suites hinted] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from evals.monitors.suite import measure_all, monitors, score_records, task_axis_has_steps
from organisms.spec import parse_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--llm", default=None, help="'hf', or an eval.monitor mapping as JSON")
    parser.add_argument("--suites", default="hinted,ood", help="hinted and/or ood (the held-out axes)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    data = yaml.safe_load((args.run_dir / "spec.yaml").read_text())
    if args.llm:
        data.setdefault("eval", {})["monitor"] = {"name": "hf"} if args.llm == "hf" else json.loads(args.llm)
        data["eval"]["monitors"] = ["keyword", "consistency", "steps", "llm"]
    spec = parse_spec(data, str(args.run_dir / "spec.yaml"))
    backend = None
    if args.llm:
        from evals.monitors.llm import make_monitor_backend

        backend = make_monitor_backend(spec)
    chosen = monitors(spec, backend)
    suites = set(args.suites.split(","))
    records = [json.loads(line) for line in (args.run_dir / "eval_responses.jsonl").read_text().splitlines()]
    out = {}
    for model in dict.fromkeys(r["model"] for r in records):
        hinted = [r for r in records if r["model"] == model and r["suite"] == "hinted"]
        held = [r for r in records if r["model"] == model and r["suite"] == "ood"] if "ood" in suites else []
        score_records(chosen, hinted, spec.task.has_steps)
        for axis in dict.fromkeys(r["axis"] for r in held):
            steps_here = task_axis_has_steps(spec) if axis == "task" else spec.task.has_steps
            score_records(chosen, [r for r in held if r["axis"] == axis], steps_here)
        out[model] = measure_all(spec, hinted, held)
        for name in out[model]["order"]:
            m = out[model][name]
            if not isinstance(m, dict) or "catch_rate" not in m:
                print(f"{model:9s} {name:12s} {m}")
                continue
            c, f, a = m["catch_rate"], m["fpr"], m.get("auroc") or {}
            auroc = "undef" if a.get("value") is None else f"{a['value']:.2f}"
            readings = m.get("outcomes", {})
            extra = "; readings " + json.dumps(readings, sort_keys=True) if name == "llm" else ""
            print(
                f"{model:9s} {name:12s} threshold {m.get('threshold')} catch {c['k']}/{c['n']} "
                f"FPR {f['k']}/{f['n']} AUROC {auroc}{extra}"
            )
        print(f"{model:9s} cheapest that exposes it: {out[model]['card'].get('cheapest')}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
