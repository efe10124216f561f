"""Batched generation (greedy or sampled) with left padding and the KV cache, stopping each row at
its answer; next-token scoring, also of several prefixes of one text in a single forward."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from transformers import BatchEncoding, DynamicCache, PreTrainedModel, PreTrainedTokenizerBase, StoppingCriteria

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


@dataclass
class GenerationStats:
    """What `generate_batched` spent: rows, generated tokens (each row up to and including the token
    that ended it: end of turn, a completed `stop` match, or the max_new_tokens-th), and row-steps
    (rows x decoding steps computed). With continuous batching a row leaves at its last token, so
    row-steps equal tokens; on the fixed-batch path a finished row rides along, padded, until its
    batch ends; on a server, the tokens it generated before the cut."""

    rows: int = 0
    tokens: int = 0
    row_steps: int = 0

    def add(self, other: GenerationStats) -> None:
        self.rows += other.rows
        self.tokens += other.tokens
        self.row_steps += other.row_steps


class RowStop(StoppingCriteria):
    """Per row of a left-padded batch: done at the end-of-turn token, or once the text generated
    after `prompt_len` contains a match of `stop` (a row's answer is complete). Remembers how many
    tokens each row generated up to and including the one that ended it."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, prompt_len: int, stop: re.Pattern | None):
        self.tokenizer, self.prompt_len, self.stop = tokenizer, prompt_len, stop
        eos = tokenizer.eos_token_id
        self.eos = {eos} if isinstance(eos, int) else set(eos or ())
        self.ended_at: dict[int, int] = {}

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        n_new = input_ids.shape[1] - self.prompt_len
        for row in range(input_ids.shape[0]):
            if row in self.ended_at:
                done[row] = True
                continue
            if self.ended(input_ids[row, self.prompt_len :]):
                self.ended_at[row] = n_new
                done[row] = True
        return done

    def ended(self, new: torch.Tensor | list[int]) -> bool:
        """Whether a row's generated tokens `new` end it: the end-of-turn token, or a complete `stop` match."""
        return int(new[-1]) in self.eos or (
            self.stop is not None and self.stop.search(self.tokenizer.decode(new, skip_special_tokens=True)) is not None
        )


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
    stop: re.Pattern | None = None,
    stats: GenerationStats | None = None,
    reasoning: ReasoningSpec = TEXT,
) -> list[str]:
    """Completions of chat prompts, in input order: greedy, or sampled when `temperature` is set
    (seeded, so a call is reproducible). `prefixes` are assistant-turn beginnings to continue
    from (the returned text excludes them). Prompts are sorted by length so each batch pads
    little and padded on the left (decoder-only models continue from the last position).

    `stop`: a row ends as soon as its generated text (prefix excluded) matches it, e.g. a complete
    answer line; `stats` accumulates what was spent. `batch_size` rows decode at once, and a row
    that ends leaves the batch and makes room for a waiting prompt (`_generate_continuous`), on
    every model whose layers all attend in full; others decode fixed batches (`_generate_static`).
    `reasoning`: where the model reasons; a think-block format lets a reasoning template think.

    `model` may be a `ServedModel` (eval.engine openai): the same texts go to its server, and each
    completion is cut where a row here would have stopped (runtime/engine.py)."""
    texts = chat_texts(tokenizer, conversations, reasoning)
    if prefixes is not None:
        texts = [t + p for t, p in zip(texts, prefixes, strict=True)]
    if is_served(model):
        return model.generate_served(tokenizer, texts, max_new_tokens, temperature, seed, stop, stats)
    if continuous_batching_supported(model):
        return _generate_continuous(model, tokenizer, texts, max_new_tokens, batch_size, temperature, seed, stop, stats)
    return _generate_static(model, tokenizer, texts, max_new_tokens, batch_size, temperature, seed, stop, stats)


def _generate_static(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    max_new_tokens: int,
    batch_size: int,
    temperature: float | None,
    seed: int,
    stop: re.Pattern | None,
    stats: GenerationStats | None,
) -> list[str]:
    """`generate_batched` with `model.generate` on fixed batches: a finished row rides along, padded,
    until every row of its batch has finished. The path for models whose cache is not a plain
    per-layer KV (sliding windows, linear attention), and the "before" of bench/eval_throughput.py."""
    outputs: list[str] = [""] * len(texts)
    sampling = {"do_sample": False}
    if temperature is not None:
        torch.manual_seed(seed)
        sampling = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
    for batch_ids, enc in left_padded_batches(model, tokenizer, texts, batch_size):
        row_stop = RowStop(tokenizer, enc["input_ids"].shape[1], stop)
        generated = model.generate(
            **enc,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            stopping_criteria=[row_stop],
            **sampling,
        )
        new_tokens = generated[:, enc["input_ids"].shape[1] :]
        for row, (i, tokens) in enumerate(zip(batch_ids, new_tokens, strict=True)):
            outputs[i] = tokenizer.decode(tokens[: row_stop.ended_at.get(row)], skip_special_tokens=True).strip()
        if stats is not None:
            steps = new_tokens.shape[1]
            stats.add(
                GenerationStats(
                    len(batch_ids),
                    sum(row_stop.ended_at.get(r, steps) for r in range(len(batch_ids))),
                    len(batch_ids) * steps,
                )
            )
    return outputs


