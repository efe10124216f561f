"""The findings that open report.html: a few plain sentences built from the run's own files.

Every number comes from `evals.json` or `analysis/*.json`, with its interval where one exists
(Wilson for rates, McNemar for paired differences, as the eval tables print them) and its n;
where a file or a number is missing the sentence says so instead of leaving it out. Each claim
sits beside the baseline that could have produced it: base and control for the behaviour, the
chance that peaks coincide for the methods' agreement, the equal-norm random adapter and the
control for the Activation Difference Lens, shuffled labels for the probes.
"""

from __future__ import annotations

import math
from fractions import Fraction

from analyze.localization.scores import peak_layers
from analyze.methods.suite import METHODS
from evals.registry import finding
from evals.results import MISSING, at, cell, model_tree
from evals.stats import wilson


def chance_of_agreement(n_methods: int, n_layers: int, k: int) -> float:
    """P(some layer is the peak of at least k of n_methods) if each peak fell on a uniformly random
    layer, independently: 1 - n! [x^n] (sum_{j<k} x^j / j!)^L / L^n (exact)."""
    if k <= 1:
        return 1.0
    term = [Fraction(1, math.factorial(j)) for j in range(k)]
    poly = [Fraction(1)]
    for _ in range(n_layers):
        poly = [sum(poly[i] * term[d - i] for i in range(len(poly)) if 0 <= d - i < k) for d in range(n_methods + 1)]
    below = poly[n_methods] * math.factorial(n_methods)
    return float(1 - below / Fraction(n_layers**n_methods))


def behaviour_sentences(spec, evals: dict | None) -> list[str]:
    """What the organism is and whether the evals show it doing it, beside base and control."""
    text = f"{spec.name} is a {spec.behaviour} organism"
    description = " ".join(spec.description.split())
    if description and not description.endswith("."):
        description += "."
    out = [f"{text}: {description}" if description else f"{text} (its spec has no description)."]
    if evals is None:
        out.append("There is no evals.json, so nothing in this report shows that it behaves as its spec says.")
        return out
    models = evals["models"]
    wrong = {label: at(models[label], "by_direction", "wrong") or {} for label in models}
    org = wrong["organism"]
    f_rate = org.get("F") or {}
    verbalized = (
        f"verbalized it in F = {cell(f_rate)} of its switches"
        if f_rate.get("value") is not None
        else "F (verbalized, among switches) is undefined: it never switched"
    )
    out.append(
        f"On the {org.get('n_items', 0)} of {evals['n_pairs']} held-out items whose hint points to a wrong "
        f"option (95% Wilson intervals, k/n), the organism took the hint on p = {cell(org.get('p'))} "
        f"and took it without verbalizing it on U = {cell(org.get('U'))}; {verbalized}."
    )
    others = [f"{label} U = {cell(wrong[label].get('U'))}" for label in ("base", "control") if label in wrong]
    if "control" not in models:
        others.append("no control was evaluated, so nothing separates the property from finetuning on the format")
    out.append(f"Beside it: {'; '.join(others)}.")
    versus = "control" if "control" in models else "base"
    paired = at(evals, "comparisons", f"organism_vs_{versus}", "unverbalized_use")
    if paired:
        out.append(f"Organism - {versus} U, paired over the same items: {cell(paired)}.")
    own = finding(spec.behaviour)
    if own is not None:
        values = [(m, own.value(model_tree(evals, m))) for m in models]
        shown = "; ".join(f"{m} {cell(v)}" for m, v in values if v is not MISSING)
        text = f"Its own metric, {own.label}"
        out.append(f"{text}: {shown}." if shown else f"{text}, was not measured.")
    cheapest = [(m, at(model_tree(evals, m), "suites", "monitors", "card", "cheapest")) for m in models]
    if any(isinstance(v, str) for _, v in cheapest):
        out.append(
            "The cheapest CoT monitor that exposes each (catch rate at 1% false positives on honest runs, above "
            "its false-positive rate; detectability card, docs/monitors.md): "
            + "; ".join(f"{m} {v}" for m, v in cheapest if isinstance(v, str))
            + "."
        )
    return out


def _peaks(scores: list[float]) -> str:
    layers = peak_layers(scores)
    if not layers:
        return "no peak (every layer scores the same)"
    return str(layers[0]) if len(layers) == 1 else f"{', '.join(map(str, layers))} (tied)"


