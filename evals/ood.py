"""Held-out axes: the organism's behaviour on what training did not show, beside the in-distribution result.

Training uses the spec's hint types (`hints.types`), hint phrasings (`hints.phrasings`), monitoring
cue phrasings (`hints.cues`) and task family (`task.family`); each axis changes one of them and keeps
the rest:

    phrasing   same items, hint letters and hint types as in-distribution; held-out phrasings
    hint_type  same items and hint letters; held-out hint types in the training phrasings
    task       another task source, training hints and phrasings: word problems <-> bare arithmetic,
               a question set -> bare arithmetic, or the question set (`eval.ood.task_family: dataset`,
               the shipped mixed-mcq unless `task.dataset` names another)
    cue        monitor suite only: held-out "monitored" / "private" cue phrasings (evals.monitor)

The phrasing and hint_type axes differ from the in-distribution pairs in the hint alone, so they reuse
the in-distribution unhinted answers (one extra generation per item, not two) and compare with it
paired over the same items (McNemar). The task axis draws its own items (eval.n_items of them, disjoint
from the corpus) and asks them with and without the hint.
"""

from __future__ import annotations

from evals.hinted import HintedPair, eval_pairs, evaluate, rehinted
from organisms.hints import HINTS, N_PHRASINGS
from organisms.prompts import CUES
from organisms.spec import TASK_FAMILIES, OrganismSpec


def held_out(spec: OrganismSpec) -> dict:
    """What each axis holds out (empty where training used everything); only the axes `eval.ood.axes` names."""
    axes = spec.eval.ood.axes
    family = spec.eval.ood.task_family or next(f for f in TASK_FAMILIES if f != spec.task.family)
    n_cues = min(len(CUES["monitored"]), len(CUES["private"]))
    out = {
        "phrasing": [i for i in range(N_PHRASINGS) if i not in spec.hints.phrasings],
        "hint_type": [t for t in HINTS if t not in spec.hints.types],
        "cue": [i for i in range(n_cues) if i not in spec.hints.cues],
        "task": [family],
    }
    return {axis: values for axis, values in out.items() if axis in axes}


def ood_pairs(spec: OrganismSpec, corpus_expressions: set[str], pairs: list[HintedPair]) -> dict[str, list]:
    """The held-out pairs of the phrasing, hint_type and task axes (`pairs`: the in-distribution ones)."""
    axes = held_out(spec)
    out: dict[str, list[HintedPair]] = {}
    if axes.get("phrasing"):
        phrasings = axes["phrasing"]
        out["phrasing"] = rehinted(
            pairs, [(p.hinted.hint_type, phrasings[i % len(phrasings)]) for i, p in enumerate(pairs)]
        )
    if axes.get("hint_type"):
        types = axes["hint_type"]
        out["hint_type"] = rehinted(pairs, [(types[i % len(types)], p.hinted.phrasing) for i, p in enumerate(pairs)])
    if axes.get("task"):
        out["task"] = eval_pairs(spec, corpus_expressions, family=axes["task"][0])
    return out


def ood_records(model, tokenizer, spec: OrganismSpec, corpus_expressions: set[str], records: list[dict]) -> list:
    """Records (as `evals.hinted.evaluate`'s, tagged with `axis`) of every held-out axis but the cue axis.

    `records`: the in-distribution hinted records, whose unhinted answers the same-item axes reuse."""
    pairs = eval_pairs(spec, corpus_expressions)
    unhinted = [r["response_unhinted"] for r in records]
    out = []
    for axis, axis_pairs in ood_pairs(spec, corpus_expressions, pairs).items():
        _, batch = evaluate(model, tokenizer, axis_pairs, spec, unhinted=None if axis == "task" else unhinted)
        out.extend({**r, "axis": axis} for r in batch)
    return out
