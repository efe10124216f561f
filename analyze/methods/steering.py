"""Steering the base with the organism-minus-base difference vector, one layer at a time.

The vector at layer l is the mean residual difference over every token of the task prompts:

    v_l = mean_{prompts, t} (h_org[l, t] - h_base[l, t])          [d_model]

and steering adds s * v_l to the base's `blocks.{l}.hook_resid_post` at every position.
The strength s is calibrated per layer to keep text coherent: the largest s in `scales`
(`analyze.steering_scales`) whose mean next-token loss on neutral text stays within
`max_nll_increase` nats of the unsteered base (`analyze.max_nll_increase`, default ln 1.1:
perplexity at most 1.1x the base's). The score is the behaviour it then induces in the base,
normalised by the organism's own effect:

    layer_score[l] = (m(base + s_l v_l) - m_base) / (m_org - m_base)      (0 when no s passes)

Steering at layer l leaves layers 0..l as they were in the base's clean run, so each steered
forward starts at layer l + 1 from the clean residual stream plus s v_l
(`analyze.methods.hooks.start_at_layer`); `reuse_clean_layers=False` runs every layer (the reference).
"""

from __future__ import annotations

import torch
from transformers import BatchEncoding

from analyze.methods.hooks import decoder_layers, edit_activations, record_activations, site_name, start_at_layer
from analyze.methods.patching import CleanRuns, Metric
from runtime.models import use_adapter


def diff_vectors(base_acts: dict, org_acts: dict, attention_mask: torch.Tensor, n_layers: int) -> torch.Tensor:
    """`[n_layers, d_model]`: mean resid_post difference over non-padding tokens."""
    mask = attention_mask.bool().cpu()
    rows = []
    for layer in range(n_layers):
        name = site_name(layer, "resid_post")
        rows.append((org_acts[name] - base_acts[name])[mask].mean(0))
    return torch.stack(rows)


@torch.inference_mode()
def next_token_nll(
    model, enc: BatchEncoding, edits: dict | None = None, start: int = 0, resid: torch.Tensor | None = None
) -> float:
    """Mean next-token negative log-likelihood (nats) over non-padding tokens, base model; layers
    before `start` replaced by the residual stream `resid` after them (`start_at_layer`)."""
    labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
    with use_adapter(model, None), start_at_layer(model, start, resid), edit_activations(model, edits or {}):
        return float(model(**enc, labels=labels).loss)


def _add(vector: torch.Tensor):
    return lambda h: h + vector.to(h.dtype).to(h.device)


def _steered(layer: int, vector: torch.Tensor, clean_acts: dict, reuse_clean_layers: bool) -> dict:
    """How a forward adds `vector` to `blocks.{layer}.hook_resid_post`: started at layer + 1 from the
    clean residual plus the vector (fp32, as the edit computes it inside the model), or an edit."""
    name = site_name(layer, "resid_post")
    if reuse_clean_layers:
        return {"start": layer + 1, "resid": clean_acts[name] + vector}
    return {"edits": {name: _add(vector)}}


@torch.inference_mode()
def steering_sweep(
    model,
    task_enc: BatchEncoding,
    metric: Metric,
    neutral_enc: BatchEncoding,
    clean: CleanRuns,
    max_nll_increase: float,
    scales: tuple[float, ...],
    reuse_clean_layers: bool = True,
) -> dict:
    """Per layer: the calibrated scale, its neutral-text NLL, the steered metric and `layer_score`.
    The vectors and the metric's end points come from the `clean` runs on `task_enc`."""
    n_layers = len(decoder_layers(model))
    m_base, m_org = clean.m_base, clean.m_org
    vectors = diff_vectors(clean.base_acts, clean.org_acts, task_enc["attention_mask"], n_layers)
    with record_activations(model, ("resid_post",)) as neutral_acts:
        nll_base = next_token_nll(model, neutral_enc)
    span = m_org - m_base
    chosen, nlls, steered, score = [], [], [], []
    for layer in range(n_layers):
        best, best_nll = 0.0, nll_base
        for scale in sorted(scales):  # stop at the first scale that breaks coherence
            run = _steered(layer, scale * vectors[layer], neutral_acts, reuse_clean_layers)
            nll = next_token_nll(model, neutral_enc, **run)
            if nll - nll_base > max_nll_increase:
                break
            best, best_nll = scale, nll
        value = m_base
        if best > 0:
            run = _steered(layer, best * vectors[layer], clean.base_acts, reuse_clean_layers)
            with (
                use_adapter(model, None),
                start_at_layer(model, run.get("start", 0), run.get("resid")),
                edit_activations(model, run.get("edits", {})),
            ):
                value = float(metric(model(**task_enc, logits_to_keep=1).logits.float()).mean())
        chosen.append(best)
        nlls.append(best_nll)
        steered.append(value)
        score.append((value - m_base) / span if abs(span) > 1e-9 else 0.0)
    return {
        "metric": {"base": m_base, "organism": m_org},
        "neutral_nll_base": nll_base,
        "max_nll_increase": max_nll_increase,
        "scales_tried": list(scales),
        "scale": chosen,
        "neutral_nll": nlls,
        "steered_metric": steered,
        "vector_norm": vectors.norm(dim=-1).tolist(),
        "layer_score": score,
    }
