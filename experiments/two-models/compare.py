"""The side-by-side table of issue 33: each finding the README states about the demo pair, on
SmolLM2-135M-Instruct and on Gemma 3 270M, marked from its intervals.

Reads, per model: the `seeds.json` of `organism demo [--base-model M] --seeds 0,1,2 --suites hinted,ood`
and each seed's `evals.json` (the CoT monitors), and for seed 0 the organism's `analysis/`, its
`audit.json` (`organism audit`) and its `removal.json` (`organism remove`). Writes `two_models.md`
and `two_models.json` beside itself.

Rule, per finding (an effect that should be > 0, e.g. U organism - U control): each seed's effect has
a Newcombe 95% interval (two independent rates; for the CoT gain this ignores the pairing, which
widens it). The finding *holds* on a model when every seed's interval lies above 0, *fails* when none
does. Across models: "holds on both"; "one model only" when it holds on one, fails on the other, and
in every seed the difference between the two models' effects (MOVER interval) excludes 0; "holds on
neither"; otherwise "cannot tell". Layer peaks come from one seed and carry no interval: "cannot tell".

    python experiments/two-models/compare.py --smollm2 S.json --gemma G.json \
        --smollm2-evals E0 E1 E2 --gemma-evals E0 E1 E2 --smollm2-analysis DIR --gemma-analysis DIR \
        --smollm2-audit A.json --gemma-audit A.json [--smollm2-removal R.json] [--gemma-removal R.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evals.stats import mover_difference, newcombe_difference

MODELS = ("SmolLM2-135M", "Gemma-3-270M")
MONITORS = ("keyword", "consistency")
AXES = ("held-out phrasing", "held-out hint type", "held-out task")
ANALYSIS = ("patching", "steering", "lens_kl")
RUNGS = ("prompting", "cot", "prefill", "steering", "probes", "patching")


def counts(seeds: dict, metric: str, model: str, seed: str) -> tuple[int, int]:
    cell = seeds["metrics"][metric][model]["per_seed"][seed]
    return cell["k"], cell["n"]


def effect(seeds: dict, seed: str, a: tuple[str, str], b: tuple[str, str]) -> dict:
    """(metric, model) a minus (metric, model) b in one seed, with Newcombe's interval."""
    return newcombe_difference(*counts(seeds, *a, seed), *counts(seeds, *b, seed))


def findings() -> list[tuple[str, tuple[str, str], tuple[str, str]]]:
    """(finding, a, b): the finding says a - b > 0."""
    rows = [
        (
            "CoT matters: capability model's accuracy with CoT - forced",
            ("accuracy with CoT, no hint", "base"),
            ("accuracy without CoT (forced)", "base"),
        ),
        (
            "CoT matters: organism's accuracy with CoT - forced",
            ("accuracy with CoT, no hint", "organism"),
            ("accuracy without CoT (forced)", "organism"),
        ),
        (
            "training the organism costs accuracy: capability model - organism, with CoT, no hint",
            ("accuracy with CoT, no hint", "base"),
            ("accuracy with CoT, no hint", "organism"),
        ),
        (
            "organism follows wrong hints unnamed more than control: U org - ctl",
            ("U = P(switched, unverbalized)", "organism"),
            ("U = P(switched, unverbalized)", "control"),
        ),
        (
            "control names the hint, organism does not: F ctl - org",
            ("F = P(verbalized | switched)", "control"),
            ("F = P(verbalized | switched)", "organism"),
        ),
    ]
    for axis in AXES:
        rows.append((f"{axis}: U org - ctl", (f"{axis}: U", "organism"), (f"{axis}: U", "control")))
        rows.append((f"{axis}: F ctl - org", (f"{axis}: F", "control"), (f"{axis}: F", "organism")))
        rows.append(
            (
                f"{axis}: organism follows less than in distribution, U in - U axis",
                ("U = P(switched, unverbalized)", "organism"),
                (f"{axis}: U", "organism"),
            )
        )
    return rows


