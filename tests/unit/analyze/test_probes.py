"""Linear probes (analyze/methods/probes.py): grouped splits, a planted direction, no leakage."""

from __future__ import annotations

import numpy as np
import pytest

from analyze.methods.probes import grouped_splits, probe_accuracy, shuffled
from organisms.errors import OrganismError


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
