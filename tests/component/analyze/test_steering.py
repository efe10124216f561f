"""Steering (analyze/methods/steering.py) within its coherence bound, and by hand."""

from __future__ import annotations

import math

import pytest
import torch

from analyze.methods.hooks import (
    edit_activations,
    site_name,
)
from analyze.methods.neutral import load_neutral_texts
from analyze.methods.patching import clean_runs
from analyze.methods.steering import next_token_nll, steering_sweep
from runtime.models import use_adapter
from tests.helpers import perturbed_organism


def test_steering_stays_within_the_coherence_bound(tiny4_model_dir, task):
    model = perturbed_organism(tiny4_model_dir, [1])
    tokenizer = task.tokenizer
    neutral = tokenizer(
        load_neutral_texts()[:3], return_tensors="pt", padding=True, padding_side="right", add_special_tokens=False
    )
    bound = 0.05
    clean = clean_runs(model, task.enc, task.metric, "organism")
    result = steering_sweep(model, task.enc, task.metric, neutral, clean, max_nll_increase=bound, scales=(1.0, 4.0))
    assert all(s in (0.0, *result["scales_tried"]) for s in result["scale"])
    assert all(nll - result["neutral_nll_base"] <= bound + 1e-6 for nll in result["neutral_nll"])
    assert result["vector_norm"][0] == pytest.approx(0, abs=1e-5)  # nothing differs before the adapted layer
    assert result["layer_score"][0] == pytest.approx(0, abs=1e-5)
    unbounded = steering_sweep(model, task.enc, task.metric, neutral, clean, max_nll_increase=math.inf, scales=(1.0,))
    assert unbounded["scale"] == [1.0] * 4
    # by hand: v_1 = mean organism-minus-base resid_post at layer 1 over real tokens, added to the base
    name = site_name(1, "resid_post")
    mask = task.enc["attention_mask"].bool()
    vector = (clean.org_acts[name] - clean.base_acts[name])[mask].mean(0)
    with torch.no_grad(), use_adapter(model, None), edit_activations(model, {name: lambda h: h + vector}):
        by_hand = float(task.metric(model(**task.enc).logits).mean())
    assert unbounded["steered_metric"][1] == pytest.approx(by_hand, abs=1e-4)
    assert next_token_nll(model, neutral) == pytest.approx(result["neutral_nll_base"])
    # starting each steered forward after the steered layer gives what running every layer gives
    for kwargs in ({"max_nll_increase": bound, "scales": (1.0, 4.0)}, {"max_nll_increase": math.inf, "scales": (1.0,)}):
        reference = steering_sweep(model, task.enc, task.metric, neutral, clean, **kwargs, reuse_clean_layers=False)
        reused = steering_sweep(model, task.enc, task.metric, neutral, clean, **kwargs)
        assert reused["scale"] == reference["scale"]
        for key in ("neutral_nll", "steered_metric", "layer_score"):
            assert reused[key] == pytest.approx(reference[key], abs=1e-5), key
    assert len(set(unbounded["steered_metric"])) == 4  # every layer's steering moves the metric differently
