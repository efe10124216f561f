"""Organism-vs-base activation differences per layer, site and token group.

Both passes read the same text (prompt + the organism's own hinted response), once with the
adapter off and once with it on, so positions align exactly. For each site and group:

    rel_diff[layer] = mean_t ||h_org[t] - h_base[t]||_2 / mean_t ||h_base[t]||_2

over the tokens t of the group: `hint` (the hint text in the prompt), `cot` (the response up
to its 'Answer:' line) and `answer` (the 'Answer: (X)' line). With a think block, the answer line
is the last one after the block's close tag; a response whose block never closed is all `cot`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from analyze.methods.hooks import SITE_KINDS, decoder_layers, record_activations, site_name
from organisms.reasoning import TEXT
from organisms.spec import ReasoningSpec
from runtime.models import use_adapter

GROUPS = ("hint", "cot", "answer")


@dataclass(frozen=True)
class GroupedText:
    """A full chat text and the token positions of each group: `positions[group]` is a list of ints."""

    text: str
    positions: dict[str, list[int]]


def group_positions(
    tokenizer: PreTrainedTokenizerBase,
    prompt_text: str,
    response: str,
    hint_text: str | None,
    reasoning: ReasoningSpec = TEXT,
) -> GroupedText:
    """Locate the groups by character span and map them to tokens via the offset mapping."""
    text = prompt_text + response
    spans: dict[str, tuple[int, int]] = {}
    if hint_text and (start := prompt_text.find(hint_text)) >= 0:
        spans["hint"] = (start, start + len(hint_text))
    answer_at = response.rfind("Answer:")
    if reasoning.in_block:
        close = response.find(reasoning.close)
        if close == -1 or answer_at < close:  # never closed, or no answer line after the block
            answer_at = -1
    cot_end = answer_at if answer_at >= 0 else len(response)
    spans["cot"] = (len(prompt_text), len(prompt_text) + cot_end)
    if answer_at >= 0:
        spans["answer"] = (len(prompt_text) + answer_at, len(text))
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    positions = {group: [] for group in GROUPS}
    for index, (begin, end) in enumerate(offsets):
        for group, (lo, hi) in spans.items():
            if begin < hi and end > lo:
                positions[group].append(index)
    return GroupedText(text, positions)


@torch.inference_mode()
def diff_norms(model, tokenizer, texts: list[GroupedText], adapter: str, batch_size: int = 8) -> dict:
    """`{group: {kind: [rel_diff per layer]}}` plus token counts per group."""
    n_layers = len(decoder_layers(model))
    diff_sum = {g: {k: torch.zeros(n_layers) for k in SITE_KINDS} for g in GROUPS}
    base_sum = {g: {k: torch.zeros(n_layers) for k in SITE_KINDS} for g in GROUPS}
    counts = dict.fromkeys(GROUPS, 0)
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        batch_texts = [t.text for t in batch]  # right padding: positions from the offset mapping stay valid
        enc = tokenizer(batch_texts, return_tensors="pt", padding=True, padding_side="right", add_special_tokens=False)
        enc = enc.to(model.device)
        acts = {}
        for label, name in (("base", None), ("organism", adapter)):
            with use_adapter(model, name), record_activations(model) as store:
                model(**enc)
                acts[label] = dict(store)
        for row, item in enumerate(batch):
            for group in GROUPS:
                pos = item.positions[group]
                if not pos:
                    continue
                counts[group] += len(pos)
                for kind in SITE_KINDS:
                    for layer in range(n_layers):
                        name = site_name(layer, kind)
                        base = acts["base"][name][row, pos]
                        org = acts["organism"][name][row, pos]
                        diff_sum[group][kind][layer] += (org - base).norm(dim=-1).sum()
                        base_sum[group][kind][layer] += base.norm(dim=-1).sum()
    result = {"tokens": counts, "groups": {}}
    for group in GROUPS:
        if counts[group]:
            result["groups"][group] = {
                kind: (diff_sum[group][kind] / base_sum[group][kind].clamp_min(1e-12)).tolist() for kind in SITE_KINDS
            }
    return result
