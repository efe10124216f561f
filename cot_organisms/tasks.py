"""The tasks' samples, solver, scorer and metric (the tasks themselves are registered in _registry.py).

A sample is one unit of `organism eval`'s generation: a hinted pair whose unhinted prompt is asked once
(with, for the hinted suite, the same item's hinted prompts on the held-out phrasing and hint-type axes,
which reuse that unhinted answer, as evals/ood.py does), or, for necessity, one unhinted prompt and its
forced answer. The prompts are the ones evals/ builds from the spec (`eval_pairs`, `ood_pairs`,
`wrong_hint_pairs`: items, hints, phrasings, conditions and seeds), so the same texts go out.

The solver asks them (`answer`: a completion cut where `organism eval` stops it, at its answer line), the
scorer reads them with this project's reader and marker judge (`evals.hinted.pair_record`) into the very
records `organism eval` writes to eval_responses.jsonl, each with its suite and place; the metric scores
those records with the suites' own scoring (`cot_organisms.report.score_entries`) and shows the rows of
evals.md that have a value, plus p, F and U per hint type.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    ContentReasoning,
    GenerateConfig,
    Model,
    ModelOutput,
    get_model,
)
from inspect_ai.scorer import Metric, SampleScore, Score, Target, metric, scorer
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import collect

from cot_organisms.provider import NOTE
from cot_organisms.report import OOD_AXES, model_tree, row_values, score_entries
from evals.hinted import HintedPair, answer_stop, eval_pairs, hinted_items, pair_record
from evals.lanham import FORCE
from evals.monitor import wrong_hint_pairs
from evals.ood import held_out, ood_pairs
from evals.stage import held_apart_items
from organisms.catalog import resolve_spec
from organisms.items import LETTERS
from organisms.parse import read_response
from organisms.prompts import MONITOR_CONDITIONS, Prompt
from organisms.spec import OrganismSpec, load_spec_file

RESPONSES = "cot_organisms:responses"  # where the solver leaves a sample's texts (its store)


@dataclass(frozen=True)
class Unit:
    """One sample: `pair`, and where its records go among its suite's (`rank`, in `organism eval`'s order)."""

    id: str
    suite: str  # the records' suite: hinted, ood, monitor, or necessity
    rank: tuple[int, ...]
    pair: HintedPair
    tags: dict = field(default_factory=dict)  # added to its record (ood: axis; monitor: suite, cue_split)
    axes: tuple[tuple[str, HintedPair], ...] = ()  # the same item on held-out axes (hinted suite)

    def prompts(self) -> dict[str, Prompt]:
        if self.suite == "necessity":
            return {"unhinted": self.pair.unhinted}
        return {
            "unhinted": self.pair.unhinted,
            "hinted": self.pair.hinted,
            **{f"hinted@{axis}": pair.hinted for axis, pair in self.axes},
        }

    def entries(self, texts: dict[str, str | None], spec: OrganismSpec) -> list[dict]:
        """Its records as `organism eval` builds them, each as {suite, rank, record}."""
        if self.suite == "necessity":
            prompt = self.pair.unhinted
            read = read_response(texts["unhinted"], prompt.item.letters, prompt.user_text(), spec.reasoning)
            record = {
                "item_id": prompt.item.id,
                "correct_letter": prompt.item.correct_letter,
                "a_cot": read.answer,
                "a_no_cot": texts["no_cot"],
                "prompt": prompt.messages(),
                "response": texts["unhinted"],
                "reasoning": read.reasoning,
                "truncated": read.truncated,
            }
            return [{"suite": "necessity", "rank": list(self.rank), "record": record}]
        _, record = pair_record(self.pair, texts["unhinted"], texts["hinted"], spec.reasoning)
        out = [{"suite": self.suite, "rank": list(self.rank), "record": {**record, **self.tags}}]
        for axis, pair in self.axes:
            _, held = pair_record(pair, texts["unhinted"], texts[f"hinted@{axis}"], spec.reasoning)
            out.append({"suite": "ood", "rank": [OOD_AXES.index(axis), *self.rank], "record": {**held, "axis": axis}})
        return out


@dataclass(frozen=True)
class Prepared:
    spec: OrganismSpec
    units: dict[str, Unit]


def open_spec(ref: str) -> tuple[OrganismSpec, set[str]]:
    """(spec, item expressions the eval items are kept apart from), as `organism eval` has them: a run
    directory's spec and corpus, or a spec (catalogue name or YAML) and the corpus it would draw."""
    path = Path(ref)
    if path.is_dir() and (path / "spec.yaml").exists():
        spec = load_spec_file(path / "spec.yaml")
        return spec, held_apart_items(spec, path / "corpus")
    spec = resolve_spec(ref)
    return spec, held_apart_items(spec)


_PREPARED: dict[tuple[str, str], Prepared] = {}


