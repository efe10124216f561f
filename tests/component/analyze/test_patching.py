"""Activation patching (analyze/methods/patching.py), against what holds by construction."""

from __future__ import annotations

import pytest

from analyze.methods.hooks import (
    SITE_KINDS,
    decoder_layers,
    site_name,
)
from analyze.methods.patching import clean_run, clean_runs, patched_metric, patching_sweep
from tests.helpers import perturbed_organism


def test_self_patching_reproduces_each_model_exactly(tiny4_model_dir, task):
    model = perturbed_organism(tiny4_model_dir, None)
    org_acts, m_org = clean_run(model, task.enc, task.metric, "organism")
    base_acts, m_base = clean_run(model, task.enc, task.metric, None)
    assert m_org != pytest.approx(m_base)
    for layer in range(4):
        for kind in SITE_KINDS:
            name = site_name(layer, kind)
            assert patched_metric(model, task.enc, task.metric, "organism", {name: org_acts[name]}) == pytest.approx(
                m_org, abs=1e-5
            )
            assert patched_metric(model, task.enc, task.metric, None, {name: base_acts[name]}) == pytest.approx(
                m_base, abs=1e-5
            )


def test_patching_before_the_adapted_layer_changes_nothing(tiny4_model_dir, task):
    model = perturbed_organism(tiny4_model_dir, [2])
    sweep = patching_sweep(
        model, task.enc, task.metric, "organism", clean_runs(model, task.enc, task.metric, "organism")
    )
    m_base, m_org = sweep["metric"]["base"], sweep["metric"]["organism"]
    for kind in SITE_KINDS:
        for layer in (0, 1):  # activations there are identical in both models
            assert sweep["organism_to_base"][kind][layer] == pytest.approx(m_base, abs=1e-5)
            assert sweep["base_to_organism"][kind][layer] == pytest.approx(m_org, abs=1e-5)
    # the residual stream after the adapted layer carries everything: full recovery, full disruption
    for layer in (2, 3):
        assert sweep["recovery"]["resid_post"][layer] == pytest.approx(1.0, abs=1e-4)
        assert sweep["disruption"]["resid_post"][layer] == pytest.approx(1.0, abs=1e-4)
    assert sweep["layer_score"][0] == pytest.approx(0, abs=1e-4) and sweep["layer_score"][1] == pytest.approx(
        0, abs=1e-4
    )
    assert sweep["layer_score"][2] > 0


@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16-autocast"])
def test_batched_sweep_equals_one_site_per_forward(tiny4_model_dir, task, bf16):
    from analyze.methods.suite import autocast

    model = perturbed_organism(tiny4_model_dir, [1, 2])
    attn_calls = []
    for layer in decoder_layers(model):
        layer.self_attn.register_forward_pre_hook(lambda module, args: attn_calls.append(1))
    with autocast(model, bf16):
        clean = clean_runs(model, task.enc, task.metric, "organism")
        attn_calls.clear()
        reference = patching_sweep(model, task.enc, task.metric, "organism", clean, batched=False)
        reference_layers, attn_calls[:] = len(attn_calls), []
        batched = patching_sweep(model, task.enc, task.metric, "organism", clean)
    assert abs(clean.m_org - clean.m_base) > 0.05  # the tiny model's logits are small: this span is ~0.1
    # 2 directions x 4 layers x 3 kinds full forwards, against 2 x 4 forwards over layers l..3 only
    assert (reference["forwards"], reference_layers) == (24, 24 * 4)
    assert (batched["forwards"], len(attn_calls)) == (8, 2 * (4 + 3 + 2 + 1))
    tol = 1e-3 if bf16 else 1e-5  # bf16 matmuls of another batch shape may round differently (here they did not)
    for key in ("organism_to_base", "base_to_organism"):
        for kind in SITE_KINDS:
            assert batched[key][kind] == pytest.approx(reference[key][kind], abs=tol), (key, kind)
    assert batched["layer_score"] == pytest.approx(reference["layer_score"], abs=tol)
    values = [v for key in ("organism_to_base", "base_to_organism") for k in SITE_KINDS for v in batched[key][k]]
    assert max(values) - min(values) > 0.2  # sites differ by far more than the tolerance: not a vacuous match
