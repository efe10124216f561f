"""The on-disk activation cache (analyze/methods/cache.py)."""

from __future__ import annotations

import pytest
import torch

from analyze.methods.cache import read_activation_cache, write_activation_cache
from analyze.methods.hooks import record_activations
from analyze.methods.neutral import load_neutral_texts
from organisms.errors import OrganismError
from runtime.models import load_model, load_tokenizer


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
