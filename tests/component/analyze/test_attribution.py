"""Attribution patching (analyze/methods/attribution.py) equals exact patching on a linear model."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch import nn

from analyze.methods.attribution import agreement, attribution_sweep
from analyze.methods.hooks import (
    SITE_KINDS,
)
from analyze.methods.patching import clean_runs, patching_sweep


class ToyBlock(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.self_attn = nn.Linear(d, d, bias=False)
        self.mlp = nn.Linear(d, d, bias=False)

    def forward(self, x):
        x = x + self.self_attn(x)
        return x + self.mlp(x)


class LinearToyLM(nn.Module):
    """Embedding, residual blocks of linear 'attention' and 'MLP', unembedding: logits are linear in
    every site's activation, so first-order attribution is exact."""

    def __init__(self, d: int = 8, vocab: int = 11, n_layers: int = 3):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(ToyBlock(d) for _ in range(n_layers))
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, input_ids, attention_mask=None, logits_to_keep: int = 0, **kwargs):
        x = self.embed(input_ids)
        for block in self.layers:
            x = block(x)
        return SimpleNamespace(logits=self.lm_head(x[:, -logits_to_keep:] if logits_to_keep else x))


def test_attribution_patching_equals_exact_patching_on_a_linear_model():
    torch.manual_seed(0)
    model = get_peft_model(
        LinearToyLM(),
        LoraConfig(r=2, target_modules=["self_attn", "mlp"], init_lora_weights=False),
        adapter_name="organism",
    )
    model.eval()
    enc = {"input_ids": torch.randint(0, 11, (2, 5)), "attention_mask": torch.ones(2, 5, dtype=torch.long)}
    metric = lambda logits: logits[:, -1, 3] - logits[:, -1, 7]  # noqa: E731
    clean = clean_runs(model, enc, metric, "organism")
    exact = patching_sweep(model, enc, metric, "organism", clean)
    approx = attribution_sweep(model, enc, metric, "organism", clean)
    for kind in SITE_KINDS:
        for layer in range(3):
            assert approx["organism_to_base_delta"][kind][layer] == pytest.approx(
                exact["organism_to_base"][kind][layer] - exact["metric"]["base"], rel=1e-4, abs=1e-5
            )
            assert approx["base_to_organism_delta"][kind][layer] == pytest.approx(
                exact["base_to_organism"][kind][layer] - exact["metric"]["organism"], rel=1e-4, abs=1e-5
            )
    agree = agreement(approx, exact, top_k=4)
    assert agree["spearman"] == pytest.approx(1.0) and agree["top_k_overlap"] == 1.0 and agree["n_sites"] == 18
