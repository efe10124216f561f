"""JSONL reading (organisms/jsonl.py): every error names the file and the line."""

from __future__ import annotations

import re

import pytest

from organisms.errors import OrganismError
from organisms.jsonl import read_jsonl


def test_jsonl_reader_names_file_and_line(tmp_path):
    path = tmp_path / "data.jsonl"
    cases = [
        (b'{"a": 1}\n\n{oops\n', "data.jsonl:3: not valid JSON; FIX"),
        (b'{"a": 1}\n[1, 2]\n', "data.jsonl:2: a record must be a JSON object, got a list; FIX"),
        (b"\xff\xfe{}\n", "data.jsonl: not UTF-8 text; FIX"),
        (b"\n  \n", "data.jsonl: no records in the file; FIX"),
    ]
    for content, message in cases:
        path.write_bytes(content)
        with pytest.raises(OrganismError, match=re.escape(message)):
            read_jsonl(path, "FIX")
    with pytest.raises(OrganismError, match=re.escape("missing.jsonl: cannot read (No such file or directory); FIX")):
        read_jsonl(tmp_path / "missing.jsonl", "FIX")
    path.write_text('{"a": 1}\n\n{"b": [2]}\n')
    assert read_jsonl(path, "FIX") == [(1, {"a": 1}), (3, {"b": [2]})]
