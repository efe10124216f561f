"""Cross-model activation patching: one loaded model, adapter toggled, layer x module sweep.

Base and organism read identical tokens, so activations align position by position. For
each site s (`blocks.{l}.hook_{resid_post|attn_out|mlp_out}`), over all positions:

    organism -> base :  m(base with a_s := a_s^org)      recovery   = (m - m_base) / (m_org - m_base)
    base -> organism :  m(organism with a_s := a_s^base) disruption = (m_org - m) / (m_org - m_base)

m is the organism's own behaviour metric (mean hinted-letter logit difference,
`analyze/behaviour.py`). Patching a module output (attn/mlp) moves only that module's
contribution; patching `resid_post` at layer l carries everything up to l, so its recovery
is cumulative (a step at the layers that matter). Per-layer score (`layer_score`, shared with
`analyze/attribution.py`):

    layer_score[l] = mean(|recovery|, |disruption|) over attn_out and mlp_out at layer l

The two clean runs (every site, adapter off and on) are computed once per analysis
(`clean_runs`) and passed to patching, attribution and steering.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformers import BatchEncoding

from analyze.activations import SITE_KINDS, decoder_layers, edit_activations, record_activations, site_name
from organisms.models import use_adapter

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


def patching_sweep(model, enc: BatchEncoding, metric: Metric, adapter: str, clean: CleanRuns, kinds=SITE_KINDS) -> dict:
    """Both directions at every layer x kind, from the `clean` runs on `enc`. Returns raw metrics,
    recovery, disruption and `layer_score` (see module docstring); all per kind are lists over layers."""
    n_layers = len(decoder_layers(model))
    base_acts, org_acts, m_base, m_org = clean.base_acts, clean.org_acts, clean.m_base, clean.m_org
    to_base = {k: [] for k in kinds}
    to_org = {k: [] for k in kinds}
    for kind in kinds:
        for layer in range(n_layers):
            name = site_name(layer, kind)
            to_base[kind].append(patched_metric(model, enc, metric, None, {name: org_acts[name]}))
            to_org[kind].append(patched_metric(model, enc, metric, adapter, {name: base_acts[name]}))
    recovery = {k: _normalised(v, m_base, m_org) for k, v in to_base.items()}
    disruption = {k: _normalised(v, m_org, m_base) for k, v in to_org.items()}
    return {
        "metric": {"base": m_base, "organism": m_org},
        "organism_to_base": to_base,
        "base_to_organism": to_org,
        "recovery": recovery,
        "disruption": disruption,
        "layer_score": layer_score(recovery, disruption, kinds),
    }
