"""`organism remove` (analyze/audit/removal.py): the steering edit is applied (outputs change at a nonzero
scale, not at 0), the ablation removes exactly the direction, and the report carries U, F, no-hint accuracy
and neutral perplexity per arm (steering scales, ablation, the random-direction null) with intervals."""

from __future__ import annotations

import json

import pytest
import torch

from analyze.audit.removal import ablate, subtract
from runtime.models import load_model
from tests.helpers import cli


def test_subtract_changes_outputs_only_at_a_nonzero_scale(tiny_model_dir):
    from analyze.methods.hooks import edit_activations

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


def test_ablation_projects_the_direction_out_of_every_layer(tiny_model_dir):
    from analyze.methods.hooks import decoder_layers, edit_activations
    from runtime.activations import record_activations

    model = load_model(str(tiny_model_dir))
    n_layers = len(decoder_layers(model))
    ids = torch.tensor([[1, 5, 9, 14, 3]])
    vector = torch.randn(model.config.hidden_size)
    unit = vector / vector.norm()
    sites = [f"blocks.{layer}.hook_resid_post" for layer in range(n_layers)]
    edits = ablate(n_layers, vector)
    assert sorted(edits) == sorted(sites)
    with torch.inference_mode(), edit_activations(model, edits), record_activations(model, ("resid_post",)) as acts:
        model(input_ids=ids)
    for site in sites:  # nothing left along the direction, anywhere
        assert acts[site].float().matmul(unit).abs().max() < 1e-4


@pytest.fixture(scope="module")
def removed(tiny_pair, tmp_path_factory):
    """`organism remove` on a copy of the session's tiny organism run."""
    pair = tiny_pair.copy(tmp_path_factory.mktemp("remove") / "pair")
    out = cli("remove", pair.run, "--scales", "0,8", "--layer", "1", cwd=pair.root)
    return {"run": pair.run, "out": out}


def test_remove_reports_every_scale_with_intervals(removed):
    result = json.loads((removed["run"] / "removal.json").read_text())
    assert result["direction"] == "organism - base" and result["site"] == "blocks.1.hook_resid_post"
    assert [(a["arm"], a["scale"]) for a in result["arms"]] == [
        ("none", 0.0),
        ("steer", 8.0),
        ("ablate", None),
        ("random", 8.0),
    ]
    assert result["vector_norm"] > 0
    unsteered, steered, ablated, random_arm = result["arms"]
    for arm in result["arms"]:
        for key in ("U", "F", "p", "accuracy_no_hint"):
            assert set(arm[key]) >= {"value", "k", "n", "ci95"} and key in arm["change_from_unsteered"]
        assert arm["accuracy_no_hint"]["n"] == result["n_items"] > 0
    assert unsteered["neutral_perplexity"]["ratio_to_unsteered"] == pytest.approx(1.0)
    assert unsteered["change_from_unsteered"]["accuracy_no_hint"]["value"] == 0
    ratio = steered["neutral_perplexity"]
    assert ratio["ratio_to_unsteered"] != pytest.approx(1.0)  # the edit reached the organism's forward
    assert ratio["ratio_ci95"][0] <= ratio["ratio_to_unsteered"] <= ratio["ratio_ci95"][1]
    for arm in (ablated, random_arm):  # both edits reach the forward too
        assert arm["neutral_perplexity"]["ratio_to_unsteered"] != pytest.approx(1.0)
    md = (removed["run"] / "removal.md").read_text()
    assert md.count("\n| steer 8 |") == 1 and md.count("\n| ablate |") == 1 and md.count("\n| random 8 |") == 1
    assert "neutral ppl" in md
    assert "removal:" in removed["out"].stdout
