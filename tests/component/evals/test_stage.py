"""The eval stage (evals/stage.py) on a bare adapter: outputs written, foreign directories refused."""

from __future__ import annotations

import json
import shutil

from tests.helpers import cli


def test_eval_of_a_bare_adapter_writes_outputs_and_refuses_foreign_dirs(tiny_pair, tmp_path):
    adapter = tmp_path / "my-adapter"
    shutil.copytree(tiny_pair.run / "adapter", adapter)
    control_adapter = tiny_pair.control_run / "adapter"
    out = tmp_path / "out"
    result = cli("eval", adapter, "--control", control_adapter, "--out", out, cwd=tmp_path)
    assert "wrote" in result.stdout
    evals = json.loads((out / "evals.json").read_text())
    assert set(evals["models"]) == {"base", "organism", "control"}
    assert evals["organism"] == "tiny-hidden-hint"  # spec read from the organism card
    run_evals = json.loads((tiny_pair.run / "evals.json").read_text())
    assert evals["models"]["organism"] == run_evals["models"]["organism"]  # same items, same greedy answers
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    refused = cli("eval", adapter, "--out", tmp_path / "foreign", expect=2)
    assert "holds other files" in refused.stderr
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "mine"
    (adapter / "organism_card.json").unlink()
    assert "--spec" in cli("eval", adapter, expect=2).stderr
    assert "adapter directories" in cli("eval", tiny_pair.run, "--base", "x", expect=2).stderr
