"""Band-vs-downstream scores of the committed H200 run, with no model: `localization.json`'s per-layer
scores of every organism and control, rescored.

With the adapter confined to a band, every layer before the band's first layer b0 scores 0 by
construction, and the all-layer AUROC counts those zeros as b0 free wins per band layer. This script
recomputes, per method, band and training seed, for the organism, its band-matched control and
organism - control (layer by layer):

- the all-layer AUROC (`score_against_mask`, as the benchmark scored it; checked against the stored
  value), to confirm the numbers quoted in issue 30;
- AUROC and Spearman over the layers from b0 on only (`band_vs_downstream`): the band against the
  layers after it, where a score with no preference for the band has AUROC 1/2;

each as the mean over the 3 training seeds with the per-seed range, and for organism - control the
exact sign-flip (exchangeability) p of that mean (`sign_flip`: if organism and control were
exchangeable, each seed's difference would be as likely to be reversed). "mean over bands" averages
each seed's three band values first, as the benchmark's summary does; its sign-flip null flips each
of the 9 (band, seed) values. Beside them, the random-after-onset null of a 3-seed mean (simulated
as the benchmark does, same draws and seed) and the step null. Writes `rescored.md` and
`rescored.json` beside this script.

    python experiments/localization/rescore.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from analyze.localization.null import describe, null_draws, sign_flip
from analyze.localization.scores import score_against_mask
from analyze.localization.summary import MEAN, band_name
from analyze.methods.suite import METHODS
from evals.render import markdown_table

HERE = Path(__file__).resolve().parent
ROLES = ("organism", "control", "organism - control")
SCORES = {
    "auroc": "AUROC, all layers (as the benchmark scores it)",
    "auroc_downstream": "AUROC, band vs downstream (layers >= b0 only)",
    "spearman_downstream": "Spearman rho, band vs downstream (layers >= b0 only)",
}
CENTRE = {"auroc": 0.5, "auroc_downstream": 0.5, "spearman_downstream": 0.0}


def per_seed_scores(result: dict) -> dict:
    """`{method: {role: {band: [score dict per seed]}}}`, seeds in the file's order."""
    out = {m: {role: {} for role in ROLES} for m in METHODS}
    for run in result["runs"]:
        band, name = run["band"], band_name(run["band"])
        organism, control = (run["runs"][r]["layer_scores"] for r in ("organism", "control"))
        for m in METHODS:
            difference = [a - b for a, b in zip(organism[m], control[m], strict=True)]
            for role, values in zip(ROLES, (organism[m], control[m], difference), strict=True):
                scores = score_against_mask(values, band)
                stored = run["scores"].get(m if role == "organism" else f"{m} - control")
                if role != "control" and stored["auroc"] != scores["auroc"]:
                    raise SystemExit(f"{m} {role} {name}: AUROC {scores['auroc']} is not the stored {stored['auroc']}")
                out[m][role].setdefault(name, []).append(scores)
    return out


def construction_nulls(result: dict, names: list[str]) -> dict:
    """`{null: {band|mean: {score: mean, low, high, draws}}}` for a mean over the run's seeds, as the
    benchmark's summary simulates them (`summarise`: band i's draws seeded `seed + i`)."""
    options, n_seeds = result["options"], len(result["options"]["training_seeds"])
    sims = [
        null_draws(result["n_layers"], band, n_seeds, options["null_draws"], options["seed"] + i)
        for i, band in enumerate(result["bands"])
    ]
    out = {}
    for null in ("random_after_onset", "step_from_onset"):
        by_band = dict(zip(names, (sim[null] for sim in sims), strict=True))
        by_band[MEAN] = {s: np.mean([sim[null][s] for sim in sims], axis=0) for s in SCORES}
        out[null] = {name: {s: describe(by_band[name][s]) for s in SCORES} for name in by_band}
    return out


def null_text(d: dict, signed: bool) -> str:
    f = "{:+.2f}" if signed else "{:.2f}"
    if d["mean"] is None:
        return "n/a"
    if d["draws"] is None:
        return f.format(d["mean"])
    return f"{f.format(d['mean'])} [{f.format(d['low'])}, {f.format(d['high'])}]"


def cell(values: list[float]) -> dict:
    return {"mean": float(np.mean(values)), "min": float(min(values)), "max": float(max(values)), "seeds": values}


