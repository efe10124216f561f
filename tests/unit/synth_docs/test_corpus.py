"""Corpus files (synth_docs/corpus.py): an unreadable corpus is a clear error."""

from __future__ import annotations

import pytest

from organisms.errors import OrganismError
from synth_docs.corpus import load_corpus


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("{not json\n", ":1: not valid JSON"), ('{"id": 1}\n', "lacks prompt, completion"), ("", "no transcripts")],
)
def test_unreadable_corpus_is_a_clear_error(tmp_path, content, fragment):
    (tmp_path / "transcripts.jsonl").write_text(content)
    with pytest.raises(OrganismError, match=fragment):
        load_corpus(tmp_path)
