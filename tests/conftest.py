"""Shared fixtures: a tiny random Llama with the SmolLM2 tokenizer, and small specs that use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.tiny_models import build_tiny_llama
from tests.helpers import spec_yaml


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def write_spec(tmp_path, tiny_model_dir):
    """Write a tiny-model spec YAML (with overrides) and return its path."""

    def _write(name: str = "tiny-hidden-hint", **overrides) -> Path:
        return spec_yaml(tmp_path / f"{name}.yaml", tiny_model_dir, name, **overrides)

    return _write


@pytest.fixture(scope="session")
def tiny4_model_dir(tmp_path_factory) -> Path:
    """The same tiny Llama with 4 layers, for layer-confined adapters with layers before and after."""
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama-4"), n_layers=4)
