"""The benchmarks' option parsing (app/benchmarks/localization.py)."""

from __future__ import annotations

import pytest

from app.benchmarks.localization import parse_bands
from organisms.errors import OrganismError


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