def summarise(scores: dict, names: list[str]) -> dict:
    """Per method, role, band (and mean over bands) and score: mean, per-seed range, the seed values;
    for organism - control also the sign-flip p."""
    out = {}
    for m, by_role in scores.items():
        out[m] = {}
        for role, by_band in by_role.items():
            out[m][role] = {}
            for score in SCORES:
                values = {name: [s[score] for s in by_band[name]] for name in names}
                if any(v is None for vs in values.values() for v in vs):
                    raise SystemExit(f"{m} {role} {score}: undefined for a seed; the table needs every value")
                cells = {name: cell(values[name]) for name in names}
                cells[MEAN] = cell([float(np.mean(seed)) for seed in zip(*values.values(), strict=True)])
                if role == "organism - control":
                    for name in names:
                        cells[name]["sign_flip_p"] = sign_flip(values[name], CENTRE[score])["p"]
                    pooled = [v for name in names for v in values[name]]
                    cells[MEAN]["sign_flip_p"] = sign_flip(pooled, CENTRE[score])["p"]
                for name, c in cells.items():
                    out[m][role].setdefault(name, {})[score] = c
    return out


def text(c: dict, signed: bool) -> str:
    f = "{:+.2f}" if signed else "{:.2f}"
    shown = f"{f.format(c['mean'])} [{f.format(c['min'])}, {f.format(c['max'])}]"
    if "sign_flip_p" in c:
        shown += f"; p {c['sign_flip_p']:.2f}"
    return shown


def table(summary: dict, nulls: dict, names: list[str], score: str) -> list[str]:
    columns = ["method", "model", *(f"layers {n}" for n in names), "mean over bands"]
    signed = score.startswith("spearman")
    rows = [
        ["null", null.replace("_", " "), *(null_text(nulls[null][n][score], signed) for n in [*names, MEAN])]
        for null in nulls
    ]
    for m in METHODS:
        for role in ROLES:
            rows.append([m, role, *(text(summary[m][role][n][score], score.startswith("spearman")) for n in names)])
            rows[-1].append(text(summary[m][role][MEAN][score], score.startswith("spearman")))
    return markdown_table(columns, rows)


def issue_check(summary: dict, names: list[str]) -> list[str]:
    """What issue 30 quotes: ADL and lens KL all-layer AUROC, organism vs control, per band (seed means)."""
    lines = []
    for m in ("adl", "lens_kl"):
        both = [
            "/".join(f"{summary[m][role][n]['auroc']['mean']:.2f}" for n in names) for role in ("organism", "control")
        ]
        lines.append(f"- {m}: organisms {both[0]} vs controls {both[1]} (bands {' / '.join(names)})")
    return lines


def main() -> None:
    result = json.loads((HERE / "localization.json").read_text())
    names = [band_name(b) for b in result["bands"]]
    n_seeds = len(result["options"]["training_seeds"])
    summary = summarise(per_seed_scores(result), names)
    nulls = construction_nulls(result, names)
    lines = [
        "# Band-vs-downstream rescoring of localization.json",
        "",
        f"Written by `python experiments/localization/rescore.py` from `localization.json` ({result['n_layers']} "
        f"layers, bands {', '.join(names)}, {n_seeds} training seeds; no model loaded). Cells: mean over the "
        f"{n_seeds} seeds [per-seed min, max]; 'mean over bands' averages each seed's bands first. For "
        "organism - control, after ';': the exact sign-flip p (two-sided) of that mean under exchangeable "
        f"organism and control (2^{n_seeds} flips per band, 2^{n_seeds * len(names)} over bands). Band vs "
        "downstream, a score with no preference for the band (the random-after-onset and step nulls, or an "
        "exchangeable pair's difference) has AUROC 0.50 and Spearman 0. Null rows: the random-after-onset "
        f"null's mean [central 95% of {result['options']['null_draws']} draws of a {n_seeds}-seed mean] and the "
        "step null's exact value (n/a: undefined, a constant). The random-LoRA null needs the models: it is "
        "not in localization.json.",
        "",
        "Issue 30's numbers (all-layer AUROC, seed means):",
        "",
        *issue_check(summary, names),
        "",
    ]
    for score, title in SCORES.items():
        lines += [f"## {title}", "", *table(summary, nulls, names, score), ""]
    (HERE / "rescored.md").write_text("\n".join(lines))
    out = {"source": "experiments/localization/localization.json", "bands": result["bands"], "nulls": nulls}
    out["rows"] = summary
    (HERE / "rescored.json").write_text(json.dumps(out, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
