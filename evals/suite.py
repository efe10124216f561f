"""What an eval suite is: one object per suite (its file's `SUITE`), found through evals/registry.py.

A suite generates its responses, then, once the LLM judge (when `eval.judge` names one) has read
every response, scores them; it contributes rows to the sections of evals.md, rows to the
across-seed summary, and the metric that says a behaviour happened to the report's findings.
Suites share what they generated through a `SuiteRun`: the hinted suite's records feed necessity,
consistency, the held-out axes, Lanham and the monitor's unmonitored condition; the CoT monitors
(evals/monitors) read every hinted-pair record and store their verdicts on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from evals.results import at
from organisms.spec import OrganismSpec


@dataclass(frozen=True)
class Row:
    """A table row: its label and where its value is in one model's result tree
    (`evals.results.model_tree`: {"hinted": ..., "suites": ...}): a path, or a function of the tree."""

    label: str
    where: tuple[str, ...] | Callable[[dict], object]

    def value(self, tree: dict) -> object:
        return self.where(tree) if callable(self.where) else at(tree, *self.where)


@dataclass(frozen=True)
class Section:
    """Rows under one heading of evals.md; suites that share a heading (`title`) add their rows to it."""

    title: str
    rows: tuple[Row, ...]


@dataclass
class SuiteRun:
    """One model's eval while its suites run: what they read, and what they leave for each other."""

    model: object  # a PreTrainedModel with its adapter set, or a ServedModel
    tokenizer: object
    spec: OrganismSpec
    corpus_expressions: set[str]
    beliefs: dict | None  # the belief questions (evals.stage.belief_questions)
    log: Callable[[str], None]
    judge: object | None = None  # the LLM judge's backend when eval.judge names one
    monitor: object | None = None  # the LLM CoT monitor's backend (evals/monitors/llm.py), made once per eval
    records: dict[str, list[dict]] = field(default_factory=dict)  # per suite (hinted, ood, monitor)
    hinted: dict = field(default_factory=dict)  # the hinted suite's metrics: evals.json models[label]
    metrics: dict = field(default_factory=dict)  # every other suite's: evals.json suite_metrics[label]
    responses: list[dict] = field(default_factory=list)  # eval_responses.jsonl, tagged with their suite
    seconds: dict[str, float] = field(default_factory=dict)  # wall seconds per part (bench/demo_stages.py)
    _last: float = field(default_factory=time.perf_counter)

    def lap(self, name: str) -> None:
        """The wall seconds since the last lap, added to `name`'s (a suite's parts add up)."""
        now = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self._last, 2)
        self._last = now


def _nothing(run: SuiteRun) -> None:
    return None


@dataclass(frozen=True)
class Suite:
    """One eval suite: `name` as `eval.suites` names it (organisms.spec.EvalSuite), or, for a part of
    a suite, its own name and `part_of` that suite's (a part runs when the spec names its suite)."""

    name: str
    generate: Callable[[SuiteRun], None]  # every generation (suites run in registry order)
    score: Callable[[SuiteRun], None] = _nothing  # metrics of responses the judge of record has read
    needs: tuple[str, ...] = ()  # suites whose records it reads: they run with it
    part_of: str | None = None
    sections: tuple[Section, ...] = ()  # its rows of evals.md
    seeds: tuple[Row, ...] = ()  # its rows of the across-seed summary (evals/seeds.py)
    findings: Mapping[str, Row] = field(default_factory=dict)  # behaviour -> the metric that shows it
