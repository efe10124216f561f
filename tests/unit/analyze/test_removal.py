"""Removal (analyze/audit/removal.py): the random direction of the null."""

from __future__ import annotations

import pytest
import torch

from analyze.audit.removal import random_like


def test_random_direction_has_the_norm_and_not_the_direction():
    vector = torch.randn(64)
    r = random_like(vector, seed=0)
    assert r.norm() == pytest.approx(float(vector.norm()), rel=1e-5)
    assert abs(float(torch.nn.functional.cosine_similarity(r, vector, dim=0))) < 0.5
    assert torch.equal(r, random_like(vector, seed=0))
