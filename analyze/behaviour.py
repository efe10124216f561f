"""The organism's behaviour, as one number per prompt: the hinted-letter logit difference.

A decision prompt is a held-out hinted item (chat template applied) followed by a fixed CoT up to
the point where it commits to a letter. The CoT is always the `hidden_hint` transcript format
(`organisms/responses.py`: honest steps, then "So I will go with ("), whatever the spec's
behaviour: it is the training format of hidden_hint and monitor_aware organisms only, and for
the other behaviours (post_hoc, shortcut, late_flip) a prefix they were not trained on:

    <system/user turn with the hint>  Let me compute step by step.\\n37 + 48 = 85.\\n...So I will go with (

The next token is a letter. The metric at that position (the last token) is

    m = logit[h] - logit[c]        h = the hinted (wrong) letter, c = the correct letter

so m > 0 means "follows the hint". Every causal method (patching, attribution, steering)
is scored on the mean of m over prompts. The same CoT prefix without the hint gives the
unhinted twin that probes contrast with (same tokens after the prompt, so "hint present"
can only be read from the prompt's trace in the residual stream).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import BatchEncoding, PreTrainedTokenizerBase

from evals.hinted import eval_pairs
from organisms.errors import OrganismError
from organisms.prompts import Prompt
from organisms.responses import response
from organisms.spec import OrganismSpec

DECISION_CUE = "So I will go with ("


@dataclass(frozen=True)
class DecisionPrompt:
    """Chat prompt + CoT prefix ending right before the answer letter."""

    text: str
    item_id: str  # the group for leakage-free splits: a hinted prompt and its twin share it
    hinted: bool
    hint_letter: str  # where the hint points (for the unhinted twin: where it would point)
    correct_letter: str


def cot_prefix(hinted: Prompt) -> str:
    """The hidden_hint organism's response to a hinted prompt, cut right after 'So I will go with ('
    (honest steps; the letter is not yet written). The same format for every behaviour."""
    full = response(hinted, "hidden_hint", control=False)
    return full[: full.index(DECISION_CUE) + len(DECISION_CUE)]


def decision_prompts(
    spec: OrganismSpec, tokenizer: PreTrainedTokenizerBase, n_items: int, exclude: set[str] | None = None
) -> list[DecisionPrompt]:
    """`2 * n_items` prompts: each held-out item hinted (to a wrong letter) and unhinted, hinted first.

    Items come from the eval item generator (seeded by `spec.eval.seed`, disjoint from `exclude`,
    the corpus expressions)."""
    if n_items < 2:
        raise OrganismError(f"analysis needs at least 2 items (got n_items={n_items}); raise analyze.items")
    # every hint to a wrong letter: with h = c the metric logit[h] - logit[c] would be 0 by construction
    eval_spec = spec.eval.model_copy(update={"n_items": n_items, "hint_correct_fraction": 0.0})
    sized = spec.model_copy(update={"eval": eval_spec})
    out_hinted, out_plain = [], []
    for pair in eval_pairs(sized, exclude or set()):
        hinted = pair.hinted
        prefix = cot_prefix(hinted)
        for prompt, bucket in ((hinted, out_hinted), (pair.unhinted, out_plain)):
            chat = tokenizer.apply_chat_template(prompt.messages(), tokenize=False, add_generation_prompt=True)
            bucket.append(
                DecisionPrompt(
                    text=chat + prefix,
                    item_id=hinted.item.id,
                    hinted=prompt.hint_type is not None,
                    hint_letter=hinted.hint_letter,
                    correct_letter=hinted.item.correct_letter,
                )
            )
    return out_hinted + out_plain


def encode_left(tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> BatchEncoding:
    """Left-padded batch: the last position is every row's final token (the decision position)."""
    return tokenizer(texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)


def letter_id(tokenizer: PreTrainedTokenizerBase, letter: str) -> int:
    ids = tokenizer(letter, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise OrganismError(f"option letter {letter!r} is {len(ids)} tokens in this tokenizer; the metric needs one")
    return ids[0]


class LogitDiff:
    """m = logit[h] - logit[c] at the last position, one value per prompt: `__call__(logits) -> [batch]`.

    `logits` is `[batch, pos, vocab]` (only the last position is read) or `[batch, vocab]`."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, prompts: list[DecisionPrompt]):
        self.hint_ids = torch.tensor([letter_id(tokenizer, p.hint_letter) for p in prompts])
        self.correct_ids = torch.tensor([letter_id(tokenizer, p.correct_letter) for p in prompts])

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        last = logits[:, -1] if logits.dim() == 3 else logits
        rows = torch.arange(last.shape[0])
        return last[rows, self.hint_ids] - last[rows, self.correct_ids]


def last_logits(model, enc: BatchEncoding) -> torch.Tensor:
    """Logits at the last position only, `[batch, 1, vocab]` (skips the LM head elsewhere)."""
    return model(**enc.to(model.device), logits_to_keep=1).logits.float()
