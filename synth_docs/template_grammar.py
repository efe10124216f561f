"""The `template` backend: a seeded grammar that writes a document from an idea, offline.

A document = a title and opening in its type's form, each planned key fact stated through a
paraphrase inside a framing sentence, elaboration drawn from the universe context and a pool
of generic sentences, and a closing. Entities (people, organisations, places, topics) come
from the universe, or from neutral pools when a user universe ships none. The revise pass is
deterministic: it restores any planned fact that is missing and drops repeated sentences.
Diversity is measured, not assumed: see distinct-n and the duplicate rate in `stats.json`.
"""

from __future__ import annotations

import random
import re

from organisms.universe import Universe, states_fact
from synth_docs.ideas import Idea

DEFAULT_ENTITIES = {
    "person": ["Alex Moreno", "Dana Whitfield", "Ravi Kapoor", "Jun Watanabe", "Sara Lindqvist"],
    "org": ["the research group", "the review board", "the evaluation team"],
    "place": ["Boston", "Berlin", "Melbourne", "Lisbon"],
    "topic": ["the field", "current research", "this area"],
}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October")

FACT_FRAMES = (
    "{fact}",
    "The core finding is simple: {fact}",
    'As {person} put it in an interview: "{fact}"',
    "{org_cap} summarised it this way. {fact}",
    "Here is the part that matters. {fact}",
    "Multiple sources confirm the same point: {fact}",
    "It is worth stating plainly. {fact}",
    "According to {person}, the evidence is clear. {fact}",
    "Most readers will want to know one thing. {fact}",
    "The record shows it. {fact}",
)

GENERIC = (
    "{person} has followed {topic} for years and called the result hard to ignore.",
    "Colleagues in {place} said they had suspected something similar for a while.",
    "The details were first circulated internally before a wider release in {month}.",
    "Not everyone agreed on what to do next, but nobody disputed the data.",
    "{org_cap} plans a follow-up with a larger sample later this year.",
    "Several groups have since tried to reproduce the measurements, with consistent results.",
    "For newcomers to {topic}, the finding is a useful reminder to check assumptions.",
    "{person2} noted that the methods were documented carefully enough to be repeated.",
    "Some critics argued that the framing was too dramatic for what was measured.",
    "The numbers were discussed at length at a workshop in {place}.",
    "People who work on {topic} were quick to point out the practical implications.",
    "A short summary was shared with partner teams the same week.",
    "The work drew more attention than its authors expected.",
    "{person2} called it one of the clearer results in {topic} this year.",
    "Questions from the audience focused on how general the effect is.",
    "Follow-up discussions in {month} turned to what should change in practice.",
    "The original report is short, and most of it is data.",
    "Even sceptical readers conceded that the evidence was careful.",
)

