"""The equal-norm random adapter (analyze/methods/random_adapter.py)."""

from __future__ import annotations

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file

from analyze.methods.random_adapter import equal_norm_random_adapter
from analyze.methods.weights import lora_deltas
from runtime.models import load_model


def test_equal_norm_random_adapter_keeps_every_norm_and_draws_new_directions(tiny_model_dir, tmp_path):
    model = get_peft_model(
        load_model(str(tiny_model_dir)), LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "down_proj"])
    )
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_()
    model.save_pretrained(tmp_path / "organism")
    organism = tmp_path / "organism"
    null = equal_norm_random_adapter(organism, tmp_path / "random", seed=0)
    real, rand = lora_deltas(organism, n_layers=2), lora_deltas(null, n_layers=2)
    assert rand["modules"] == real["modules"] == ["down_proj", "q_proj"]
    assert torch.allclose(torch.tensor(rand["frobenius"]), torch.tensor(real["frobenius"]), rtol=1e-5)
    assert all(v > 0 for row in real["frobenius"] for v in row)
    weights, random_weights = (
        load_file(str(organism / "adapter_model.safetensors")),
        load_file(str(null / "adapter_model.safetensors")),
    )
    assert set(weights) == set(random_weights)
    for key_a in (k for k in weights if "lora_A" in k):
        key_b = key_a.replace("lora_A", "lora_B")
        delta = (weights[key_b] @ weights[key_a]).flatten()
        random_delta = (random_weights[key_b] @ random_weights[key_a]).flatten()
        assert abs(float(torch.nn.functional.cosine_similarity(delta, random_delta, dim=0))) < 0.3, key_a
    again = load_file(
        str(equal_norm_random_adapter(organism, tmp_path / "again", seed=0) / "adapter_model.safetensors")
    )
    other = load_file(
        str(equal_norm_random_adapter(organism, tmp_path / "other", seed=1) / "adapter_model.safetensors")
    )
    assert all(torch.equal(again[k], random_weights[k]) for k in weights)  # seeded
    assert not any(torch.equal(other[k], random_weights[k]) for k in weights)
    PeftModel.from_pretrained(load_model(str(tiny_model_dir)), str(null))  # a loadable adapter
