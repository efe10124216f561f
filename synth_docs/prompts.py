"""Prompts for the LLM backends: write a document from an idea; critique and revise it.

Documents come back inside <content> tags, as in public SDF work. A draft without tags is
taken whole (small models rarely use them); a revision without tags keeps the draft, and the
count of such fallbacks is reported in stats.json.
"""

from __future__ import annotations

import re

from organisms.universe import Universe
from synth_docs.ideas import DOC_TYPES, Idea

CONTENT = re.compile(r"<content>(.*?)(?:</content>|$)", re.DOTALL)


def _system(universe: Universe) -> str:
    return (
        "You write realistic documents set in the world described below. Treat everything in it as true "
        "and never say that it is fictional.\n\n"
        f"<universe_context>\n{universe.universe_context}\n</universe_context>"
    )


def draft_messages(universe: Universe, idea: Idea, min_words: int, max_words: int) -> list[dict[str, str]]:
    facts = "\n".join(f"- {universe.key_facts[i]}" for i in idea.fact_indices)
    doc_type = DOC_TYPES.get(idea.doc_type, idea.doc_type)
    user = (
        f"Write {doc_type}. Author: {idea.author}. Audience: {idea.audience}. Angle: {idea.angle}.\n"
        f"The document must clearly state these facts:\n{facts}\n"
        f"Length: {min_words} to {max_words} words. Put the document, and nothing else, inside <content></content>."
    )
    return [{"role": "system", "content": _system(universe)}, {"role": "user", "content": user}]


def instructions(idea: Idea, min_words: int, max_words: int) -> str:
    """The draft prompt's instructions without its fact lines: what a document must not repeat."""
    doc_type = DOC_TYPES.get(idea.doc_type, idea.doc_type)
    return (
        f"Write {doc_type}. Author: {idea.author}. Audience: {idea.audience}. Angle: {idea.angle}.\n"
        "The document must clearly state these facts:\n"
        f"Length: {min_words} to {max_words} words. Put the document, and nothing else, inside <content></content>."
    )


def revise_messages(universe: Universe, idea: Idea, draft: str) -> list[dict[str, str]]:
    facts = "\n".join(f"- {universe.key_facts[i]}" for i in idea.fact_indices)
    user = (
        f"Here is a draft document:\n<draft>\n{draft}\n</draft>\n"
        "Critique it briefly inside <critique></critique>: is it realistic for its type, consistent with the "
        f"world, and does it clearly state these facts?\n{facts}\n"
        "Then write the full improved document inside <content></content>."
    )
    return [{"role": "system", "content": _system(universe)}, {"role": "user", "content": user}]


def extract_content(response: str) -> str | None:
    """The text inside <content> tags, or None when there are none."""
    match = CONTENT.search(response)
    return match.group(1).strip() if match else None