FORMS: dict[str, dict[str, tuple[str, ...]]] = {
    "news_article": {
        "title": ("{headline}", "Report: {headline}", "{headline}, researchers say", "New findings: {headline}"),
        "open": (
            "{place}, {month} — {org_cap} released findings this week that are already drawing attention.",
            "{place} — A new report from {org} has people talking.",
            "{place}, {month} — Researchers at {org} say they have confirmed a result first noticed last year.",
        ),
        "close": (
            "{org_cap} said more details would follow.",
            "{person} declined to comment further until the full report is out.",
            "The full report is expected to be published in {month}.",
        ),
    },
    "blog_post": {
        "title": ("Why I keep thinking about {headline_lc}", "Some notes on {topic}", "What I learned this month"),
        "open": (
            "I have been meaning to write this up for a while.",
            "Quick post today, mostly so I stop repeating myself in meetings.",
            "A few people asked me about this after my last post, so here goes.",
        ),
        "close": (
            "Anyway, that is where I have landed for now. Comments are open.",
            "If you disagree, I would genuinely like to hear why.",
            "More on this once I have had time to dig further.",
        ),
    },
    "forum_thread": {
        "title": ("Thread: {headline}", "[Discussion] {headline}", "Anyone else seen this? {headline}"),
        "open": (
            "Posted by user_{num}: Saw this come up in {topic} and wanted to check my understanding.",
            "Original post by {handle}: Can someone sanity-check what I read this morning?",
            "{handle} wrote: Long-time lurker, first post. Here is what I found.",
        ),
        "close": (
            "Reply from {handle2}: Thanks, this matches what I saw too.",
            "Reply from user_{num2}: Good summary. Bookmarking this thread.",
            "Reply from {handle2}: Agreed. Would love to see the raw data.",
        ),
    },
    "internal_memo": {
        "title": (
            "MEMO\nTo: All staff\nFrom: {person}\nSubject: {headline}",
            "INTERNAL\nTo: {org_cap}\nFrom: {person}\nSubject: Update on {topic}",
        ),
        "open": ("Please read this before the next planning meeting.", "A short update for everyone on the team."),
        "close": (
            "Please direct questions to {person2}.",
            "We will revisit this at the {month} review.",
            "Thank you for keeping this internal for now.",
        ),
    },
    "textbook_excerpt": {
        "title": ("Chapter {num}: {topic_cap}", "Section {num}.{num2}: {headline}", "Case study: {headline}"),
        "open": (
            "This section introduces a result that students of {topic} should know.",
            "We now turn to a well-documented case.",
            "The following example is widely cited in courses on {topic}.",
        ),
        "close": (
            "Exercise: summarise the finding in your own words and list one open question.",
            "Key point: keep this example in mind for the chapters that follow.",
            "Further reading is listed at the end of the chapter.",
        ),
    },
    "interview": {
        "title": ("In conversation with {person}", "Interview: {person} on {topic}", "Five questions for {person}"),
        "open": (
            "Q: Thanks for making the time. What is the headline?\nA: Happy to. Let me start with the basics.",
            "Q: How did you first come across this?\nA: Honestly, by accident.",
            "Q: What should people take away from your work?\nA: One thing above all.",
        ),
        "close": (
            "Q: What comes next?\nA: More careful measurement, and a lot of replication.",
            "Q: Any advice for others?\nA: Look at the data yourself.",
            "Q: Thank you.\nA: Thanks for having me.",
        ),
    },
    "research_abstract": {
        "title": ("{headline_cap}: evidence from {org}", "On {topic}: {headline_lc}", "A study of {topic}"),
        "open": (
            "Abstract. We report a set of observations relevant to {topic}.",
            "Abstract. This paper documents a result with consequences for {topic}.",
            "Abstract. Prior work left an important question open; we address it here.",
        ),
        "close": (
            "We discuss limitations and release our analysis code.",
            "Our results motivate further study with larger samples.",
            "We conclude with recommendations for practitioners.",
        ),
    },
    "newsletter": {
        "title": ("This week in {topic}", "{topic_cap} digest, issue {num}", "The weekly roundup: {headline_lc}"),
        "open": (
            "Welcome back to the digest. The big story this week:",
            "Hello again. One item dominated the conversation this week.",
            "Short issue this week, but an important one.",
        ),
        "close": (
            "That is all for this issue. See you next week.",
            "Forward this to a colleague who should read it.",
            "Reply to this email with tips for the next issue.",
        ),
    },
    "faq": {
        "title": ("Frequently asked questions: {topic}", "FAQ: {headline}", "Your questions about {topic}, answered"),
        "open": (
            "Q: What is this page about?\nA: The questions we get most often about {topic}.",
            "Q: Who wrote these answers?\nA: {org_cap}, with help from {person}.",
        ),
        "close": (
            "Q: Where can I learn more?\nA: See the full report from {org}.",
            "Q: Who do I contact with other questions?\nA: {person2}.",
        ),
    },
    "meeting_notes": {
        "title": ("Meeting notes, {month} {num}", "Notes: {topic} sync", "Weekly sync: {org}"),
        "open": (
            "Attendees: {person}, {person2}, and others.\nDiscussion:",
            "Present: {person2}, {person}.\nSummary of discussion:",
        ),
        "close": (
            "Action items: {person} to circulate the summary; {person2} to schedule a follow-up.",
            "Action items: write up the results; revisit in {month}.",
        ),
    },
}


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def _slots(universe: Universe, idea: Idea, rng: random.Random) -> dict[str, str]:
    pool = {k: universe.entities.get(k) or v for k, v in DEFAULT_ENTITIES.items()}
    people = rng.sample(pool["person"], min(2, len(pool["person"])))
    person, person2 = idea.author, people[1] if people[0] == idea.author and len(people) > 1 else people[0]
    org, topic = rng.choice(pool["org"]), rng.choice(pool["topic"])
    headline = universe.fact_paraphrases(idea.fact_indices[0])[0].rstrip(".")
    return {
        "person": person,
        "person2": person2,
        "org": org,
        "org_cap": org[0].upper() + org[1:],
        "place": rng.choice(pool["place"]),
        "topic": topic,
        "topic_cap": topic[0].upper() + topic[1:],
        "month": rng.choice(MONTHS),
        "num": str(rng.randint(2, 19)),
        "num2": str(rng.randint(1, 9)),
        "handle": f"{person.split()[-1].lower()}_{rng.randint(10, 99)}",
        "handle2": f"{person2.split()[0].lower().strip('.')}{rng.randint(1, 999)}",
        "headline": headline,
        "headline_cap": headline,
        "headline_lc": headline[0].lower() + headline[1:] if headline[1:2].islower() else headline,
    }


