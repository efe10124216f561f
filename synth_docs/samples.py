"""`organism docs --inspect`: a few transcripts of each kind and documents of each type, to read before
training on them."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from rich.panel import Panel
from rich.text import Text

from organisms.errors import OrganismError
from organisms.parse import arithmetic_steps, user_text_of
from organisms.reasoning import message_text
from synth_docs.corpus import TRANSCRIPTS_FILE
from synth_docs.documents import DOCUMENTS_FILE, REJECTED_FILE


def sample_panels(corpus_dir: Path, per_kind: int = 2, max_chars: int = 900) -> list[Panel]:
    """The first `per_kind` transcripts of each kind, then the first `per_kind` kept documents of each type
    (plan order) and one rejected document per reason: whichever of the two the corpus has."""
    corpus_dir = Path(corpus_dir)
    if not (corpus_dir / TRANSCRIPTS_FILE).exists() and not (corpus_dir / DOCUMENTS_FILE).exists():
        raise OrganismError(f"{corpus_dir}: neither transcripts nor documents; build it with `organism docs`")
    return transcript_panels(corpus_dir, per_kind, max_chars) + document_panels(corpus_dir, per_kind, max_chars)


def _cut(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[:max_chars] + " [...]"


def transcript_kind(record: dict) -> str:
    """What sets a transcript apart: its hint type (or none), its monitoring condition, a wrong arithmetic
    step in its reasoning (a faked or forged one), and an on-policy sample's class."""
    parts = [f"hinted ({record['hint_type']})" if record.get("hint_type") else "unhinted"]
    if record.get("condition", "none") != "none":
        parts.append(record["condition"])
    if any(not step.is_correct for step in arithmetic_steps(message_text(record["completion"][-1]))):
        parts.append("a wrong step")
    if record.get("sample_class"):
        parts.append(record["sample_class"])
    return ", ".join(parts)


def transcript_panels(corpus_dir: Path, per_kind: int = 2, max_chars: int = 900) -> list[Panel]:
    """The first `per_kind` transcripts of each kind (`transcript_kind`): the prompt, then the reply."""
    path = corpus_dir / TRANSCRIPTS_FILE
    if not path.exists():
        return []
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        by_kind[transcript_kind(record)].append(record)
    panels = []
    for kind in sorted(by_kind):
        for record in by_kind[kind][:per_kind]:
            prompt = user_text_of(record["prompt"]) or ""
            reply = message_text(record["completion"][-1])
            title = f"{kind} · {record['id']} · correct ({record['correct_letter']})"
            if record.get("hint_letter"):
                title += f", hint ({record['hint_letter']})"
            text = Text.assemble(_cut(prompt, max_chars), "\n\n", ("assistant: ", "bold"), _cut(reply, max_chars))
            panels.append(Panel(text, title=title, title_align="left", border_style="blue"))
    return panels


def document_panels(corpus_dir: Path, per_type: int = 2, max_chars: int = 900) -> list[Panel]:
    """The first `per_type` kept documents of each type (plan order), and one rejected per reason."""
    path = corpus_dir / DOCUMENTS_FILE
    if not path.exists():
        return []
    by_type: dict[str, list[dict]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        by_type[record["doc_type"]].append(record)
    panels = []
    for doc_type in sorted(by_type):
        for record in by_type[doc_type][:per_type]:
            title = f"{doc_type} · {record['id']} · facts {', '.join(record['key_fact_ids'])}"
            panels.append(Panel(_cut(record["text"], max_chars), title=title, title_align="left", border_style="green"))
    rejected_path = corpus_dir / REJECTED_FILE
    seen: set[str] = set()
    for line in rejected_path.read_text(encoding="utf-8").splitlines() if rejected_path.exists() else []:
        record = json.loads(line)
        if record["reason"] not in seen:
            seen.add(record["reason"])
            text = record["text"][:max_chars] or "(empty)"
            panels.append(Panel(text, title=f"rejected ({record['reason']}) · {record['id']}", border_style="red"))
    return panels
