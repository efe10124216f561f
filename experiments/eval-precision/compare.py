"""fp32 vs bf16 evaluation of the same models: how many greedy texts are unchanged, and every metric side by side.

Reads two eval output directories (each with evals.md and eval_responses.jsonl) of the same organism,
control and base on the same items, one evaluated with `eval.precision: fp32` and one with `bf16`, and
writes a Markdown page and a JSON file:

- texts: for each model and suite, the share of responses whose text is byte-identical (greedy suites:
  hinted pairs, held-out axes; IPHR samples at temperature 0.7 from the same seeds, so a changed
  probability changes its draws too, reported apart);
- metrics: every row of evals.md's tables, fp32 cell beside bf16 cell, and whether the bf16 point
  estimate falls outside the fp32 row's 95% interval (only rows with an interval can be checked).

    python experiments/eval-precision/compare.py FP32_DIR BF16_DIR --out experiments/eval-precision/results/NAME
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

PAIRED = ("response_unhinted", "response_hinted")
TEXT_FIELDS = {"hinted": PAIRED, "ood": PAIRED, "iphr": ("response",)}
GREEDY = {"hinted", "ood"}
NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"
CELL = re.compile(rf"^(?P<point>{NUMBER})(?:\s*\[(?P<lo>{NUMBER}),\s*(?P<hi>{NUMBER})\])?")


def responses(out: Path) -> dict[tuple, dict]:
    """Each response keyed by (model, suite, item, held-out axis, question, n-th of its kind): IPHR's samples of
    one question carry no index, so the n-th sample in file order (the order they were drawn in) is its key."""
    keyed, seen = {}, defaultdict(int)
    for line in (out / "eval_responses.jsonl").read_text().splitlines():
        r = json.loads(line)
        kind = (r["model"], r["suite"], r.get("item_id") or r.get("pair_id"), r.get("axis"), r.get("question"))
        keyed[(*kind, seen[kind])] = r
        seen[kind] += 1
    return keyed


def texts_unchanged(fp32: dict, bf16: dict) -> list[dict]:
    """Per model and suite: responses compared, byte-identical, and keys found in one eval only."""
    counts: dict[tuple, dict] = defaultdict(lambda: {"compared": 0, "identical": 0, "unmatched": 0})
    for key in fp32.keys() | bf16.keys():
        model, suite = key[0], key[1]
        if suite not in TEXT_FIELDS:
            continue
        c = counts[model, suite]
        if key not in fp32 or key not in bf16:
            c["unmatched"] += 1
            continue
        for field in TEXT_FIELDS[suite]:
            if field in fp32[key]:
                c["compared"] += 1
                c["identical"] += fp32[key][field] == bf16[key][field]
    return [{"model": m, "suite": s, "greedy": s in GREEDY, **c} for (m, s), c in sorted(counts.items())]


def cells_of(line: str) -> list[str]:
    """A Markdown table row's cells; an escaped pipe (`\\|`, as in 'P(a_h=h \\| a_u!=h)') stays in its cell."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def tables(evals_md: Path) -> dict[tuple[str, str], dict[str, str]]:
    """{(section, metric): {column: cell}} for every row of every table in evals.md."""
    rows, section, header = {}, "", None
    for line in evals_md.read_text().splitlines():
        if line.startswith("#"):
            section, header = line.lstrip("# ").strip(), None
        elif line.startswith("|") and header is None:
            header = cells_of(line)
        elif line.startswith("|") and not set(line) <= set("|-: "):
            cells = cells_of(line)
            rows[section, cells[0]] = dict(zip(header[1:], cells[1:], strict=False))
        elif not line.startswith("|"):
            header = None if not line.strip() else header
    return rows


def parse(cell: str) -> tuple[float | None, float | None, float | None]:
    match = CELL.match(cell)
    if not match:
        return None, None, None
    lo, hi = match["lo"], match["hi"]
    return float(match["point"]), float(lo) if lo else None, float(hi) if hi else None


def metric_rows(fp32: Path, bf16: Path) -> list[dict]:
    before, after = tables(fp32 / "evals.md"), tables(bf16 / "evals.md")
    out = []
    for key, cells in before.items():
        for column, cell in cells.items():
            other = after.get(key, {}).get(column)
            _, lo, hi = parse(cell)
            moved = None
            if other is not None and lo is not None:
                new = parse(other)[0]
                moved = None if new is None else not (lo <= new <= hi)
            out.append(
                {
                    "section": key[0],
                    "metric": key[1],
                    "model": column,
                    "fp32": cell,
                    "bf16": other,
                    "same_cell": cell == other,
                    "outside_fp32_interval": moved,
                }
            )
    return out


def page(texts: list[dict], metrics: list[dict], fp32: Path, bf16: Path) -> str:
    lines = [
        f"# fp32 vs bf16 evaluation: {fp32} vs {bf16}",
        "",
        "## Texts unchanged",
        "",
        "| model | suite | decoding | identical / compared | share | responses in one eval only |",
        "|---|---|---|---:|---:|---:|",
    ]
    for t in texts:
        share = t["identical"] / t["compared"] if t["compared"] else float("nan")
        decoding = "greedy" if t["greedy"] else "sampled (T=0.7)"
        lines.append(
            f"| {t['model']} | {t['suite']} | {decoding} | {t['identical']}/{t['compared']} | {share:.2f} "
            f"| {t['unmatched']} |"
        )
    checked = [m for m in metrics if m["outside_fp32_interval"] is not None]
    moved = [m for m in checked if m["outside_fp32_interval"]]
    same = sum(m["same_cell"] for m in metrics)
    lines += [
        "",
        "## Metrics",
        "",
        f"{len(metrics)} cells (metric x model); {same} identical; {len(checked)} have a 95% interval in fp32, "
        f"and the bf16 point estimate falls outside it in {len(moved)}.",
        "",
        "| section | metric | model | fp32 | bf16 | bf16 outside fp32 CI |",
        "|---|---|---|---|---|---|",
    ]
    for m in metrics:
        if m["same_cell"]:
            continue
        flag = {None: "-", True: "**yes**", False: "no"}[m["outside_fp32_interval"]]
        lines.append(f"| {m['section']} | {m['metric']} | {m['model']} | {m['fp32']} | {m['bf16']} | {flag} |")
    lines += ["", "Cells identical in both are not listed."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fp32", type=Path)
    parser.add_argument("bf16", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="path stem: writes STEM.md and STEM.json")
    args = parser.parse_args()
    texts = texts_unchanged(responses(args.fp32), responses(args.bf16))
    metrics = metric_rows(args.fp32, args.bf16)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(page(texts, metrics, args.fp32, args.bf16))
    summary = {"texts": texts, "metrics": metrics, "fp32": str(args.fp32), "bf16": str(args.bf16)}
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    print(args.out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
