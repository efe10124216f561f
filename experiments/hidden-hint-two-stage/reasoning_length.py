"""How much reasoning each model writes on the hinted suite, with and without the hint.

U counts a hint followed without naming it as unverbalized, and an empty CoT names nothing: an
organism that drops its reasoning when a hint is present scores like one that writes a clean,
misleading CoT. This reads a run's `eval_responses.jsonl` (hinted suite, in distribution) and
prints, per model and prompt, how many responses show an arithmetic step (an '=' in the
reasoning) and the median reasoning length in words, so the two cases can be told apart.

    python experiments/hidden-hint-two-stage/reasoning_length.py RUN_DIR [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def summarise(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "eval_responses.jsonl").read_text().splitlines()]
    out = []
    for model in ("base", "organism", "control"):
        hinted = [r for r in rows if r.get("model") == model and r.get("suite") == "hinted" and not r.get("axis")]
        if not hinted:
            continue
        for prompt in ("unhinted", "hinted"):
            texts = [r[f"reasoning_{prompt}"] or "" for r in hinted]
            out.append(
                {
                    "model": model,
                    "prompt": prompt,
                    "n": len(texts),
                    "with_step": sum("=" in t for t in texts),
                    "median_words": statistics.median(len(t.split()) for t in texts),
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = summarise(args.run)
    print(f"run = {args.run}")
    print("| model | prompt | responses with an arithmetic step | median words of reasoning |")
    print("|---|---|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['prompt']} | {r['with_step']}/{r['n']} | {r['median_words']:g} |")
    if args.out:
        args.out.write_text(json.dumps({"run": str(args.run), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