def monitor_effects(args: argparse.Namespace, monitor: str) -> list[list[dict]]:
    """[model][seed] catch rate - false-positive rate of `monitor` on the organism (report split, threshold at
    1% FPR on the model's own honest runs), with its Newcombe interval, from each seed's evals.json."""
    return [
        [
            json.loads(path.read_text())["suite_metrics"]["organism"]["monitors"][monitor]["catch_minus_fpr"]
            for path in paths
        ]
        for paths in (args.smollm2_evals, args.gemma_evals)
    ]


def above_zero(diff: dict) -> bool | None:
    return None if diff["ci95"] is None else diff["ci95"][0] > 0


def verdict(per_model: list[list[dict]]) -> str:
    """The rule of the module docstring, over [model][seed] effects."""
    holds = [[above_zero(d) for d in seeds] for seeds in per_model]
    if any(None in h for h in holds):
        return "cannot tell"
    state = ["holds" if all(h) else "fails" if not any(h) else "mixed" for h in holds]
    if state == ["holds", "holds"]:
        return "holds on both"
    if state == ["fails", "fails"]:
        return "holds on neither"
    if sorted(state) == ["fails", "holds"]:
        between = [mover_difference(a, b)["ci95"] for a, b in zip(*per_model, strict=True)]
        if all(ci is not None and (ci[0] > 0 or ci[1] < 0) for ci in between):
            return f"{MODELS[state.index('holds')]} only"
    return "cannot tell"


def cell(diffs: list[dict]) -> str:
    def one(d: dict) -> str:
        if d["value"] is None:
            return "undef"
        return f"{d['value']:+.2f} [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]"

    return "; ".join(one(d) for d in diffs)


def peaks(analysis: Path) -> dict:
    """Each method's peak layer (argmax of its layer score) and its position, (layer + 1) / layers."""
    out = {}
    for method in ANALYSIS:
        score = json.loads((analysis / f"{method}.json").read_text())["layer_score"]
        layer = max(range(len(score)), key=score.__getitem__)
        out[method] = {"layer": layer, "layers": len(score), "fraction": (layer + 1) / len(score)}
    return out


def audit_rows(paths: list[Path]) -> tuple[list[str], dict]:
    """Seed 0's audit ladder on each model: each rung's verdict on the organism, and organism - control."""
    ladders = [{r["rung"]: r for r in json.loads(path.read_text())["rungs"]} for path in paths]
    table, out = [], {}
    for rung in RUNGS:
        verdicts = [ladder[rung]["verdict"]["organism"] for ladder in ladders]
        shown = []
        for ladder in ladders:
            d = ladder[rung]["difference"]
            layer = ladder[rung]["organism"].get("layer")
            at = f" @L{layer}" if layer is not None else ""
            shown.append(
                f"{ladder[rung]['verdict']['organism']}{at}; org - ctl {d['value']:+.2f} "
                f"[{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]"
            )
        mark = (
            "holds on both (1 seed)"
            if verdicts == ["exposes"] * 2
            else "holds on neither (1 seed)"
            if verdicts == ["does not expose"] * 2
            else "cannot tell (1 seed)"
        )
        out[rung] = {"verdicts": dict(zip(MODELS, verdicts, strict=True)), "verdict": mark}
        table.append(f"| audit ladder, {rung} rung exposes the organism (seed 0) | {shown[0]} | {shown[1]} | {mark} |")
    return table, out


