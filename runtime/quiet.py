"""Silence third-party messages that are not ours to fix, so the CLI prints what matters.

- bitsandbytes logs "Failed to load CPU gemm_4bit_forward from kernels-community" on import on
  CPUs with AVX512-BF16; the optional `kernels` package only speeds up 4-bit CPU matmuls,
  which we never use (QLoRA is CUDA-only here).
- transformers, trl and peft raise FutureWarnings about their own deprecations (e.g.
  `is_gradient_checkpointing`, called by peft); upgrading them is their job, not the user's.
"""

from __future__ import annotations

import logging
import warnings

THIRD_PARTY = r"(transformers|trl|peft|accelerate|huggingface_hub)(\.|$)"


def _not_kernels_notice(record: logging.LogRecord) -> bool:
    return "gemm_4bit_forward" not in str(record.msg)


def quiet_third_party() -> None:
    """Install the filters; call once at start-up, before the libraries are imported."""
    logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(_not_kernels_notice)
    warnings.filterwarnings("ignore", category=FutureWarning, module=THIRD_PARTY)