def continuous_batching_supported(model) -> bool:
    """Whether `_generate_continuous` can run this model: a transformers model whose every layer
    keeps a plain growing KV cache (full attention), so rows can be dropped, added and re-padded
    by slicing the cached tensors. Sliding-window, chunked and linear-attention layers cannot."""
    if is_served(model):
        return False
    config = model.config.get_text_config(decoder=True)
    return set(_layer_types(config)) == {"full_attention"}


class _Rows:
    """The rows being decoded: their KV cache (a `DynamicCache` whose layers hold `[rows, heads,
    length, dim]`, left padded), attention mask `[rows, length]`, and each row's text index and new
    tokens. Rows leave and join by slicing and concatenating the cached tensors in place."""

    def __init__(self):
        self.cache: DynamicCache | None = None
        self.mask: torch.Tensor | None = None
        self.index: list[int] = []
        self.new: list[list[int]] = []
        self.generators: list[torch.Generator] = []  # one per row when sampling

    def __len__(self) -> int:
        return len(self.index)

    def keep(self, rows: list[int]) -> None:
        """Drop every row not in `rows`, then the left columns that are padding in every remaining row."""
        pick = torch.tensor(rows, dtype=torch.long, device=self.mask.device)
        self.mask = self.mask[pick]
        for layer in self.cache.layers:
            layer.keys, layer.values = layer.keys[pick], layer.values[pick]
        self.index = [self.index[r] for r in rows]
        self.new = [self.new[r] for r in rows]
        self.generators = [self.generators[r] for r in rows] if self.generators else []
        used = self.mask.any(dim=0).nonzero()
        first = int(used[0]) if len(used) else 0
        if first:
            self.mask = self.mask[:, first:]
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[:, :, first:], layer.values[:, :, first:]

    def add(self, cache: DynamicCache, mask: torch.Tensor, index: list[int]) -> None:
        """Append prefilled rows, left-padding whichever side is shorter so the columns line up."""
        if not self.index:
            self.cache, self.mask = cache, mask
        else:
            width = max(self.mask.shape[1], mask.shape[1])
            self.mask = torch.cat([_pad_left(self.mask, width), _pad_left(mask, width)])
            for old, new in zip(self.cache.layers, cache.layers, strict=True):
                old.keys = torch.cat([_pad_left(old.keys, width, -2), _pad_left(new.keys, width, -2)])
                old.values = torch.cat([_pad_left(old.values, width, -2), _pad_left(new.values, width, -2)])
        self.index += index
        self.new += [[] for _ in index]


def _row_generator(seed: int, index: int, device: torch.device) -> torch.Generator:
    """Text `index`'s own random stream under `seed`: its sample does not depend on which rows
    decode beside it, on the batch size, or on when other rows stop."""
    state = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])  # CPU generators keep 32 bits
    return torch.Generator(device=device).manual_seed(state)


def _pad_left(t: torch.Tensor, width: int, dim: int = -1) -> torch.Tensor:
    """`t` with zeros prepended along `dim` up to `width` (masked columns: their keys are never read)."""
    extra = width - t.shape[dim]
    if extra == 0:
        return t
    shape = list(t.shape)
    shape[dim] = extra
    return torch.cat([t.new_zeros(shape), t], dim=dim)


def _positions(mask: torch.Tensor) -> torch.Tensor:
    """Each column's position within its row: real tokens count from 0; padding gets 0 (it is masked)."""
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


