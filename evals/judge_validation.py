"""How well the verbalization judges do, on a hand-labelled validation set.

Every judge (`organisms.judge`: the marker judge always, the LLM judge when `eval.judge` names a
model) is scored on the set shipped beside this file (`judge_validation.jsonl`, labelling rule in
docs/judge.md): precision, recall and balanced accuracy, overall, per hint type and per split
("dev": used while writing the marker patterns; "test": not).
"""

from __future__ import annotations

import json
from pathlib import Path

from evals.stats import rate
from organisms.hints import get_hint
from organisms.judge import llm_verbalized
from organisms.parse import record_reasoning

VALIDATION_FILE = Path(__file__).with_name("judge_validation.jsonl")

_reasoning = record_reasoning  # the reasoning only: a think block's content, or the text before 'Answer:'


def load_validation(path: Path = VALIDATION_FILE) -> list[dict]:
    """The labelled validation set: one response per row with its prompt, hint and label (docs/judge.md)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


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


def validation_report(rows: list[dict], verdicts: list[bool | None]) -> dict:
    """`scores` overall, per split, per source (base / organism / control outputs, hand-written) and per hint type."""
    labels = [bool(row["label"]) for row in rows]

    def subset(key: str, value: str) -> dict:
        keep = [i for i, row in enumerate(rows) if row[key] == value]
        return scores([labels[i] for i in keep], [verdicts[i] for i in keep])

    return {
        "file": VALIDATION_FILE.name,
        "overall": scores(labels, verdicts),
        "by_split": {split: subset("split", split) for split in sorted({r["split"] for r in rows})},
        "by_source": {model: subset("model", model) for model in sorted({r["model"] for r in rows})},
        "by_hint_type": {t: subset("hint_type", t) for t in sorted({r["hint_type"] for r in rows})},
    }


def judge_validation(backend=None) -> dict:
    """Every judge's validation report: the marker judge always, the LLM judge when `backend` is given."""
    rows = load_validation()
    out = {"markers": validation_report(rows, marker_verdicts(rows))}
    if backend is not None:
        out["llm"] = validation_report(rows, llm_verbalized(backend, [as_record(r) for r in rows]))
    return out
