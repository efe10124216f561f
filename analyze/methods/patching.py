"""Cross-model activation patching: one loaded model, adapter toggled, layer x module sweep.

Base and organism read identical tokens, so activations align position by position. For
each site s (`blocks.{l}.hook_{resid_post|attn_out|mlp_out}`), over all positions:

    organism -> base :  m(base with a_s := a_s^org)      recovery   = (m - m_base) / (m_org - m_base)
    base -> organism :  m(organism with a_s := a_s^base) disruption = (m_org - m) / (m_org - m_base)

m is the organism's own behaviour metric (mean hinted-letter logit difference,
`analyze/methods/behaviour.py`). Patching a module output (attn/mlp) moves only that module's
contribution; patching `resid_post` at layer l carries everything up to l, so its recovery
is cumulative (a step at the layers that matter). Per-layer score (`layer_score`, shared with
`analyze/methods/attribution.py`):

    layer_score[l] = mean(|recovery|, |disruption|) over attn_out and mlp_out at layer l

The two clean runs (every site, adapter off and on) are computed once per analysis
(`clean_runs`) and passed to patching, attribution and steering.

The sweep runs one forward per direction x layer (`layer_sweep`): the prompts repeated once per
site kind, each block of rows patching one kind's site at that layer. Layers before it are not
run: a patch cannot change them, so they return the clean residual stream of the run being
patched (`analyze.methods.hooks.start_at_layer`). 2 * n_layers forwards over about half the layers
each, instead of 2 * n_layers * n_kinds full forwards (`patched_metric`, kept as the reference
the tests compare against).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformers import BatchEncoding

from analyze.methods.hooks import (
    SITE_KINDS,
    decoder_layers,
    edit_activations,
    record_activations,
    site_name,
    start_at_layer,
)
from runtime.models import use_adapter

Metric = Callable[[torch.Tensor], torch.Tensor]  # logits [batch, pos, vocab] -> [batch]


@torch.inference_mode()
def clean_run(model, enc: BatchEncoding, metric: Metric, adapter: str | None) -> tuple[dict[str, torch.Tensor], float]:
    """Every site's activations `[batch, pos, d_model]` and the mean metric, with `adapter` on (None: base)."""
    with use_adapter(model, adapter), record_activations(model) as store:
        value = metric(model(**enc, logits_to_keep=1).logits.float()).mean()
    return dict(store), float(value)


@dataclass(frozen=True)
class CleanRuns:
    """Both unpatched runs on the task prompts: every site's activations `[batch, pos, d_model]`
    (`base_acts`: adapter off, `org_acts`: on) and the mean metric of each."""

    base_acts: dict[str, torch.Tensor]
    org_acts: dict[str, torch.Tensor]
    m_base: float
    m_org: float


def clean_runs(model, enc: BatchEncoding, metric: Metric, adapter: str) -> CleanRuns:
    """The base run (adapter off) and the organism run (`adapter` on), once for every method."""
    base_acts, m_base = clean_run(model, enc, metric, None)
    org_acts, m_org = clean_run(model, enc, metric, adapter)
    return CleanRuns(base_acts, org_acts, m_base, m_org)


def layer_score(
    to_base: dict[str, list[float]], to_org: dict[str, list[float]], kinds: Sequence[str], scale: float = 1.0
) -> list[float]:
    """Per layer: sum over module kinds k of (|to_base[k][l]| + |to_org[k][l]|) / (2 * n_kinds * scale),
    the mean size of both directions' effect over attn_out and mlp_out. resid_post is left out when a
    module kind is present (it is cumulative); `scale` normalises raw metric changes."""
    module_kinds = [k for k in kinds if k != "resid_post"] or list(kinds)
    n_layers = len(to_base[module_kinds[0]])
    return [
        sum(abs(to_base[k][layer]) + abs(to_org[k][layer]) for k in module_kinds) / (2 * len(module_kinds) * scale)
        for layer in range(n_layers)
    ]