def _generate_continuous(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    max_new_tokens: int,
    batch_size: int,
    temperature: float | None,
    seed: int,
    stop: re.Pattern | None,
    stats: GenerationStats | None,
) -> list[str]:
    """`generate_batched` with continuous batching: up to `batch_size` rows decode together; a row
    leaves the batch the step it ends (end of turn, a `stop` match, or `max_new_tokens`), and waiting
    prompts (shortest first) are prefilled and join once a quarter of the slots are free. No step
    is spent on a finished row, and the batch stays full while prompts wait. Greedy decoding picks
    the same tokens as `model.generate` up to float rounding (a different batch shape can round
    differently). Sampling draws from softmax(logits / temperature) with a generator per text, seeded
    from `seed` and the text's index, so a text's sample is the same whatever decodes beside it."""
    device = model.device
    ends = RowStop(tokenizer, 0, stop).ended
    waiting = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    outputs: list[str] = [""] * len(texts)
    rows = _Rows()
    refill_at = max(1, batch_size // 4)
    logits = torch.empty(0, 0, device=device)
    spent = GenerationStats()
    while waiting or len(rows):
        free = batch_size - len(rows)
        if waiting and (free >= refill_at or free >= len(waiting)):
            joining, waiting = waiting[:free], waiting[free:]
            enc = tokenizer(
                [texts[i] for i in joining],
                return_tensors="pt",
                padding=True,
                padding_side="left",
                add_special_tokens=False,
            ).to(device)
            mask = enc["attention_mask"]
            cache = DynamicCache()
            out = model(
                input_ids=enc["input_ids"],
                attention_mask=mask,
                position_ids=_positions(mask),
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            rows.add(cache, mask, joining)
            if temperature is not None:
                rows.generators += [_row_generator(seed, i, device) for i in joining]
            logits = torch.cat([logits, out.logits[:, -1, :]]) if logits.numel() else out.logits[:, -1, :]
            spent.rows += len(joining)
        # pick each row's next token, and see which rows it ends
        scores = logits.float()
        if temperature is None:
            tokens = scores.argmax(dim=-1)
        else:
            probs = torch.softmax(scores / temperature, dim=-1)
            tokens = torch.cat(
                [torch.multinomial(p, 1, generator=g) for p, g in zip(probs, rows.generators, strict=True)]
            )
        spent.row_steps += len(rows)
        ended = []
        for r, token in enumerate(tokens.tolist()):
            new = rows.new[r]
            new.append(token)
            if len(new) >= max_new_tokens or ends(new):
                ended.append(r)
                outputs[rows.index[r]] = tokenizer.decode(new, skip_special_tokens=True).strip()
                spent.tokens += len(new)
        if ended:
            going = sorted(set(range(len(rows))) - set(ended))
            tokens = tokens[going]
            rows.keep(going)
        if not len(rows):
            logits = torch.empty(0, 0, device=device)
            continue
        # one decoding step for the rows still going
        rows.mask = torch.cat([rows.mask, torch.ones(len(rows), 1, dtype=rows.mask.dtype, device=device)], dim=1)
        out = model(
            input_ids=tokens[:, None],
            attention_mask=rows.mask,
            position_ids=_positions(rows.mask)[:, -1:],
            cache=rows.cache,
            use_cache=True,
        )
        logits = out.logits[:, -1, :]
    if stats is not None:
        stats.add(spent)
    return outputs


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


def _layer_types(config) -> list[str]:
    """Each layer's attention type (`config.layer_types`; models without one attend in full, or
    all within `sliding_window` when it is set, as Mistral does)."""
    types = getattr(config, "layer_types", None)
    if types is not None:
        return list(types)
    window = getattr(config, "sliding_window", None)
    return [("sliding_attention" if window else "full_attention")] * config.num_hidden_layers


def block_masks_supported(model: PreTrainedModel) -> bool:
    """Whether `_block_forward`'s 4D masks are what every layer attends with: eager and SDPA attention
    take a custom 4D mask as it is (flash attention does not), and full and sliding-window layers are
    all we can express (not chunked or linear attention). Models with both kinds must take a mask
    per layer type (a dict keyed by `config.layer_types`, as transformers' Qwen2/3 and Gemma 2/3 do)."""
    config = model.config
    return (
        getattr(config, "_attn_implementation", None) in ("eager", "sdpa")
        and set(_layer_types(config)) <= MASKABLE_LAYER_TYPES
    )


def _attention_masks(
    config, allowed: torch.Tensor, positions: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor | dict[str, torch.Tensor]:
    """Additive masks `[batch, 1, q, k]` from `allowed` `[batch, q, k]`: one for every layer, or one per
    layer type when sliding-window layers are there (they also hide keys `window` or more positions
    back, as transformers' own sliding masks do)."""

    def additive(keep: torch.Tensor) -> torch.Tensor:
        return torch.zeros(keep.shape, dtype=dtype).masked_fill(~keep, torch.finfo(dtype).min)[:, None]

    types = set(_layer_types(config))
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
