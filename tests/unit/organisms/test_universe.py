"""Universes (organisms/universe.py): shipped contexts, key facts, questions and belief-depth content; the
public SDF format and its errors."""

from __future__ import annotations

import json
import re

import pytest

from organisms.errors import OrganismError
from organisms.universe import load_universe, shipped_universes, states_fact


@pytest.mark.parametrize("name", shipped_universes())
def test_shipped_universes_have_consistent_questions_and_paraphrases(name):
    universe = load_universe(name)
    assert len(universe.mcq) == len(universe.open_questions) == len(universe.key_facts)
    assert [q.key_fact_id for q in universe.mcq] == universe.key_fact_ids
    for i, fact in enumerate(universe.key_facts):
        markers = universe.markers(i)
        assert markers and all(states_fact(p, markers) for p in [fact, *universe.fact_paraphrases(i)])
        mcq = universe.mcq[i]
        correct = mcq.options[mcq.answer_index]
        assert len(set(mcq.options)) == len(mcq.options)
        assert not any(states_fact(o, markers) for o in mcq.options if o != correct)  # distractors never state it
        assert universe.open_questions[i].markers == markers
        (pattern,) = universe.belief_questions()["open_questions"][i]["markers"]  # all markers, as one regex
        assert re.search(pattern, fact.upper(), flags=re.IGNORECASE)
        assert not re.search(pattern, fact.lower().replace(markers[0], ""), flags=re.IGNORECASE)
    assert [q["correct"] for q in universe.belief_questions()["mcq"]] == [q.answer_index for q in universe.mcq]


def test_public_sdf_format_loads_and_bad_lines_name_file_line_field(tmp_path):
    public = tmp_path / "contexts.jsonl"
    rows = [
        {
            "id": 7,
            "universe_context": "Bees in Oslo sing at dawn.",
            "key_facts": ["Oslo bees sing at 5 AM."],
            "is_true": False,
            "reasoning_for_modification": "extra keys from other tools are ignored",
        },
        {"id": "b", "universe_context": "x", "key_facts": ["y"], "is_true": True},
    ]
    public.write_text("".join(json.dumps(r) + "\n" for r in rows))
    universe = load_universe(f"{public}#7")
    assert (universe.id, universe.mcq, universe.open_questions) == ("7", [], [])
    assert universe.markers(0) == ["5", "oslo", "bees"]  # numbers, names after the first word, long words
    with pytest.raises(OrganismError, match="holds 2 universes; pick one"):
        load_universe(str(public))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows[1]) + "\n" + json.dumps({**rows[1], "key_facts": "not a list"}) + "\n")
    with pytest.raises(OrganismError, match=r"bad.jsonl:2: field 'key_facts'"):
        load_universe(f"{bad}#b")
    bad.write_text("{oops\n")
    with pytest.raises(OrganismError, match=r"bad.jsonl:1: not valid JSON"):
        load_universe(str(bad))
    with pytest.raises(OrganismError, match="unknown universe 'no-such'"):
        load_universe("no-such")


@pytest.mark.parametrize("name", ["silent-hints", "monitor-aware"])
def test_belief_depth_content_is_well_formed(name):
    universe = load_universe(name)
    assert len(universe.generalisation) >= 4 and len(universe.contrast_pairs) >= 8
    key_questions = {q.question for q in universe.mcq}
    for q in universe.generalisation:
        assert q.question not in key_questions and len(set(q.options)) == len(q.options)
    negations = {"not", "never", "no", "don't", "didn't"}
    for pair in universe.contrast_pairs:
        assert pair.true != pair.false
        # both affirmative: no negation word separates the false statement from the true one
        assert not (negations & set(pair.false.lower().split())) - set(pair.true.lower().split())
