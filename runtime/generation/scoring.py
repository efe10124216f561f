"""Scoring without sampling: next-token log-probabilities (a forced answer), the same after every
prefix of a text in one forward (a block mask over a shared prefix), and summed log-probabilities
of continuations (options scored by likelihood)."""

from __future__ import annotations

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from runtime.architecture import layer_types
from runtime.generation.chat import left_padded_batches, needs_hf


@torch.inference_mode()
def next_token_logprobs(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], batch_size: int = 16
) -> torch.Tensor:
    """Log-probabilities of the next token after each text: `[len(texts), vocab]` (float32, CPU).

    Used to force an answer ("...Answer: (" -> which letter?) without sampling a continuation."""
    needs_hf(model, "forcing an answer (next-token log-probabilities)")
    rows: dict[int, torch.Tensor] = {}
    for batch_ids, enc in left_padded_batches(model, tokenizer, texts, batch_size):
        logits = model(**enc, logits_to_keep=1).logits[:, -1, :].float()  # the LM head at the last position only
        for i, row in zip(batch_ids, torch.log_softmax(logits, dim=-1).cpu(), strict=True):
            rows[i] = row
    return torch.stack([rows[i] for i in range(len(texts))]) if texts else torch.empty(0)


def _tokens(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


@torch.inference_mode()
def shared_prefix_logprobs(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pieces: list[list[str]],
    suffix: str,
    batch_size: int = 16,
) -> list[torch.Tensor]:
    """Next-token log-probabilities after every prefix of every text, plus `suffix`: row j of
    `out[i]` (`[len(pieces[i]), vocab]`, float32, CPU) is `next_token_logprobs` of
    `"".join(pieces[i][: j + 1]) + suffix`, up to float rounding.

    The prefixes of one text share their tokens, so one forward reads the longest prefix once and
    then a copy of the suffix per prefix, `[longest prefix | suffix after prefix 0 | ...]`; each
    copy attends only to its own prefix and to itself (a block mask) at the positions it would
    have after that prefix: the prefix's KV cache reused, in one forward. Sliding-window layers
    (Gemma 3, Qwen with `use_sliding_window`) get the same mask cut to their window, by position.
    A prefix whose tokens are not the first tokens of the longest prefix (a token merge across the
    cut) is scored on its own with `next_token_logprobs`, and so is every prefix of a model whose
    attention ignores custom masks (`block_masks_supported`)."""
    needs_hf(model, "forcing answers after CoT prefixes (next-token log-probabilities)")
    texts = [["".join(parts[: j + 1]) for j in range(len(parts))] for parts in pieces]
    masks_honoured = block_masks_supported(model)
    plans, alone = [], []  # plans[i] = (tokens of the longest prefix, [(j, prefix length, suffix tokens)])
    for i, prefixes in enumerate(texts):
        main = _tokens(tokenizer, prefixes[-1]) if prefixes else []
        blocks = []
        for j, text in enumerate(prefixes):
            prefix, full = _tokens(tokenizer, text), _tokens(tokenizer, text + suffix)
            if masks_honoured and prefix and main[: len(prefix)] == prefix and full[: len(prefix)] == prefix:
                blocks.append((j, len(prefix), full[len(prefix) :]))
            else:
                alone.append((i, j))
        plans.append((main, blocks))
    out = [torch.empty(len(prefixes), 0) for prefixes in texts]
    rows: dict[tuple[int, int], torch.Tensor] = {}
    order = sorted((i for i, (_, blocks) in enumerate(plans) if blocks), key=lambda i: _plan_length(plans[i]))
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        keys = [(item, j) for item in batch for j, _, _ in plans[item][1]]
        rows.update(zip(keys, _block_forward(model, [plans[item] for item in batch]), strict=True))
    if alone:
        scored = next_token_logprobs(model, tokenizer, [texts[i][j] + suffix for i, j in alone], batch_size)
        rows.update(zip(alone, scored, strict=True))
    for i, prefixes in enumerate(texts):
        if prefixes:
            out[i] = torch.stack([rows[i, j] for j in range(len(prefixes))])
    return out


MASKABLE_LAYER_TYPES = {"full_attention", "sliding_attention"}


def block_masks_supported(model: PreTrainedModel) -> bool:
    """Whether `_block_forward`'s 4D masks are what every layer attends with: eager and SDPA attention
    take a custom 4D mask as it is (flash attention does not), and full and sliding-window layers are
    all we can express (not chunked or linear attention). Models with both kinds must take a mask
    per layer type (a dict keyed by `config.layer_types`, as transformers' Qwen2/3 and Gemma 2/3 do)."""
    config = model.config
    return (
        getattr(config, "_attn_implementation", None) in ("eager", "sdpa")
        and set(layer_types(config)) <= MASKABLE_LAYER_TYPES
    )


def _attention_masks(
    config, allowed: torch.Tensor, positions: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor | dict[str, torch.Tensor]:
    """Additive masks `[batch, 1, q, k]` from `allowed` `[batch, q, k]`: one for every layer, or one per
    layer type when sliding-window layers are there (they also hide keys `window` or more positions
    back, as transformers' own sliding masks do)."""

    def additive(keep: torch.Tensor) -> torch.Tensor:
        return torch.zeros(keep.shape, dtype=dtype).masked_fill(~keep, torch.finfo(dtype).min)[:, None]

    types = set(layer_types(config))
    if "sliding_attention" not in types:
        return additive(allowed)
    near = positions[:, :, None] - positions[:, None, :] < config.sliding_window  # [batch, q, k]
    # padding rows keep themselves (distance 0), so no row is left with nothing to attend to
    masks = {"full_attention": additive(allowed), "sliding_attention": additive(allowed & near)}
    if getattr(config, "layer_types", None) is None:
        return masks["sliding_attention"]
    return {kind: masks[kind] for kind in types}


def _plan_length(plan: tuple[list[int], list[tuple[int, int, list[int]]]]) -> int:
    main, blocks = plan
    return len(main) + sum(len(extra) for _, _, extra in blocks)


def _block_forward(model: PreTrainedModel, plans: list[tuple[list[int], list]]) -> list[torch.Tensor]:
    """One forward over `[main | suffix blocks]` rows (right padded, 4D additive masks, explicit
    positions); the log-probs at each block's last token, in plan and block order. The LM head runs
    on those positions only (a pre-hook gathers them), not on the whole sequence."""
    dtype, device = model.dtype, model.device
    length = max(_plan_length(p) for p in plans)
    ids = torch.zeros(len(plans), length, dtype=torch.long)
    positions = torch.zeros(len(plans), length, dtype=torch.long)
    allowed = torch.zeros(len(plans), length, length, dtype=torch.bool)
    targets: list[list[int]] = []
    for b, (main, blocks) in enumerate(plans):
        m = len(main)
        ids[b, :m], positions[b, :m] = torch.tensor(main), torch.arange(m)
        allowed[b, :m, :m] = torch.ones(m, m, dtype=torch.bool).tril()
        cursor, row_targets = m, []
        for _, n, extra in blocks:
            if not extra:  # an empty suffix: the prefix's own last position
                row_targets.append(n - 1)
                continue
            block = slice(cursor, cursor + len(extra))
            ids[b, block], positions[b, block] = torch.tensor(extra), torch.arange(n, n + len(extra))
            allowed[b, block, :n] = True
            allowed[b, block, block] = torch.ones(len(extra), len(extra), dtype=torch.bool).tril()
            cursor += len(extra)
            row_targets.append(cursor - 1)
        allowed[b, range(cursor, length), range(cursor, length)] = True  # padding sees itself (no empty rows)
        targets.append(row_targets)
    masks = _attention_masks(model.config, allowed, positions, dtype)
    masks = {k: m.to(device) for k, m in masks.items()} if isinstance(masks, dict) else masks.to(device)
    width = max(len(t) for t in targets)
    index = torch.tensor([t + [0] * (width - len(t)) for t in targets], device=device)

    def gather(_module, args):
        return (args[0][torch.arange(len(plans), device=device)[:, None], index],)

    handle = model.get_output_embeddings().register_forward_pre_hook(gather)
    try:
        logits = model(input_ids=ids.to(device), attention_mask=masks, position_ids=positions.to(device)).logits
    finally:
        handle.remove()
    logprobs = torch.log_softmax(logits.float(), dim=-1).cpu()
    return [logprobs[b, k] for b, t in enumerate(targets) for k in range(len(t))]


def continuation_logprobs(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prefix: str, continuations: list[str]
) -> list[float]:
    """Total log-probability of each continuation after `prefix` (sum over its tokens)."""
    return sequence_logprobs(model, tokenizer, [(prefix, c) for c in continuations])


@torch.inference_mode()
def sequence_logprobs(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, pairs: list[tuple[str, str]], batch_size: int = 16
) -> list[float]:
    """Total log-probability of each (prefix, continuation)'s continuation after its prefix, in batches.

    Tokenized as prefix + continuation together, so the boundary token is the one the model would
    see; right padded (the padding comes after every scored token, so it changes none of them)."""
    needs_hf(model, "scoring options by log-likelihood")
    encoded = [(_tokens(tokenizer, p + c), len(_tokens(tokenizer, p))) for p, c in pairs]
    scores = [0.0] * len(pairs)
    order = sorted(range(len(pairs)), key=lambda i: len(encoded[i][0]))
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        length = max(len(encoded[i][0]) for i in batch)
        ids = torch.full((len(batch), length), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros(len(batch), length, dtype=torch.long)
        for b, i in enumerate(batch):
            row = encoded[i][0]
            ids[b, : len(row)], mask[b, : len(row)] = torch.tensor(row), 1
        logits = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).logits
        logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1).cpu()
        token_scores = logprobs.gather(2, ids[:, 1:, None])[..., 0]
        for b, i in enumerate(batch):
            row, n_prefix = encoded[i]
            scores[i] = float(token_scores[b, n_prefix - 1 : len(row) - 1].sum())
    return scores
