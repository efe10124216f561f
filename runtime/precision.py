"""Which precision a stage computes in: shared by training (SFT) and analysis (autocast)."""

from __future__ import annotations

import torch


def use_bf16(precision: str) -> bool:
    """bf16 autocast where the hardware runs bf16 matmuls natively; fp32 master weights either way.

    `precision` is `training.precision` or `eval.precision`: 'auto', 'fp32' or 'bf16'."""
    if precision != "auto":
        return precision == "bf16"
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def eval_dtype(precision: str) -> torch.dtype:
    """The dtype the eval stage holds a model's weights in (`eval.precision`): bf16 weights, not autocast,
    because autocast casts every fp32 weight again on every decode step (bench/decode_step_cost.py)."""
    return torch.bfloat16 if use_bf16(precision) else torch.float32