@torch.inference_mode()
def patched_metric(model, enc: BatchEncoding, metric: Metric, adapter: str | None, patches: dict) -> float:
    """Mean metric with `adapter` on (None: base) and each site in `patches` replaced by the given tensor."""
    edits = {name: (lambda h, new=new: new.to(h.dtype).to(h.device)) for name, new in patches.items()}
    with use_adapter(model, adapter), edit_activations(model, edits):
        return float(metric(model(**enc, logits_to_keep=1).logits.float()).mean())


def _normalised(values: list[float], start: float, end: float) -> list[float]:
    span = end - start
    return [(v - start) / span if abs(span) > 1e-9 else 0.0 for v in values]


@torch.inference_mode()
def layer_sweep(
    model,
    enc: BatchEncoding,
    metric: Metric,
    adapter: str | None,
    layer: int,
    patches: dict[str, torch.Tensor],
    clean_acts: dict[str, torch.Tensor],
    kinds: Sequence[str] = SITE_KINDS,
) -> dict[str, float]:
    """`{kind: mean metric}` with `adapter` on (None: base) and, separately per kind, the site
    `blocks.{layer}.hook_{kind}` replaced by `patches[site]` `[batch, pos, d_model]`. One forward of
    `len(kinds) * batch` rows (row block k patches kinds[k]) that starts at `layer` from
    `clean_acts` (this model's unpatched run on `enc`)."""
    batch = enc["input_ids"].shape[0]
    rows = {kind: slice(i * batch, (i + 1) * batch) for i, kind in enumerate(kinds)}

    def put(kind: str):
        new = patches[site_name(layer, kind)]

        def edit(h: torch.Tensor) -> torch.Tensor:
            h = h.clone()
            h[rows[kind]] = new.to(h.dtype).to(h.device)
            return h

        return edit

    repeat = len(kinds)
    stacked = {key: value.repeat(repeat, *[1] * (value.dim() - 1)) for key, value in enc.items()}
    resid = clean_acts[site_name(layer - 1, "resid_post")].repeat(repeat, 1, 1) if layer else None
    edits = {site_name(layer, kind): put(kind) for kind in kinds}
    with use_adapter(model, adapter), start_at_layer(model, layer, resid), edit_activations(model, edits):
        logits = model(**stacked, logits_to_keep=1).logits.float()
    return {kind: float(metric(logits[rows[kind]]).mean()) for kind in kinds}


def patching_sweep(
    model, enc: BatchEncoding, metric: Metric, adapter: str, clean: CleanRuns, kinds=SITE_KINDS, batched: bool = True
) -> dict:
    """Both directions at every layer x kind, from the `clean` runs on `enc`. Returns raw metrics,
    recovery, disruption, `layer_score` (see module docstring) and the number of forwards; all per
    kind are lists over layers. `batched=False`: one full forward per site and direction (the
    reference)."""
    n_layers = len(decoder_layers(model))
    base_acts, org_acts, m_base, m_org = clean.base_acts, clean.org_acts, clean.m_base, clean.m_org
    to_base = {k: [] for k in kinds}
    to_org = {k: [] for k in kinds}
    for layer in range(n_layers):
        if batched:
            into_base = layer_sweep(model, enc, metric, None, layer, org_acts, base_acts, kinds)
            into_org = layer_sweep(model, enc, metric, adapter, layer, base_acts, org_acts, kinds)
        else:
            names = {kind: site_name(layer, kind) for kind in kinds}
            into_base = {k: patched_metric(model, enc, metric, None, {n: org_acts[n]}) for k, n in names.items()}
            into_org = {k: patched_metric(model, enc, metric, adapter, {n: base_acts[n]}) for k, n in names.items()}
        for kind in kinds:
            to_base[kind].append(into_base[kind])
            to_org[kind].append(into_org[kind])
    recovery = {k: _normalised(v, m_base, m_org) for k, v in to_base.items()}
    disruption = {k: _normalised(v, m_org, m_base) for k, v in to_org.items()}
    return {
        "metric": {"base": m_base, "organism": m_org},
        "organism_to_base": to_base,
        "base_to_organism": to_org,
        "recovery": recovery,
        "disruption": disruption,
        "layer_score": layer_score(recovery, disruption, kinds),
        "forwards": 2 * n_layers * (1 if batched else len(kinds)),
    }
