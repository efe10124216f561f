"""Logit lens and the Activation Difference Lens (ADL; Minder et al. 2025).

Logit lens: read a residual vector h `[..., d_model]` with the model's own final norm and
unembedding, `lens(h) = W_U norm(h)` `[..., vocab]` (soft-capped as the model caps its logits).

ADL: on the first `k` tokens of unrelated text (generic documents), the mean
organism-minus-base residual difference per layer,

    delta_l = mean_{texts, t < k} (h_org[l, t] - h_base[l, t])            [d_model]

read through the logit lens (top tokens per layer: what the finetune "is about", visible
even on text that has nothing to do with it), its relative size
r_l = ||delta_l|| / mean ||h_base[l, t]||, and its cosine with the difference on the task
prompts (`analyze/steering.diff_vectors`). The residual stream is cumulative, so the score
is where the difference enters it:

    layer_score[l] = max(0, r_l - r_{l-1})         (r_{-1} = 0)
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import BatchEncoding, PreTrainedTokenizerBase

from analyze.methods.hooks import decoder_layers, record_activations, site_name
from runtime.models import use_adapter


def final_norm(model: nn.Module) -> nn.Module:
    """The norm applied after the last decoder layer (an attribute `norm` of the layers' owner)."""
    layers = decoder_layers(model)
    for module in model.modules():
        if any(child is layers for child in module.children()) and hasattr(module, "norm"):
            return module.norm
    raise ValueError("no final norm found next to the decoder layers")


def logit_lens(model: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """`[..., d_model] -> [..., vocab]`: final norm, unembedding and, where the model caps its logits
    (`config.final_logit_softcapping`: Gemma 2, 30), the same cap c * tanh(logits / c) (fp32)."""
    head = model.get_output_embeddings()
    norm = final_norm(model)
    with torch.no_grad():
        logits = head(norm(hidden.to(head.weight.dtype).to(head.weight.device))).float()
    cap = getattr(getattr(model, "config", None), "final_logit_softcapping", None)
    return cap * torch.tanh(logits / cap) if cap else logits


def increments(values: list[float]) -> list[float]:
    """max(0, v_l - v_{l-1}) with v_{-1} = 0: where a cumulative quantity grows."""
    return [max(0.0, v - (values[i - 1] if i else 0.0)) for i, v in enumerate(values)]


@torch.inference_mode()
def resid_post_both(model, enc: BatchEncoding, adapter: str) -> dict[str, dict[str, torch.Tensor]]:
    """Residual stream after every layer, `{"base"|"organism": {site: [batch, pos, d_model]}}`, one model,
    adapter off then on (only the last position's logits are computed)."""
    acts = {}
    for label, name in (("base", None), ("organism", adapter)):
        with use_adapter(model, name), record_activations(model, ("resid_post",)) as store:
            model(**enc, logits_to_keep=1)
            acts[label] = dict(store)
    return acts


@torch.inference_mode()
def first_token_diffs(model, enc: BatchEncoding, adapter: str, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean difference `[n_layers, d_model]` and mean base norm `[n_layers]` over the first k tokens
    (right-padded `enc`; only real tokens count)."""
    n_layers = len(decoder_layers(model))
    acts = resid_post_both(model, enc, adapter)
    mask = enc["attention_mask"].bool().cpu().clone()
    mask[:, k:] = False
    diffs, norms = [], []
    for layer in range(n_layers):
        name = site_name(layer, "resid_post")
        base, org = acts["base"][name][mask], acts["organism"][name][mask]
        diffs.append((org - base).mean(0))
        norms.append(base.norm(dim=-1).mean())
    return torch.stack(diffs), torch.stack(norms)


def lens_readout(
    model, tokenizer: PreTrainedTokenizerBase, neutral_enc: BatchEncoding, adapter: str, k: int = 5, top_k: int = 8
) -> tuple[dict, torch.Tensor]:
    """`({"relative_norm", "top_tokens"}, diffs [n_layers, d_model])` of `adapter` minus base on the
    first k tokens: the part of ADL that reads no task, so baselines get the same readout."""
    diffs, norms = first_token_diffs(model, neutral_enc, adapter, k)
    relative = (diffs.norm(dim=-1) / norms.clamp_min(1e-12)).tolist()
    top_tokens = []
    for row in logit_lens(model, diffs):
        values, ids = row.topk(top_k)
        top_tokens.append([[tokenizer.decode([int(i)]), float(v)] for i, v in zip(ids, values, strict=True)])
    return {"relative_norm": relative, "top_tokens": top_tokens}, diffs


def activation_difference_lens(
    model,
    tokenizer: PreTrainedTokenizerBase,
    neutral_enc: BatchEncoding,
    adapter: str,
    task_vectors: torch.Tensor,
    k: int = 5,
    top_k: int = 8,
) -> dict:
    """ADL per layer: relative norm, cosine with `task_vectors` `[n_layers, d_model]`, top lens tokens."""
    readout, diffs = lens_readout(model, tokenizer, neutral_enc, adapter, k, top_k)
    cosine = torch.nn.functional.cosine_similarity(diffs, task_vectors.to(diffs.dtype), dim=-1).tolist()
    return {
        "first_k_tokens": k,
        "relative_norm": readout["relative_norm"],
        "cosine_with_task_diff": cosine,
        "top_tokens": readout["top_tokens"],
        "layer_score": increments(readout["relative_norm"]),
    }
