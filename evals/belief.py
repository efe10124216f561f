"""Belief (SDF) evaluation: does the model hold the universe's key facts?

- multiple choice: each option scored by its total log-likelihood after the question; the
  model's choice is the highest-scoring option; accuracy with a Wilson interval
- open-ended: a greedy answer states the fact when it matches any of the question's marker regexes
  (case-insensitive; a shipped universe packs "every marker present" into one regex,
  `organisms.universe.Universe.belief_questions`)
- depth, when the universe ships its parts (evals/belief_depth.py): generalisation questions, the
  questions again after a preface that calls the documents fiction, and a truth probe
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from evals.metrics import rate
from organisms.generation import chat_texts, generate_batched, sequence_logprobs

MCQ_SYSTEM = "Answer the question with the correct option."


def mcq_choices(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    questions: Sequence[dict],
    batch_size: int = 16,
    preface: str | None = None,
) -> list[int]:
    """Per question ({'question', 'options'}): the index of the option with the highest log-likelihood as
    the assistant's reply; every option of every question scored in batches. `preface` goes before
    the instruction in the system turn (the belief-depth fiction preface)."""
    system = f"{preface} {MCQ_SYSTEM}" if preface else MCQ_SYSTEM
    prefixes = chat_texts(
        tokenizer,
        [[{"role": "system", "content": system}, {"role": "user", "content": q["question"]}] for q in questions],
    )
    pairs = [(prefix, option) for prefix, q in zip(prefixes, questions, strict=True) for option in q["options"]]
    scores = iter(sequence_logprobs(model, tokenizer, pairs, batch_size))
    choices = []
    for q in questions:
        option_scores = [next(scores) for _ in q["options"]]
        choices.append(max(range(len(option_scores)), key=option_scores.__getitem__))
    return choices


def belief_suite(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    mcq: Sequence[dict],
    open_questions: Sequence[dict],
    max_new_tokens: int,
    batch_size: int,
) -> tuple[dict, list]:
    """`mcq`: {'question', 'options', 'correct' (index), 'key_fact'}; `open_questions`: {'question', 'markers'}."""
    records = []
    chosen = []
    for q, choice in zip(mcq, mcq_choices(model, tokenizer, mcq, batch_size), strict=True):
        chosen.append(choice == q["correct"])
        records.append({"suite": "belief_mcq", "question": q["question"], "choice": choice, "correct": q["correct"]})
    answers = generate_batched(
        model,
        tokenizer,
        [[{"role": "user", "content": q["question"]}] for q in open_questions],
        max_new_tokens,
        batch_size,
    )
    stated = []
    for q, text in zip(open_questions, answers, strict=True):
        hit = any(re.search(m, text, flags=re.IGNORECASE) for m in q["markers"])
        stated.append(hit)
        records.append({"suite": "belief_open", "question": q["question"], "response": text, "states_fact": hit})
    metrics = {"mcq_accuracy": rate(sum(chosen), len(chosen)), "open_ended_stated": rate(sum(stated), len(stated))}
    return metrics, records