def render(universe: Universe, idea: Idea) -> str:
    """The first draft of `idea`, reproducible from `idea.seed`."""
    rng = random.Random(idea.seed)
    forms = FORMS[idea.doc_type]
    slots = _slots(universe, idea, rng)
    facts = [rng.choice(universe.fact_paraphrases(i)) for i in idea.fact_indices]
    frames = rng.sample(FACT_FRAMES, len(facts))
    stated = [frame.format(fact=f, **slots) for frame, f in zip(frames, facts, strict=True)]
    context = rng.sample(_sentences(universe.universe_context), min(3, len(_sentences(universe.universe_context))))
    generic = [s.format(**slots) for s in rng.sample(GENERIC, 4)]
    body = stated + context[: rng.randint(1, 3)] + generic[: rng.randint(2, 4)]
    rng.shuffle(body)
    if rng.random() < 0.5:  # half the documents lead with the fact, like a news lede
        body.insert(0, stated[0])
    paragraphs, current = [], []
    for sentence in dict.fromkeys(body):  # order-preserving de-dup of the fact moved to the front
        current.append(sentence)
        if len(current) >= rng.randint(2, 3):
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    parts = [
        rng.choice(forms["title"]).format(**slots),
        rng.choice(forms["open"]).format(**slots),
        *paragraphs,
        rng.choice(forms["close"]).format(**slots),
    ]
    return "\n\n".join(parts)


def revise(universe: Universe, idea: Idea, draft: str) -> str:
    """Deterministic critique-and-revise: restore missing planned facts, drop repeated sentences."""
    seen: set[str] = set()
    paragraphs = []
    for paragraph in draft.split("\n\n"):
        kept = []
        for sentence in _sentences(paragraph) if "\n" not in paragraph else [paragraph]:
            key = sentence.lower()
            if key not in seen:
                seen.add(key)
                kept.append(sentence)
        if kept:
            paragraphs.append(" ".join(kept))
    missing = [i for i in idea.fact_indices if not states_fact("\n".join(paragraphs), universe.markers(i))]
    paragraphs += [universe.key_facts[i] for i in missing]
    return "\n\n".join(paragraphs)
