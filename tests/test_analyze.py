"""Hooks, token groups and LoRA weight deltas, checked against values known by construction."""

from __future__ import annotations

import json

import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file, save_file
from torch import nn

from analyze.methods.diffing import diff_norms, group_positions
from analyze.methods.hooks import _first_tensor, decoder_layers, record_activations, site_name
from analyze.methods.random_adapter import equal_norm_random_adapter
from analyze.methods.weights import lora_deltas
from runtime.generation import chat_texts
from runtime.models import load_model, load_tokenizer


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


def test_first_tensor_handles_tensor_and_tuple_outputs():
    t = torch.ones(2, 3, 4)
    assert _first_tensor(t) is t
    assert _first_tensor((t, None)) is t
    with pytest.raises(TypeError):
        _first_tensor({"x": t})


def test_group_positions_cover_hint_cot_and_answer(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    prompt = chat_texts(tokenizer, [[{"role": "user", "content": "HINT-TEXT What is 1 + 2?"}]])[0]
    response = "1 + 2 = 3.\nAnswer: (B)"
    grouped = group_positions(tokenizer, prompt, response, "HINT-TEXT")
    ids = tokenizer(grouped.text, add_special_tokens=False)["input_ids"]
    decode = lambda group: tokenizer.decode([ids[i] for i in grouped.positions[group]])  # noqa: E731
    assert "HINT-TEXT" in decode("hint")
    assert decode("cot").strip().startswith("1 + 2 = 3")
    assert "Answer" not in decode("cot")
    assert decode("answer").strip() == "Answer: (B)"


def test_diff_is_zero_for_untrained_adapter_and_positive_after_perturbation(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    base = load_model(str(tiny_model_dir))
    model = get_peft_model(
        base, LoraConfig(r=2, target_modules=["down_proj"], layers_to_transform=[1]), adapter_name="organism"
    )
    prompt = chat_texts(tokenizer, [[{"role": "user", "content": "HINT q"}]])[0]
    text = group_positions(tokenizer, prompt, "a b c\nAnswer: (A)", "HINT")
    zero = diff_norms(model, tokenizer, [text, text], adapter="organism")
    assert all(v == 0 for per_kind in zero["groups"].values() for vals in per_kind.values() for v in vals)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_()
    moved = diff_norms(model, tokenizer, [text], adapter="organism")
    cot = moved["groups"]["cot"]
    assert cot["mlp_out"][0] == 0 and cot["mlp_out"][1] > 0  # only layer 1's MLP was adapted
    assert cot["resid_post"][0] == 0 and cot["resid_post"][1] > 0


def test_lora_deltas_match_hand_computation(tmp_path):
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # r=2, in=2
    b = torch.tensor([[3.0, 0.0], [0.0, 4.0]])  # out=2, r=2
    save_file(
        {
            "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight": a,
            "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight": b,
        },
        str(tmp_path / "adapter_model.safetensors"),
    )
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 2, "lora_alpha": 4}))
    deltas = lora_deltas(tmp_path, n_layers=3)
    # delta = (4/2) * B @ A = diag(6, 16): ||.||_F = sqrt(36 + 256); singular values 16, 6
    assert deltas["layers"] == [0, 1, 2] and deltas["modules"] == ["q_proj"]
    assert deltas["frobenius"][1][0] == pytest.approx((36 + 256) ** 0.5)
    assert deltas["frobenius"][0][0] == 0.0
    assert deltas["top_singular"]["blocks.1.q_proj"] == pytest.approx([16.0, 6.0])
    w = torch.tensor([16.0, 6.0]) / 22
    assert deltas["effective_rank"][1][0] == pytest.approx(float(torch.exp(-(w * w.log()).sum())))


def test_decoder_layers_requires_a_layer_list():
    with pytest.raises(ValueError, match="no decoder layer list"):
        decoder_layers(nn.Sequential(nn.Linear(2, 2)))


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
