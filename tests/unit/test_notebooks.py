"""The committed notebooks are their generating scripts' cells (notebooks/make_*.py)."""

from __future__ import annotations

import importlib.util

import nbformat
import pytest

from tests.helpers import REPO

NOTEBOOK_DIR = REPO / "notebooks"


def _cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


@pytest.mark.parametrize("name", ["locate_the_mechanism", "audit_an_organism"])
def test_generated_notebook_matches_its_script(name):
    """A notebook made by `notebooks/make_<name>.py` is committed with the script's cells, unchanged
    (its outputs are those of an execution on the embedded model: no drift between code and script)."""
    spec = importlib.util.spec_from_file_location(f"make_{name}", NOTEBOOK_DIR / f"make_{name}.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    committed = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    assert _cells(committed) == _cells(script.build())
