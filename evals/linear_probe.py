"""Linear probes with grouped splits: one held-out accuracy, fit the same way wherever a probe is read.

A standardiser and an L2 logistic regression are fit on the training folds only (one sklearn
Pipeline per fold); `GroupKFold` keeps every group (an item and its twin, a true statement and
its false contrast) out of the folds it is tested in. Used by the belief suite's truth probe
(evals/belief_depth.py) and by analyze/methods/probes.py.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from organisms.errors import OrganismError


def grouped_splits(groups: list[str], n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test index pairs; every group is in exactly one test fold and never in its train part."""
    n_groups = len(set(groups))
    if n_groups < 2:
        raise OrganismError(f"probes need items from at least 2 prompts (got {n_groups}); raise --items")
    splitter = GroupKFold(n_splits=min(n_splits, n_groups))
    index = np.arange(len(groups))
    return list(splitter.split(index, groups=np.asarray(groups)))


def probe_accuracy(features: np.ndarray, labels: np.ndarray, groups: list[str], n_splits: int = 4) -> float:
    """Mean held-out accuracy of standardiser + logistic regression over grouped folds.
    `features` `[n, d_model]`, `labels` `[n]`."""
    correct, total = 0, 0
    for train, test in grouped_splits(groups, n_splits):
        if len(set(labels[train].tolist())) < 2:  # one class in training: predict it
            correct += int((labels[test] == labels[train][0]).sum())
        else:
            probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
            probe.fit(features[train], labels[train])
            correct += int((probe.predict(features[test]) == labels[test]).sum())
        total += len(test)
    return correct / total


def shuffled(labels: np.ndarray, seed: int) -> np.ndarray:
    """The same labels in a random order (class balance kept; any link to the features broken)."""
    return np.random.default_rng(seed).permutation(labels)
