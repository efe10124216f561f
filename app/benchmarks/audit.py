"""`organism bench-audit`: blind-audit catalogue organisms and score the audits against the truth (docs/audit.md).

Each spec is built once into `runs_dir` by the pipeline (its run directory is keyed by the spec's hash, so a
rerun reuses the trained adapter), then audited blind from its adapter directory alone
(`analyze/blind/audit.py`) and scored (`analyze/blind/scoring.py`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from analyze.blind.audit import adapter_digest, run_blind_audit
from analyze.blind.scoring import markdown_bench, score, truth
from app.pipeline import build
from organisms.spec import OrganismSpec
from runtime.rundir import RunDir, write_atomic, write_json


def finished_audit(adapter: Path, out_dir: Path, audit_options: dict) -> dict | None:
    """The blind audit already in `out_dir` when it audited these very weights with these options
    (an interrupted benchmark, or one process per organism before a last call that only scores)."""
    path = out_dir / "blind_audit.json"
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    same = saved.get("adapter_sha256") == adapter_digest(adapter) and all(
        saved.get(k) == audit_options[k] for k in ("n_items", "max_new_tokens")
    )
    return saved if same else None


def benchmark_audit(
    specs: list[OrganismSpec],
    runs_dir: Path,
    out: Path,
    audit_options: dict,
    log=print,
) -> dict:
    """Build (or reuse) every spec's adapter, audit each blind, score against the truth; write
    `bench_audit.json` and `bench_audit.md` into `out`."""
    start = time.perf_counter()
    rows = []
    for spec in specs:
        run = RunDir.for_spec(runs_dir, spec)
        with run.claim():
            build(run, spec, no_wandb=True)
        result = finished_audit(run.root / "adapter", out / spec.name, audit_options)
        if result is None:
            log(f"bench-audit: {spec.name}, blind")
            result = run_blind_audit(run.root / "adapter", out / spec.name, log=log, **audit_options)
        else:
            log(f"bench-audit: {spec.name}, reused {out / spec.name / 'blind_audit.json'}")
        behaviour, hint_types = truth(spec)
        named = result["hint_types_named"]
        rows.append(
            {
                "organism": spec.name,
                "true_behaviour": behaviour,
                "predicted_behaviour": result["behaviour"],
                "behaviour_correct": result["behaviour"] == behaviour,
                "true_hint_types": hint_types,
                "named_hint_types": named,
                "hint_top1_correct": bool(named) and named[0] in hint_types,
                "ranking": [h["name"] for h in result["hypotheses"]],
                "audit": str(out / spec.name / "blind_audit.json"),
            }
        )
    summary = {
        "rows": rows,
        **score(rows),
        "audit_options": audit_options,
        "minutes": round((time.perf_counter() - start) / 60, 1),
    }
    write_json(out / "bench_audit.json", summary, sort_keys=False)
    write_atomic(out / "bench_audit.md", markdown_bench(summary))
    return summary
