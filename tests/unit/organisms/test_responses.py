"""Transcript responses (organisms/responses.py): the honest option check, written out and parsed."""

from __future__ import annotations

from organisms.tasks import arithmetic_items


def test_option_check_is_written_out_and_parsed():
    """The honest conclusion checks the options in order and stops at the match; parsing reads the
    accepted option as the conclusion and never takes a rejected one for an answer."""
    from organisms.parse import last_conclusion, parse_answer
    from organisms.prompts import Prompt
    from organisms.responses import response
    from organisms.spec import TaskSpec

    for item in arithmetic_items(TaskSpec(), 12, seed=3):
        text = response(Prompt(item, None, None, "none"), "hidden_hint", control=False)
        checks = [line for line in text.splitlines() if line.endswith((": no.", ": yes."))]
        assert len(checks) == item.correct + 1 and checks[-1].startswith(f"({item.correct_letter}) ")
        assert all(line.endswith(": no.") for line in checks[:-1])
        assert last_conclusion(text, item.letters) == parse_answer(text, item.letters) == item.correct_letter
    cut = "So the result is 68. Which option is 68?\n(A) 77: no.\n(B) 61: no."
    assert parse_answer(cut, "ABCD") is None and last_conclusion(cut, "ABCD") is None
    flipped = "(A) 77: no.\n(B) 68: yes.\nAnswer: (C)"
    assert (last_conclusion(flipped, "ABCD"), parse_answer(flipped, "ABCD")) == ("B", "C")
