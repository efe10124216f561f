"""Every stage keeps its items apart from the corpus's through one function, which reads a
documents-only corpus (no transcripts) as holding no items, instead of failing on the missing file."""

from __future__ import annotations

import json

import pytest

from organisms.errors import OrganismError
from synth_docs.corpus import corpus_expressions


def test_transcript_expressions_are_read(tmp_path):
    rows = [
        {"id": str(i), "expression": e, "prompt": [], "completion": []} for i, e in enumerate(["2 + 3 - 4", "5 + 6"])
    ]
    (tmp_path / "transcripts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert corpus_expressions(tmp_path) == {"2 + 3 - 4", "5 + 6"}


def test_a_documents_only_corpus_holds_no_items(tmp_path):
    (tmp_path / "documents.jsonl").write_text(json.dumps({"text": "A document."}) + "\n")
    assert corpus_expressions(tmp_path) == set()


def test_a_corpus_with_neither_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(OrganismError, match=r"transcripts\.jsonl"):
        corpus_expressions(tmp_path)
