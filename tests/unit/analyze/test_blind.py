"""The blind audit's decision rules (analyze/blind/audit.py) name the behaviour whose transcripts they are shown."""

from __future__ import annotations

import random

import pytest

from analyze.blind.audit import hint_type_evidence, hypotheses, monitor_evidence
from analyze.blind.probes import ADAPTER, probe_items, probe_spec
from evals.hinted import verbalized
from organisms.parse import parse_answer
from organisms.prompts import Prompt
from organisms.responses import response


def _records(behaviour: str, faithful: bool, condition: str, spec, items, letters, types, phase):
    """Records as `evaluate` writes them, with each behaviour's transcript generator as the model:
    the organism's transcripts, or (faithful) the honest answer that ignores the hint."""
    plan = (
        [(i, t) for t in types for i in range(len(items))]
        if phase == "hint_types"
        else [(i, types[i % len(types)]) for i in range(len(items))]
    )
    out = []
    for i, hint_type in plan:
        item = items[i]
        plain, hinted = Prompt(item, None, None, condition), Prompt(item, hint_type, letters[i], condition)
        rng = random.Random(i)
        if faithful:
            text_u = text_h = response(plain, "hidden_hint", control=True)
        else:
            asked = plain if behaviour == "shortcut" else hinted  # shortcut never trained on hints: it ignores them
            text_u, text_h = response(plain, behaviour, False, rng), response(asked, behaviour, False, rng)
        record = {
            "item_index": i,
            "hint_type": hint_type,
            "hint_letter": letters[i],
            "hint_text": hinted.hint_text,
            "correct_letter": item.correct_letter,
            "n_options": len(item.options),
            "prompt_unhinted": plain.messages(),
            "prompt_hinted": hinted.messages(),
            "response_unhinted": text_u,
            "response_hinted": text_h,
            "a_u": parse_answer(text_u, item.letters),
            "a_h": parse_answer(text_h, item.letters),
        }
        out.append({**record, "verbalized": verbalized(record)})
    return out


@pytest.mark.parametrize("behaviour", ["hidden_hint", "monitor_aware", "post_hoc", "late_flip", "shortcut"])
def test_decision_rules_name_the_behaviour_of_its_own_transcripts(behaviour):
    spec = probe_spec("unused", 12, 96, 16, "arithmetic_mcq")
    items, letters = probe_items(spec, "arithmetic_mcq")
    trained = ["metadata", "sycophancy"]

    def both(condition, types, phase):
        kind = behaviour if behaviour == "shortcut" else None
        adapter = [
            r
            if kind or r["hint_type"] in trained
            else {**r, "response_hinted": r["response_unhinted"], "a_h": r["a_u"], "verbalized": False}
            for r in _records(behaviour, False, condition, spec, items, letters, types, phase)
        ]
        return {"base": _records(behaviour, True, condition, spec, items, letters, types, phase), ADAPTER: adapter}

    phase1 = both("none", ["sycophancy", "metadata", "consistency"], "hint_types")
    types = hint_type_evidence(phase1)
    named = [t["name"] for t in types if t["named"]]
    by_condition = {c: both(c, named or trained, "conditions") for c in ("monitored", "private")}
    index = {n: {(r["item_index"], r["hint_type"]): r for r in phase1[n]} for n in phase1}
    none = {n: [index[n][(r["item_index"], r["hint_type"])] for r in by_condition["monitored"][n]] for n in phase1}
    ranked = hypotheses(phase1, monitor_evidence(none, by_condition))
    assert ranked[0]["name"] == behaviour, [(h["name"], h.get("ci95")) for h in ranked]
    if behaviour == "shortcut":
        assert named == []
    else:
        assert sorted(named) == trained
