"""Probes, logit lens / ADL, KL and the on-disk activation cache, against values known by construction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model

from analyze.methods.cache import read_activation_cache, write_activation_cache
from analyze.methods.hooks import record_activations
from analyze.methods.kl import lens_kl_per_layer, token_kl
from analyze.methods.lens import activation_difference_lens, increments, logit_lens
from analyze.methods.neutral import load_neutral_texts
from analyze.methods.probes import grouped_splits, probe_accuracy, shuffled
from organisms.errors import OrganismError
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


def test_grouped_splits_never_share_a_group():
    groups = [f"item-{i // 2}" for i in range(20)]  # a hinted prompt and its twin share the item id
    splits = grouped_splits(groups, n_splits=4)
    tested = []
    for train, test in splits:
        assert not {groups[i] for i in train} & {groups[i] for i in test}
        tested.extend(test.tolist())
    assert sorted(tested) == list(range(20))  # every row is tested exactly once
    with pytest.raises(OrganismError, match="at least 2 prompts"):
        grouped_splits(["same"] * 4, 2)


def test_probe_finds_a_planted_direction_and_is_at_chance_on_shuffled_labels():
    rng = np.random.default_rng(0)
    n, d = 240, 32
    labels = rng.integers(0, 2, n)
    direction = rng.normal(size=d)
    features = rng.normal(size=(n, d)) + np.outer(2 * labels - 1, direction) * 0.8
    groups = [f"g{i // 2}" for i in range(n)]
    assert probe_accuracy(features, labels, groups) > 0.95
    permuted = shuffled(labels, seed=1)
    assert sorted(permuted.tolist()) == sorted(labels.tolist())
    assert 0.35 < probe_accuracy(features, permuted, groups) < 0.65


def test_probe_standardiser_sees_only_training_rows():
    # a feature that is huge only in the test fold would dominate a scaler fit on all rows;
    # fit on the training rows, the probe still reads the label from feature 0
    labels = np.array([0, 1] * 20)
    features = np.stack([labels * 2.0 - 1.0, np.zeros(40)], axis=1)
    groups = [f"g{i}" for i in range(40)]
    features[30:, 1] = 1e6
    assert probe_accuracy(features, labels, groups, n_splits=4) == 1.0


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


def test_increments_and_token_kl_by_hand():
    assert increments([0.0, 0.5, 0.4, 1.0]) == [0.0, 0.5, 0.0, 0.6]
    p = torch.tensor([[0.7, 0.2, 0.1]]).log()
    q = torch.tensor([[0.2, 0.5, 0.3]]).log()
    by_hand = 0.7 * np.log(0.7 / 0.2) + 0.2 * np.log(0.2 / 0.5) + 0.1 * np.log(0.1 / 0.3)
    assert float(token_kl(p, q)[0]) == pytest.approx(by_hand, rel=1e-5)
    assert float(token_kl(p, p)[0]) == pytest.approx(0, abs=1e-7)


def test_disk_cache_streams_the_same_activations_as_memory(tiny4_model_dir, tmp_path):
    tokenizer = load_tokenizer(str(tiny4_model_dir))
    model = load_model(str(tiny4_model_dir)).eval()
    texts = load_neutral_texts()[:5]
    out = write_activation_cache(model, tokenizer, texts, tmp_path / "cache", batch_size=2)
    shards = list(read_activation_cache(out))
    assert len(shards) == 3  # 2 + 2 + 1 texts
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]  # no staging dir left behind
    enc = tokenizer(texts[2:4], return_tensors="pt", padding=True, padding_side="right", add_special_tokens=False)
    with torch.no_grad(), record_activations(model) as store:
        model(**enc)
    assert len([k for k in shards[1] if k.startswith("blocks.")]) == 12
    for name, acts in store.items():
        assert torch.equal(shards[1][name], acts)
    assert torch.equal(shards[1]["attention_mask"], enc["attention_mask"])
    with pytest.raises(OrganismError, match="not an activation cache"):
        next(read_activation_cache(tmp_path / "missing"))
