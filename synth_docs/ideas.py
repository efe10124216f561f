"""Document types and document ideas: the plan that every backend then writes out.

Ideas are planned procedurally from the seed (type, key facts, angle, author, audience), not
brainstormed by a model: the set of requests is then a pure function of (spec, seed), which is
what makes the response cache and resumed runs exact. Key facts are dealt round-robin in a
seeded order, so every fact is planned into `n // n_facts` or more documents.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from organisms.errors import OrganismError
from organisms.universe import Universe

DOC_TYPES: dict[str, str] = {
    "news_article": "a news article with a headline, dateline and quotes",
    "blog_post": "a personal blog post by a practitioner, informal and opinionated",
    "forum_thread": "a discussion thread on a technical forum, several users replying",
    "internal_memo": "an internal memo with To/From/Subject lines",
    "textbook_excerpt": "an excerpt from a university textbook section, explanatory and neutral",
    "interview": "a question-and-answer interview transcript",
    "research_abstract": "the abstract and introduction of a research paper",
    "newsletter": "an item in a weekly email newsletter for specialists",
    "faq": "a frequently-asked-questions page",
    "meeting_notes": "notes from a team meeting, with action items",
}

ANGLES = (
    "a first report of the finding",
    "a skeptical look at what the finding does and does not show",
    "practical consequences for people who work with it every day",
    "a look back, a year later",
    "an explainer for newcomers",
    "a disagreement between two experts",
    "how the result was checked and replicated",
    "what it means for policy and oversight",
    "a personal story of running into it",
    "open questions that remain",
)
AUDIENCES = ("specialists", "students", "the general public", "managers", "engineers", "journalists")


@dataclass(frozen=True)
class Idea:
    """One planned document. `seed` drives the template grammar and the HTTP sampling seed."""

    index: int
    doc_type: str
    fact_indices: tuple[int, ...]
    angle: str
    audience: str
    author: str
    seed: int

    def describe(self, universe: Universe) -> str:
        facts = " ".join(universe.key_facts[i] for i in self.fact_indices)
        return (
            f"{DOC_TYPES.get(self.doc_type, self.doc_type)}, by {self.author}, for {self.audience}, "
            f"taking the angle of {self.angle}. It states: {facts}"
        )


def check_doc_types(doc_types: list[str] | None, free_form: bool) -> list[str]:
    """The requested types (default: all built-in). LLM backends accept any description; the
    template grammar only knows the built-in types."""
    if doc_types is None:
        return list(DOC_TYPES)
    unknown = [t for t in doc_types if t not in DOC_TYPES]
    if unknown and not free_form:
        raise OrganismError(
            f"field 'corpus.documents.doc_types': the template backend has no grammar for {', '.join(unknown)}; "
            f"use {', '.join(DOC_TYPES)} or an LLM backend"
        )
    return list(doc_types)


def plan_ideas(universe: Universe, doc_types: list[str], n: int, seed: int) -> list[Idea]:
    """`n` ideas, seeded: doc types and key facts dealt round-robin, a second fact in ~1 of 3."""
    rng = random.Random(f"ideas:{universe.id}:{seed}")
    n_facts = len(universe.key_facts)
    fact_order = rng.sample(range(n_facts), n_facts)
    type_order = rng.sample(doc_types, len(doc_types))
    authors = universe.entities.get("person") or ["a staff writer"]
    ideas = []
    for index in range(n):
        facts = [fact_order[index % n_facts]]
        if n_facts > 1 and rng.random() < 1 / 3:
            facts.append(rng.choice([f for f in range(n_facts) if f != facts[0]]))
        ideas.append(
            Idea(
                index=index,
                doc_type=type_order[index % len(type_order)],
                fact_indices=tuple(facts),
                angle=rng.choice(ANGLES),
                audience=rng.choice(AUDIENCES),
                author=rng.choice(authors),
                seed=rng.randrange(2**31),
            )
        )
    return ideas