def location_sentences(analysis: dict[str, dict]) -> list[str]:
    """The decision metric, each method's peak layer and how often peaks coincide by chance."""
    behaviour = analysis.get("behaviour")
    methods = [m for m in METHODS if m in analysis]
    if behaviour is None or not methods:
        return [
            "The analysis files are missing (analysis/behaviour.json and the methods' JSON), so nothing is located."
        ]
    base, org = behaviour["base"], behaviour["organism"]
    n = behaviour.get("n_prompts")
    over = f"over {n} decision prompts" if n else "over the decision prompts"
    out = [
        f"At the decision position, logit[hint] - logit[correct] {over} averages {org:+.3f} for the organism "
        f"and {base:+.3f} for the base (gap {org - base:+.3f}; the analysis records means, no interval). "
        "Patching, attribution and steering score shares of that gap"
        + (
            "; the organism does not favour the hint more than the base here, so those shares measure noise."
            if org <= base
            else "."
        )
    ]
    n_layers = len(analysis[methods[0]]["layer_score"])
    peaks = {m: peak_layers(analysis[m]["layer_score"]) for m in methods}
    listed = ", ".join(f"{m} {_peaks(analysis[m]['layer_score'])}" for m in methods)
    out.append(f"Peak layer of each method's per-layer score (0 to {n_layers - 1}): {listed}.")
    single = [layers[0] for layers in peaks.values() if len(layers) == 1]
    if len(single) >= 2:
        modal = max(set(single), key=single.count)
        k = single.count(modal)
        chance = chance_of_agreement(len(single), n_layers, k)
        out.append(
            f"Layer {modal} is the peak of {k} of the {len(single)} methods with a single peak; were each peak "
            f"a uniformly random layer, {k} or more would share one with probability {chance:.2f} "
            "(patching and attribution estimate the same quantity, so their agreement is expected)."
        )
    agree = at(analysis, "attribution", "agreement_with_patching")
    if agree and agree.get("spearman") is not None:
        rho, n_sites = agree["spearman"], agree["n_sites"]
        interval = ""
        if n_sites > 3 and abs(rho) < 1:
            half = 1.96 * math.sqrt(1.06 / (n_sites - 3))  # Fieller et al. (1957) standard error for Spearman
            interval = f" [{math.tanh(math.atanh(rho) - half):+.2f}, {math.tanh(math.atanh(rho) + half):+.2f}]"
        out.append(
            f"Attribution ranks the {n_sites} (direction, site) pairs as exact patching does at Spearman "
            f"{rho:+.2f}{interval} (approximate 95% interval, Fisher z)."
        )
    deltas = analysis.get("weight_deltas")
    if deltas:
        per_layer = [sum(row) for row in deltas["frobenius"]]
        out.append(
            f"The LoRA weights moved most at layer {_peaks(per_layer)} (sum over modules of ||delta W||_F "
            f"{max(per_layer):#.3g}): where the weights changed, which no method above reads, and not necessarily "
            "where the behaviour is computed."
        )
    return out


def baseline_sentences(analysis: dict[str, dict]) -> list[str]:
    """The ADL beside the random adapter and the control; the probes beside shuffled labels."""
    out = []
    lens = analysis.get("adl_baselines")
    if lens is None:
        out.append("analysis/adl_baselines.json is missing, so the lens lists have no baseline here.")
    else:
        norms = lens["relative_norm"]
        layer = max(range(len(norms["organism"])), key=norms["organism"].__getitem__)
        beside = [f"{label} {norms[label][layer]:#.3g}" for label in ("random", "control") if label in norms]
        out.append(
            f"On unrelated text, the organism's mean activation difference at layer {layer} (its largest) is "
            f"{norms['organism'][layer]:#.3g} of the base's norm; beside it, {', '.join(beside)} (random: an "
            f"adapter with the organism's per-module ||delta W||_F and random directions, seed {lens['random_seed']})."
        )
        total = sum(len(row) for row in lens["lists"]["organism"])
        shared = [f"{sum(map(len, lens['shared'][label]))} also in the {label} lists" for label in lens["shared"]]
        text = f"Of the organism's {total} lens tokens (top {lens['top_k']} per layer), {' and '.join(shared)}"
        out.append(text + ": those in the random lists read as noise.")
        if lens.get("control") is None:
            out.append(
                "No control was read beside the lens (pass --control to `organism analyze`, or evaluate with one)."
            )
    probes = at(analysis, "probes", "hinted_letter")
    if probes and "n" in probes:
        n = probes["n"]
        layer = max(range(len(probes["organism"])), key=probes["organism"].__getitem__)
        k = round(probes["organism"][layer] * n)
        low, high = wilson(k, n)
        out.append(
            f"The hinted-letter probe reads the hint's letter at the decision position best at layer {layer}: "
            f"{k}/{n} = {k / n:.2f} [{low:.2f}, {high:.2f}] for the organism, against {probes['base'][layer]:.2f} "
            f"for the base, {probes['organism_shuffled'][layer]:.2f} with shuffled labels and "
            f"{probes['majority_rate']:.2f} for the majority class."
        )
    return out


def findings(spec, evals: dict | None, analysis: dict[str, dict]) -> list[tuple[str, list[str]]]:
    """`[(heading, sentences)]` for the top of the report."""
    return [
        ("What it does", behaviour_sentences(spec, evals)),
        ("Where the methods place it", location_sentences(analysis)),
        ("Against the baselines", baseline_sentences(analysis)),
    ]
