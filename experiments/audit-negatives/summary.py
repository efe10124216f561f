"""Per row of the blind-audit benchmark: the top signature's score beside its raw lift, the base it sat on,
and the hint-type ranking; and the chance baseline of hint-type top-1 (docs: experiments/audit-negatives).

    python experiments/audit-negatives/summary.py experiments/audit-negatives/results
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evals.render import markdown_table
from evals.results import Difference

N_TYPES = 7  # the taxonomy the auditor ranks; every organism here trained on 2 of them


def base_name(path: str) -> str:
    """The base an adapter sat on: the hidden-hint capability model, or the embedded model itself."""
    if "/capability/" in path:
        return "capability model"
    return "SmolLM2-135M" if path.rstrip("/").endswith("smollm2-135m") else path


def row(bench_row: dict, audit: dict) -> list[str]:
    hidden = next(h for h in audit["hypotheses"] if h["name"] == "hidden_hint")
    follow = {t["name"]: t for t in audit["hint_types"]}
    trained = bench_row["true_hint_types"]
    return [
        bench_row["organism"],
        bench_row["true_behaviour"],
        base_name(audit["base_model"]),
        audit["behaviour"],
        Difference.from_json(hidden).cell(),
        Difference.from_json(hidden["raw"]).cell(),
        ", ".join(f"{t} {Difference.from_json(follow[t]).cell()}" for t in trained) or "-",
        ", ".join(bench_row["named_hint_types"][:2]) or "-",
    ]


COLUMNS = (
    "row",
    "truth",
    "base",
    "verdict",
    "hidden_hint score (noise-corrected)",
    "raw lift",
    "follow lift of its trained types",
    "first named",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the folder with bench_audit.json and one folder per row")
    args = parser.parse_args()
    bench = json.loads((args.results / "bench_audit.json").read_text())
    rows = [row(r, json.loads((args.results / r["organism"] / "blind_audit.json").read_text())) for r in bench["rows"]]
    print("\n".join(markdown_table(COLUMNS, rows)))
    print(f"\nChance hint-type top-1 (a uniformly random first type, 2 of {N_TYPES} trained): {2 / N_TYPES:.2f}")


if __name__ == "__main__":
    main()
