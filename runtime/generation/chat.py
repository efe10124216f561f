"""Prompts as the model sees them: chat rendering, and left-padded batches that end at each row's
last position (what decoding continues and next-token scoring reads)."""

from __future__ import annotations

from collections.abc import Iterator

from transformers import BatchEncoding, PreTrainedModel, PreTrainedTokenizerBase

from organisms.errors import OrganismError
from organisms.reasoning import TEXT, template_kwargs
from organisms.spec import ReasoningSpec


def chat_texts(
    tokenizer: PreTrainedTokenizerBase, conversations: list[list[dict[str, str]]], reasoning: ReasoningSpec = TEXT
) -> list[str]:
    """Chat prompts rendered by the model's own template with the generation prompt (the text a
    completion continues); a reasoning template is told to let the model think (`template_kwargs`)."""
    kwargs = template_kwargs(reasoning)
    return [
        tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True, **kwargs) for c in conversations
    ]


def is_served(model: object) -> bool:
    """A served model (`runtime.engine.ServedModel`, eval.engine openai) generates on its server and
    has no logits or hidden states here."""
    return callable(getattr(model, "generate_served", None))


def needs_hf(model: object, what: str) -> None:
    """Refuse a served model where logits or hidden states are needed."""
    if is_served(model):
        raise OrganismError(
            f"{what} needs the model's log-probabilities, which eval.engine 'openai' does not provide; "
            "use eval.engine: hf (docs/engine.md)"
        )


def left_padded_batches(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], batch_size: int
) -> Iterator[tuple[list[int], BatchEncoding]]:
    """(indices, encoding) batches of `texts`, sorted by length so each batch pads little, padded on
    the left so every row ends at its last position."""
    needs_hf(model, "scoring or reading a model's activations")
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), batch_size):
        ids = order[start : start + batch_size]
        batch = [texts[i] for i in ids]
        enc = tokenizer(batch, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
        yield ids, enc.to(model.device)
