"""The patching layer score (analyze/methods/patching.py), by hand."""

from __future__ import annotations

import pytest

from analyze.methods.hooks import (
    SITE_KINDS,
)
from analyze.methods.patching import layer_score


def test_layer_score_by_hand():
    to_base = {"resid_post": [9.0, 9.0], "attn_out": [0.5, -1.0], "mlp_out": [0.1, 0.0]}
    to_org = {"resid_post": [9.0, 9.0], "attn_out": [-0.5, 0.0], "mlp_out": [0.3, 2.0]}
    # resid_post is cumulative and left out: (0.5 + 0.5 + 0.1 + 0.3) / 4, (1 + 0 + 0 + 2) / 4
    assert layer_score(to_base, to_org, SITE_KINDS) == pytest.approx([0.35, 0.75])
    assert layer_score(to_base, to_org, SITE_KINDS, scale=2.0) == pytest.approx([0.175, 0.375])
    assert layer_score(to_base, to_org, ("resid_post",)) == pytest.approx([9.0, 9.0])
