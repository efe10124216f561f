"""Patching, attribution patching and steering, checked against what holds by construction."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch import nn

from analyze.methods.attribution import agreement, attribution_sweep
from analyze.methods.behaviour import LogitDiff, decision_prompts, encode_left
from analyze.methods.hooks import (
    SITE_KINDS,
    decoder_layers,
    edit_activations,
    parse_site,
    record_activations,
    site_name,
    start_at_layer,
)
from analyze.methods.neutral import load_neutral_texts
from analyze.methods.patching import clean_run, clean_runs, layer_score, patched_metric, patching_sweep
from analyze.methods.steering import next_token_nll, steering_sweep
from organisms.errors import OrganismError
from organisms.spec import parse_spec
from runtime.models import load_model, load_tokenizer, use_adapter


def perturbed_organism(model_dir, layers: list[int] | None, seed: int = 0):
    """The tiny model with a LoRA adapter 'organism' on every linear module of `layers`, B drawn at random
    (an untrained adapter is the identity)."""
    model = get_peft_model(
        load_model(str(model_dir)),
        LoraConfig(
            r=4,
            lora_alpha=8,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            layers_to_transform=layers,
        ),
        adapter_name="organism",
    )
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    model.eval()
    return model


@pytest.fixture(scope="module")
def task(tiny4_model_dir):
    tokenizer = load_tokenizer(str(tiny4_model_dir))
    spec = parse_spec({"name": "t", "behaviour": "hidden_hint", "base_model": str(tiny4_model_dir)}, "test")
    prompts = decision_prompts(spec, tokenizer, n_items=3)
    hinted = [p for p in prompts if p.hinted]
    return SimpleNamespace(
        tokenizer=tokenizer,
        prompts=prompts,
        enc=encode_left(tokenizer, [p.text for p in hinted]),
        metric=LogitDiff(tokenizer, hinted),
    )


def test_decision_prompts_end_right_before_the_letter(task):
    assert len(task.prompts) == 6 and [p.hinted for p in task.prompts] == [True] * 3 + [False] * 3
    for hinted, plain in zip(task.prompts[:3], task.prompts[3:], strict=True):
        assert hinted.text.endswith("So I will go with (") and plain.text.endswith("So I will go with (")
        assert plain.twin and not hinted.twin
        assert hinted.item_id == plain.item_id and hinted.hint_letter != hinted.correct_letter
        cot = hinted.text[hinted.text.rindex("Let me compute") :]
        assert plain.text.endswith(cot)  # identical CoT tokens; only the prompt differs
    with pytest.raises(OrganismError, match="at least 2 items"):
        decision_prompts(parse_spec({"name": "t", "behaviour": "hidden_hint"}, "test"), task.tokenizer, 1)


def test_logit_diff_reads_hint_minus_correct_at_last_position(task):
    logits = torch.zeros(3, 5, len(task.tokenizer))
    for row, prompt in enumerate(task.prompts[:3]):
        logits[row, -1, task.tokenizer.convert_tokens_to_ids(prompt.hint_letter)] = 2.0
        logits[row, -1, task.tokenizer.convert_tokens_to_ids(prompt.correct_letter)] = 0.5
        logits[row, 0, task.tokenizer.convert_tokens_to_ids(prompt.correct_letter)] = 99.0  # not the last position
    assert task.metric(logits).tolist() == [1.5, 1.5, 1.5]


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


def test_layer_score_by_hand():
    to_base = {"resid_post": [9.0, 9.0], "attn_out": [0.5, -1.0], "mlp_out": [0.1, 0.0]}
    to_org = {"resid_post": [9.0, 9.0], "attn_out": [-0.5, 0.0], "mlp_out": [0.3, 2.0]}
    # resid_post is cumulative and left out: (0.5 + 0.5 + 0.1 + 0.3) / 4, (1 + 0 + 0 + 2) / 4
    assert layer_score(to_base, to_org, SITE_KINDS) == pytest.approx([0.35, 0.75])
    assert layer_score(to_base, to_org, SITE_KINDS, scale=2.0) == pytest.approx([0.175, 0.375])
    assert layer_score(to_base, to_org, ("resid_post",)) == pytest.approx([9.0, 9.0])


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


def test_edit_activations_rejects_bad_sites(tiny4_model_dir):
    model = load_model(str(tiny4_model_dir))
    with pytest.raises(ValueError, match="4 layers"), edit_activations(model, {"blocks.9.hook_mlp_out": lambda h: h}):
        pass
    with pytest.raises(ValueError, match="not a site name"):
        parse_site("blocks.1.hook_resid_pre")
    assert parse_site("blocks.3.hook_attn_out") == (3, "attn_out")


def test_bf16_autocast_keeps_the_unembedding_fp32_and_restores_it(tiny4_model_dir, task):
    from analyze.methods.lens import final_norm
    from analyze.methods.suite import autocast

    model = load_model(str(tiny4_model_dir)).eval()
    head = model.get_output_embeddings()
    with torch.no_grad(), autocast(model, True), record_activations(model, ("resid_post",)) as store:
        logits = model(**task.enc).logits
        inner = torch.get_autocast_dtype("cpu")
    assert inner == torch.bfloat16 and logits.dtype == torch.float32
    with torch.no_grad():
        by_hand = torch.nn.functional.linear(final_norm(model)(store["blocks.3.hook_resid_post"]), head.weight)
    assert torch.allclose(logits, by_hand, atol=1e-4)  # not rounded to bf16
    assert "forward" not in vars(head)  # the module's own forward is back
