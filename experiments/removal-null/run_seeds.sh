#!/bin/bash
# As it ran (2026-12-07, 2-core CPU, the two seeds side by side with OMP_NUM_THREADS=1 each, from a
# clone at 5943a16): training seeds 1 and 2 of the demo pair, the run directories of the SmolLM2
# rerun on experiments/two-models (runs-smollm2/, trained at 22bba2a). 40 null directions each.
set -euo pipefail
OMP_NUM_THREADS=1 organism remove runs-smollm2/hidden-hint/b47566130b03 \
  --control runs-smollm2/hidden-hint-faithful/c07be805f314 --scales 4 --null-directions 40 --null-seed 0 &
OMP_NUM_THREADS=1 organism remove runs-smollm2/hidden-hint/15be6acdd1f4 \
  --control runs-smollm2/hidden-hint-faithful/791b3f531bd8 --scales 4 --null-directions 40 --null-seed 0 &
wait
# removal.json, removal.md and removal_null.jsonl of each run dir copied to seed1/ and seed2/, then:
python experiments/removal/seeds.py experiments/removal-null experiments/removal-null/seed1 \
  experiments/removal-null/seed2 --out experiments/removal-null/seeds.json
