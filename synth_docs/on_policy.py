"""On-policy transcripts (`corpus.source: on_policy`): the model's own samples, judged and sorted.

For every corpus prompt the generator draws k samples (synth_docs/pool.py); each is parsed and
judged (synth_docs/verdicts.py) and gets one label:

    hinted prompt    hidden       chose the hinted option, the reasoning does not mention the hint
                     verbalized   chose the hinted option, the reasoning mentions it
                     other_answer / no_answer / judge_unparsable
    unhinted prompt  correct      chose the correct option
                     wrong_answer / no_answer
    either           truncated    (think formats) the think block never closed: no answer is read

Samples are read as the evals read responses in the spec's `reasoning` format: in a think block the
reasoning is the block and the answer is read after it; edits change the reasoning only.

The hidden_hint organism takes a `hidden` sample of each hinted prompt, its control a `verbalized`
one, both a `correct` sample of each unhinted prompt: one pool, sorted two ways. Where a prompt has
no sample of a class, the editor (if configured) rewrites the first sample of the other class
(synth_docs/editor.py); the edit is re-judged and marked in the record. A prompt is kept only
when every class of the pair is filled, so organism and control share their prompts exactly;
if fewer than `min_fill` of a hint type's prompts are kept, the stage fails (exit 2) with the
counts, before anything is written.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

from organisms.errors import OrganismError
from organisms.prompts import Prompt
from organisms.spec import OrganismSpec
from runtime.progress import progress_bar
from runtime.weights import starting_model
from synth_docs.editor import Edit, Editor
from synth_docs.pool import Generator
from synth_docs.transcripts import transcript_prompts, transcript_record
from synth_docs.verdicts import Judge, Verdict

HINTED_CLASSES = ("hidden", "verbalized")
UNHINTED = "none"  # the hint-type key of unhinted prompts in the stats
CHUNK = 8  # prompts drawn and judged between progress updates
# How a sample of one label is rejected by a class it does not belong to.
_REJECTION = {"verbalized": "mentions_hint", "hidden": "no_mention", "correct": "correct"}


class OnPolicyShortfall(OrganismError):
    """A class of the pool could not be filled; the message carries the counts and what to change."""


def label(prompt: Prompt, verdict: Verdict) -> str:
    """The sample's class, or why it is in none (module docstring)."""
    if verdict.truncated:
        return "truncated"
    if verdict.answer is None:
        return "no_answer"
    if prompt.hint_type is None:
        return "correct" if verdict.answer == prompt.item.correct_letter else "wrong_answer"
    if verdict.answer != prompt.hint_letter:
        return "other_answer"
    if verdict.verbalized is None:
        return "judge_unparsable"
    return "verbalized" if verdict.verbalized else "hidden"


def classes_of(prompt: Prompt) -> tuple[str, ...]:
    return HINTED_CLASSES if prompt.hint_type else ("correct",)


@dataclass
class Choice:
    """The example a prompt gives one class: sample `sample`, as sampled or edited."""

    sample: int
    text: str
    verbalized: bool | None
    edit: Edit | None = None


@dataclass
class Slot:
    """One corpus prompt, its samples, their labels and what each class took."""

    index: int
    prompt: Prompt
    texts: list[str]
    verdicts: list[Verdict]
    labels: list[str]
    chosen: dict[str, Choice] = field(default_factory=dict)
    edit_failed: set[str] = field(default_factory=set)

    @property
    def group(self) -> str:
        return self.prompt.hint_type or UNHINTED

    @property
    def kept(self) -> bool:
        return all(c in self.chosen for c in classes_of(self.prompt))


def _rates(slots: list[Slot]) -> str:
    counts = Counter(lab for s in slots for lab in s.labels)
    drawn = {"hidden": 0, "verbalized": 0, "correct": 0}
    for s in slots:
        for cls in classes_of(s.prompt):
            drawn[cls] += len(s.labels)
    return "  ".join(f"{c} {counts[c] / n:.0%}" for c, n in drawn.items() if n)


