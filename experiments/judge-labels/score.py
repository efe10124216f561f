"""Agreement of the two blind labellers, the adjudicated labels, the dev/test split, and the judges'
precision and recall against the labels (issue 29).

Reads `rows.jsonl` (draw.py), `labels_A.jsonl` and `labels_B.jsonl` (each labeller's `id, mentions,
relies, note`) and `adjudication.jsonl` (`id, mentions, relies, reason` for every row the two
disagree on). Writes `evals/judge_labels.jsonl` (the set of record: each row with both labellers'
labels, the final labels and its split), `test_split.sha256`, and `scores.json`; prints the tables of the results page.

    python experiments/judge-labels/score.py experiments/judge-labels
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

from evals.judge_validation import scores
from evals.stats import agreement as kappa_of
from evals.stats import rate

LABELS = ("mentions", "relies")
LABELLED = Path(__file__).resolve().parents[2] / "evals" / "judge_labels.jsonl"  # the set of record
TEST_FRACTION_HEX = "8"  # a row is in `test` when its id's sha256 starts with 0-7: about half


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def split_of(row_id: str) -> str:
    return "test" if hashlib.sha256(row_id.encode()).hexdigest()[0] < TEST_FRACTION_HEX else "dev"


def source_class(row: dict) -> str:
    """The issue's sources: template sentence / free text / held-out axis / think block."""
    if row["kind"] == "free text":
        return "think block (free text)" if "<think>" in row["response"] else "free text"
    if row["axis"] != "in-distribution":
        return f"held-out axis: {row['axis']}"
    return f"in distribution: {row['model']}"


def build(folder: Path) -> tuple[list[dict], dict]:
    rows = {r["id"]: r for r in _read(folder / "rows.jsonl")}
    a = {r["id"]: r for r in _read(folder / "labels_A.jsonl")}
    b = {r["id"]: r for r in _read(folder / "labels_B.jsonl")}
    adjudicated = {r["id"]: r for r in _read(folder / "adjudication.jsonl")}
    missing = [rid for rid in rows if rid not in a or rid not in b]
    if missing:
        raise SystemExit(f"labels missing for {len(missing)} rows, e.g. {missing[:3]}")
    agreement = {}
    for label in LABELS:
        xs = [bool(a[rid][label]) for rid in rows]
        ys = [bool(b[rid][label]) for rid in rows]
        agreement[label] = {
            "kappa": kappa_of(xs, ys)["kappa"],  # Cohen's kappa (sklearn)
            "agree": sum(x == y for x, y in zip(xs, ys, strict=True)),
            "n": len(xs),
            "yes_A": sum(xs),
            "yes_B": sum(ys),
        }
    labelled = []
    for rid, row in sorted(rows.items()):
        disagree = any(bool(a[rid][k]) != bool(b[rid][k]) for k in LABELS)
        if disagree and rid not in adjudicated:
            raise SystemExit(f"row {rid}: the labellers disagree and adjudication.jsonl has no line for it")
        final = adjudicated[rid] if disagree else a[rid]
        labelled.append(
            {
                **row,
                "split": split_of(rid),
                "source_class": source_class(row),
                "labels_A": {k: bool(a[rid][k]) for k in LABELS},
                "labels_B": {k: bool(b[rid][k]) for k in LABELS},
                "mentions": bool(final["mentions"]),
                "relies": bool(final["relies"]) and bool(final["mentions"]),
                "adjudication": adjudicated[rid]["reason"] if disagree else "",
            }
        )
    return labelled, agreement


def judge_table(rows: list[dict]) -> dict:
    """The marker judge against both labels: overall, and per source class."""
    out = {}
    for label in LABELS:
        out[label] = {"all": scores([r[label] for r in rows], [r["marker_verdict"] for r in rows])}
        for kind in ("model output", "free text"):  # the drawn mix is half written text: each kind apart
            sub = [r for r in rows if r["kind"] == kind]
            out[label][f"all {kind}s"] = scores([r[label] for r in sub], [r["marker_verdict"] for r in sub])
        for cls in sorted({source_class(r) for r in rows}):
            sub = [r for r in rows if source_class(r) == cls]
            out[label][cls] = scores([r[label] for r in sub], [r["marker_verdict"] for r in sub])
    return out


def _cell(s: dict, key: str) -> str:
    r = s[key]
    if r["value"] is None:
        return f"undef (0/{r['n']})"
    lo, hi = r["ci95"]
    return f"{r['value']:.2f} ({r['k']}/{r['n']}) [{lo:.2f}, {hi:.2f}]"


def main() -> None:
    folder = Path(sys.argv[1])
    labelled, agreement = build(folder)
    with LABELLED.open("w", encoding="utf-8") as f:
        for row in labelled:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    test = [r for r in labelled if r["split"] == "test"]
    test_bytes = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in test).encode()
    digest = hashlib.sha256(test_bytes).hexdigest()
    (folder / "test_split.sha256").write_text(f"{digest}  test split of evals/judge_labels.jsonl\n")
    result = {
        "n_rows": len(labelled),
        "splits": Counter(r["split"] for r in labelled),
        "sources": Counter(source_class(r) for r in labelled),
        "agreement": agreement,
        "n_adjudicated": sum(bool(r["adjudication"]) for r in labelled),
        "label_rates": {k: rate(sum(r[k] for r in labelled), len(labelled)) for k in LABELS},
        "marker_judge": {"dev": judge_table([r for r in labelled if r["split"] == "dev"]), "test": judge_table(test)},
    }
    (folder / "scores.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(labelled)} rows; splits {dict(result['splits'])}; adjudicated {result['n_adjudicated']}")
    for label, ag in agreement.items():
        print(f"kappa {label}: {ag['kappa']:.3f} (agree {ag['agree']}/{ag['n']}; yes A {ag['yes_A']}, B {ag['yes_B']})")
    for label in LABELS:
        print(f"\nmarker judge vs '{label}', test split")
        print("| subset | n | precision (k/n) [95% CI] | recall (k/n) [95% CI] | balanced accuracy |")
        print("|---|---:|---:|---:|---:|")
        for subset, s in result["marker_judge"]["test"][label].items():
            ba = "undef" if s["balanced_accuracy"] is None else f"{s['balanced_accuracy']:.2f}"
            print(f"| {subset} | {s['n']} | {_cell(s, 'precision')} | {_cell(s, 'recall')} | {ba} |")


if __name__ == "__main__":
    main()
