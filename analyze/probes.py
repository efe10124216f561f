"""Linear probes per layer, with prompt-grouped splits (no item in both train and test).

Features: `blocks.{l}.hook_resid_post` at the decision position (the last token of a decision
prompt, inside the CoT, where the organism's text never mentions the hint). Labels:

    hint_present   hinted prompt vs its unhinted twin (same item, same CoT tokens)
    hinted_letter  which letter the hint points to (hinted prompts only)

Splits: `GroupKFold` on the item id, so a hinted prompt and its twin land in the same fold.
A standardiser and an L2 logistic regression are fit on the training folds only (one
sklearn Pipeline per fold). Each probe is also fit on randomly permuted labels: its
accuracy is the chance level this data and split really give. Per-layer score:

    layer_score[l] = acc_org[l] - acc_base[l]     (hinted_letter probe)

"Does the organism still represent the hint while not writing it?" is answered by
acc_org(hint_present) well above the shuffled-label accuracy.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from analyze.activations import decoder_layers, record_activations, site_name
from organisms.errors import OrganismError
from organisms.models import use_adapter


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


@torch.inference_mode()
def last_position_features(model, enc, adapter: str | None) -> dict[str, np.ndarray]:
    """`{site: [batch, d_model]}` of resid_post at the last position (left-padded `enc`)."""
    with use_adapter(model, adapter), record_activations(model, ("resid_post",)) as store:
        model(**enc, logits_to_keep=1)
    return {name: acts[:, -1].numpy() for name, acts in store.items()}


def probe_sweep(model, enc, prompts, adapter: str, n_splits: int, seed: int = 0) -> dict:
    """Both probes at every layer for base and organism, plus shuffled-label controls."""
    n_layers = len(decoder_layers(model))
    feats = {"base": last_position_features(model, enc, None), "organism": last_position_features(model, enc, adapter)}
    groups = [p.item_id for p in prompts]
    hinted = np.array([p.hinted for p in prompts])
    tasks = {
        "hint_present": (np.arange(len(prompts)), hinted.astype(int)),
        "hinted_letter": (np.flatnonzero(hinted), np.array([ord(p.hint_letter) for p in prompts])[hinted]),
    }
    result: dict = {"n_prompts": len(prompts), "n_groups": len(set(groups)), "folds": n_splits}
    for task, (rows, labels) in tasks.items():
        task_groups = [groups[i] for i in rows]
        permuted = shuffled(labels, seed)
        entry = {"n": len(labels), "majority_rate": float(np.bincount(labels).max() / len(labels))}
        for model_name, per_site in feats.items():
            entry[model_name] = []
            entry[f"{model_name}_shuffled"] = []
            for layer in range(n_layers):
                x = per_site[site_name(layer, "resid_post")][rows]
                entry[model_name].append(probe_accuracy(x, labels, task_groups, n_splits))
                entry[f"{model_name}_shuffled"].append(probe_accuracy(x, permuted, task_groups, n_splits))
        result[task] = entry
    letter = result["hinted_letter"]
    result["layer_score"] = [o - b for o, b in zip(letter["organism"], letter["base"], strict=True)]
    return result
