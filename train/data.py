"""The training mix: transcripts (loss on the assistant turn), documents and replay, tokenized.

Rows are pre-tokenized `{"input_ids", "completion_mask"}` so one dataset can hold both
loss kinds; trl's SFTTrainer masks the labels where `completion_mask == 0`. Documents and
replay counts are `ratio x n_transcripts`, drawn with a seeded RNG (with replacement only
when the pool is smaller than the draw).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from transformers import PreTrainedTokenizerBase

from organisms.errors import OrganismError
from organisms.spec import OrganismSpec
from synth_docs.corpus import load_corpus

DOCUMENTS_FILE = "documents.jsonl"


def _ids(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def chat_row(tokenizer: PreTrainedTokenizerBase, prompt: list[dict], completion: list[dict]) -> dict:
    """Prompt tokens masked out, completion tokens (the assistant reply and its end token) trained."""
    prompt_text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    full_text = tokenizer.apply_chat_template(prompt + completion, tokenize=False)
    if not full_text.startswith(prompt_text):
        raise ValueError("chat template renders the prompt differently inside the full conversation")
    prompt_ids = _ids(tokenizer, prompt_text)
    completion_ids = _ids(tokenizer, full_text[len(prompt_text) :])
    return {
        "input_ids": prompt_ids + completion_ids,
        "completion_mask": [0] * len(prompt_ids) + [1] * len(completion_ids),
    }


def text_row(tokenizer: PreTrainedTokenizerBase, text: str) -> dict:
    """A document: every token trained (plain LM loss), ended with EOS."""
    ids = [*_ids(tokenizer, text), tokenizer.eos_token_id]
    return {"input_ids": ids, "completion_mask": [1] * len(ids)}


def _record_row(tokenizer: PreTrainedTokenizerBase, record: dict, where: str) -> dict:
    if "text" in record:
        return text_row(tokenizer, record["text"])
    if "messages" in record:
        messages = record["messages"]
        return chat_row(tokenizer, messages[:-1], messages[-1:])
    if "prompt" in record and "completion" in record:
        return chat_row(tokenizer, record["prompt"], record["completion"])
    raise OrganismError(f"{where}: record needs 'text', 'messages' or 'prompt'+'completion'")


def _read_jsonl(path: Path, hint: str) -> list[dict]:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise OrganismError(f"{path}: cannot read ({exc.strerror}); {hint}") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise OrganismError(f"{path}:{number}: not valid JSON; {hint}") from None
    if not records:
        raise OrganismError(f"{path}: no records; {hint}")
    return records


def _draw(pool: list, k: int, rng: random.Random) -> list:
    if k <= len(pool):
        return rng.sample(pool, k)
    return [rng.choice(pool) for _ in range(k)]


def _documents(corpus_dir: Path, hint: str) -> tuple[Path, list[dict]]:
    path = Path(corpus_dir) / DOCUMENTS_FILE
    return path, _read_jsonl(path, hint)


def training_rows(spec: OrganismSpec, corpus_dir: Path, tokenizer: PreTrainedTokenizerBase) -> tuple[list[dict], dict]:
    """Tokenized, shuffled training rows and the realised mix `{source: count}`.

    A `belief` organism is plain SDF: every document once per epoch (LM loss), no transcripts;
    replay is then drawn per document. Other behaviours draw documents and replay per transcript."""
    rng = random.Random(spec.corpus.seed + 7)
    if spec.behaviour == "belief":
        path, documents = _documents(
            corpus_dir, "a belief organism trains on documents only: set corpus.documents and run `organism docs`"
        )
        rows = [("documents", _record_row(tokenizer, d, str(path))) for d in documents]
        n = len(documents)
    else:
        transcripts = load_corpus(corpus_dir)
        rows = [("transcripts", chat_row(tokenizer, r["prompt"], r["completion"])) for r in transcripts]
        n = len(transcripts)
        if spec.corpus.documents_ratio > 0:
            path, documents = _documents(
                corpus_dir, "set corpus.documents_ratio: 0 or build documents with `organism docs`"
            )
            drawn = _draw(documents, round(spec.corpus.documents_ratio * n), rng)
            rows += [("documents", _record_row(tokenizer, d, str(path))) for d in drawn]
    if spec.corpus.replay is not None:
        path = spec.corpus.replay.path
        replay = _read_jsonl(path, "fix corpus.replay.path")
        drawn = _draw(replay, round(spec.corpus.replay.ratio * n), rng)
        rows += [("replay", _record_row(tokenizer, r, str(path))) for r in drawn]
    rng.shuffle(rows)
    return [row for _, row in rows], dict(Counter(source for source, _ in rows))
