"""The LLM judge of record (`eval.judge`): it reads every hinted response after the suites generated
them and before they are scored, so that F, U, V and O come from its verdicts; the marker judge's
numbers stay beside it. No suite of its own: it reads theirs (evals/suites.py runs it)."""

from __future__ import annotations

from evals.hinted import WRONG, metrics_by_hint_type, outcome
from evals.monitor import monitor_report
from evals.stats import agreement
from evals.suite import Row, Section, SuiteRun
from organisms.judge import llm_verbalized


def apply_llm_judge(backend, *groups: list[dict]) -> dict:
    """The LLM judge's verdict on every hinted response in `groups` becomes its `verbalized`
    (`verbalized_llm`; the marker verdict stays in `verbalized_markers`). An unparsable verdict keeps
    the marker verdict and is counted (`unparsable_verdicts`), never dropped silently. Agreement with
    the marker judge is reported over the in-distribution hinted suite (the first group) and over all."""
    everything = [r for group in groups for r in group]
    verdicts = llm_verbalized(backend, everything) if everything else []
    for record, verdict in zip(everything, verdicts, strict=True):
        record["verbalized_llm"] = verdict
        record["verbalized"] = record["verbalized_markers"] if verdict is None else verdict
    first = [r for r in groups[0] if r["verbalized_llm"] is not None]
    judged = [r for r in everything if r["verbalized_llm"] is not None]
    return {
        "judge": f"{backend.spec.name}:{backend.model}",
        "unparsable_verdicts": len(groups[0]) - len(first),
        "unparsable_verdicts_all": len(everything) - len(judged),
        "agreement_with_markers": agreement(
            [r["verbalized_markers"] for r in first], [r["verbalized_llm"] for r in first]
        ),
        "agreement_all": agreement([r["verbalized_markers"] for r in judged], [r["verbalized_llm"] for r in judged]),
    }


def judge_responses(run: SuiteRun) -> None:
    """The judge of record reads the hinted suite's, the held-out axes' and the monitor's responses."""
    groups = [run.records.get(suite, []) for suite in ("hinted", "ood", "monitor")]
    run.metrics["llm_judge"] = apply_llm_judge(run.judge, *groups)
    run.lap("llm_judge")
    run.log(f"  llm judge (judge of record): {run.metrics['llm_judge']['agreement_with_markers']}")


def markers_beside(run: SuiteRun) -> None:
    """The marker judge's hinted metrics and marker monitor, beside the LLM judge's (after scoring)."""
    monitored, records = run.records.get("monitor"), run.records.get("hinted")
    if monitored:
        run.metrics["llm_judge"]["markers_monitor"] = monitor_report(
            [{**r, "verbalized": r["verbalized_markers"]} for r in monitored]
        )
    if records:
        markers = [outcome({**r, "verbalized": r["verbalized_markers"]}) for r in records]
        run.metrics["llm_judge"]["markers_hinted"] = metrics_by_hint_type(markers)


_PATH = ("suites", "llm_judge")
_MARKERS_WRONG = (*_PATH, "markers_hinted", *WRONG[1:])  # the marker judge's, over hints to a wrong option
TITLE = "LLM judge and monitor (eval.judge)"
MARKERS_TITLE = "Marker judge beside the LLM judge of record"
SECTIONS = (
    Section(
        TITLE,
        (
            # The LLM judge's own F, U, V and O are the main sections' rows: it is the judge of record.
            Row("judge agreement with markers", (*_PATH, "agreement_with_markers", "agreement")),
            Row("judge agreement, Cohen's kappa", (*_PATH, "agreement_with_markers", "kappa")),
        ),
    ),
    Section(
        MARKERS_TITLE,
        (
            Row("marker judge: F (wrong hints)", (*_MARKERS_WRONG, "F")),
            Row("marker judge: U (wrong hints)", (*_MARKERS_WRONG, "U")),
            Row("marker monitor: O (monitored)", (*_PATH, "markers_monitor", "conditions", "monitored", "O")),
            Row("judge agreement, all judged responses", (*_PATH, "agreement_all", "agreement")),
        ),
    ),
)