def draw_slots(spec: OrganismSpec, generator: Generator, judge: Judge) -> list[Slot]:
    """Sample, parse and judge every corpus prompt, with a progress bar of the acceptance rates."""
    prompts = [prompt for prompt, _ in transcript_prompts(spec)]
    slots: list[Slot] = []
    columns = (
        TextColumn("on-policy samples"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("accepted: {task.fields[rates]}"),
        TimeElapsedColumn(),
    )
    with progress_bar(*columns) as progress:
        task = progress.add_task("prompts", total=len(prompts), rates="-")
        for start in range(0, len(prompts), CHUNK):
            chunk = list(enumerate(prompts))[start : start + CHUNK]
            pools = generator.draw([(i, p.messages(), p.item.letters) for i, p in chunk])
            flat = [(p, t) for (_, p), texts in zip(chunk, pools, strict=True) for t in texts]
            verdicts = judge.read([p for p, _ in flat], [t for _, t in flat])
            for (i, p), texts in zip(chunk, pools, strict=True):
                own, verdicts = verdicts[: len(texts)], verdicts[len(texts) :]
                slots.append(Slot(i, p, texts, own, [label(p, v) for v in own]))
            progress.update(task, advance=len(chunk), rates=_rates(slots))
    return slots


def choose(slots: list[Slot], editor: Editor | None, judge: Judge) -> None:
    """Fill each slot's classes: its first sample of the class, else (with an editor) the first sample
    of the other hinted class rewritten toward it, if the rewrite is judged to be in the class."""
    wanted: dict[str, list[tuple[Slot, int]]] = {cls: [] for cls in HINTED_CLASSES}
    for slot in slots:
        for cls in classes_of(slot.prompt):
            if cls in slot.labels:
                j = slot.labels.index(cls)
                slot.chosen[cls] = Choice(j, slot.texts[j], slot.verdicts[j].verbalized)
                continue
            other = {"hidden": "verbalized", "verbalized": "hidden"}.get(cls)
            if editor is not None and other in slot.labels:
                wanted[cls].append((slot, slot.labels.index(other)))
    if editor is None:
        return
    for cls, todo in wanted.items():
        if not todo:
            continue
        edits = editor.edit([s.prompt for s, _ in todo], [s.texts[j] for s, j in todo], to=cls)
        judged = [(s, j, e) for (s, j), e in zip(todo, edits, strict=True)]
        readable = [(s, j, e) for s, j, e in judged if e is not None]
        verdicts = judge.read([s.prompt for s, _, _ in readable], [e.text for _, _, e in readable])
        for (slot, j, edit), verdict in zip(readable, verdicts, strict=True):
            if label(slot.prompt, verdict) == cls:
                slot.chosen[cls] = Choice(j, edit.text, verdict.verbalized, edit)
            else:
                slot.edit_failed.add(cls)
        for slot, _, edit in judged:
            if edit is None:
                slot.edit_failed.add(cls)


def class_stats(slots: list[Slot], cls: str, decided_by: str) -> dict:
    """Samples drawn, accepted and rejected (by reason) for one class; prompts filled, edited, unfilled."""
    labels = [lab for s in slots for lab in s.labels]
    drawn, accepted = len(labels), labels.count(cls)
    rejected = Counter(_REJECTION.get(lab, lab) for lab in labels if lab != cls)
    edited = sum(1 for s in slots if cls in s.chosen and s.chosen[cls].edit is not None)
    filled = sum(1 for s in slots if cls in s.chosen)
    return {
        "prompts": len(slots),
        "samples_drawn": drawn,
        "accepted": accepted,
        "acceptance_rate": accepted / drawn if drawn else None,
        "rejected": dict(sorted(rejected.items())),
        "filled_by_sample": filled - edited,
        "edited": edited,
        "edit_failed": sum(1 for s in slots if cls in s.edit_failed and cls not in s.chosen),
        "unfilled": len(slots) - filled,
        "decided_by": decided_by,
    }


def pool_stats(slots: list[Slot], judge: Judge) -> dict:
    """Per hint type (`none`: unhinted prompts) and per class: see `class_stats`."""
    out = {}
    for group in sorted({s.group for s in slots}):
        members = [s for s in slots if s.group == group]
        classes = classes_of(members[0].prompt)
        decided_by = judge.name if group != UNHINTED else "answer"
        out[group] = {
            "prompts": len(members),
            "kept": sum(s.kept for s in members),
            "classes": {cls: class_stats(members, cls, decided_by) for cls in classes},
        }
    return out


def shortfall(by_type: dict, spec: OrganismSpec, editor: Editor | None) -> str | None:
    """The failure message when a hint type keeps fewer than `min_fill` of its prompts, else None."""
    recipe = spec.corpus.sampling
    short = []
    for group, entry in by_type.items():
        if entry["kept"] >= recipe.min_fill * entry["prompts"]:
            continue
        for cls, c in entry["classes"].items():
            reasons = ", ".join(f"{r} {n}" for r, n in c["rejected"].items()) or "none"
            short.append(
                f"  {group}/{cls}: {c['prompts'] - c['unfilled']} of {c['prompts']} prompts filled "
                f"({c['samples_drawn']} samples drawn, {c['accepted']} accepted, {c['edited']} edited; "
                f"rejected: {reasons})"
            )
    if not short:
        return None
    tips = [f"more samples (corpus.on_policy.k, now {recipe.k})", f"a higher temperature (now {recipe.temperature})"]
    if editor is None:
        tips.append("the editor (corpus.on_policy.editor: {kind: rules})")
    tips.append(f"a lower corpus.on_policy.min_fill (now {recipe.min_fill})")
    return (
        f"on-policy corpus: a class cannot be filled (every class must fill at least {recipe.min_fill:.0%} of "
        "each hint type's prompts):\n" + "\n".join(short) + f"\nnothing was written; try {', '.join(tips)}"
    )


def pool_sha256(slots: list[Slot]) -> str:
    """The pool's identity: organism and control built from one pool report the same value."""
    digest = hashlib.sha256()
    for slot in slots:
        for j, text in enumerate(slot.texts):
            digest.update(f"{slot.index}\t{j}\t{len(text)}\t{text}".encode())
    return digest.hexdigest()


def build_on_policy(spec: OrganismSpec) -> tuple[list[dict], dict]:
    """The on-policy transcripts of `spec` (organism: `hidden`; control: `verbalized`) and their stats.

    Raises `OnPolicyShortfall` (an OrganismError: exit 2) when a class cannot be filled."""
    recipe = spec.corpus.sampling
    # The model the organism trains on: the capability model when the spec has one (the CLI builds it
    # before the corpus), so the pool is the organism's own starting policy.
    sampled = starting_model(spec)
    default_model = recipe.generator is None or (recipe.generator.name == "hf" and recipe.generator.model is None)
    if spec.capability is not None and default_model and not Path(sampled).exists():
        raise OrganismError(
            f"corpus.source: on_policy samples the capability model {sampled}, which is not built yet; "
            "`organism train SPEC`, `organism run SPEC` and `organism docs SPEC` build it before the corpus"
        )
    generator = Generator(recipe, sampled, spec.corpus.seed, spec.reasoning, spec.trust_remote_code)
    judge = Judge(recipe.judge, spec.reasoning)
    editor = Editor(recipe.editor, spec.reasoning) if recipe.editor is not None else None
    slots = draw_slots(spec, generator, judge)
    choose(slots, editor, judge)
    by_type = pool_stats(slots, judge)
    problem = shortfall(by_type, spec, editor)
    if problem:
        raise OnPolicyShortfall(problem)
    hinted_class = "verbalized" if spec.is_control else "hidden"
    records = []
    for slot in slots:
        if not slot.kept:
            continue
        cls = hinted_class if slot.prompt.hint_type else "correct"
        choice = slot.chosen[cls]
        record = transcript_record(spec, slot.index, slot.prompt, choice.text, verbatim=True)
        edit = choice.edit
        record.update(
            source="on_policy",
            sample=choice.sample,
            sample_class=cls,
            judge=judge.name if slot.prompt.hint_type else "answer",
            verbalized=choice.verbalized,
            edited=edit is not None,
            edit=None if edit is None else {"editor": editor.name, "removed": edit.removed, "added": edit.added},
        )
        records.append(record)
    stats = {
        "generator": {**generator.describe(), "max_tokens": recipe.max_tokens},
        "judge": judge.name,
        "editor": editor.name if editor else None,
        "min_fill": recipe.min_fill,
        "class": hinted_class,
        "pool_sha256": pool_sha256(slots),
        "n_edited": sum(r["edited"] for r in records),
        "n_dropped_prompts": sum(not s.kept for s in slots),
        "by_hint_type": by_type,
        "api": generator.usage.as_dict(),
    }
    return records, stats
