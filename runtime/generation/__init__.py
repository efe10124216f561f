"""Generation and scoring on a loaded model: prompts rendered and padded (`chat`), batched decoding
that stops each row at its answer (`decode`), and log-probabilities without sampling (`scoring`)."""

from runtime.generation.chat import chat_texts, is_served, left_padded_batches, needs_hf
from runtime.generation.decode import (
    Decoding,
    GenerationStats,
    RowStop,
    continuous_batching_supported,
    generate_batched,
)
from runtime.generation.scoring import (
    block_masks_supported,
    continuation_logprobs,
    next_token_logprobs,
    sequence_logprobs,
    shared_prefix_logprobs,
)

__all__ = [
    "Decoding",
    "GenerationStats",
    "RowStop",
    "block_masks_supported",
    "chat_texts",
    "continuation_logprobs",
    "continuous_batching_supported",
    "generate_batched",
    "is_served",
    "left_padded_batches",
    "needs_hf",
    "next_token_logprobs",
    "sequence_logprobs",
    "shared_prefix_logprobs",
]
