"""The suite registry (evals/registry.py) against the spec's suite names, and which suites a spec runs."""

from __future__ import annotations

from typing import get_args

import pytest

from evals.registry import SECTION_ORDER, SUITES, parts, running, sections
from organisms.spec import EvalSuite, parse_spec


def test_the_spec_names_exactly_the_registered_suites():
    suites = {s.name for s in SUITES if s.part_of is None}
    assert suites == set(get_args(EvalSuite)), "a suite is one file plus one line in evals/registry.py and EvalSuite"
    order = [s.name for s in SUITES]
    assert len(set(order)) == len(order)
    for i, suite in enumerate(SUITES):
        assert suite.part_of is None or suite.part_of in suites, suite.name
        assert set(suite.needs) <= set(order[:i]), f"{suite.name}: what it needs runs before it"


def test_every_section_has_its_place_in_evals_md():
    titles = [section.title for section in sections()]
    assert titles == list(SECTION_ORDER)
    labels = [(section.title, row.label) for section in sections() for row in section.rows]
    assert len(labels) == len(set(labels)), "two rows of one section share a label"


def _spec(**eval_overrides) -> object:
    data = {"name": "x", "behaviour": "hidden_hint", "eval": eval_overrides}
    return parse_spec(data, "x.yaml")


@pytest.mark.parametrize(
    ("suites", "expected"),
    [
        (None, ["hinted", "lanham", "ood", "iphr", "monitors"]),  # the default for a hidden_hint organism
        (["lanham"], ["hinted", "lanham"]),  # lanham reads the hinted records; the held-out axes need `hinted`
        (["monitor"], ["monitor"]),
        (["belief", "iphr"], ["iphr", "belief", "belief_depth"]),  # registry order, the belief suite's depth part
    ],
)
def test_running_adds_parts_and_needs_in_registry_order(suites, expected):
    spec = _spec() if suites is None else _spec(suites=suites)
    assert [s.name for s in running(spec)] == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (_spec(), [("hinted",), ("ood", "monitors"), ("lanham", "iphr")]),  # the demo's tables 1-2, 3, 4
        (parse_spec({"name": "m", "behaviour": "monitor_aware"}, "m.yaml"), None),
        (_spec(suites=["lanham"]), [("hinted",), ("lanham",)]),
        (_spec(suites=["iphr"]), [("iphr",)]),  # no hinted pairs: one part, the whole eval
    ],
)
def test_parts_split_the_running_suites_in_order_with_the_monitors_after_what_they_read(spec, expected):
    split = parts(spec)
    order = [s.name for s in running(spec)]
    names = [name for part in split for name in part]
    assert sorted(names) == sorted(order) and len(names) == len(set(names)), "each suite once"
    assert all(list(part) == [n for n in order if n in part] for part in split), "registry order in a part"
    if expected is not None:
        assert split == expected
    for i, part in enumerate(split):  # the monitors read the hinted, held-out and monitor-awareness records
        if "monitors" in part:
            later = {name for each in split[i + 1 :] for name in each}
            assert not later & {"hinted", "ood", "monitor"}


def test_sections_of_some_suites_hold_only_their_rows():
    only = {section.title for section in sections(("ood", "monitors"))}
    assert only and only < {section.title for section in sections()}
    assert not any(title.startswith("Hint to a wrong option") for title in only)
