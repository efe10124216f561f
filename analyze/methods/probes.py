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

from analyze.methods.hooks import decoder_layers, record_activations, site_name
from evals.linear_probe import grouped_splits, probe_accuracy, shuffled  # noqa: F401  (probes read here too)
from runtime.models import use_adapter


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
