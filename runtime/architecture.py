"""Where a decoder's parts are, across model families (Llama, Qwen2/3, Gemma 3, ...).

Training (LoRA targets inside the decoder blocks) and analysis (hooks on each block's
contributions to the residual stream) both need them; they are found through the transformers
API (`get_decoder()`) where it has one, through module structure where it has none. Generation
needs each layer's attention type (`layer_types`).
"""

from __future__ import annotations

from torch import nn

BLOCKS = ("attn", "mlp")


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The model's list of decoder blocks: `get_decoder().layers` for a transformers model (peft
    wrappers pass the call through), else the first ModuleList named '*layers' (plain torch models)."""
    get_decoder = getattr(model, "get_decoder", None)
    if get_decoder is not None:
        layers = getattr(get_decoder(), "layers", None)
        if isinstance(layers, nn.ModuleList) and len(layers) > 0:
            return layers
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and name.endswith("layers") and len(module) > 0:
            return module
    raise ValueError("no decoder layer list found (expected get_decoder().layers or a ModuleList named '*layers')")


def block_output(layer: nn.Module, block: str) -> nn.Module:
    """The module whose output `block` ("attn" or "mlp") of a decoder layer adds to the residual stream.

    Pre-norm layers (Llama, Qwen) add the attention / MLP module's output as it is. Layers that
    also normalize each block's output before adding it (Gemma 2/3, OLMo 2: they have a
    `post_feedforward_layernorm`, and their `post_attention_layernorm` is the attention output's
    norm, not the MLP's input norm as in Llama) add that norm's output: hooking it keeps
    resid_post[l] = resid_post[l-1] + attn_out[l] + mlp_out[l] true in every family."""
    if block not in BLOCKS:
        raise ValueError(f"block must be one of {BLOCKS}, not {block!r}")
    if hasattr(layer, "post_feedforward_layernorm") and hasattr(layer, "post_attention_layernorm"):
        return layer.post_attention_layernorm if block == "attn" else layer.post_feedforward_layernorm
    names = {"attn": ("self_attn", "attn", "attention"), "mlp": ("mlp", "feed_forward")}[block]
    for name in names:
        if hasattr(layer, name):
            return getattr(layer, name)
    raise ValueError(f"decoder layer {type(layer).__name__} has none of {names}")


def layer_types(config) -> list[str]:
    """Each layer's attention type (`config.layer_types`; models without one attend in full, or
    all within `sliding_window` when it is set, as Mistral does). Decoding and scoring ask it:
    only full-attention caches can be sliced row by row, only some types take a block mask."""
    types = getattr(config, "layer_types", None)
    if types is not None:
        return list(types)
    window = getattr(config, "sliding_window", None)
    return [("sliding_attention" if window else "full_attention")] * config.num_hidden_layers
