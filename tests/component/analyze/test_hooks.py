"""Activation hooks (analyze/methods/hooks.py): every site with its documented shape, starting at a layer,
bad sites refused."""

from __future__ import annotations

import pytest
import torch

from analyze.methods.hooks import (
    decoder_layers,
    edit_activations,
    parse_site,
    record_activations,
    site_name,
    start_at_layer,
)
from runtime.models import load_model
from tests.helpers import perturbed_organism


def test_hooks_capture_every_site_with_documented_shapes(tiny_model_dir):
    model = load_model(str(tiny_model_dir))
    ids = torch.randint(0, 1000, (3, 7))
    with torch.no_grad():
        model(ids, output_hidden_states=True)  # transformers installs its own capture hooks on first use
    hooks_before = [len(m._forward_hooks) for m in model.modules()]
    with torch.no_grad(), record_activations(model) as store:
        out = model(ids, output_hidden_states=True)
    assert len(store) == 2 * 3
    for layer in range(2):
        for kind in ("resid_post", "attn_out", "mlp_out"):
            assert store[site_name(layer, kind)].shape == (3, 7, 64)
    # resid_post of the first layer is HF's hidden_states[1] (hidden_states[0] is the embedding)
    assert torch.allclose(store["blocks.0.hook_resid_post"], out.hidden_states[1], atol=1e-5)
    # our hooks are removed afterwards (transformers may keep its own)
    assert [len(m._forward_hooks) for m in model.modules()] == hooks_before


def test_start_at_layer_reproduces_the_full_forward(tiny4_model_dir, task):
    model = perturbed_organism(tiny4_model_dir, None)
    with torch.no_grad(), record_activations(model, ("resid_post",)) as store:
        full = model(**task.enc).logits
    resid = store["blocks.1.hook_resid_post"]
    with torch.no_grad(), start_at_layer(model, 2, resid):
        resumed = model(**task.enc).logits
    with torch.no_grad(), start_at_layer(model, 2, torch.zeros_like(resid)):
        from_zeros = model(**task.enc).logits  # layers 0-1 really are skipped: their output is what we give
    assert torch.allclose(resumed, full, atol=1e-5) and not torch.allclose(from_zeros, full, atol=1e-2)
    assert "forward" not in vars(decoder_layers(model)[0])  # the layers' own forward is back
    with pytest.raises(ValueError, match="needs the residual stream"), start_at_layer(model, 1, None):
        pass


def test_edit_activations_rejects_bad_sites(tiny4_model_dir):
    model = load_model(str(tiny4_model_dir))
    with pytest.raises(ValueError, match="4 layers"), edit_activations(model, {"blocks.9.hook_mlp_out": lambda h: h}):
        pass
    with pytest.raises(ValueError, match="not a site name"):
        parse_site("blocks.1.hook_resid_pre")
    assert parse_site("blocks.3.hook_attn_out") == (3, "attn_out")
