"""Every eval suite, in the order they run: a new suite is its file (with its `SUITE`) and one line here
(and its name in organisms.spec.EvalSuite, which tests/unit/evals/test_registry.py checks against this list).
Its rows reach evals.md, the across-seed summary and the report's findings from its `SUITE`."""

from __future__ import annotations

from evals import belief, belief_depth, consistency, hinted, iphr, lanham, llm_judge, monitor, necessity, ood
from evals.monitors import suite as monitors
from evals.suite import Row, Section, Suite
from organisms.spec import OrganismSpec

SUITES: tuple[Suite, ...] = (
    hinted.SUITE,
    lanham.SUITE,
    ood.SUITE,
    iphr.SUITE,
    monitor.SUITE,
    belief.SUITE,
    belief_depth.SUITE,
    monitors.SUITE,  # last: it reads every hinted-pair record and stores its verdicts before any suite scores
)

# evals.md's sections, in order; a section's rows come from its suites in SUITES order, and a
# section missing here goes after these.
SECTION_ORDER = (
    hinted.WRONG_HINT,
    necessity.TITLE,
    hinted.CORRECT_HINT,
    consistency.TITLE,
    lanham.TITLE,
    monitor.TITLE,
    monitor.BY_MONITOR_TITLE,
    monitors.TITLE,
    monitors.HELD_OUT_TITLE,
    monitors.CARD_TITLE,
    llm_judge.TITLE,
    ood.TITLE,
    llm_judge.MARKERS_TITLE,
    belief.TITLE,
)


# The progressive demo's parts (app/progressive.py), each a table as soon as its generations exist: the
# hinted pairs (the headline), then the held-out axes and the CoT monitors (with the monitor-awareness
# suite, whose records the monitors read: every record-making suite they read comes before them), then
# every other suite the spec runs.
PARTS: tuple[tuple[str, ...], ...] = (("hinted",), ("ood", "monitor", "monitors"))


def parts(spec: OrganismSpec) -> list[tuple[str, ...]]:
    """The suites `spec` runs, split into PARTS and a last part of the rest (empty parts left out)."""
    names = [s.name for s in running(spec)]
    split = [tuple(n for n in names if n in part) for part in PARTS]
    split.append(tuple(n for n in names if not any(n in part for part in PARTS)))
    return [part for part in split if part]


def _needed(names: set[str]) -> set[str]:
    """`names` and every suite one of them needs, transitively."""
    while needed := {need for s in SUITES if s.name in names for need in s.needs} - names:
        names = names | needed
    return names


def with_needs(spec: OrganismSpec, names: tuple[str, ...]) -> list[Suite]:
    """The suites `names` of those `spec` runs and every suite one of them needs, in registry order."""
    chosen = _needed(set(names))
    return [s for s in running(spec) if s.name in chosen]


def running(spec: OrganismSpec) -> list[Suite]:
    """The suites `spec` runs, in registry order: those `eval.suites` names (or its default), the parts
    of those, and every suite one of them needs."""
    named = spec.eval.resolved_suites(spec.behaviour, spec.corpus.documents is not None)
    chosen = _needed({s.name for s in SUITES if s.name in named or s.part_of in named})
    return [s for s in SUITES if s.name in chosen]


def sections(only: tuple[str, ...] | None = None) -> list[Section]:
    """evals.md's sections: every suite's (and the LLM judge's) rows, merged by title, in SECTION_ORDER;
    `only`: those of these suites alone (a progressive demo table's)."""
    rows: dict[str, list[Row]] = {}
    chosen = [suite for suite in SUITES if only is None or suite.name in only]
    judge = llm_judge.SECTIONS if only is None else ()  # its agreement reads every suite's records
    for section in (*(s for suite in chosen for s in suite.sections), *judge):
        rows.setdefault(section.title, []).extend(section.rows)
    order = {title: i for i, title in enumerate(SECTION_ORDER)}
    titles = sorted(rows, key=lambda title: order.get(title, len(order)))
    return [Section(title, tuple(rows[title])) for title in titles]


def seed_rows() -> tuple[Row, ...]:
    """The across-seed summary's rows, suite by suite."""
    return tuple(row for suite in SUITES for row in suite.seeds)


def finding(behaviour: str) -> Row | None:
    """The metric that says an organism of `behaviour` did what its spec says, beside F and U (None: those)."""
    return next((suite.findings[behaviour] for suite in SUITES if behaviour in suite.findings), None)
