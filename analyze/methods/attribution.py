"""Attribution patching: a first-order estimate of the whole patching sweep from two backward passes.

For a site s with activations a^base, a^org `[batch, pos, d_model]`:

    organism -> base :  delta m ~= sum_{batch,pos,d} dm/da_s |_base      * (a_s^org  - a_s^base)
    base -> organism :  delta m ~= sum_{batch,pos,d} dm/da_s |_organism  * (a_s^base - a_s^org)

(m the mean metric over prompts). The gradient at every site comes from one backward pass
per direction: each site's output gets a zero tensor added that requires grad. Exact when m
is linear in the activations; otherwise a cheap pre-filter for `analyze/methods/patching.py`,
scored against it by Spearman correlation and top-k overlap of |delta m|.
"""

from __future__ import annotations

import torch
from scipy.stats import spearmanr
from transformers import BatchEncoding

from analyze.methods.hooks import SITE_KINDS, decoder_layers, edit_activations, site_name
from analyze.methods.patching import CleanRuns, Metric, layer_score
from runtime.models import use_adapter


def site_gradients(model, enc: BatchEncoding, metric: Metric, adapter: str | None, sites: list[str]) -> dict:
    """d(mean metric)/d(activation) at each site, `[batch, pos, d_model]` on CPU, with `adapter` on (None: base)."""
    leaves: dict[str, torch.Tensor] = {}

    def add_leaf(name: str):
        def edit(h: torch.Tensor) -> torch.Tensor:
            leaves[name] = torch.zeros_like(h, requires_grad=True)
            return h + leaves[name]

        return edit

    with torch.enable_grad(), use_adapter(model, adapter), edit_activations(model, {s: add_leaf(s) for s in sites}):
        value = metric(model(**enc, logits_to_keep=1).logits.float()).mean()
        grads = torch.autograd.grad(value, [leaves[s] for s in sites], allow_unused=True)
    return {  # on CPU, beside the recorded activations they multiply (runtime/activations.py)
        s: (g if g is not None else torch.zeros_like(leaves[s])).detach().float().cpu()
        for s, g in zip(sites, grads, strict=True)
    }


def attribution_sweep(
    model, enc: BatchEncoding, metric: Metric, adapter: str, clean: CleanRuns, kinds=SITE_KINDS
) -> dict:
    """Predicted metric change per direction x kind x layer (from the `clean` runs on `enc`), the clean
    metrics, and `layer_score` as in patching with the changes divided by |m_org - m_base|."""
    n_layers = len(decoder_layers(model))
    sites = [site_name(layer, kind) for kind in kinds for layer in range(n_layers)]
    base_acts, org_acts, m_base, m_org = clean.base_acts, clean.org_acts, clean.m_base, clean.m_org
    grad_base = site_gradients(model, enc, metric, None, sites)
    grad_org = site_gradients(model, enc, metric, adapter, sites)
    to_base = {k: [] for k in kinds}
    to_org = {k: [] for k in kinds}
    for kind in kinds:
        for layer in range(n_layers):
            s = site_name(layer, kind)
            diff = org_acts[s] - base_acts[s]
            to_base[kind].append(float((grad_base[s] * diff).sum()))
            to_org[kind].append(float((grad_org[s] * -diff).sum()))
    span = m_org - m_base if abs(m_org - m_base) > 1e-9 else 1.0
    return {
        "metric": {"base": m_base, "organism": m_org},
        "organism_to_base_delta": to_base,
        "base_to_organism_delta": to_org,
        "layer_score": layer_score(to_base, to_org, kinds, scale=abs(span)),
    }


def agreement(attribution: dict, patching: dict, top_k: int = 5) -> dict:
    """How well attribution ranks sites like exact patching: Spearman over all (direction, kind, layer)
    of the metric change, and the overlap of the top-k sites by |change| (both directions pooled)."""
    m_base, m_org = patching["metric"]["base"], patching["metric"]["organism"]
    exact, approx, names = [], [], []
    directions = (
        ("organism_to_base", m_base, "organism_to_base_delta"),
        ("base_to_organism", m_org, "base_to_organism_delta"),
    )
    for direction, start, key in directions:
        for kind, values in patching[direction].items():
            for layer, value in enumerate(values):
                exact.append(value - start)
                approx.append(attribution[key][kind][layer])
                names.append(f"{direction}:{site_name(layer, kind)}")
    k = min(top_k, len(names))
    top = lambda xs: {names[i] for i in sorted(range(len(xs)), key=lambda i: -abs(xs[i]))[:k]}  # noqa: E731
    rho = spearmanr(exact, approx).statistic if len(set(exact)) > 1 and len(set(approx)) > 1 else float("nan")
    return {
        "spearman": None if rho != rho else float(rho),  # NaN (a constant vector) is not JSON
        "top_k": k,
        "top_k_overlap": len(top(exact) & top(approx)) / k if k else None,
        "n_sites": len(names),
    }
