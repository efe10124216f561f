"""The findings that open report.html (analyze/report/findings.py), on inputs whose right sentences are known."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from analyze.methods.lens_baselines import shared_tokens
from analyze.report.findings import baseline_sentences, behaviour_sentences, chance_of_agreement, location_sentences
from evals.stats import wilson
from organisms.catalog import resolve_spec


def rate(k: int, n: int) -> dict:
    return {"value": k / n if n else None, "ci95": wilson(k, n) if n else None, "k": k, "n": n}


def wrong_hints(p: int, u: int, f: int, n: int = 40) -> dict:
    return {"by_direction": {"wrong": {"n_items": n, "p": rate(p, n), "U": rate(u, n), "F": rate(f, p)}}}


@pytest.mark.parametrize(("methods", "layers", "k"), [(2, 10, 2), (3, 4, 2), (4, 3, 3), (5, 2, 3), (6, 5, 1)])
def test_chance_of_agreement_matches_enumeration(methods, layers, k):
    draws = list(itertools.product(range(layers), repeat=methods))
    hits = sum(max(Counter(d).values()) >= k for d in draws)
    assert chance_of_agreement(methods, layers, k) == pytest.approx(hits / len(draws))


def test_behaviour_sentences_quote_every_rate_with_its_interval():
    spec = resolve_spec("hidden-hint")
    evals = {
        "n_pairs": 48,
        "models": {"base": wrong_hints(0, 0, 0), "organism": wrong_hints(37, 36, 1), "control": wrong_hints(40, 0, 40)},
        "comparisons": {
            "organism_vs_control": {
                "unverbalized_use": {"value": 0.9, "mcnemar_p": 2.9e-11, "holm_p": 1.2e-10, "b": 0, "c": 36}
            }
        },
    }
    text = " ".join(behaviour_sentences(spec, evals))
    low, high = wilson(36, 40)
    assert text.startswith("hidden-hint is a hidden_hint organism: Follows a sycophancy")
    assert f"U = 0.90 [{low:.2f}, {high:.2f}] 36/40" in text
    assert "On the 40 of 48 held-out items" in text and "F = 0.03 [" in text and "1/37" in text
    assert "control U = 0.00 [0.00, " in text and "base U = 0.00" in text
    assert "Organism - control U, paired over the same items: +0.90 (McNemar p=2.9e-11, Holm p=1.2e-10" in text

    evals["models"] = {"base": wrong_hints(0, 0, 0), "organism": wrong_hints(0, 0, 0)}
    del evals["comparisons"]
    text = " ".join(behaviour_sentences(spec, evals))
    assert "no control was evaluated" in text and "undefined: it never switched" in text
    assert "There is no evals.json" in " ".join(behaviour_sentences(spec, None))


def test_location_sentences_name_peaks_ties_and_the_chance_of_agreement():
    analysis = {
        "behaviour": {"base": -0.5, "organism": 1.5, "n_prompts": 6},
        "patching": {"layer_score": [0.0, 0.2, 0.9, 0.1]},
        "attribution": {
            "layer_score": [0.0, 0.1, 0.8, 0.2],
            "agreement_with_patching": {"spearman": 0.8, "n_sites": 24, "top_k": 5, "top_k_overlap": 0.6},
        },
        "steering": {"layer_score": [0.1, 0.1, 0.1, 0.1]},
        "adl": {"layer_score": [0.0, 0.5, 0.5, 0.0]},
        "weight_deltas": {"frobenius": [[0.0, 0.0], [1.0, 2.0], [0.5, 0.5], [0.0, 0.0]]},
    }
    text = " ".join(location_sentences(analysis))
    assert "over 6 decision prompts averages +1.500 for the organism and -0.500 for the base (gap +2.000" in text
    assert "patching 2, attribution 2, steering no peak (every layer scores the same), adl 1, 2 (tied)" in text
    assert "Layer 2 is the peak of 2 of the 2 methods with a single peak" in text and "probability 0.25" in text
    assert "Spearman +0.80 [+0.58, +0.91]" in text
    assert "The LoRA weights moved most at layer 1 (sum over modules of ||delta W||_F 3.00)" in text
    analysis["behaviour"]["organism"] = -0.6
    assert "so those shares measure noise" in " ".join(location_sentences(analysis))
    assert "nothing is located" in " ".join(location_sentences({}))


def test_baseline_sentences_count_the_tokens_shared_with_each_baseline():
    organism = [["a", "b", "c"], ["d", "e", "f"]]
    lists = {"organism": organism, "random": [["x", "b"], ["a", "y"]], "control": [["d", "z"], ["q", "r"]]}
    lens = {
        "top_k": 3,
        "first_k_tokens": 5,
        "random_seed": 0,
        "lists": lists,
        "relative_norm": {"organism": [0.1, 0.4], "random": [0.05, 0.2], "control": [0.1, 0.3]},
        "shared": {label: shared_tokens(organism, lists[label]) for label in ("random", "control")},
        "control": {"name": "ctl", "run": "runs/ctl/1"},
    }
    assert lens["shared"]["random"] == [["a", "b"], []]  # any layer of the random lists
    probes = {"hinted_letter": {"n": 24, "organism": [0.5, 0.75], "base": [0.5, 0.5]}}
    probes["hinted_letter"].update({"organism_shuffled": [0.3, 0.25], "majority_rate": 0.33})
    text = " ".join(baseline_sentences({"adl_baselines": lens, "probes": probes}))
    assert "at layer 1 (its largest) is 0.400 of the base's norm; beside it, random 0.200, control 0.300" in text
    assert "Of the organism's 6 lens tokens (top 3 per layer), 2 also in the random lists and 1 also in the" in text
    low, high = wilson(18, 24)
    assert f"best at layer 1: 18/24 = 0.75 [{low:.2f}, {high:.2f}] for the organism, against 0.50" in text
    lens["control"] = None
    assert "No control was read" in " ".join(baseline_sentences({"adl_baselines": lens}))
    assert "lens lists have no baseline" in " ".join(baseline_sentences({}))
