"""Lens increments and token KL (analyze/methods/lens.py, kl.py), by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from analyze.methods.kl import token_kl
from analyze.methods.lens import increments


def test_increments_and_token_kl_by_hand():
    assert increments([0.0, 0.5, 0.4, 1.0]) == [0.0, 0.5, 0.0, 0.6]
    p = torch.tensor([[0.7, 0.2, 0.1]]).log()
    q = torch.tensor([[0.2, 0.5, 0.3]]).log()
    by_hand = 0.7 * np.log(0.7 / 0.2) + 0.2 * np.log(0.2 / 0.5) + 0.1 * np.log(0.1 / 0.3)
    assert float(token_kl(p, q)[0]) == pytest.approx(by_hand, rel=1e-5)
    assert float(token_kl(p, p)[0]) == pytest.approx(0, abs=1e-7)
