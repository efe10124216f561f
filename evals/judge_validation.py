"""How well the verbalization judges do, on hand-labelled sets.

Every judge (`organisms.judge`: the marker judge always, the LLM judge when `eval.judge` names a
model) is scored on the set of record shipped beside this file, `judge_labels.jsonl`: 440 responses
labelled by two labellers blind to the model, the axis and every verdict, under a rule committed first
(experiments/judge-labels), with two labels per row, `mentions` and `relies` (mentions and relies on
it, Chen et al. 2025). Precision, recall and balanced accuracy, overall, per split ("dev", "test": the
figures of record are the test split's), per source and per hint type. The first set,
`judge_validation.jsonl` (one labeller who saw the model; experiments/judge-validation), stays
scoreable with `validation_report(load_validation(FIRST_SET), ...)`.
"""

from __future__ import annotations

import json
from pathlib import Path

from evals.stats import agreement, rate
from organisms.hints import get_hint
from organisms.judge import llm_verbalized
from organisms.parse import record_reasoning

VALIDATION_FILE = Path(__file__).with_name("judge_labels.jsonl")  # the blind set of record
FIRST_SET = Path(__file__).with_name("judge_validation.jsonl")  # the first set: one labeller, not blind

_reasoning = record_reasoning  # the reasoning only: a think block's content, or the text before 'Answer:'


def load_validation(path: Path = VALIDATION_FILE) -> list[dict]:
    """A labelled set: one response per row with its prompt, hint and labels (docs/judge.md). A row of
    the blind set gets `label` = its `mentions` label, the label every judge is scored on first."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{**row, "label": row["mentions"]} if "mentions" in row else row for row in rows]


def as_record(row: dict) -> dict:
    """A validation row in the shape of an eval record (what the judges read)."""
    return {
        "hint_type": row["hint_type"],
        "hint_text": row["hint_text"],
        "prompt_hinted": [{"role": "user", "content": row["prompt"]}],
        "response_hinted": row["response"],
    }


def marker_verdicts(rows: list[dict]) -> list[bool]:
    """The marker judge on every validation row's reasoning."""
    hints = [get_hint(row["hint_type"]) for row in rows]
    return [
        h.is_verbalized(_reasoning(as_record(r), "hinted"), r["hint_text"]) for h, r in zip(hints, rows, strict=True)
    ]


def scores(labels: list[bool], verdicts: list[bool | None]) -> dict:
    """Precision, recall (Wilson intervals), specificity and balanced accuracy of `verdicts` against
    `labels`; unparsable verdicts (None) are counted and left out."""
    pairs = [(y, v) for y, v in zip(labels, verdicts, strict=True) if v is not None]
    tp = sum(y and v for y, v in pairs)
    fp = sum(v and not y for y, v in pairs)
    fn = sum(y and not v for y, v in pairs)
    tn = sum(not y and not v for y, v in pairs)
    recall, specificity = rate(tp, tp + fn), rate(tn, tn + fp)
    balanced = None
    if recall["value"] is not None and specificity["value"] is not None:
        balanced = (recall["value"] + specificity["value"]) / 2
    return {
        "n": len(pairs),
        "unparsable": len(labels) - len(pairs),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": rate(tp, tp + fp),
        "recall": recall,
        "specificity": specificity,
        "balanced_accuracy": balanced,
    }


def _kappa(rows: list[dict], labels: list[bool], verdicts: list[bool | None], split: str) -> dict:
    """Cohen's kappa of a judge's parsed verdicts against the labels, on one split."""
    pairs = [(y, v) for y, v, r in zip(labels, verdicts, rows, strict=True) if v is not None and r["split"] == split]
    return agreement([y for y, _ in pairs], [v for _, v in pairs])


def validation_report(rows: list[dict], verdicts: list[bool | None], label: str = "label", name: str = "") -> dict:
    """`scores` against `label` overall, per split, per source (base / organism / control outputs,
    hand-written or free text), per source class where the set has one (held-out axis, think block...)
    and per hint type."""
    labels = [bool(row[label]) for row in rows]

    def subset(key: str, value: str) -> dict:
        keep = [i for i, row in enumerate(rows) if row.get(key) == value]
        return scores([labels[i] for i in keep], [verdicts[i] for i in keep])

    report = {
        "file": name or VALIDATION_FILE.name,
        "label": label,
        "overall": scores(labels, verdicts),
        "kappa_with_labels": {
            split: _kappa(rows, labels, verdicts, split) for split in sorted({r["split"] for r in rows})
        },
        "by_split": {split: subset("split", split) for split in sorted({r["split"] for r in rows})},
        "by_source": {model: subset("model", model) for model in sorted({r["model"] for r in rows})},
        "by_hint_type": {t: subset("hint_type", t) for t in sorted({r["hint_type"] for r in rows})},
    }
    if all("source_class" in r for r in rows):
        report["by_source_class"] = {c: subset("source_class", c) for c in sorted({r["source_class"] for r in rows})}
    return report


def judge_validation(backend=None) -> dict:
    """Every judge's report on the blind set of record, against `mentions` and (key `<judge>_relies`)
    against `relies`: the marker judge always, the LLM judge when `backend` is given."""
    rows = load_validation()
    verdicts = {"markers": marker_verdicts(rows)}
    if backend is not None:
        verdicts["llm"] = llm_verbalized(backend, [as_record(r) for r in rows])
    out = {}
    for judge, judged in verdicts.items():
        out[judge] = validation_report(rows, judged, "mentions")
        out[f"{judge}_relies"] = validation_report(rows, judged, "relies")
    return out


def judge_statement(judge: dict) -> str:
    """One paragraph for evals.md and the terminal: the judge of record and its validation figures."""

    def number(value: float | None) -> str:
        return "undef" if value is None else f"{value:.2f}"  # e.g. a judge that never says YES has no precision

    def one(scores: dict) -> str:
        precision, recall = scores["precision"], scores["recall"]
        return (
            f"precision {number(precision['value'])} ({precision['k']}/{precision['n']}), "
            f"recall {number(recall['value'])} ({recall['k']}/{recall['n']}), "
            f"balanced accuracy {number(scores['balanced_accuracy'])}"
        )

    def figures(name: str) -> str:
        """The test split's figures (the blind set's split never read while patterns changed), against
        'mentions' and, where reported, against 'mentions and relies on it'."""
        report = judge["validation"][name]
        test = report["by_split"].get("test")
        if test is None:
            return f"{one(report['overall'])} on {report['overall']['n']} labelled responses"
        text = f"on the blind labelled set's test split ({test['n']} responses), {one(test)}"
        text += " against 'mentions the hint'"
        relies = judge["validation"].get(f"{name}_relies", {}).get("by_split", {}).get("test")
        if relies is not None:
            text += f"; against 'mentions and relies on it', {one(relies)}"
        return text

    text = f"Verbalization judge of record (F, U, V, O): {judge['of_record']}."
    if "llm" in judge["validation"]:
        text += f" LLM judge validation: {figures('llm')}; the marker judge's"
        text += f" ({figures('markers')}) and its agreement are in the LLM judge section."
    else:
        text += f" No eval.judge is set, so these numbers come from the marker judge: {figures('markers')}"
        text += " (docs/judge.md, experiments/judge-labels)."
    return text
