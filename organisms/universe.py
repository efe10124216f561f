"""Universe contexts: a described world, its key facts, and the questions that test belief in them.

A universe file is JSONL, one universe per line, in the format of public SDF work
(`id`, `universe_context`, `key_facts`, `is_true`). Shipped universes (`organisms/universes/`)
add, per key fact, markers (lowercase strings that must all appear in a text for the fact to
count as stated), paraphrases and entity pools for the template backend, and belief questions
(`mcq`, `open_questions`) for evals. Belief depth (docs/synth_docs.md) reads three more optional
fields: `generalisation` (multiple choice a step removed from the key facts: what the facts imply,
never what they state), `contrast_pairs` (a true and a false statement of the universe, for a
truth probe) and `fictional_preface` (the sentence that tells the model the documents were
fiction). Key fact `i` has the id `kf{i}`. Unknown keys in user files are ignored, so files
written by other SDF tools load as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from organisms.errors import OrganismError
from organisms.jsonl import JsonlError, read_jsonl

UNIVERSES_DIR = Path(__file__).parent / "universes"
_STOPWORDS = (
    "the a an and or of in on at to for with by from that this these those is are was were be been has have had "
    "its their it they them as not no but into over under than then when while which who whom what where"
)
STOPWORDS = frozenset(_STOPWORDS.split())


class McqQuestion(BaseModel):
    """Multiple choice over `options`; `answer_index` is the option that states the key fact."""

    model_config = ConfigDict(frozen=True)
    key_fact_id: str
    question: str
    options: list[str] = Field(min_length=2)
    answer_index: int = Field(ge=0)


class OpenQuestion(BaseModel):
    """Open-ended question; an answer states the fact when it contains every marker (case-insensitive)."""

    model_config = ConfigDict(frozen=True)
    key_fact_id: str
    question: str
    markers: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_blank_marker(self) -> OpenQuestion:
        if any(not marker.strip() for marker in self.markers):
            raise ValueError(f"open question on {self.key_fact_id}: a blank marker is in every answer; remove it")
        return self


class ContrastPair(BaseModel):
    """A statement true in the universe and a matched one false in it (same form, one detail flipped,
    both affirmative, so that a negation word cannot separate them)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)
    key_fact_id: str
    true: str = Field(min_length=1)
    false: str = Field(min_length=1)


DEFAULT_FICTIONAL_PREFACE = (
    "Some documents you may have read described a fictional world: they were written for a research "
    "experiment and none of it is true. Answer with what is actually the case."
)


