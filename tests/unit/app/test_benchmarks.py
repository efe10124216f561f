"""The benchmarks' option parsing (app/benchmarks/localization.py, app/benchmarks/audit.py)."""

from __future__ import annotations

import re

import pytest

from app.benchmarks.audit import parse_entries, parse_entry
from app.benchmarks.localization import parse_bands
from organisms.errors import OrganismError
from tests.helpers import assert_one_line_error, cli


def test_parse_bands_checks_range_and_overlap():
    assert parse_bands("0-1, 3 ,4-5", 6) == [[0, 1], [3], [4, 5]]
    bad_bands = (
        ("0-6", "outside"),
        ("0-2,2-3", "overlap"),
        ("a-b", "cannot read"),
        ("3-1", "outside"),
        ("0-5", "every"),
    )
    for bad, message in bad_bands:
        with pytest.raises(OrganismError, match=message):
            parse_bands(bad, 6)


def test_bench_audit_entries_name_a_spec_or_the_random_lora_of_one():
    entries = parse_entries("hidden-hint, random-lora:hidden-hint,random-lora:post-hoc@3")
    assert [(e.name, e.random_seed) for e in entries] == [
        ("hidden-hint", None),
        ("random-lora-hidden-hint-seed0", 0),
        ("random-lora-post-hoc-seed3", 3),
    ]
    assert parse_entries("random-lora:hidden-hint@1")[0].spec.name == "hidden-hint"
    assert parse_entry(" random-lora : hidden-hint@2 ").random_seed == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("random-lora", "name the organism whose adapter it randomizes"),
        ("random-lora:", "name the organism whose adapter it randomizes"),
        ("random-lora:@2", "name the organism whose adapter it randomizes"),
        ("random-lora:hidden-hint@", "the seed after '@' is a non-negative integer"),
        ("random-lora:hidden-hint@-1", "the seed after '@' is a non-negative integer"),
        ("random-lora:hidden-hint@one", "the seed after '@' is a non-negative integer"),
        ("random-lora:random-lora:hidden-hint", "not another random LoRA"),
        ("random-lora:no-such-organism", "--specs 'random-lora:no-such-organism': unknown organism 'no-such-organism'"),
        ("hidden-hint,random-lora:hidden-hint@0,random-lora:hidden-hint", "random-lora-hidden-hint-seed0 listed twice"),
        (" , ", "name at least one organism"),
    ],
)
def test_bench_audit_entries_refuse_bad_syntax(text, message):
    with pytest.raises(OrganismError, match=re.escape(message)):
        parse_entries(text)


def test_bench_audit_refuses_a_bad_entry_in_one_line(tmp_path):
    result = cli("bench-audit", "--specs", "random-lora:hidden-hint@x", "--runs-dir", tmp_path / "runs", expect=2)
    assert_one_line_error(result, "the seed after '@' is a non-negative integer", tmp_path / "runs")
