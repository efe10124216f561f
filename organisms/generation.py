"""Batched generation (greedy or sampled) with left padding and the KV cache, and next-token scoring."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from transformers import BatchEncoding, PreTrainedModel, PreTrainedTokenizerBase


def chat_texts(tokenizer: PreTrainedTokenizerBase, conversations: list[list[dict[str, str]]]) -> list[str]:
    """Chat prompts rendered with the generation prompt (the text a completion continues)."""
    return [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations]


def left_padded_batches(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], batch_size: int
) -> Iterator[tuple[list[int], BatchEncoding]]:
    """(indices, encoding) batches of `texts`, sorted by length so each batch pads little, padded on
    the left so every row ends at its last position."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), batch_size):
        ids = order[start : start + batch_size]
        batch = [texts[i] for i in ids]
        enc = tokenizer(batch, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
        yield ids, enc.to(model.device)


@torch.inference_mode()
def generate_batched(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    conversations: list[list[dict[str, str]]],
    max_new_tokens: int,
    batch_size: int = 16,
    *,
    prefixes: list[str] | None = None,
    temperature: float | None = None,
    seed: int = 0,
) -> list[str]:
    """Completions of chat prompts, in input order: greedy, or sampled when `temperature` is set
    (seeded once, so a call is reproducible). `prefixes` are assistant-turn beginnings to continue
    from (the returned text excludes them). Prompts are sorted by length so each batch pads
    little and padded on the left (decoder-only models continue from the last position)."""
    texts = chat_texts(tokenizer, conversations)
    if prefixes is not None:
        texts = [t + p for t, p in zip(texts, prefixes, strict=True)]
    outputs: list[str] = [""] * len(texts)
    sampling = {"do_sample": False}
    if temperature is not None:
        torch.manual_seed(seed)
        sampling = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
    for batch_ids, enc in left_padded_batches(model, tokenizer, texts, batch_size):
        generated = model.generate(
            **enc,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            **sampling,
        )
        new_tokens = generated[:, enc["input_ids"].shape[1] :]
        for i, row in zip(batch_ids, new_tokens, strict=True):
            outputs[i] = tokenizer.decode(row, skip_special_tokens=True).strip()
    return outputs


@torch.inference_mode()
def next_token_logprobs(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], batch_size: int = 16
) -> torch.Tensor:
    """Log-probabilities of the next token after each text: `[len(texts), vocab]` (float32, CPU).

    Used to force an answer ("...Answer: (" -> which letter?) without sampling a continuation."""
    rows: dict[int, torch.Tensor] = {}
    for batch_ids, enc in left_padded_batches(model, tokenizer, texts, batch_size):
        logits = model(**enc).logits[:, -1, :].float()
        for i, row in zip(batch_ids, torch.log_softmax(logits, dim=-1).cpu(), strict=True):
            rows[i] = row
    return torch.stack([rows[i] for i in range(len(texts))]) if texts else torch.empty(0)


@torch.inference_mode()
def continuation_logprobs(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prefix: str, continuations: list[str]
) -> list[float]:
    """Total log-probability of each continuation after `prefix` (sum over its tokens).

    Tokenized as prefix + continuation together, so the boundary token is the one the model would see."""
    prefix_len = len(tokenizer(prefix, add_special_tokens=False)["input_ids"])
    scores = []
    for continuation in continuations:
        ids = tokenizer(prefix + continuation, add_special_tokens=False, return_tensors="pt")["input_ids"]
        ids = ids.to(model.device)
        logprobs = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
        targets = ids[0, 1:]
        token_scores = logprobs.gather(1, targets[:, None])[:, 0]
        scores.append(float(token_scores[prefix_len - 1 :].sum()))
    return scores
