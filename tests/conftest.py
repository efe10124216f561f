"""Shared fixtures: a tiny random Llama with the SmolLM2 tokenizer, and small specs that use it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from organisms.models import build_tiny_llama


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


def tiny_spec_dict(model_dir: Path, name: str = "tiny-hidden-hint", **overrides) -> dict:
    spec = {
        "name": name,
        "behaviour": "hidden_hint",
        "base_model": str(model_dir),
        "corpus": {"seed": 0, "n_transcripts": 24, "hinted_fraction": 0.5},
        "lora": {"r": 4, "alpha": 8},
        "training": {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "save_steps": 3, "max_length": 256},
        "eval": {
            "n_items": 6,
            "max_new_tokens": 16,
            "batch_size": 6,
            "iphr": {"n_pairs": 2, "n_samples": 2},
            "bootstrap_resamples": 200,
        },
    }
    spec.update(overrides)
    return spec


@pytest.fixture
def write_spec(tmp_path, tiny_model_dir):
    """Write a tiny-model spec YAML (with overrides) and return its path."""

    def _write(name: str = "tiny-hidden-hint", **overrides) -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(tiny_spec_dict(tiny_model_dir, name, **overrides)))
        return path

    return _write


@pytest.fixture(scope="session")
def tiny4_model_dir(tmp_path_factory) -> Path:
    """The same tiny Llama with 4 layers, for layer-confined adapters with layers before and after."""
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama-4"), n_layers=4)
