"""Logit lens, ADL and lens KL (analyze/methods/lens.py, kl.py) on the tiny model."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model

from analyze.methods.hooks import record_activations
from analyze.methods.kl import lens_kl_per_layer
from analyze.methods.lens import activation_difference_lens, logit_lens
from analyze.methods.neutral import load_neutral_texts
from runtime.models import load_model, load_tokenizer


def confined_organism(model_dir, layer: int):
    model = get_peft_model(
        load_model(str(model_dir)),
        LoraConfig(r=4, lora_alpha=8, target_modules=["o_proj", "down_proj"], layers_to_transform=[layer]),
        adapter_name="organism",
    )
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.5)
    return model.eval()


def test_logit_lens_of_the_last_residual_is_the_model_output(tiny4_model_dir):
    model = load_model(str(tiny4_model_dir))
    ids = torch.randint(0, 1000, (2, 6))
    with torch.no_grad(), record_activations(model, ("resid_post",)) as store:
        logits = model(ids).logits
    assert torch.allclose(logit_lens(model, store["blocks.3.hook_resid_post"]), logits, atol=1e-4)


def test_adl_and_lens_kl_are_zero_before_the_adapted_layer(tiny4_model_dir):
    tokenizer = load_tokenizer(str(tiny4_model_dir))
    model = confined_organism(tiny4_model_dir, 2)
    enc = tokenizer(
        load_neutral_texts()[:3], return_tensors="pt", padding=True, padding_side="right", add_special_tokens=False
    )
    task_vectors = torch.randn(4, 64)
    adl = activation_difference_lens(model, tokenizer, enc, "organism", task_vectors, k=5, top_k=3)
    assert adl["relative_norm"][:2] == [0.0, 0.0] and adl["relative_norm"][2] > 0
    assert adl["layer_score"][:2] == [0.0, 0.0] and adl["layer_score"][2] == adl["relative_norm"][2]
    assert all(len(row) == 3 and isinstance(row[0][0], str) for row in adl["top_tokens"])
    assert all(-1 <= c <= 1 for c in adl["cosine_with_task_diff"][2:])
    kl = lens_kl_per_layer(model, enc, "organism")
    assert kl["lens_kl"][0] == pytest.approx(0, abs=1e-6) and kl["lens_kl"][1] == pytest.approx(0, abs=1e-6)
    assert kl["lens_kl"][2] > 0 and kl["layer_score"][2] > 0
