"""LoRA weight deltas (analyze/methods/weights.py) against a hand computation."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from analyze.methods.weights import lora_deltas


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
