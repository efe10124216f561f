"""Tiny random decoders of several families, built from a config (no download), for fast tests.

Each has hidden size 64, `n_layers` decoder layers and the SmolLM2 tokenizer (its chat template
too), so the same prompts run through every family. What each family keeps of its real
architecture, and so what the code under test must not assume:

- `llama`: the embedded model's family (pre-norm blocks, tied embeddings).
- `qwen2`: biases on q/k/v, and an untied LM head (the other three tie it).
- `qwen3`: q/k RMS norms inside attention, head_dim set apart from hidden / heads.
- `gemma`: Gemma 3 text: embeddings scaled by sqrt(hidden) in the embedding module, a norm on the
  attention and on the MLP output before each is added to the residual stream, GELU, and
  sliding-window layers alternating with full attention (Gemma3TextConfig defaults to 5 sliding :
  1 full), their window of 16 tokens shorter than the test prompts.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, PretrainedConfig

from organisms.errors import OrganismError
from runtime.models import load_tokenizer

FAMILIES = ("llama", "qwen2", "qwen3", "gemma")
GEMMA_WINDOW = 16


def tiny_config(family: str, vocab_size: int, n_layers: int, special: dict[str, int | None]) -> PretrainedConfig:
    """The config of a tiny `family` model; `special` holds the tokenizer's bos/eos/pad token ids."""
    shared = {
        "vocab_size": vocab_size,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": n_layers,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 1024,
        **special,
    }
    if family == "llama":
        from transformers import LlamaConfig

        return LlamaConfig(**shared, tie_word_embeddings=True)
    if family == "qwen2":
        from transformers import Qwen2Config

        return Qwen2Config(**shared, tie_word_embeddings=False)
    if family == "qwen3":
        from transformers import Qwen3Config

        return Qwen3Config(**shared, head_dim=32, tie_word_embeddings=True)
    if family == "gemma":
        from transformers import Gemma3TextConfig

        layer_types = ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(n_layers)]
        return Gemma3TextConfig(
            **shared,
            head_dim=16,
            query_pre_attn_scalar=16,
            sliding_window=GEMMA_WINDOW,
            layer_types=layer_types,
            tie_word_embeddings=True,
        )
    raise OrganismError(f"tiny model: unknown family '{family}'; known: {', '.join(FAMILIES)}")


def build_tiny_model(
    out_dir: Path, family: str = "llama", seed: int = 0, n_layers: int = 2, chat_template: str | None = None
) -> Path:
    """A random `family` model (hidden 64, `n_layers` layers) with the SmolLM2 tokenizer, saved as
    safetensors in `out_dir`; returns `out_dir`. `chat_template` replaces SmolLM2's (e.g. a reasoning
    model's template with think blocks)."""
    if n_layers < 1:
        raise OrganismError(f"tiny model: n_layers must be >= 1 (got {n_layers})")
    tokenizer = load_tokenizer("embedded:smollm2-135m")
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    special = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    config = tiny_config(family, len(tokenizer), n_layers, special)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return Path(out_dir)


def build_tiny_llama(out_dir: Path, seed: int = 0, n_layers: int = 2) -> Path:
    """A random Llama (hidden 64, `n_layers` decoder layers, 2 by default) with the SmolLM2 tokenizer,
    for fast tests; other families: `build_tiny_model`."""
    return build_tiny_model(out_dir, "llama", seed=seed, n_layers=n_layers)
