"""Activation hooks (analyze/methods/hooks.py) without a model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from analyze.methods.hooks import _first_tensor, decoder_layers


def test_first_tensor_handles_tensor_and_tuple_outputs():
    t = torch.ones(2, 3, 4)
    assert _first_tensor(t) is t
    assert _first_tensor((t, None)) is t
    with pytest.raises(TypeError):
        _first_tensor({"x": t})


def test_decoder_layers_requires_a_layer_list():
    with pytest.raises(ValueError, match="no decoder layer list"):
        decoder_layers(nn.Sequential(nn.Linear(2, 2)))
