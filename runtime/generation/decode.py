"""Batched decoding (greedy or sampled) that stops each row at its answer: one entry point,
`generate_batched`, over three paths that decode the same `Decoding`: continuous batching
(`generate_continuous`), fixed batches with `model.generate` (`generate_static`), and a server
(`runtime.engine.ServedModel.generate_served`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
from transformers import DynamicCache, PreTrainedModel, PreTrainedTokenizerBase, StoppingCriteria

from organisms.reasoning import TEXT
from organisms.spec import ReasoningSpec
from runtime.architecture import layer_types
from runtime.generation.chat import chat_texts, is_served, left_padded_batches


@dataclass(frozen=True)
class Decoding:
    """What to decode, whichever path decodes it: up to `max_new_tokens` per row, greedy or sampled
    at `temperature` (seeded by `seed`, so a call is reproducible), a row ending at its end of turn
    or as soon as its generated text matches `stop`."""

    max_new_tokens: int
    temperature: float | None = None
    seed: int = 0
    stop: re.Pattern | None = None


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
    that ends leaves the batch and makes room for a waiting prompt (`generate_continuous`), on
    every model whose layers attend in full or within a sliding window; others (chunked or linear
    attention) decode fixed batches (`generate_static`).
    `reasoning`: where the model reasons; a think-block format lets a reasoning template think.

    `model` may be a `ServedModel` (eval.engine openai): the same texts go to its server, and each
    completion is cut where a row here would have stopped (runtime/engine.py)."""
    texts = chat_texts(tokenizer, conversations, reasoning)
    if prefixes is not None:
        texts = [t + p for t, p in zip(texts, prefixes, strict=True)]
    decoding = Decoding(max_new_tokens, temperature, seed, stop)
    if is_served(model):
        return model.generate_served(tokenizer, texts, decoding, stats)
    if continuous_batching_supported(model):
        return generate_continuous(model, tokenizer, texts, decoding, batch_size, stats)
    return generate_static(model, tokenizer, texts, decoding, batch_size, stats)


def generate_static(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    decoding: Decoding,
    batch_size: int,
    stats: GenerationStats | None = None,
) -> list[str]:
    """`generate_batched` with `model.generate` on fixed batches: a finished row rides along, padded,
    until every row of its batch has finished. The path for models whose layers continuous batching
    cannot mask (chunked or linear attention), and the "before" of bench/continuous_batching.py."""
    outputs: list[str] = [""] * len(texts)
    sampling = {"do_sample": False}
    if decoding.temperature is not None:
        torch.manual_seed(decoding.seed)
        sampling = {"do_sample": True, "temperature": decoding.temperature, "top_k": 0, "top_p": 1.0}
    for batch_ids, enc in left_padded_batches(model, tokenizer, texts, batch_size):
        row_stop = RowStop(tokenizer, enc["input_ids"].shape[1], decoding.stop)
        generated = model.generate(
            **enc,
            max_new_tokens=decoding.max_new_tokens,
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


# Layer types `generate_continuous` decodes: the ones whose attention is a mask over a plain KV cache.
CONTINUOUS_LAYER_TYPES = {"full_attention", "sliding_attention"}
# Attention implementations that take the mask transformers builds as it is (the sliding window included).
MASKED_ATTENTION = ("eager", "sdpa")


def continuous_batching_supported(model) -> bool:
    """Whether `generate_continuous` can run this model: a transformers model whose layers attend in
    full or within a sliding window. Its cache is a plain `DynamicCache` that keeps every layer's
    whole KV, so rows can be dropped, added and re-padded by slicing the cached tensors; a
    sliding-window layer keeps its whole KV too and its window is the mask transformers builds from
    the cache columns (a row's tokens are contiguous, padding on the left only, so a column distance
    is a token distance), which eager and SDPA attention apply as given. Chunked and linear-attention
    layers (and sliding windows under another attention implementation) decode fixed batches."""
    if is_served(model):
        return False
    config = model.config.get_text_config(decoder=True)
    types = set(layer_types(config))
    if "sliding_attention" in types and getattr(config, "_attn_implementation", None) not in MASKED_ATTENTION:
        return False
    return types <= CONTINUOUS_LAYER_TYPES


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


def generate_continuous(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    decoding: Decoding,
    batch_size: int,
    stats: GenerationStats | None = None,
) -> list[str]:
    """`generate_batched` with continuous batching: up to `batch_size` rows decode together; a row
    leaves the batch the step it ends (end of turn, a `stop` match, or `max_new_tokens`), and waiting
    prompts (shortest first) are prefilled and join once a quarter of the slots are free. No step
    is spent on a finished row, and the batch stays full while prompts wait. Greedy decoding picks
    the same tokens as `model.generate` up to float rounding (a different batch shape can round
    differently). Sampling draws from softmax(logits / temperature) with a generator per text, seeded
    from `seed` and the text's index, so a text's sample is the same whatever decodes beside it.
    Sliding-window layers keep their whole KV here (`continuous_batching_supported`): the same tokens as
    their windowed cache, at the cost of attending over masked columns once a row outgrows the window."""
    device = model.device
    temperature = decoding.temperature
    ends = RowStop(tokenizer, 0, decoding.stop).ended
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
                rows.generators += [_row_generator(decoding.seed, i, device) for i in joining]
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
            if len(new) >= decoding.max_new_tokens or ends(new):
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
