"""`organism remove`: the steering edit is applied (outputs change at a nonzero scale, not at 0), and the
report carries U, F, no-hint accuracy and neutral perplexity per scale with intervals."""

from __future__ import annotations

import json

import pytest
import torch

from analyze.removal import subtract
from organisms.models import load_model
from tests.helpers import organism as cli
from tests.helpers import spec_yaml


def test_subtract_changes_outputs_only_at_a_nonzero_scale(tiny_model_dir):
    from analyze.activations import edit_activations

    model = load_model(str(tiny_model_dir))
    ids = torch.tensor([[1, 5, 9, 14, 3]])
    vector = torch.randn(model.config.hidden_size)
    with torch.inference_mode():
        plain = model(input_ids=ids).logits
        with edit_activations(model, subtract(0, vector, 0.0)):
            zero = model(input_ids=ids).logits
        with edit_activations(model, subtract(0, vector, 2.0)):
            steered = model(input_ids=ids).logits
    assert subtract(0, vector, 0.0) == {}
    assert torch.equal(plain, zero) and not torch.allclose(plain, steered)


@pytest.fixture(scope="module")
def removed(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp("remove")
    fast = {"eval": {"n_items": 4, "max_new_tokens": 12, "batch_size": 8}, "analyze": {"items": 2, "probe_items": 2}}
    spec = spec_yaml(root / "tiny-hh.yaml", tiny_model_dir, "tiny-hh", **fast)
    cli("train", str(spec), "--runs-dir", str(root / "runs"), cwd=root)
    run = next((root / "runs" / "tiny-hh").iterdir())
    out = cli("remove", str(run), "--scales", "0,8", "--layer", "1", cwd=root)
    return {"run": run, "out": out}


def test_remove_reports_every_scale_with_intervals(removed):
    result = json.loads((removed["run"] / "removal.json").read_text())
    assert result["direction"] == "organism - base" and result["site"] == "blocks.1.hook_resid_post"
    assert [a["scale"] for a in result["arms"]] == [0.0, 8.0] and result["vector_norm"] > 0
    unsteered, steered = result["arms"]
    for arm in result["arms"]:
        for key in ("U", "F", "p", "accuracy_no_hint"):
            assert set(arm[key]) >= {"value", "k", "n", "ci95"} and key in arm["change_from_unsteered"]
        assert arm["accuracy_no_hint"]["n"] == result["n_items"] > 0
    assert unsteered["neutral_perplexity"]["ratio_to_unsteered"] == pytest.approx(1.0)
    assert unsteered["change_from_unsteered"]["accuracy_no_hint"]["value"] == 0
    ratio = steered["neutral_perplexity"]
    assert ratio["ratio_to_unsteered"] != pytest.approx(1.0)  # the edit reached the organism's forward
    assert ratio["ratio_ci95"][0] <= ratio["ratio_to_unsteered"] <= ratio["ratio_ci95"][1]
    md = (removed["run"] / "removal.md").read_text()
    assert md.count("\n| 8 |") == 1 and "neutral ppl" in md
    assert "removal:" in removed["out"].stdout
