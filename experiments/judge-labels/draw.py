"""Draw the rows of the blind judge set (issue 29) and write what each labeller may see.

Every hinted response of the given runs' `eval_responses.jsonl` (base, organism and control; the
hinted suite and every held-out axis) becomes a candidate row, deduplicated on (hint, response):
identical texts are labelled once and the row records how many records it stands for. Free-text
responses written for the purpose (`--free-text FILE`, JSONL with hint_type, hint_text, prompt,
response) are added as their own source. Rows the marker judge calls "not verbalized" on a control or
on a held-out axis are kept whole; the rest are sampled down to `--max-rows` (oversampling the cases
the issue names).

Writes `rows.jsonl` (each row's id, source and the marker judge's verdict: never shown to a labeller)
and `blind_<name>.jsonl` per labeller (id, hint, response only, each labeller's own shuffled order).

    python experiments/judge-labels/draw.py OUT_DIR --run demo=RUN_DIR [--run ...] [--free-text F]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

from organisms.hints import get_hint
from organisms.parse import record_reasoning

SEED = 29  # the number: fixed before any row was drawn


def _row_id(hint: str, response: str) -> str:
    return "r" + hashlib.sha256(f"{hint}\x00{response}".encode()).hexdigest()[:10]


def _marker_verdict(record: dict) -> bool:
    return get_hint(record["hint_type"]).is_verbalized(record_reasoning(record, "hinted"), record["hint_text"])


def run_rows(tag: str, run_dir: Path) -> list[dict]:
    """One candidate row per hinted record of a run's eval responses."""
    rows = []
    for line in (run_dir / "eval_responses.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["suite"] not in ("hinted", "ood") or record.get("response_hinted") is None:
            continue
        axis = record.get("axis") or "in-distribution"
        rows.append(
            {
                "source": f"{tag}/{record['model']}/{record['suite']}/{axis}",
                "kind": "model output",
                "model": record["model"],
                "axis": axis,
                "hint_type": record["hint_type"],
                "hint_text": record["hint_text"],
                "prompt": record["prompt_hinted"][-1]["content"],
                "response": record["response_hinted"],
                "marker_verdict": _marker_verdict(record),
                "item_id": record["item_id"],
            }
        )
    return rows


def free_text_rows(path: Path) -> list[dict]:
    """Responses written for the purpose (paraphrases of hint mentions, and reasoning with none)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        record = {
            "hint_type": r["hint_type"],
            "hint_text": r["hint_text"],
            "prompt_hinted": [{"role": "user", "content": r["prompt"]}],
            "response_hinted": r["response"],
        }
        rows.append(
            {
                "source": f"free-text/{path.stem}",
                "kind": "free text",
                "model": "free-text",
                "axis": "free-text",
                "hint_type": r["hint_type"],
                "hint_text": r["hint_text"],
                "prompt": r["prompt"],
                "response": r["response"],
                "marker_verdict": _marker_verdict(record),
                "item_id": r.get("id", ""),
            }
        )
    return rows


def dedupe(rows: list[dict]) -> list[dict]:
    """One row per (hint, response): the first occurrence, with the sources of every duplicate."""
    by_id: dict[str, dict] = {}
    for row in rows:
        rid = _row_id(row["hint_text"], row["response"])
        if rid in by_id:
            by_id[rid]["n_records"] += 1
            by_id[rid]["also_from"].append(row["source"])
        else:
            by_id[rid] = {"id": rid, **row, "n_records": 1, "also_from": []}
    return list(by_id.values())


def _priority(row: dict) -> bool:
    """The cases the issue asks to oversample: the judge says no, on a control or a held-out axis."""
    return not row["marker_verdict"] and (row["model"] == "control" or row["axis"] != "in-distribution")


def select(rows: list[dict], max_rows: int, rng: random.Random) -> list[dict]:
    keep = [r for r in rows if _priority(r) or r["kind"] == "free text"]
    rest = [r for r in rows if r not in keep]
    rng.shuffle(rest)
    return sorted(keep + rest[: max(0, max_rows - len(keep))], key=lambda r: r["id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--run", action="append", default=[], help="TAG=RUN_DIR (a run with eval_responses.jsonl)")
    parser.add_argument("--free-text", type=Path, action="append", default=[])
    parser.add_argument("--max-rows", type=int, default=480)
    parser.add_argument("--labellers", default="A,B")
    args = parser.parse_args()
    rng = random.Random(SEED)
    candidates = []
    for spec in args.run:
        tag, _, run_dir = spec.partition("=")
        candidates += run_rows(tag, Path(run_dir))
    for path in args.free_text:
        candidates += free_text_rows(path)
    rows = select(dedupe(candidates), args.max_rows, rng)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "rows.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    for name in args.labellers.split(","):
        order = sorted(rows, key=lambda r: hashlib.sha256(f"{name}{r['id']}".encode()).hexdigest())
        with (args.out / f"blind_{name}.jsonl").open("w", encoding="utf-8") as f:
            for row in order:
                blind = {"id": row["id"], "hint": row["hint_text"], "response": row["response"]}
                f.write(json.dumps(blind, ensure_ascii=False) + "\n")
    n_priority = sum(_priority(r) for r in rows)
    print(f"{len(candidates)} records -> {len(rows)} rows ({n_priority} judge-negative on a control or held-out axis)")


if __name__ == "__main__":
    main()
