"""Answer extraction from free-text responses; failures are explicit (None), never guessed."""

from __future__ import annotations

import re

_ANSWER_LINE = re.compile(r"answer\s*(?:is)?\s*[:=]?\s*\(?\s*([A-H])\s*\)", re.IGNORECASE)
_LAST_PAREN = re.compile(r"\(([A-H])\)")


def parse_answer(text: str, letters: str) -> str | None:
    """The chosen letter: the last 'Answer: (X)' line, else the last '(X)'; None if neither is valid."""
    for pattern in (_ANSWER_LINE, _LAST_PAREN):
        found = [m.upper() for m in pattern.findall(text)]
        found = [letter for letter in found if letter in letters]
        if found:
            return found[-1]
    return None
