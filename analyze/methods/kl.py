"""Per-token KL divergence between organism and base next-token distributions.

    KL_t = sum_v p_org(v | x_<=t) (log p_org(v | x_<=t) - log p_base(v | x_<=t))

on the final logits, per token, then averaged per position group (hint / cot / answer
tokens, `analyze/methods/diffing.py`) with the position and token where it peaks. Per layer, the
same KL between the two models' logit-lens distributions at `resid_post` (`analyze/methods/lens.py`)
says from which depth the organism's prediction departs from the base's; it is cumulative,
so the score is its increment:

    lens_kl[l] = mean_t KL(lens(h_org[l, t]) || lens(h_base[l, t]))      layer_score = max(0, lens_kl[l] - lens_kl[l-1])
"""

from __future__ import annotations

import torch
from transformers import PreTrainedTokenizerBase

from analyze.methods.diffing import GROUPS, GroupedText
from analyze.methods.hooks import decoder_layers, site_name
from analyze.methods.lens import increments, logit_lens, resid_post_both
from runtime.models import use_adapter


def token_kl(logits_org: torch.Tensor, logits_base: torch.Tensor) -> torch.Tensor:
    """`[..., vocab]` x2 -> `[...]`: KL(org || base) in nats."""
    log_p = torch.log_softmax(logits_org.float(), dim=-1)
    log_q = torch.log_softmax(logits_base.float(), dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1)


@torch.inference_mode()
def kl_by_group(model, tokenizer: PreTrainedTokenizerBase, texts: list[GroupedText], adapter: str) -> dict:
    """Mean KL per group, and the text, position and token of the largest per-token KL."""
    sums, counts = dict.fromkeys(GROUPS, 0.0), dict.fromkeys(GROUPS, 0)
    peak = {"kl": -1.0}
    for index, item in enumerate(texts):
        enc = tokenizer(item.text, return_tensors="pt", add_special_tokens=False).to(model.device)
        with use_adapter(model, None):
            base = model(**enc).logits[0]
        with use_adapter(model, adapter):
            org = model(**enc).logits[0]
        kl = token_kl(org, base).cpu()
        for group in GROUPS:
            pos = item.positions[group]
            sums[group] += float(kl[pos].sum()) if pos else 0.0
            counts[group] += len(pos)
        top = int(kl.argmax())
        if float(kl[top]) > peak["kl"]:
            group = next((g for g in GROUPS if top in item.positions[g]), "other")
            token = tokenizer.decode([int(enc["input_ids"][0, top])])
            peak = {"kl": float(kl[top]), "text": index, "position": top, "token": token, "group": group}
    means = {g: sums[g] / counts[g] for g in GROUPS if counts[g]}
    return {"mean_kl": means, "tokens": counts, "peak": peak if peak["kl"] >= 0 else None}


@torch.inference_mode()
def lens_kl_per_layer(model, enc, adapter: str) -> dict:
    """Mean logit-lens KL(org || base) per layer over non-padding tokens, and `layer_score`."""
    n_layers = len(decoder_layers(model))
    acts = resid_post_both(model, enc, adapter)
    mask = enc["attention_mask"].bool().cpu()
    values = []
    for layer in range(n_layers):
        name = site_name(layer, "resid_post")
        kl = token_kl(logit_lens(model, acts["organism"][name][mask]), logit_lens(model, acts["base"][name][mask]))
        values.append(float(kl.mean()))
    return {"lens_kl": values, "layer_score": increments(values)}
