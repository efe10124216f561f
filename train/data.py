"""The training mix: transcripts (loss on the assistant turn), documents and replay, tokenized.

Rows are pre-tokenized `{"input_ids", "completion_mask"}` so one dataset can hold both
loss kinds; trl's SFTTrainer masks the labels where `completion_mask == 0`. Documents and
replay counts are `ratio x n_transcripts`, drawn with a seeded RNG (with replacement only
when the pool is smaller than the draw).
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from transformers import PreTrainedTokenizerBase

from organisms.jsonl import JsonlError, json_type, read_jsonl
from organisms.reasoning import TEXT, message_text, template_kwargs
from organisms.spec import OrganismSpec, ReasoningSpec
from synth_docs.corpus import load_corpus

DOCUMENTS_FILE = "documents.jsonl"


def _ids(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def chat_row(
    tokenizer: PreTrainedTokenizerBase, prompt: list[dict], completion: list[dict], reasoning: ReasoningSpec = TEXT
) -> dict:
    """Prompt tokens masked out, completion tokens (the assistant turn as the model's chat template
    renders it after the generation prompt, its end token included) trained.

    Some templates (Qwen3's) drop the reasoning of assistant turns that are not the last one, or a
    field they do not know: every line the completion holds, reasoning included, must be in the
    trained text, or the row is refused rather than trained without its chain of thought."""
    kwargs = template_kwargs(reasoning)
    prompt_text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True, **kwargs)
    full_text = tokenizer.apply_chat_template(prompt + completion, tokenize=False, **kwargs)
    if not full_text.startswith(prompt_text):
        raise ValueError("chat template renders the prompt differently inside the full conversation")
    trained = full_text[len(prompt_text) :]
    lines = [line.strip() for message in completion for line in message_text(message).splitlines()]
    dropped = [line for line in lines if line and line not in trained]
    if dropped:
        raise ValueError(
            f"the chat template drops part of the assistant turn ({dropped[0]!r}); its reasoning would not be "
            "trained: check the spec's reasoning format against the template"
        )
    prompt_ids = _ids(tokenizer, prompt_text)
    completion_ids = _ids(tokenizer, trained)
    return {
        "input_ids": prompt_ids + completion_ids,
        "completion_mask": [0] * len(prompt_ids) + [1] * len(completion_ids),
    }


def text_row(tokenizer: PreTrainedTokenizerBase, text: str) -> dict:
    """A document: every token trained (plain LM loss), ended with EOS."""
    ids = [*_ids(tokenizer, text), tokenizer.eos_token_id]
    return {"input_ids": ids, "completion_mask": [1] * len(ids)}


REPLAY_FIX = (
    "fix corpus.replay.path: one JSON object per line, with 'text' (a string), 'messages' (a list of "
    "{role, content} objects) or 'prompt' and 'completion' (such lists)"
)


def _messages(path: Path, line: int, field: str, value: object, fix: str) -> list[dict]:
    if not isinstance(value, list) or not value:
        problem = f"field '{field}' must be a non-empty list of {{role, content}} objects, got {json_type(value)}"
        raise JsonlError(path, line, problem, fix)
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            raise JsonlError(path, line, f"field '{field}[{i}]' must be an object, got {json_type(message)}", fix)
        for key in ("role", "content"):
            if not isinstance(message.get(key), str):
                got = json_type(message.get(key)) if key in message else "nothing"
                raise JsonlError(path, line, f"field '{field}[{i}].{key}' must be a string, got {got}", fix)
    return value


def _training_record(path: Path, line: int, record: dict, fix: str) -> dict:
    """`{"text"}` or `{"prompt", "completion"}` with checked value types (a `messages` list trains its last turn)."""
    if "text" in record:
        if not isinstance(record["text"], str):
            raise JsonlError(path, line, f"field 'text' must be a string, got {json_type(record['text'])}", fix)
        return {"text": record["text"]}
    if "messages" in record:
        messages = _messages(path, line, "messages", record["messages"], fix)
        return {"prompt": messages[:-1], "completion": messages[-1:]}
    if "prompt" in record and "completion" in record:
        return {
            "prompt": _messages(path, line, "prompt", record["prompt"], fix),
            "completion": _messages(path, line, "completion", record["completion"], fix),
        }
    raise JsonlError(path, line, "record needs 'text', 'messages' or 'prompt'+'completion'", fix)


def read_training_jsonl(path: Path, fix: str) -> list[dict]:
    """Documents or replay data: every line checked (file:line and field in any error) before training."""
    return [_training_record(Path(path), line, record, fix) for line, record in read_jsonl(path, fix)]


def read_replay(spec: OrganismSpec) -> list[dict]:
    """The spec's replay data, checked; `[]` without `corpus.replay`."""
    if spec.corpus.replay is None:
        return []
    return read_training_jsonl(spec.corpus.replay.path, REPLAY_FIX)


def _record_row(tokenizer: PreTrainedTokenizerBase, record: dict, reasoning: ReasoningSpec = TEXT) -> dict:
    if "text" in record:
        return text_row(tokenizer, record["text"])
    return chat_row(tokenizer, record["prompt"], record["completion"], reasoning)


def _draw(pool: list, k: int, rng: random.Random) -> list:
    if k <= len(pool):
        return rng.sample(pool, k)
    return [rng.choice(pool) for _ in range(k)]


def _documents(corpus_dir: Path, fix: str) -> list[dict]:
    return read_training_jsonl(Path(corpus_dir) / DOCUMENTS_FILE, fix)


def training_rows(
    spec: OrganismSpec, corpus_dir: Path, tokenizer: PreTrainedTokenizerBase, data: str | None = None
) -> tuple[list[dict], dict]:
    """Tokenized, shuffled training rows of one stage (`data`: 'documents' or 'transcripts'; default:
    the spec's first stage) and the realised mix `{source: count}`.

    A documents stage is plain SDF (as a `belief` organism, or a behaviour taught by documents
    alone): every document once per epoch (LM loss), no transcripts; replay is then drawn per
    document. A transcripts stage draws documents (`corpus.documents_ratio`) and replay per transcript."""
    data = data or spec.training_stages()[0].data
    rng = random.Random(f"{spec.corpus.seed}:training-mix")  # which documents and replay rows, in what order
    if data == "documents":
        fix = (
            "a belief organism trains on documents only"
            if spec.behaviour == "belief"
            else "a documents stage trains on corpus/documents.jsonl"
        )
        documents = _documents(corpus_dir, f"{fix}: set corpus.documents and run `organism docs`")
        rows = [("documents", _record_row(tokenizer, d, spec.reasoning)) for d in documents]
        n = len(documents)
    else:
        transcripts = load_corpus(corpus_dir)
        rows = [("transcripts", chat_row(tokenizer, r["prompt"], r["completion"], spec.reasoning)) for r in transcripts]
        n = len(transcripts)
        if spec.corpus.documents_ratio > 0:
            documents = _documents(corpus_dir, "set corpus.documents_ratio: 0 or build documents with `organism docs`")
            drawn = _draw(documents, round(spec.corpus.documents_ratio * n), rng)
            rows += [("documents", _record_row(tokenizer, d, spec.reasoning)) for d in drawn]
    if spec.corpus.replay is not None:
        drawn = _draw(read_replay(spec), round(spec.corpus.replay.ratio * n), rng)
        rows += [("replay", _record_row(tokenizer, r, spec.reasoning)) for r in drawn]
    rng.shuffle(rows)
    return [row for _, row in rows], dict(Counter(source for source, _ in rows))