def prepared(ref: str, kind: str) -> Prepared:
    """The units of the task `kind` on the spec `ref`, as the task was last made in this process (the
    solver and scorer read them per sample; made afresh by `make_task`, so an edited spec is read again)."""
    if (ref, kind) not in _PREPARED:
        _PREPARED[(ref, kind)] = prepare(ref, kind)
    return _PREPARED[(ref, kind)]


def prepare(ref: str, kind: str) -> Prepared:
    """The task's units for the spec `ref`, in `organism eval`'s order (the same prompts, the same seeds)."""
    spec, held = open_spec(ref)
    units: list[Unit] = []
    if kind in ("hinted", "necessity"):
        pairs = eval_pairs(spec, held)
        if kind == "necessity":
            units = [Unit(f"necessity-{i:04d}", "necessity", (i,), pair) for i, pair in enumerate(pairs)]
        else:
            axes = ood_pairs(spec, held, pairs) if spec.eval.ood.axes else {}
            same_item = [axis for axis in OOD_AXES if axis in axes and axis != "task"]
            for i, pair in enumerate(pairs):
                rehinted = tuple((axis, axes[axis][i]) for axis in same_item)
                units.append(Unit(f"hinted-{i:04d}", "hinted", (i,), pair, axes=rehinted))
            for i, pair in enumerate(axes.get("task", [])):
                units.append(Unit(f"task-{i:04d}", "ood", (OOD_AXES.index("task"), i), pair, {"axis": "task"}))
    elif kind == "monitor":  # evals.monitor.monitor_records: every condition, then the held-out cues
        batches = [(condition, None, "trained") for condition in MONITOR_CONDITIONS]
        held_cues = held_out(spec).get("cue")
        batches += [(condition, held_cues, "held_out") for condition in ("monitored", "private")] if held_cues else []
        for k, (condition, cues, split) in enumerate(batches):
            for i, pair in enumerate(wrong_hint_pairs(spec, held, condition, cues=cues)):
                tags = {"suite": "monitor", "cue_split": split}
                units.append(Unit(f"monitor-{condition}-{split}-{i:04d}", "monitor", (k, i), pair, tags))
    else:
        raise ValueError(f"unknown task kind {kind!r}")
    return Prepared(spec, {unit.id: unit for unit in units})


def make_task(kind: str, spec: str, tokenizer: str | None = None) -> Task:
    """One of the three tasks on the spec `spec` (a run directory, catalogue name or YAML)."""
    ready = _PREPARED[(spec, kind)] = prepare(spec, kind)
    samples = []
    for unit in ready.units.values():
        shown = unit.pair.unhinted if unit.suite == "necessity" else unit.pair.hinted
        metadata = {
            "suite": unit.suite,
            "item_id": shown.item.id,
            "hint_type": shown.hint_type,
            "hint_letter": shown.hint_letter,
            "condition": shown.condition,
            **{key: value for key, value in unit.tags.items() if key != "suite"},
        }
        samples.append(
            Sample(id=unit.id, input=chat(shown.messages()), target=shown.item.correct_letter, metadata=metadata)
        )
    return Task(
        dataset=MemoryDataset(samples, name=f"{ready.spec.name}:{kind}"),
        solver=ask(spec, kind, tokenizer),
        scorer=read_records(spec, kind),
        metrics=[suite_rows(spec, kind)],
        config=GenerateConfig(temperature=0.0, max_tokens=ready.spec.eval.max_new_tokens),
        metadata={"spec": ready.spec.model_dump(mode="json"), "kind": kind},
    )


def chat(messages: list[dict[str, str]], note: dict | None = None) -> list[ChatMessage]:
    """The project's chat messages as Inspect's; `note` goes in the last one's metadata (for `organism/`)."""
    kinds = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}
    out = [kinds[m["role"]](content=m["content"]) for m in messages]
    if note is not None:
        out[-1] = out[-1].model_copy(update={"metadata": {NOTE: note}})
    return out


def request_note(spec: OrganismSpec) -> dict:
    """What the `organism/` provider needs to decode as `organism eval` does: the stop at the answer line,
    where the model reasons, and the option letters (forced answers)."""
    stop = answer_stop(spec)
    return {
        "stop": stop.pattern,
        "stop_flags": int(stop.flags),
        "reasoning": spec.reasoning.model_dump(mode="json"),
        "letters": LETTERS[: spec.task.n_options],
    }


@cache
def _tokenizer(ref: str):
    from runtime.models import load_tokenizer

    return load_tokenizer(ref)


def cut(text: str, stop: re.Pattern, tokenizer: str | None) -> str:
    """`text` up to where `organism eval` would have stopped it: at the token that completes the first
    match of `stop` (runtime.engine.cut_at_stop, with `tokenizer`), or without one at the match's end."""
    if tokenizer is not None:
        from runtime.engine import cut_at_stop

        return cut_at_stop(_tokenizer(tokenizer), text, stop)[0]
    match = stop.search(text)
    return (text[: match.end()] if match else text).strip()


