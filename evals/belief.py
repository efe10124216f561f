"""Belief (SDF) evaluation: does the model hold the universe's key facts?

- multiple choice: each option scored by its total log-likelihood after the question; the
  model's choice is the highest-scoring option; accuracy with a Wilson interval
- open-ended: a greedy answer states the fact when it matches any of the question's marker regexes
  (case-insensitive; a shipped universe packs "every marker present" into one regex,
  `organisms.universe.Universe.belief_questions`)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from evals.metrics import rate
from organisms.generation import chat_texts, continuation_logprobs, generate_batched

MCQ_SYSTEM = "Answer the question with the correct option."


def mcq_choice(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, question: str, options: Sequence[str]
) -> int:
    """Index of the option with the highest log-likelihood as the assistant's reply to `question`."""
    conversation = [{"role": "system", "content": MCQ_SYSTEM}, {"role": "user", "content": question}]
    prefix = chat_texts(tokenizer, [conversation])[0]
    scores = continuation_logprobs(model, tokenizer, prefix, list(options))
    return max(range(len(options)), key=scores.__getitem__)


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
    for q in mcq:
        choice = mcq_choice(model, tokenizer, q["question"], q["options"])
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
