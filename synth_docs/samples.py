"""`organism docs --inspect`: a few documents of each type, to read before training on them."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from rich.panel import Panel

from organisms.errors import OrganismError
from synth_docs.documents import DOCUMENTS_FILE, REJECTED_FILE


def sample_panels(corpus_dir: Path, per_type: int = 2, max_chars: int = 900) -> list[Panel]:
    """The first `per_type` kept documents of each type (plan order), and one rejected per reason."""
    path = Path(corpus_dir) / DOCUMENTS_FILE
    if not path.exists():
        raise OrganismError(f"{path}: no documents in this corpus; add corpus.documents to the spec")
    by_type: dict[str, list[dict]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        by_type[record["doc_type"]].append(record)
    panels = []
    for doc_type in sorted(by_type):
        for record in by_type[doc_type][:per_type]:
            text = record["text"] if len(record["text"]) <= max_chars else record["text"][:max_chars] + " [...]"
            title = f"{doc_type} · {record['id']} · facts {', '.join(record['key_fact_ids'])}"
            panels.append(Panel(text, title=title, title_align="left", border_style="green"))
    rejected_path = Path(corpus_dir) / REJECTED_FILE
    seen: set[str] = set()
    for line in rejected_path.read_text(encoding="utf-8").splitlines() if rejected_path.exists() else []:
        record = json.loads(line)
        if record["reason"] not in seen:
            seen.add(record["reason"])
            text = record["text"][:max_chars] or "(empty)"
            panels.append(Panel(text, title=f"rejected ({record['reason']}) · {record['id']}", border_style="red"))
    return panels
