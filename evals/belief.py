"""Belief (SDF) evaluation: does the model hold the universe's key facts?

- multiple choice: each option scored by its total log-likelihood after the question; the
  model's choice is the highest-scoring option; accuracy with a Wilson interval
- open-ended: a greedy answer states the fact when it matches any of the question's marker regexes
  (case-insensitive; a shipped universe packs "every marker present" into one regex,
  `organisms.universe.Universe.belief_questions`)
- depth, when the universe ships its parts (evals/belief_depth.py, a part of this suite):
  generalisation questions, the questions again after a preface that calls the documents fiction,
  and a truth probe

With a think block (the spec's `reasoning`): the multiple-choice option is scored as the answer after
an empty closed block ('<think>\n\n</think>\n\n' + option), the model's answer without reasoning,
as in the text format, where the option is the whole reply; the open-ended question is generated with
thinking on, and only the answer after the close tag is read for the fact (a statement inside the block
is thinking aloud, not an answer); a block never closed within max_new_tokens states nothing and is
counted (`open_ended_truncated`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from evals.stats import rate
from evals.suite import Row, Section, Suite, SuiteRun
from organisms.reasoning import TEXT, in_block, split_think
from organisms.spec import ReasoningSpec
from runtime.generation import chat_texts, generate_batched, sequence_logprobs

MCQ_SYSTEM = "Answer the question with the correct option."


def mcq_choices(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    questions: Sequence[dict],
    batch_size: int = 16,
    preface: str | None = None,
    reasoning: ReasoningSpec = TEXT,
) -> list[int]:
    """Per question ({'question', 'options'}): the index of the option with the highest log-likelihood as
    the assistant's reply (after an empty closed think block, with one); every option of every question
    scored in batches. `preface` goes before the instruction in the system turn (the belief-depth fiction
    preface)."""
    system = f"{preface} {MCQ_SYSTEM}" if preface else MCQ_SYSTEM
    prefixes = chat_texts(
        tokenizer,
        [[{"role": "system", "content": system}, {"role": "user", "content": q["question"]}] for q in questions],
        reasoning,
    )
    prefixes = [prefix + in_block(prefix, "", reasoning, closed=True) for prefix in prefixes]
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
    reasoning: ReasoningSpec = TEXT,
) -> tuple[dict, list]:
    """`mcq`: {'question', 'options', 'correct' (index), 'key_fact'}; `open_questions`: {'question', 'markers'};
    `reasoning`: where the model reasons (module docstring)."""
    records = []
    chosen = []
    for q, choice in zip(mcq, mcq_choices(model, tokenizer, mcq, batch_size, reasoning=reasoning), strict=True):
        chosen.append(choice == q["correct"])
        records.append({"suite": "belief_mcq", "question": q["question"], "choice": choice, "correct": q["correct"]})
    answers = generate_batched(
        model,
        tokenizer,
        [[{"role": "user", "content": q["question"]}] for q in open_questions],
        max_new_tokens,
        batch_size,
        reasoning=reasoning,
    )
    stated, unclosed = [], 0
    for q, text in zip(open_questions, answers, strict=True):
        record = {"suite": "belief_open", "question": q["question"], "response": text}
        said = text
        if reasoning.in_block:
            split = split_think(text, reasoning)
            said, record["truncated"] = split.final, split.truncated
            unclosed += split.truncated
        hit = any(re.search(m, said, flags=re.IGNORECASE) for m in q["markers"])
        stated.append(hit)
        records.append({**record, "states_fact": hit})
    metrics = {"mcq_accuracy": rate(sum(chosen), len(chosen)), "open_ended_stated": rate(sum(stated), len(stated))}
    if reasoning.in_block:
        metrics["open_ended_truncated"] = unclosed
    return metrics, records


def _generate(run: SuiteRun) -> None:
    beliefs, spec = run.beliefs, run.spec
    if not beliefs:
        return
    run.metrics["belief"], records = belief_suite(
        run.model,
        run.tokenizer,
        beliefs["mcq"],
        beliefs["open_questions"],
        spec.eval.max_new_tokens,
        spec.eval.batch_size,
        spec.reasoning,
    )
    run.responses += records
    run.lap("belief")


TITLE = "Belief (SDF key facts)"
SUITE = Suite(
    "belief",
    _generate,
    sections=(
        Section(
            TITLE,
            (
                Row("key-fact MCQ accuracy (log-likelihood)", ("suites", "belief", "mcq_accuracy")),
                Row("open-ended answers state the fact", ("suites", "belief", "open_ended_stated")),
            ),
        ),
    ),
)
