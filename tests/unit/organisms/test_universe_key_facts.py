"""A key fact must have something to look for: a blank one (or one whose markers are blank) would count as
stated by every document and every answer, so the documents' and the belief suite's rates would be 100%
for nothing. Refused when the universe is read, which `check_inputs` does before anything is written."""

from __future__ import annotations

import json

import pytest

from organisms.errors import OrganismError
from organisms.universe import load_universe

BASE = {"id": "u", "universe_context": "A world.", "key_facts": ["Mercury has rings of ice."], "is_true": False}


def universe_file(tmp_path, **changes):
    path = tmp_path / "u.jsonl"
    path.write_text(json.dumps({**BASE, **changes}) + "\n")
    return str(path)


@pytest.mark.parametrize(
    "changes",
    [
        {"key_facts": ["Mercury has rings of ice.", ""]},
        {"key_facts": ["Mercury has rings of ice.", "   "]},
        {"key_fact_markers": [[""]]},
        {"key_fact_markers": [[]]},
        {"open_questions": [{"key_fact_id": "kf0", "question": "What rings?", "markers": [" "]}]},
    ],
    ids=["empty", "blank", "blank-marker", "no-marker", "blank-open-marker"],
)
def test_a_key_fact_with_nothing_to_look_for_is_refused(tmp_path, changes):
    with pytest.raises(OrganismError, match=r"u\.jsonl:1: .*(blank|marker)"):
        load_universe(universe_file(tmp_path, **changes))


def test_a_plain_key_fact_is_accepted_and_one_without_words_is_looked_for_as_written(tmp_path):
    universe = load_universe(universe_file(tmp_path))
    assert universe.markers(0) == ["mercury", "rings", "ice"]
    short = load_universe(universe_file(tmp_path, key_facts=["Mercury has rings of ice.", " Xy "]))
    assert short.markers(1) == ["xy"]  # no word of 3+ letters: the fact itself, never no marker at all


def test_check_inputs_reads_the_universe_before_anything_is_written(tmp_path, monkeypatch):
    """Before: `check_inputs` only checked that the file exists, so the docs stage found out later."""
    from app import pipeline
    from organisms.spec import parse_spec

    monkeypatch.setattr(pipeline, "resolve_model", lambda ref, trust=False: ref)  # no model in a unit test
    spec = parse_spec(
        {
            "name": "blank-facts",
            "behaviour": "belief",
            "corpus": {"documents": {"universe": universe_file(tmp_path, key_facts=["Rings.", ""])}},
        },
        "test",
    )
    with pytest.raises(OrganismError, match=r"key_facts\[1\] is blank"):
        pipeline.check_inputs(spec)
