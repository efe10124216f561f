"""The tiny 4-layer model's decision prompts, shared by the method tests."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from analyze.methods.behaviour import LogitDiff, decision_prompts, encode_left
from organisms.spec import parse_spec
from runtime.models import load_tokenizer


@pytest.fixture(scope="session")
def task(tiny4_model_dir):
    """Three hidden-hint items' decision prompts (hinted, then their unhinted twins) on the 4-layer tiny
    model, the hinted ones encoded left-padded, and the metric read at their last position."""
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
