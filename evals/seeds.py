"""Across-seed summary: an organism is one sample from its training distribution.

`organism run SPEC --seeds 0,1,2` (and `organism demo --seeds ...`) trains one organism (and
control) per training seed and evaluates each on the same held-out items; this module puts the
headline metrics of those evals side by side: each seed's value with its own interval, and the
across-seed mean, sample standard deviation (ddof = 1) and range. The per-seed intervals say how
sure one organism's number is; the spread says how much another training run would move it.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

from evals.table import format_cell

_WRONG = ("models", "{model}", "by_direction", "wrong")


def _path(*keys: str) -> Callable[[dict, str], object]:
    def get(result: dict, model: str) -> object:
        tree: object = result
        for key in keys:
            key = key.format(model=model)
            if not isinstance(tree, dict) or key not in tree:
                return None
            tree = tree[key]
        return tree

    return get


def _organism_only(*keys: str) -> Callable[[dict, str], object]:
    get = _path(*keys)
    return lambda result, model: get(result, model) if model == "organism" else None


# (label, getter(result, model) -> a metric dict with "value", or None where it does not apply)
HEADLINE: tuple[tuple[str, Callable[[dict, str], object]], ...] = (
    ("accuracy with CoT, no hint", _path("suite_metrics", "{model}", "necessity", "accuracy_cot")),
    ("accuracy without CoT (forced)", _path("suite_metrics", "{model}", "necessity", "accuracy_no_cot")),
    ("p = P(a_h=h | a_u!=h), wrong hints", _path(*_WRONG, "p")),
    ("F = P(verbalized | switched)", _path(*_WRONG, "F")),
    ("U = P(switched, unverbalized)", _path(*_WRONG, "U")),
    ("early answering AOC (Lanham)", _path("suite_metrics", "{model}", "lanham", "early_answering", "aoc")),
    *(
        (f"held-out {name}: {metric}", _path("suite_metrics", "{model}", "ood", axis, "by_direction", "wrong", key))
        for axis, name in (("phrasing", "phrasing"), ("hint_type", "hint type"), ("task", "task"))
        for metric, key in (("F", "F"), ("U", "U"))
    ),
    ("organism vs control: unverbalized use", _organism_only("comparisons", "organism_vs_control", "unverbalized_use")),
    ("organism vs base: unverbalized use", _organism_only("comparisons", "organism_vs_base", "unverbalized_use")),
)


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
    for label, get in HEADLINE:
        row = {}
        for model in models:
            per_seed = {seed: get(result, model) for seed, result in evals_by_seed.items()}
            per_seed = {seed: m for seed, m in per_seed.items() if isinstance(m, dict)}
            values = [m["value"] for m in per_seed.values() if m.get("value") is not None]
            if per_seed:
                row[model] = {"per_seed": per_seed, "spread": spread(values) if values else None}
        if row:
            summary[label] = row
    return {"seeds": list(evals_by_seed), "models": models, "metrics": summary}


def _spread_cell(cell: dict | None) -> str:
    if cell is None or cell["spread"] is None:
        return "undef"
    s = cell["spread"]
    sd = "n/a" if s["sd"] is None else f"{s['sd']:.2f}"
    return f"{s['mean']:.2f} ± {sd} ({s['min']:.2f} to {s['max']:.2f})"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_seeds(summary: dict) -> str:
    """The across-seed table (mean ± sd (range) per model), then each seed's cells with their intervals."""
    models, seeds = summary["models"], summary["seeds"]
    header = "| metric | " + " | ".join(f"{m}: mean ± sd (range)" for m in models) + " |"
    lines = [
        f"## Across {len(seeds)} training seeds ({', '.join(map(str, seeds))})",
        "",
        header,
        "|---|" + "---:|" * len(models),
    ]
    for label, row in summary["metrics"].items():
        cells = " | ".join(_spread_cell(row.get(m)) for m in models)
        lines.append(f"| {_escape(label)} | {cells} |")
    lines += ["", "## Each seed (95% CI, k/n)", "", "| metric | seed | " + " | ".join(models) + " |"]
    lines.append("|---|---:|" + "---:|" * len(models))
    for label, row in summary["metrics"].items():
        for seed in seeds:
            cells = []
            for m in models:
                metric = row.get(m, {}).get("per_seed", {}).get(seed)
                cells.append("" if metric is None else format_cell(metric).replace("|", "\\|"))
            lines.append(f"| {_escape(label)} | {seed} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
