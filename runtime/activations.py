"""Reading activations by forward hooks on the HF/peft modules: the one way every stage reads them.

Sites are named one way everywhere (JSON, plots, W&B), TransformerLens style:

    blocks.{layer}.hook_resid_post   output of decoder layer `layer`               [batch, pos, d_model]
    blocks.{layer}.hook_attn_out     what its attention block adds to the residual  [batch, pos, d_model]
    blocks.{layer}.hook_mlp_out      what its MLP block adds to the residual        [batch, pos, d_model]

so resid_post[l] = resid_post[l-1] + attn_out[l] + mlp_out[l] in every family: in Gemma 2/3 the
block outputs are read after the norm each passes through before it is added
(`runtime.architecture.block_output`).

Here (not in analyze/) because evals read them too (the belief suite's truth probe) and a stage
never imports a later one; analyze/methods/hooks.py adds the hooks that edit activations.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from runtime.architecture import block_output, decoder_layers

SITE_KINDS = ("resid_post", "attn_out", "mlp_out")


def site_name(layer: int, kind: str) -> str:
    return f"blocks.{layer}.hook_{kind}"


def _first_tensor(output: object) -> torch.Tensor:
    """Decoder layers return a tensor in recent transformers and a tuple in older ones."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise TypeError(f"cannot find the hidden state in a module output of type {type(output).__name__}")


def _submodule(layer: nn.Module, kind: str) -> nn.Module:
    if kind == "resid_post":
        return layer
    return block_output(layer, {"attn_out": "attn", "mlp_out": "mlp"}[kind])


@contextlib.contextmanager
def record_activations(model: nn.Module, kinds: tuple[str, ...] = SITE_KINDS) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, every forward pass stores each site's output (detached, fp32, on CPU)
    in the yielded dict, keyed by site name; a later pass overwrites the earlier one."""
    store: dict[str, torch.Tensor] = {}
    handles = []

    def hook_for(name: str):
        def hook(module, args, output):
            store[name] = _first_tensor(output).detach().float().cpu()

        return hook

    try:
        for index, layer in enumerate(decoder_layers(model)):
            for kind in kinds:
                handles.append(_submodule(layer, kind).register_forward_hook(hook_for(site_name(index, kind))))
        yield store
    finally:
        for handle in handles:
            handle.remove()
