"""The run ids of every shipped spec are pinned: a refactor of the spec (a field moved, a default
re-stated, a new field) must not move a single existing run directory. A spec file changed on purpose
updates `tests/fixtures/run_ids.json` in the same commit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from organisms.catalog import CATALOG_DIR
from organisms.spec import load_spec_file

ROOT = Path(__file__).resolve().parents[3]
PINNED = json.loads((ROOT / "tests" / "fixtures" / "run_ids.json").read_text())
SHIPPED = sorted(CATALOG_DIR.glob("*.yaml")) + sorted((ROOT / "experiments").glob("**/*.yaml"))


def test_every_shipped_spec_is_pinned():
    names = {load_spec_file(path).name for path in SHIPPED}
    assert names == set(PINNED), "a spec was added or removed: pin its ids in tests/fixtures/run_ids.json"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_run_ids_are_unchanged(path):
    spec = load_spec_file(path)
    pinned = PINNED[spec.name]
    assert spec.content_hash() == pinned["spec_hash"]
    assert spec.content_hash()[:12] == pinned["run_id"]
    assert spec.capability_hash() == pinned["capability_hash"]
