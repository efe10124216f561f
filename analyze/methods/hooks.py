"""Editing activations by forward hooks on the HF/peft modules (no model re-implementation).

Reading them (`record_activations`) and the site names (`blocks.{layer}.hook_resid_post`,
`hook_attn_out`, `hook_mlp_out`, each `[batch, pos, d_model]`) live in runtime/activations.py,
because evals read activations too; they are re-exported here for analyze's modules.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn

from runtime.activations import (  # noqa: F401  (re-exported: analyze reads them from here)
    SITE_KINDS,
    _first_tensor,
    _submodule,
    decoder_layers,
    record_activations,
    site_name,
)


def _replace_first(output: object, new: torch.Tensor) -> object:
    """`output` with its hidden state swapped for `new` (same container type)."""
    if isinstance(output, torch.Tensor):
        return new
    return type(output)((new, *output[1:]))


@contextlib.contextmanager
def edit_activations(model: nn.Module, edits: dict[str, Callable[[torch.Tensor], torch.Tensor]]) -> Iterator[None]:
    """Within the block, each site's output `h` [batch, pos, d_model] is replaced by `edits[site](h)`.

    The one primitive behind patching (return a stored activation), steering (return h + s v)
    and attribution patching (return h + a zero leaf that collects the gradient)."""
    layers = decoder_layers(model)
    handles = []

    def hook_for(edit):
        def hook(module, args, output):
            return _replace_first(output, edit(_first_tensor(output)))

        return hook

    try:
        for name, edit in edits.items():
            layer, kind = parse_site(name)
            if not 0 <= layer < len(layers):
                raise ValueError(f"site {name}: the model has {len(layers)} layers")
            handles.append(_submodule(layers[layer], kind).register_forward_hook(hook_for(edit)))
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def start_at_layer(model: nn.Module, start: int, resid: torch.Tensor | None) -> Iterator[None]:
    """Within the block, decoder layers before `start` are not run: each returns `resid`
    [batch, pos, d_model] (the residual stream after layer `start - 1`, from a clean run of the same
    tokens), so the forward computes only layers `start..` on top of it. The embedding still runs
    (cheap); `start=0` changes nothing. Sound only when the skipped layers would have produced
    `resid`: the model, adapter state and tokens of the run it was recorded in."""
    layers = decoder_layers(model)
    if not 0 <= start <= len(layers):
        raise ValueError(f"start layer {start}: the model has {len(layers)} layers")
    if start and resid is None:
        raise ValueError(f"start layer {start} needs the residual stream after layer {start - 1}")

    def skipped(hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return resid.to(hidden_states.dtype).to(hidden_states.device)

    own = [vars(layer).get("forward") for layer in layers[:start]]  # e.g. accelerate's, put back after
    try:
        for layer in layers[:start]:
            layer.forward = skipped  # an instance attribute: hooks on the layer still run
        yield
    finally:
        for layer, forward in zip(layers[:start], own, strict=True):
            if forward is None:
                del layer.forward
            else:
                layer.forward = forward


def parse_site(name: str) -> tuple[int, str]:
    """'blocks.3.hook_mlp_out' -> (3, 'mlp_out')."""
    parts = name.split(".")
    if len(parts) != 3 or parts[0] != "blocks" or not parts[2].startswith("hook_") or parts[2][5:] not in SITE_KINDS:
        raise ValueError(f"not a site name: {name!r} (expected blocks.<layer>.hook_<{'|'.join(SITE_KINDS)}>)")
    return int(parts[1]), parts[2][5:]
