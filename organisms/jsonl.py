"""The one JSONL reader: every error names the file and, where there is one, the line.

Corpora, universes, documents and replay data are all JSONL; their readers differ only in
what a valid object is, so they call `read_jsonl` and check their own fields with
`JsonlError`, which carries the `file:line` prefix.
"""

from __future__ import annotations

import json
from pathlib import Path

from organisms.errors import OrganismError


class JsonlError(OrganismError):
    """A bad JSONL file or line: `<file>[:<line>]: <problem>; <what to do>`."""

    def __init__(self, path: Path, line: int | None, problem: str, fix: str):
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}; {fix}")


def json_type(value: object) -> str:
    """How JSON spells the type of `value`, for error messages ("a string", "a list", ...)."""
    if isinstance(value, bool):
        return "true/false"
    names = {str: "a string", int: "a number", float: "a number", list: "a list", dict: "an object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def read_jsonl(path: Path, fix: str, what: str = "record") -> list[tuple[int, dict]]:
    """`(line number, object)` for every non-blank line of `path`.

    An unreadable file, a line that is not JSON or not a JSON object, or a file without any
    object is a `JsonlError` whose message ends with `fix` (what the user should do)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise JsonlError(path, None, f"cannot read ({exc.strerror or exc})", fix) from None
    except UnicodeDecodeError:
        raise JsonlError(path, None, "not UTF-8 text", fix) from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise JsonlError(path, number, "not valid JSON", fix) from None
        if not isinstance(obj, dict):
            raise JsonlError(path, number, f"a {what} must be a JSON object, got {json_type(obj)}", fix)
        records.append((number, obj))
    if not records:
        raise JsonlError(path, None, f"no {what}s in the file", fix)
    return records
