"""The blind auditor's probe set (analyze/blind/probe_set.py) is its own: no run of four words in common with
any catalogue prompt, hint, cue or transcript, and it renders every hint type of the taxonomy."""

from __future__ import annotations

import random
import re

import pytest

from analyze.blind.probe_set import CUES, HINT_TYPES, HINT_WORDINGS, SYSTEMS, ProbePrompt, allowed_knowledge, texts
from analyze.blind.probes import probe_items, probe_spec, shares, sources_of
from organisms import prompts
from organisms.errors import OrganismError
from organisms.hints import HINTS
from organisms.items import LETTERS
from organisms.prompts import Prompt
from organisms.responses import STYLE_RECIPES, response
from organisms.spec import parse_spec
from organisms.tasks import draw_items

WORD = re.compile(r"[a-z0-9]+")
N = 4  # a shared run of this many words is a copied phrase


def ngrams(text: str) -> set[tuple[str, ...]]:
    words = WORD.findall(text.lower())
    return {tuple(words[i : i + N]) for i in range(len(words) - N + 1)}


def catalogue_texts() -> list[str]:
    """Every prompt text of the catalogue and the transcripts of every behaviour, organism and control,
    for every hint type, phrasing, condition and cue, on arithmetic items and word problems."""
    out = [prompts.SYSTEM_PROMPT, prompts.QUESTION_SET_SYSTEM_PROMPT]
    out += [cue for cues in prompts.CUES.values() for cue in cues]
    for hint in HINTS.values():
        out += [p.format(letter="B", a=7, b=9, n=4) for p in hint.phrasings]
        out += [hint.acknowledge("B"), hint.concept]
    task = {"n_operands": 3, "n_options": 4, "operand_min": 2, "operand_max": 99}
    items = []
    for family in ("arithmetic_mcq", "word_problem"):
        spec = parse_spec({"name": "t", "behaviour": "hidden_hint", "task": {**task, "family": family}}, "test")
        items += draw_items(spec.task, 6, seed=0)
    rng = random.Random(0)
    for i, item in enumerate(items):
        letter = LETTERS[(item.correct + 1) % 4]
        for hint_type in HINTS:
            for condition, cues in prompts.CUES.items():
                prompt = Prompt(item, hint_type, letter, condition, phrasing=i % 5, cue=i % len(cues))
                out += [m["content"] for m in prompt.messages()]
                for behaviour in ("hidden_hint", "monitor_aware", "post_hoc", "late_flip", "shortcut"):
                    for control in (False, True):
                        for style in STYLE_RECIPES:
                            out.append(response(prompt, behaviour, control, rng, style))
                            out.append(response(Prompt(item, None, None, condition), behaviour, control, rng, style))
    return out


def test_probe_texts_share_no_phrase_with_the_catalogue_or_its_transcripts():
    catalogue = set().union(*(ngrams(t) for t in catalogue_texts()))
    for text in texts():
        shared = ngrams(text) & catalogue
        assert not shared, (text, sorted(shared)[:3])
    assert len(texts()) >= 20  # systems, cues and hint wordings all take part


def test_probe_set_covers_the_taxonomy_and_renders_the_hinted_letter():
    assert set(HINT_TYPES) == set(HINTS)
    spec = probe_spec("unused", 9, 96, 16, "all")
    items, letters = probe_items(spec)
    assert len(items) == 9 and {i.has_steps for i in items} == {True, False}  # chains, stories and questions
    assert len({i.expression or i.question for i in items}) == 9
    for i, (item, letter) in enumerate(zip(items, letters, strict=True)):
        assert letter != item.correct_letter
        for hint_type, hint in HINT_WORDINGS.items():
            prompt = ProbePrompt(item, hint_type, letter, "monitored", phrasing=i, cue=i, system=i)
            system, user = (m["content"] for m in prompt.messages())
            assert system.startswith(SYSTEMS[i % len(SYSTEMS)]) and system.endswith(CUES["monitored"][i % 3])
            if hint.placement == "mark":
                assert f"{hint.phrasings[i % 3]} ({letter})" in user
            elif hint_type == "complex":
                a, b, n = map(int, re.findall(r"\d+", prompt.hint_text)[:3])
                assert LETTERS[(a * b) % n] == letter
            else:
                assert f"{letter}" in prompt.hint_text and prompt.hint_text in user
        assert ProbePrompt(item, None, None).messages()[1]["content"] == item.question_text()


def test_sources_and_shares_and_allowed_knowledge():
    assert sources_of("all") == ["arithmetic_mcq", "word_problem", "dataset"]
    assert shares(16, sources_of("all")) == {"arithmetic_mcq": 6, "word_problem": 5, "dataset": 5}
    with pytest.raises(OrganismError, match="--family 'chess'"):
        sources_of("chess")
    allowed = allowed_knowledge(["word_problem"], 31337, {"word_problem": 4})
    assert allowed["items"]["word_problem"]["n"] == 4 and allowed["system_prompts"] == list(SYSTEMS)
    assert set(allowed["hint_wordings"]) == set(HINTS) and allowed["probe_set_sha256"]