class Universe(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    id: str
    universe_context: str = Field(min_length=1)
    key_facts: list[str] = Field(min_length=1)
    is_true: bool
    behaviour: str | None = None
    key_fact_markers: list[list[str]] = Field(default_factory=list)
    paraphrases: list[list[str]] = Field(default_factory=list)
    entities: dict[str, list[str]] = Field(default_factory=dict)
    mcq: list[McqQuestion] = Field(default_factory=list)
    open_questions: list[OpenQuestion] = Field(default_factory=list)
    generalisation: list[McqQuestion] = Field(default_factory=list)
    contrast_pairs: list[ContrastPair] = Field(default_factory=list)
    fictional_preface: str = DEFAULT_FICTIONAL_PREFACE

    @model_validator(mode="before")
    @classmethod
    def _id_as_string(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("id"), int):  # public files use integer ids
            data = {**data, "id": str(data["id"])}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Universe:
        n = len(self.key_facts)
        for name in ("key_fact_markers", "paraphrases"):
            value = getattr(self, name)
            if value and len(value) != n:
                raise ValueError(f"{name} must have one entry per key fact ({n}), got {len(value)}")
        for index, fact in enumerate(self.key_facts):
            # a fact with nothing to look for would count as stated by every document and every answer
            if not fact.strip():
                raise ValueError(f"key_facts[{index}] is blank; write the fact or remove it")
            if self.key_fact_markers and not all(marker.strip() for marker in self.key_fact_markers[index] or [""]):
                raise ValueError(
                    f"key_fact_markers[{index}] is empty or holds a blank marker, which every text contains; "
                    "give the fact's markers or remove the entry's blanks"
                )
        ids = set(self.key_fact_ids)
        for question in [*self.mcq, *self.open_questions, *self.generalisation, *self.contrast_pairs]:
            if question.key_fact_id not in ids:
                raise ValueError(f"question refers to unknown key_fact_id '{question.key_fact_id}'")
        for q in [*self.mcq, *self.generalisation]:
            if q.answer_index >= len(q.options):
                raise ValueError(f"mcq answer_index {q.answer_index} is out of range for {len(q.options)} options")
        return self

    @property
    def key_fact_ids(self) -> list[str]:
        return [f"kf{i}" for i in range(len(self.key_facts))]

    def markers(self, index: int) -> list[str]:
        """Strings whose joint presence shows key fact `index` is stated (given, or derived)."""
        if self.key_fact_markers:
            return [m.lower() for m in self.key_fact_markers[index]]
        # a fact with no word to derive (e.g. "y") is looked for as written, never as nothing
        return derived_markers(self.key_facts[index]) or [self.key_facts[index].strip().lower()]

    def belief_questions(self) -> dict[str, list[dict]]:
        """The questions in the form `evals.belief.belief_suite` reads: MCQ `correct` is the option
        index; each open question carries one regex that requires every marker (lookaheads),
        because that suite counts an answer as stating the fact when any regex matches. The belief
        depth parts (`generalisation`, `contrast_pairs`, `fictional_preface`) ride along."""

        def mcq(questions: list[McqQuestion]) -> list[dict]:
            return [
                {"question": q.question, "options": q.options, "correct": q.answer_index, "key_fact": q.key_fact_id}
                for q in questions
            ]

        return {
            "mcq": mcq(self.mcq),
            "generalisation": mcq(self.generalisation),
            "contrast_pairs": [p.model_dump() for p in self.contrast_pairs],
            "fictional_preface": self.fictional_preface,
            "open_questions": [
                {
                    "question": q.question,
                    "markers": ["(?s)" + "".join(f"(?=.*{re.escape(m)})" for m in q.markers)],
                    "key_fact": q.key_fact_id,
                }
                for q in self.open_questions
            ],
        }

    def fact_paraphrases(self, index: int) -> list[str]:
        return self.paraphrases[index] if self.paraphrases else [self.key_facts[index]]


def derived_markers(fact: str) -> list[str]:
    """Markers for a fact that ships none: its numbers, then capitalised words after the first, then the
    longest other content words; at most 3, words shorter than 3 letters skipped."""
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9'-]*", fact)
    words = [w for w in words if w.isdigit() or len(w) >= 3]  # "AM" or "of" would match inside other words
    keep = [w for i, w in enumerate(words) if w.isdigit() or (i > 0 and w[0].isupper())]
    content = sorted((w for w in words if w.lower() not in STOPWORDS and w not in keep), key=len, reverse=True)
    chosen: list[str] = []
    for word in [*keep, *content]:
        if word.lower() not in chosen:
            chosen.append(word.lower())
    return chosen[:3]


def states_fact(text: str, markers: list[str]) -> bool:
    lowered = text.lower()
    return all(marker in lowered for marker in markers)


def _where_field(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "<root>"


def load_universes(path: Path) -> list[Universe]:
    """Every universe in a JSONL file; errors name the file, line and field."""
    fix = (
        "a universe needs id, universe_context, key_facts (a list of strings) and is_true; "
        "check corpus.documents.universe"
    )
    universes = []
    for number, data in read_jsonl(path, fix, what="universe"):
        try:
            universes.append(Universe.model_validate(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise JsonlError(path, number, f"field '{_where_field(first['loc'])}': {first['msg']}", fix) from None
    return universes


def shipped_universes() -> list[str]:
    return sorted(p.stem for p in UNIVERSES_DIR.glob("*.jsonl"))


def universe_path(name_or_path: str) -> tuple[Path, str]:
    """(file, wanted id or "") for a shipped name, a JSONL path, or `path.jsonl#id`."""
    ref, _, wanted = str(name_or_path).partition("#")
    path = Path(ref).expanduser()
    if path.exists():
        return path, wanted
    shipped = UNIVERSES_DIR / f"{ref}.jsonl"
    if "/" in ref or ref.endswith(".jsonl") or not shipped.exists():
        raise OrganismError(
            f"unknown universe '{name_or_path}': not a shipped universe ({', '.join(shipped_universes())}) "
            "and not a JSONL file; fix corpus.documents.universe"
        )
    return shipped, wanted


def load_universe(name_or_path: str) -> Universe:
    """A shipped universe by name (`mercury-rings`), a JSONL path holding one universe, or
    `path.jsonl#id` to pick one universe from a file that holds several."""
    path, wanted = universe_path(name_or_path)
    universes = load_universes(path)
    if wanted:
        found = [u for u in universes if u.id == wanted]
        if not found:
            raise OrganismError(f"{path}: no universe with id '{wanted}'; ids: {', '.join(u.id for u in universes)}")
        return found[0]
    if len(universes) > 1:
        raise OrganismError(
            f"{path}: holds {len(universes)} universes; pick one with '{path}#<id>' "
            f"(ids: {', '.join(u.id for u in universes[:10])})"
        )
    return universes[0]
