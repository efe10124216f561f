"""Result values (evals/results.py): each stored dict round-trips through its type, key order included,
and prints the cell every table has always printed; one accessor and one Markdown renderer."""

from __future__ import annotations

import pytest

from evals.render import markdown_table
from evals.results import MISSING, Difference, Estimate, PairedDifference, Rate, at, cell, read_value
from evals.stats import mover_difference, newcombe_difference, paired_difference, rate


@pytest.mark.parametrize(
    ("stored", "kind"),
    [
        (rate(20, 48), Rate),
        (rate(0, 0), Rate),
        (paired_difference([True, True, False], [False, True, True]), PairedDifference),
        (paired_difference([], []), PairedDifference),
        (newcombe_difference(3, 4, 1, 4), Difference),
        (newcombe_difference(3, 0, 1, 4), Difference),
        (mover_difference({"value": 0.5, "ci95": [0.2, 0.7]}, {"value": 0.1, "ci95": [0.0, 0.3]}), Difference),
    ],
)
def test_stored_dicts_round_trip_in_their_key_order(stored, kind):
    value = kind.from_json(stored)
    assert value.to_json() == stored and list(value.to_json()) == list(stored)


def test_every_kind_prints_its_cell():
    assert cell(rate(20, 48)) == "0.42 [0.29, 0.56] 20/48"
    assert Rate.from_json(rate(20, 48)).cell(interval=False) == "0.42 20/48"
    assert cell(rate(0, 0)) == "undef (n=0)"
    paired = paired_difference([True] * 6 + [False], [False] * 6 + [True])  # b = 6, c = 1
    assert cell(paired) == "+0.71 (McNemar p=0.12, b=6, c=1)"
    assert cell({**paired, "holm_p": None}) == "+0.71 (McNemar p=0.12, Holm p=n/a, b=6, c=1)"
    assert cell(paired_difference([], [])) == "undef (n=0)"
    assert cell({"value": 0.31, "n": 12, "ci95": [None, 0.5]}) == "0.31 [-inf, 0.50] n=12"  # an estimate
    assert Estimate(0.31, (0.1, 0.5), 12).cell(counts=False) == "0.31 [0.10, 0.50]"
    assert cell({"value": None, "ci95": None}) == "undef (n=0)"
    difference = Difference.from_json(newcombe_difference(3, 4, 1, 4))
    assert difference.cell() == "+0.50 [-0.14, +0.79]"
    assert difference.cell(signed_bounds=False) == "+0.50 [-0.14, 0.79]"
    assert Difference(None).cell() == "undef"
    assert (cell(None), cell("n/a: why"), cell(0.5), cell(True)) == ("undef", "n/a: why", "0.50", "1.00")
    assert read_value(3) == 3


def test_at_walks_a_tree_and_carries_a_suite_that_could_not_run():
    tree = {"suites": {"necessity": "n/a: needs eval.engine hf", "lanham": {"aoc": 0.1}}}
    assert at(tree, "suites", "lanham", "aoc") == 0.1
    assert at(tree, "suites", "necessity", "accuracy_cot") == "n/a: needs eval.engine hf"
    assert at(tree, "suites", "iphr", "iphr") is MISSING and not MISSING
    assert at({"a": None}, "a") is None


def test_one_markdown_table_escapes_every_cell():
    lines = markdown_table(("metric", "a|b"), [["p | q", "0.5"]], "lr")
    assert lines == ["| metric | a\\|b |", "|---|---:|", "| p \\| q | 0.5 |"]
    assert markdown_table(("x", "y"), [])[1] == "|---|---|"
