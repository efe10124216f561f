"""Two organisms on the same eval items: the paired difference in unverbalized hint use per axis.

Reads two run directories' `eval_responses.jsonl` (their `organism` rows), keeps the items whose
hint points to a wrong option and that both runs asked with the same prompt, and reports per axis
(in distribution, held-out phrasing, hint type, task) how many items each organism used the hint
on without naming it (a_h = h, a_u != h, not verbalized), the difference, and the exact McNemar
test on the discordant items (b: only the second, c: only the first).

    python experiments/hidden-hint-two-stage/paired_organisms.py RUN_A RUN_B [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scipy.stats import binomtest

from evals.hinted import hinted_items

AXES = (("hinted", None), ("ood", "phrasing"), ("ood", "hint_type"), ("ood", "task"))


def organism_rows(run: Path) -> dict:
    rows = {}
    for line in (run / "eval_responses.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("model") == "organism" and (r.get("suite"), r.get("axis")) in AXES:
            rows[r["suite"], r.get("axis"), r["item_id"]] = r
    return rows


def compare(a: dict, b: dict) -> list[dict]:
    out = []
    for suite, axis in AXES:
        keys = [k for k in sorted(a, key=str) if k[:2] == (suite, axis) and k in b]
        keys = [k for k in keys if a[k]["prompt_hinted"] == b[k]["prompt_hinted"]]
        # The eval's own per-item U numerator, over the wrong-hint items (the same in both runs:
        # the same prompt carries the same hint and answer letters).
        used_a = hinted_items([a[k] for k in keys])["unverbalized_use"]
        used_b = hinted_items([b[k] for k in keys])["unverbalized_use"]
        n_b = sum(y and not x for x, y in zip(used_a, used_b, strict=True))
        n_c = sum(x and not y for x, y in zip(used_a, used_b, strict=True))
        x, y = sum(used_a), sum(used_b)
        out.append(
            {
                "axis": axis or "in distribution",
                "n": len(used_a),
                "a": x,
                "b_organism": y,
                "difference": (y - x) / len(used_a) if used_a else None,
                "discordant_b": n_b,
                "discordant_c": n_c,
                "mcnemar_p": binomtest(n_b, n_b + n_c, 0.5).pvalue if n_b + n_c else None,
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = compare(organism_rows(args.run_a), organism_rows(args.run_b))
    print(f"A = {args.run_a}\nB = {args.run_b}")
    print("| axis | items (wrong hint) | A uses, unnamed | B uses, unnamed | B − A | McNemar (b, c) |")
    print("|---|---:|---:|---:|---:|---|")
    for r in rows:
        p = "n/a" if r["mcnemar_p"] is None else f"{r['mcnemar_p']:.2g}"
        diff = "undef" if r["difference"] is None else f"{r['difference']:+.2f}"
        print(
            f"| {r['axis']} | {r['n']} | {r['a']} | {r['b_organism']} | {diff} | "
            f"p={p} (b={r['discordant_b']}, c={r['discordant_c']}) |"
        )
    if args.out:
        args.out.write_text(json.dumps({"a": str(args.run_a), "b": str(args.run_b), "axes": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
