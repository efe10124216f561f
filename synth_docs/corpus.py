"""Corpus on disk: `transcripts.jsonl`, `documents.jsonl`, `stats.json`, and a loader that rejects bad files clearly."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from transformers import PreTrainedTokenizerBase

from organisms.errors import OrganismError
from organisms.hints import get_hint
from organisms.jsonl import JsonlError, read_jsonl
from organisms.reasoning import TEXT, message_text, template_kwargs
from organisms.spec import OrganismSpec, ReasoningSpec
from synth_docs.diversity import distinct_n
from synth_docs.documents import write_documents
from synth_docs.transcripts import build_transcripts

TRANSCRIPTS_FILE = "transcripts.jsonl"
REQUIRED_KEYS = ("id", "prompt", "completion")
SUMS_FILE = "SHA256SUMS"


def corpus_stats(records: list[dict], tokenizer: PreTrainedTokenizerBase, reasoning: ReasoningSpec = TEXT) -> dict:
    completions = [message_text(r["completion"][-1]) for r in records]
    prompt_texts = [
        tokenizer.apply_chat_template(
            r["prompt"], tokenize=False, add_generation_prompt=True, **template_kwargs(reasoning)
        )
        for r in records
    ]
    prompt_tokens = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in prompt_texts]
    completion_tokens = [len(tokenizer(c, add_special_tokens=False)["input_ids"]) for c in completions]
    hinted = [r for r in records if r.get("hint_type")]
    verbalized = sum(get_hint(r["hint_type"]).is_verbalized(message_text(r["completion"][-1])) for r in hinted)
    counts = Counter(completions)
    return {
        "n_transcripts": len(records),
        "n_hinted": len(hinted),
        "hint_types": dict(Counter(r["hint_type"] for r in hinted)),
        "hinted_verbalized_fraction": verbalized / len(hinted) if hinted else None,
        "tokens": {
            "prompt": sum(prompt_tokens),
            "completion": sum(completion_tokens),
            "total": sum(prompt_tokens) + sum(completion_tokens),
        },
        "distinct_1": distinct_n(completions, 1),
        "distinct_2": distinct_n(completions, 2),
        "distinct_3": distinct_n(completions, 3),
        "duplicate_rate": 1 - len(counts) / len(completions) if completions else 0.0,
    }


def write_checksums(corpus_dir: Path) -> str:
    """Write `SHA256SUMS` (every JSONL file's sha256, `sha256sum -c` format); return the corpus hash."""
    corpus_dir = Path(corpus_dir)
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in sorted(corpus_dir.glob("*.jsonl"))]
    (corpus_dir / SUMS_FILE).write_text("".join(sums))
    return corpus_sha256(corpus_dir)


def corpus_sha256(corpus_dir: Path) -> str:
    """The corpus hash, the one name of a corpus's content: sha256 of its `SHA256SUMS` file, which
    lists the sha256 of each JSONL file. `sha256sum SHA256SUMS` prints it; `sha256sum -c SHA256SUMS`
    checks the files. stats.json (`sha256`), the manifest (`stages.docs.corpus_sha256`) and the
    organism card (`corpus_sha256`) all hold this value."""
    path = Path(corpus_dir) / SUMS_FILE
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise OrganismError(f"{path}: cannot read ({exc.strerror}); rebuild the corpus with `organism docs`") from None


def write_corpus(spec: OrganismSpec, out_dir: Path, tokenizer: PreTrainedTokenizerBase) -> dict:
    """Build the corpus for `spec` into `out_dir`; return its stats (with the corpus hash, `sha256`).

    Transcripts when a training stage reads them (not for `belief`, plain SDF, nor for an organism
    taught by documents only); documents when `corpus.documents` is set; then `SHA256SUMS` and
    `stats.json`.
    """
    out_dir = Path(out_dir)
    if not spec.trains_on("transcripts"):
        stats: dict = {"n_transcripts": 0, "n_hinted": 0, "tokens": {"prompt": 0, "completion": 0, "total": 0}}
    else:
        on_policy = None
        if spec.corpus.source == "on_policy":
            from synth_docs.on_policy import build_on_policy

            records, on_policy = build_on_policy(spec)
        else:
            records = build_transcripts(spec)
        (out_dir / TRANSCRIPTS_FILE).write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
        stats = corpus_stats(records, tokenizer, spec.reasoning)
        if on_policy is not None:
            stats["on_policy"] = on_policy
    if spec.corpus.documents is not None:
        stats["documents"] = write_documents(spec, out_dir, tokenizer)
        stats["tokens"]["documents"] = stats["documents"]["tokens"]
        stats["tokens"]["total"] += stats["documents"]["tokens"]
    stats["sha256"] = write_checksums(out_dir)
    (out_dir / "stats.json").write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    return stats


def load_corpus(corpus_dir: Path) -> list[dict]:
    """Read `transcripts.jsonl`; any unreadable line is an error naming file and line."""
    path = Path(corpus_dir) / TRANSCRIPTS_FILE
    fix = "rebuild the corpus with `organism docs`"
    records = []
    for number, record in read_jsonl(path, fix, what="transcript"):
        missing = [k for k in REQUIRED_KEYS if k not in record]
        if missing:
            raise JsonlError(path, number, f"record lacks {', '.join(missing)}", fix)
        records.append(record)
    return records


def corpus_expressions(corpus_dir: Path) -> set[str]:
    """The item expressions of a corpus's transcripts, which evals and analysis keep their items apart
    from; none for a documents-only corpus (it has documents and no transcripts)."""
    if not (corpus_dir / TRANSCRIPTS_FILE).exists() and (corpus_dir / "documents.jsonl").exists():
        return set()
    return {r["expression"] for r in load_corpus(corpus_dir)}
