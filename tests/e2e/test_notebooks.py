"""The notebooks run top to bottom on the tiny model (nbclient) and show a reader their findings."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tests.helpers import REPO

NOTEBOOK_DIR = REPO / "notebooks"


# What each executed notebook must show: its findings in text, and its plots as images.
FINDINGS = {
    "build_an_organism": ["p  = P(a_h=h | a_u!=h)", "F  = P(verbalized | switched)", "organism", "control"],
    "locate_the_mechanism": ["metric base / organism:", "layer score:", "attribution vs patching:"],
    "audit_an_organism": [
        "| base | organism | control |",
        "| rung | organism [95% CI] | control [95% CI] | organism - control [95% CI] | organism | control | reading |",
        "| prompting |",
        "| weights |",
        "blind verdict:",
        "## Hypotheses (ranked by the lower end of the interval)",
        "| 1 |",
    ],
}


IMAGES = {"build_an_organism": 0, "locate_the_mechanism": 5, "audit_an_organism": 1}


def _shown(notebook) -> tuple[str, int]:
    """All text a reader sees in the outputs, and how many PNG images."""
    texts, images = [], 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            texts.append(output.get("text", ""))
            data = output.get("data", {})
            texts += [data.get("text/plain", ""), data.get("text/markdown", "")]
            images += "image/png" in data
    return "\n".join(texts), images


@pytest.mark.parametrize("name", FINDINGS)
def test_notebook_shows_its_findings(name, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTEBOOK_MODEL", "tiny")
    notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    # A cell's limit, not a speed check: build_an_organism's training cell took 600 s of a 2-core
    # machine with an experiment running beside the suite (41 min CI), so 600 s was no margin.
    NotebookClient(
        notebook, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()  # raises on the first failing cell, including the notebooks' own asserts
    text, images = _shown(notebook)
    for finding in FINDINGS[name]:
        assert finding in text, finding
    assert images >= IMAGES[name]
