"""The removal across seeds: per run directory (one training seed each, after `organism remove`), the real
direction's drop in U at its reported scale with its Newcombe interval, its null p (norm- and
perplexity-matched) and the nulls' median drops; then the mean drop over the seeds
(`analyze.audit.removal.across_seeds`).

    python experiments/removal/seeds.py RUN_DIR [RUN_DIR ...] [--out summary.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from analyze.audit.removal import across_seeds, markdown_seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run directories holding removal.json")
    parser.add_argument("--out", type=Path, help="also write the summary as JSON here")
    args = parser.parse_args()
    summary = across_seeds(args.runs)
    print(markdown_seeds(summary))
    if args.out is not None:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