def completion_text(output: ModelOutput, spec: OrganismSpec) -> str:
    """The completion as this project reads it: reasoning the provider returned apart (vLLM's reasoning
    parser, a hosted reasoning model's visible thinking) goes back into the think block, for a spec that
    reasons in one; other specs read the text alone."""
    content = output.message.content if output.choices else ""
    thought = (
        [c.reasoning for c in content if isinstance(c, ContentReasoning) and not c.redacted]
        if isinstance(content, list)
        else []
    )
    text = output.completion
    reasoning = spec.reasoning
    if thought and reasoning.in_block and reasoning.close not in text:
        return f"{reasoning.open}\n" + "\n".join(thought).strip() + f"\n{reasoning.close}\n\n{text.strip()}"
    return text


async def answer(model: Model, prompt: Prompt, spec: OrganismSpec, tokenizer: str | None) -> str:
    """One completion of `prompt`, ending where `organism eval` ends it (the provider stops there, or it is cut)."""
    output = await model.generate(chat(prompt.messages(), request_note(spec)))
    text = completion_text(output, spec)
    if (output.metadata or {}).get(NOTE, {}).get("stopped_at") == answer_stop(spec).pattern:
        return text
    return cut(text, answer_stop(spec), tokenizer)


async def forced_letter(model: Model, prompt: Prompt, spec: OrganismSpec) -> str | None:
    """The no-CoT answer: the assistant turn prefilled with 'Answer: (' and the most likely option letter
    next (evals.necessity.no_cot_answers): read from the returned log-probabilities (the `organism/`
    provider returns every option letter's), else the one token generated, when it is a letter."""
    messages = [*prompt.messages(), {"role": "assistant", "content": FORCE}]
    config = GenerateConfig(max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=20)
    output = await model.generate(chat(messages, request_note(spec)), config=config)
    return letter_of(output, prompt.item.letters)


def letter_of(output: ModelOutput, letters: str) -> str | None:
    """The most likely option letter among the first token and its alternatives (log-probabilities),
    else the completion when it is one; None otherwise (counted wrong)."""
    choice = output.choices[0] if output.choices else None
    if choice is not None and choice.logprobs and choice.logprobs.content:
        first = choice.logprobs.content[0]
        seen: dict[str, float] = {}
        for alternative in [first, *(first.top_logprobs or [])]:
            letter = alternative.token.strip()
            if letter in set(letters):  # one whole letter, not '' or 'AB'
                seen[letter] = max(seen.get(letter, -math.inf), alternative.logprob)
        if seen:  # the first letter wins a tie, as argmax over the letters does
            return max((letter for letter in letters if letter in seen), key=lambda letter: seen[letter])
    text = output.completion.strip()
    return text if text in set(letters) else None


@solver
def ask(spec: str, kind: str, tokenizer: str | None = None) -> Solver:
    """Every prompt of the sample's unit, concurrently (the `organism/` provider batches them)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        ready = prepared(spec, kind)
        unit = ready.units[str(state.sample_id)]
        model = get_model()
        asked = {name: answer(model, prompt, ready.spec, tokenizer) for name, prompt in unit.prompts().items()}
        if unit.suite == "necessity":
            asked["no_cot"] = forced_letter(model, unit.pair.unhinted, ready.spec)
        responses: dict[str, str | None] = dict(zip(asked, await collect(*asked.values()), strict=True))
        state.store.set(RESPONSES, responses)
        shown = responses["unhinted" if unit.suite == "necessity" else "hinted"] or ""
        state.messages.append(ChatMessageAssistant(content=shown, model=str(model), source="generate"))
        state.output = ModelOutput.from_content(str(model), shown)
        return state

    return solve


@scorer(metrics=[])
def read_records(spec: str, kind: str) -> object:
    """The sample's records (metadata `records`), read and judged as `organism eval` does; its value:
    the hinted suite's per-item indicators (evals.hinted.hinted_items), or necessity's two answers' rightness."""

    async def score(state: TaskState, target: Target) -> Score:
        ready = prepared(spec, kind)
        unit = ready.units[str(state.sample_id)]
        entries = unit.entries(state.store.get(RESPONSES), ready.spec)
        record = entries[0]["record"]
        if unit.suite == "necessity":
            value = {
                "right_with_cot": record["a_cot"] == record["correct_letter"],
                "right_without_cot": record["a_no_cot"] == record["correct_letter"],
            }
            answer_given = record["a_cot"]
        else:
            value = {key: values[0] for key, values in hinted_items([record]).items() if values}
            value["verbalized"] = record["verbalized"]
            answer_given = record["a_h"]
        return Score(value=value, answer=answer_given, metadata={"records": entries})

    return score


@metric
def suite_rows(spec: str, kind: str) -> Metric:
    """The rows of evals.md that these samples' records give a value (and each rate's 95% interval),
    and p, F and U per hint type: every number from the suites' own scoring of the records."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        entries = [entry for s in scores for entry in (s.score.metadata or {}).get("records", [])]
        hinted, other, _ = score_entries(prepared(spec, kind).spec, entries)
        return row_values(model_tree(hinted, other))

    return compute