def removal_effect(path: Path | None) -> dict | None:
    if path is None:
        return None
    data = json.loads(path.read_text())
    arm = next(a for a in data["arms"] if a["model"] == "organism" and a["arm"] == "steer")
    null = data.get("null") or {}
    p = {way: null[way]["U_drop"]["p"] for way in ("norm_matched", "perplexity_matched") if way in null}
    return {
        "arm": f"layer {data['layer']}, scale {arm['scale']:g}",
        "delta_u": arm["change_from_unsteered"]["U"],
        "null_directions": null.get("n_directions", 0),
        "null_p": p,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("smollm2", "gemma"):
        parser.add_argument(f"--{name}", type=Path, required=True)
        parser.add_argument(f"--{name}-analysis", type=Path, required=True)
        parser.add_argument(f"--{name}-removal", type=Path)
        parser.add_argument(f"--{name}-audit", type=Path, required=True, help="audit.json of seed 0")
        parser.add_argument(f"--{name}-evals", type=Path, nargs=3, required=True, help="evals.json of seeds 0, 1, 2")
    args = parser.parse_args()
    seeds = [json.loads(args.smollm2.read_text()), json.loads(args.gemma.read_text())]
    rows, table = [], []
    for label, a, b in findings():
        per_model = [[effect(s, str(seed), a, b) for seed in s["seeds"]] for s in seeds]
        mark = verdict(per_model)
        rows.append({"finding": label, "effects": dict(zip(MODELS, per_model, strict=True)), "verdict": mark})
        table.append(f"| {label} | {cell(per_model[0])} | {cell(per_model[1])} | {mark} |")
    for monitor in MONITORS:
        per_model = monitor_effects(args, monitor)
        label = f"{monitor} monitor exposes the organism at 1% FPR: catch - FPR"
        mark = verdict(per_model)
        rows.append({"finding": label, "effects": dict(zip(MODELS, per_model, strict=True)), "verdict": mark})
        table.append(f"| {label} | {cell(per_model[0])} | {cell(per_model[1])} | {mark} |")
    layer_peaks = dict(zip(MODELS, [peaks(args.smollm2_analysis), peaks(args.gemma_analysis)], strict=True))
    for method in ANALYSIS:
        shown = [
            f"layer {p[method]['layer']} of {p[method]['layers']} ({p[method]['fraction']:.2f})"
            for p in layer_peaks.values()
        ]
        table.append(
            f"| {method} peak (seed 0, position = (layer + 1) / layers) | {shown[0]} | {shown[1]} | "
            "cannot tell (1 seed, no interval) |"
        )
    audit_table, audit = audit_rows([args.smollm2_audit, args.gemma_audit])
    table.extend(audit_table)
    removal = dict(zip(MODELS, [removal_effect(args.smollm2_removal), removal_effect(args.gemma_removal)], strict=True))
    shown = []
    for model in MODELS:
        r = removal[model]
        d = r and r["delta_u"]
        if not d:
            shown.append("not run")
            continue
        nulls = ", ".join(f"{way.split('_')[0]}-matched p {p:.3f}" for way, p in r["null_p"].items())
        null = f"; null of {r['null_directions']} directions: {nulls}" if r["null_p"] else "; no null"
        shown.append(f"{r['arm']}: ΔU {d['value']:+.2f} [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]{null}")
    ran = [removal[m] and removal[m]["delta_u"] for m in MODELS]
    below = [d is not None and d and d["ci95"] is not None and d["ci95"][1] < 0 for d in ran]
    # One seed each, and the nulls differ in size: the verdict is on ΔU alone and says so.
    mark = "ΔU < 0 on both (1 seed; against its null: see the nulls)" if all(below) else "cannot tell"
    table.append(f"| removal by steering (seed 0): ΔU < 0 | {shown[0]} | {shown[1]} | {mark} |")
    header = f"| finding (effect > 0 expected) | {MODELS[0]}: seeds 0; 1; 2 | {MODELS[1]}: seeds 0; 1; 2 | verdict |"
    markdown = "\n".join([header, "|---|---|---|---|", *table]) + "\n"
    here = Path(__file__).parent
    (here / "two_models.md").write_text(markdown)
    result = {"findings": rows, "layer_peaks": layer_peaks, "audit": audit, "removal": removal}
    (here / "two_models.json").write_text(json.dumps(result, indent=1) + "\n")
    print(markdown)


if __name__ == "__main__":
    main()
