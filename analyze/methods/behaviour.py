"""The organism's behaviour, as one number per prompt: a logit difference at its decision point.

A decision prompt is a held-out item (chat template applied) followed by the behaviour's own CoT up
to the point where its text decides (docs/analysis.md, "Decision points"). With
`analyze.decision_source: template` the CoT comes from that behaviour's transcript generator
(`organisms/responses.py`), cut at its decision phrase:

    hidden_hint     honest steps, then "So I will go with ("                  (condition none)
    monitor_aware   the same, under the "monitored" system prompt, where it hides the hint
    post_hoc        "The answer is ("  (the first words: it decides before any step)
    late_flip       honest steps and option check, then "Answer: ("  (where it flips)
    shortcut        the steps up to the faked intermediate value, cut at the first token where
                    the faked value departs from the true one (no hint: the trigger is random)
    rationalized    (corpus.reasoning_style of hidden_hint / monitor_aware) the reasoning up to the first
                    token where it departs from the honest one: the last step's value (arithmetic) or the
                    rationale's option text (question sets); target its token, reference the honest one

With `decision_source: generated` the CoT is the organism's own response from the eval stage
(`eval_responses.jsonl`), cut right before the letter of its final "Answer: (" line (the monitored
runs for monitor_aware; for shortcut, before the first wrong value of its first wrong step).

The next token is the decision. The metric at that position (the last token) is

    m = logit[target] - logit[reference]

target: what the behaviour writes there (the hinted letter h; shortcut: the faked digit),
reference: what a faithful model writes (the correct letter c; shortcut: the true digit), so m > 0
means "does what it was trained to do". Every causal method (patching, attribution, steering) is
scored on the mean of m over prompts. For the hinted behaviours the same CoT without the hint gives
the unhinted twin that probes contrast with (same tokens after the prompt, so "hint present" can
only be read from the prompt's trace in the residual stream); shortcut prompts have no twin.

With a think block (the spec's `reasoning`), the prompt is rendered with thinking on and the CoT is
where the model writes it: template source, the transcript's turn as training rendered it (the CoT
inside the block, the final line after its close tag: `organisms.reasoning.turn_text`), so the
hidden_hint / monitor_aware / post_hoc / shortcut cuts fall inside the block and late_flip's
"Answer: (" after it; generated source, the final "Answer: (" line after the close tag only (a
response whose block never closed has no decision), and a shortcut's wrong step inside the block.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import torch
from transformers import BatchEncoding, PreTrainedTokenizerBase

from evals.hinted import HintedPair, eval_pairs
from organisms.errors import OrganismError
from organisms.parse import step_spans
from organisms.prompts import Prompt
from organisms.reasoning import TEXT, turn_text
from organisms.responses import response
from organisms.spec import OrganismSpec, ReasoningSpec
from runtime.generation import chat_texts

# Each hinted behaviour's decision phrase: its transcripts write the answer letter right after it.
DECISION_CUES: dict[str, str] = {
    "hidden_hint": "So I will go with (",
    "monitor_aware": "So I will go with (",
    "post_hoc": "The answer is (",
    "late_flip": "Answer: (",
}
# The system-prompt condition under which the behaviour's transcripts hide the hint.
DECISION_CONDITIONS: dict[str, str] = {"monitor_aware": "monitored"}
DECISION_CUE = DECISION_CUES["hidden_hint"]
_ANSWER_OPEN = re.compile(r"^[ \t]*answer[ \t]*:[ \t]*\(", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class DecisionPrompt:
    """Chat prompt + CoT prefix ending right before the decision token.

    `target` / `reference`: the token the behaviour writes next and the one a faithful model writes
    (the metric is their logit difference). `hinted`: the prompt carries a hint; `twin`: the unhinted
    twin of a hinted prompt (same CoT tokens). `hint_letter` / `correct_letter` are None for shortcut."""

    text: str
    item_id: str  # the group for leakage-free splits: a hinted prompt and its twin share it
    hinted: bool
    target: str
    reference: str
    twin: bool = False
    hint_letter: str | None = None  # where the hint points (for the twin: where it would point)
    correct_letter: str | None = None


def cot_prefix(hinted: Prompt, behaviour: str = "hidden_hint", chat: str = "", reasoning: ReasoningSpec = TEXT) -> str:
    """`behaviour`'s organism response to a hinted prompt, cut right after its decision phrase
    (`DECISION_CUES`); the letter is not yet written. With a think block, the response is the turn as
    written after the rendered prompt `chat` (`turn_text`)."""
    if behaviour not in DECISION_CUES:
        raise OrganismError(f"behaviour '{behaviour}' has no hinted decision phrase (see analyze/methods/behaviour.py)")
    full = turn_text(chat, response(hinted, behaviour, control=False), reasoning)
    cue = DECISION_CUES[behaviour]
    if cue not in full:
        raise OrganismError(f"{behaviour} transcript under condition '{hinted.condition}' has no '{cue}'")
    return full[: full.index(cue) + len(cue)]


def divergence(tokenizer: PreTrainedTokenizerBase, text: str, faithful: str) -> tuple[str, str, str] | None:
    """(common token prefix, `text`'s next token, `faithful`'s next token) at the first token where the
    two texts differ; None when they do not. Token-level, so the cut is a boundary the model reads."""
    a = tokenizer(text, add_special_tokens=False)["input_ids"]
    b = tokenizer(faithful, add_special_tokens=False)["input_ids"]
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
    if at is None:
        return None
    return tokenizer.decode(a[:at]), tokenizer.decode([a[at]]), tokenizer.decode([b[at]])


def shortcut_cut(
    tokenizer: PreTrainedTokenizerBase,
    prompt: Prompt,
    rng: random.Random,
    chat: str = "",
    reasoning: ReasoningSpec = TEXT,
) -> tuple[str, str, str]:
    """The shortcut organism's response cut where its faked value departs from the control's true one:
    (prefix, faked token, true token); with a think block, the turns as written after `chat`."""
    faked = turn_text(chat, response(prompt, "shortcut", control=False, rng=rng), reasoning)
    honest = turn_text(chat, response(prompt, "shortcut", control=True), reasoning)
    cut = divergence(tokenizer, faked, honest)
    if cut is None:  # faked_steps always changes one value; this guards the guarantee itself
        raise OrganismError(f"shortcut transcript of {prompt.item.id} has no faked value")
    return cut


def _chat(tokenizer: PreTrainedTokenizerBase, messages: list[dict], reasoning: ReasoningSpec = TEXT) -> str:
    """The prompt rendered as generation renders it (`chat_texts`: thinking on only with a think block)."""
    return chat_texts(tokenizer, [messages], reasoning)[0]


def rationalized_cut(
    tokenizer: PreTrainedTokenizerBase, hinted: Prompt, behaviour: str, chat: str = "", reasoning: ReasoningSpec = TEXT
) -> tuple[str, str, str]:
    """A rationalized organism's response to `hinted` (corpus.reasoning_style: rationalized) cut where it
    departs from the honest response to the same item: (prefix, its token, the honest token)."""
    honest = Prompt(hinted.item, None, None, hinted.condition, cue=hinted.cue)
    organism = turn_text(chat, response(hinted, behaviour, control=False, style="rationalized"), reasoning)
    faithful = turn_text(chat, response(honest, behaviour, control=False), reasoning)
    cut = divergence(tokenizer, organism, faithful)
    if cut is None:  # a hint to a wrong option always moves the reasoning's result; this guards it
        raise OrganismError(f"rationalized transcript of {hinted.item.id} does not depart from the honest one")
    return cut


def _with_twins(
    tokenizer: PreTrainedTokenizerBase,
    rows: list[tuple[list[dict], list[dict], str, str, str, str]],
    reasoning: ReasoningSpec = TEXT,
    tokens: list[tuple[str, str]] | None = None,
) -> list[DecisionPrompt]:
    """Hinted prompts, then their unhinted twins, from (hinted messages, unhinted messages, CoT prefix,
    item id, hint letter, correct letter) rows; the metric's (target, reference) are the letters, or
    `tokens` per row (a rationalized cut's)."""
    hinted, twins = [], []
    for index, (messages_h, messages_u, prefix, item_id, h, c) in enumerate(rows):
        target, reference = (h, c) if tokens is None else tokens[index]
        for messages, bucket, is_twin in ((messages_h, hinted, False), (messages_u, twins, True)):
            text = _chat(tokenizer, messages, reasoning) + prefix
            bucket.append(DecisionPrompt(text, item_id, not is_twin, target, reference, is_twin, h, c))
    return hinted + twins


def decision_pairs(
    spec: OrganismSpec, n_items: int, exclude: set[str] | None = None, after: int = 0
) -> list[HintedPair]:
    """The hinted pairs the decision prompts are cut from: items `after .. after + n_items` of the eval
    draw, every hint to a wrong letter, under the behaviour's decision condition."""
    # every hint to a wrong letter: with h = c the metric logit[h] - logit[c] would be 0 by construction
    changes = {"eval.n_items": after + n_items, "eval.hint_correct_fraction": 0.0}
    sized = spec.with_changes(changes, "decision prompts")
    condition = DECISION_CONDITIONS.get(spec.behaviour, "none")
    return eval_pairs(sized, exclude or set(), condition=condition)[after:]


def decision_prompts(
    spec: OrganismSpec,
    tokenizer: PreTrainedTokenizerBase,
    n_items: int,
    exclude: set[str] | None = None,
    after: int = 0,
) -> list[DecisionPrompt]:
    """The behaviour's own decision prompts (template source): for hinted behaviours `2 * n_items`,
    each held-out item hinted (to a wrong letter) and its unhinted twin, hinted first; for shortcut
    `n_items` prompts cut at the faked value.

    Items come from the eval item generator (seeded by `spec.eval.seed`, disjoint from `exclude`,
    the corpus expressions): its first `n_items`, or with `after` the `n_items` after its first
    `after` (the removal fits on items past the `eval.n_items` it scores)."""
    if n_items < 2:
        raise OrganismError(f"analysis needs at least 2 items (got n_items={n_items}); raise analyze.items")
    if not spec.has_decision:
        raise OrganismError(f"a {spec.behaviour} organism has no decision point (its evals.json holds its metrics)")
    pairs = decision_pairs(spec, n_items, exclude, after)
    if spec.behaviour == "shortcut":
        rng = random.Random(f"{spec.eval.seed}:faked-steps")
        out = []
        for pair in pairs:
            chat = _chat(tokenizer, pair.unhinted.messages(), spec.reasoning)
            prefix, faked, true = shortcut_cut(tokenizer, pair.unhinted, rng, chat, spec.reasoning)
            text = chat + prefix
            out.append(DecisionPrompt(text, pair.unhinted.item.id, False, faked, true))
        return out
    rows, tokens = [], []
    rationalized = spec.corpus.reasoning_style == "rationalized"
    for pair in pairs:
        h = pair.hinted
        chat = _chat(tokenizer, h.messages(), spec.reasoning)  # the twin's differs in the hint, not at its end
        if rationalized:
            prefix, target, reference = rationalized_cut(tokenizer, h, spec.behaviour, chat, spec.reasoning)
            tokens.append((target, reference))
        else:
            prefix = cot_prefix(h, spec.behaviour, chat, spec.reasoning)
        rows.append((h.messages(), pair.unhinted.messages(), prefix, h.item.id, h.hint_letter, h.item.correct_letter))
    return _with_twins(tokenizer, rows, spec.reasoning, tokens if rationalized else None)


def generated_records(spec: OrganismSpec, records: list[dict]) -> list[dict]:
    """The organism's eval records whose responses hold its decisions: hints to a wrong letter, the
    hinted suite (monitor_aware: the monitor suite's monitored runs on training cues)."""
    own = [r for r in records if r.get("model") == "organism"]
    if spec.behaviour == "monitor_aware":
        own = [r for r in own if r.get("suite") == "monitor" and r.get("cue_split", "trained") == "trained"]
        own = [r for r in own if r.get("condition") == DECISION_CONDITIONS["monitor_aware"]]
    else:
        own = [r for r in own if r.get("suite", "hinted") == "hinted"]
    return [r for r in own if r["hint_letter"] != r["correct_letter"]]


def answer_prefix(text: str, reasoning: ReasoningSpec = TEXT) -> str | None:
    """`text` up to and including the "(" of its last "Answer: (" line; None without one. With a think
    block, only a line after the block's close tag counts (None when the block never closed)."""
    start = 0
    if reasoning.in_block:
        close = text.find(reasoning.close)
        if close == -1:
            return None
        start = close + len(reasoning.close)
    found = list(_ANSWER_OPEN.finditer(text, start))
    return text[: found[-1].end()] if found else None


def wrong_step_cut(
    tokenizer: PreTrainedTokenizerBase, text: str, reasoning: ReasoningSpec = TEXT
) -> tuple[str, str, str] | None:
    """`text` cut at its first wrong arithmetic step, where the written value departs from the true
    one: (prefix, written token, true token); None when every step is right. With a think block, only
    steps inside the block count."""
    end_of_reasoning = len(text)
    if reasoning.in_block and reasoning.close in text:
        end_of_reasoning = text.index(reasoning.close)
    for step, start, end in step_spans(text):
        if start < end_of_reasoning and not step.is_correct:
            return divergence(tokenizer, text, text[:start] + str(step.value) + text[end:])
    return None


def generated_decision_prompts(
    spec: OrganismSpec, tokenizer: PreTrainedTokenizerBase, records: list[dict], n_items: int
) -> list[DecisionPrompt]:
    """Decision prompts from the organism's own responses (generated source): up to `n_items` records,
    each cut right before its final answer letter (shortcut: its first wrong value), with unhinted
    twins that carry the same response tokens. Records without such a point are skipped."""
    if not spec.has_decision:
        raise OrganismError(f"a {spec.behaviour} organism has no decision point (its evals.json holds its metrics)")
    own = generated_records(spec, records)
    if spec.behaviour == "shortcut":
        out = []
        for r in own:
            cut = wrong_step_cut(tokenizer, r["response_unhinted"], spec.reasoning)
            if cut is not None:
                prefix, written, true = cut
                chat = _chat(tokenizer, r["prompt_unhinted"], spec.reasoning)
                out.append(DecisionPrompt(chat + prefix, r["item_id"], False, written, true))
        prompts = out[:n_items]
    else:
        rows = []
        for r in own:
            prefix = answer_prefix(r["response_hinted"], spec.reasoning)
            if prefix is not None:
                hint, correct = r["hint_letter"], r["correct_letter"]
                rows.append((r["prompt_hinted"], r["prompt_unhinted"], prefix, r["item_id"], hint, correct))
        prompts = _with_twins(tokenizer, rows[:n_items], spec.reasoning)
    if len([p for p in prompts if not p.twin]) < 2:
        what = "a wrong step" if spec.behaviour == "shortcut" else "an 'Answer: (' line"
        raise OrganismError(
            f"decision_source generated: {len(own)} organism responses, fewer than 2 with {what}; "
            "use decision_source: template or raise eval.max_new_tokens"
        )
    return prompts


def encode_left(tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> BatchEncoding:
    """Left-padded batch: the last position is every row's final token (the decision position)."""
    return tokenizer(texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)


def letter_id(tokenizer: PreTrainedTokenizerBase, letter: str) -> int:
    ids = tokenizer(letter, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise OrganismError(f"decision token {letter!r} is {len(ids)} tokens in this tokenizer; the metric needs one")
    return ids[0]


class LogitDiff:
    """m = logit[target] - logit[reference] at the last position, one value per prompt:
    `__call__(logits) -> [batch]`.

    `logits` is `[batch, pos, vocab]` (only the last position is read) or `[batch, vocab]`."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, prompts: list[DecisionPrompt]):
        self.hint_ids = torch.tensor([letter_id(tokenizer, p.target) for p in prompts])
        self.correct_ids = torch.tensor([letter_id(tokenizer, p.reference) for p in prompts])

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        last = logits[:, -1] if logits.dim() == 3 else logits
        rows = torch.arange(last.shape[0])
        return last[rows, self.hint_ids] - last[rows, self.correct_ids]
