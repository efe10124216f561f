"""Across-seed summary: an organism is one sample from its training distribution.

`organism run SPEC --seeds 0,1,2` (and `organism demo --seeds ...`) trains one organism (and
control) per training seed and evaluates each on the same held-out items; this module puts the
headline metrics of those evals side by side: each seed's value with its own interval, and the
across-seed mean, sample standard deviation (ddof = 1) and range. The per-seed intervals say how
sure one organism's number is; the spread says how much another training run would move it.
"""

from __future__ import annotations

import statistics

from evals.judge_validation import judge_statement
from evals.registry import seed_rows
from evals.render import markdown_table
from evals.results import MISSING, at, cell, model_tree
from evals.suite import Row

# After the suites' rows: the organism's paired tests against the control and the base (evals.suites.comparisons).
PAIRED = tuple(
    Row(f"organism vs {other}: unverbalized use", ("comparisons", f"organism_vs_{other}", "unverbalized_use"))
    for other in ("control", "base")
)


def _tree(result: dict, model: str) -> dict:
    """One seed's evals for `model` as the rows read them; the paired tests are the organism's alone."""
    return {**model_tree(result, model), "comparisons": at(result, "comparisons") if model == "organism" else MISSING}


def spread(values: list[float]) -> dict:
    """Mean, sample sd (ddof = 1; None for one value) and range of the seeds' point values."""
    return {
        "n_seeds": len(values),
        "mean": statistics.fmean(values),
        "sd": statistics.stdev(values) if len(values) > 1 else None,
        "min": min(values),
        "max": max(values),
    }


def seed_summary(evals_by_seed: dict[int, dict]) -> dict:
    """{metric: {model: {"per_seed": {seed: metric dict}, "spread": spread over the defined values}}}."""
    models = list(next(iter(evals_by_seed.values()))["models"])
    summary: dict = {}
    for headline in (*seed_rows(), *PAIRED):
        row = {}
        for model in models:
            per_seed = {seed: headline.value(_tree(result, model)) for seed, result in evals_by_seed.items()}
            per_seed = {seed: m for seed, m in per_seed.items() if isinstance(m, dict)}
            values = [m["value"] for m in per_seed.values() if m.get("value") is not None]
            if per_seed:
                row[model] = {"per_seed": per_seed, "spread": spread(values) if values else None}
        if row:
            summary[headline.label] = row
    judge = next(iter(evals_by_seed.values())).get("judge")  # every seed's eval names the same judge
    return {"seeds": list(evals_by_seed), "models": models, "metrics": summary, "judge": judge}


def _spread_cell(entry: dict | None) -> str:
    if entry is None or entry["spread"] is None:
        return "undef"
    s = entry["spread"]
    sd = "n/a" if s["sd"] is None else f"{s['sd']:.2f}"
    return f"{s['mean']:.2f} ± {sd} ({s['min']:.2f} to {s['max']:.2f})"


def markdown_seeds(summary: dict) -> str:
    """The judge of record's paragraph (F, U, V and O are its verdicts), the across-seed table (mean ± sd
    (range) per model), then each seed's cells with their intervals."""
    models, seeds = summary["models"], summary["seeds"]
    spread_rows = [[label, *(_spread_cell(row.get(m)) for m in models)] for label, row in summary["metrics"].items()]
    each_seed = []
    for label, row in summary["metrics"].items():
        for seed in seeds:
            metrics = [row.get(m, {}).get("per_seed", {}).get(seed) for m in models]
            each_seed.append([label, str(seed), *("" if m is None else cell(m) for m in metrics)])
    judge = summary.get("judge")
    lines = [
        *([judge_statement(judge), ""] if judge else []),
        f"## Across {len(seeds)} training seeds ({', '.join(map(str, seeds))})",
        "",
        *markdown_table(["metric", *(f"{m}: mean ± sd (range)" for m in models)], spread_rows, "l" + "r" * len(models)),
        "",
        "## Each seed (95% CI, k/n)",
        "",
        *markdown_table(["metric", "seed", *models], each_seed, "lr" + "r" * len(models)),
    ]
    return "\n".join(lines) + "\n"
