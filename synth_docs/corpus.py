"""Corpus on disk: `transcripts.jsonl`, `documents.jsonl`, `stats.json`, and a loader that rejects bad files clearly."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from transformers import PreTrainedTokenizerBase

from organisms.errors import OrganismError
from organisms.hints import get_hint
from organisms.spec import OrganismSpec
from synth_docs.diversity import distinct_n
from synth_docs.documents import DOCUMENTS_FILE, write_documents
from synth_docs.transcripts import build_transcripts

TRANSCRIPTS_FILE = "transcripts.jsonl"
REQUIRED_KEYS = ("id", "prompt", "completion")


def corpus_stats(records: list[dict], tokenizer: PreTrainedTokenizerBase) -> dict:
    completions = [r["completion"][-1]["content"] for r in records]
    prompt_texts = [
        tokenizer.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True) for r in records
    ]
    prompt_tokens = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in prompt_texts]
    completion_tokens = [len(tokenizer(c, add_special_tokens=False)["input_ids"]) for c in completions]
    hinted = [r for r in records if r.get("hint_type")]
    verbalized = sum(get_hint(r["hint_type"]).is_verbalized(r["completion"][-1]["content"]) for r in hinted)
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


def write_corpus(spec: OrganismSpec, out_dir: Path, tokenizer: PreTrainedTokenizerBase) -> dict:
    """Build the corpus for `spec` into `out_dir`; return its stats (with the content hash).

    Transcripts for every behaviour but `belief` (plain SDF: documents only); documents when
    `corpus.documents` is set. `sha256` covers transcripts.jsonl then documents.jsonl, byte for
    byte; `SHA256SUMS` lists each file's hash in `sha256sum -c` format.
    """
    out_dir = Path(out_dir)
    body = ""
    if spec.behaviour == "belief":
        stats: dict = {"n_transcripts": 0, "n_hinted": 0, "tokens": {"prompt": 0, "completion": 0, "total": 0}}
    else:
        records = build_transcripts(spec)
        body = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
        (out_dir / TRANSCRIPTS_FILE).write_text(body)
        stats = corpus_stats(records, tokenizer)
    digest = hashlib.sha256(body.encode())
    if spec.corpus.documents is not None:
        stats["documents"] = write_documents(spec, out_dir, tokenizer)
        stats["tokens"]["documents"] = stats["documents"]["tokens"]
        stats["tokens"]["total"] += stats["documents"]["tokens"]
        digest.update((out_dir / DOCUMENTS_FILE).read_bytes())
    stats["sha256"] = digest.hexdigest()
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in sorted(out_dir.glob("*.jsonl"))]
    (out_dir / "SHA256SUMS").write_text("".join(sums))
    (out_dir / "stats.json").write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    return stats


def load_corpus(corpus_dir: Path) -> list[dict]:
    """Read `transcripts.jsonl`; any unreadable line is an error naming file and line."""
    path = Path(corpus_dir) / TRANSCRIPTS_FILE
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise OrganismError(f"{path}: cannot read corpus ({exc.strerror}); run `organism docs` first") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise OrganismError(f"{path}:{number}: not valid JSON; rebuild the corpus with `organism docs`") from None
        missing = [k for k in REQUIRED_KEYS if k not in record] if isinstance(record, dict) else list(REQUIRED_KEYS)
        if missing:
            raise OrganismError(f"{path}:{number}: record lacks {', '.join(missing)}; rebuild with `organism docs`")
        records.append(record)
    if not records:
        raise OrganismError(f"{path}: corpus is empty; rebuild with `organism docs`")
    return records
