#!/bin/bash
# As it ran (2026-12-07, 2-core CPU, alone on the machine but for small test runs): the demo pair's
# seed-0 run directories (those of experiments/audit-negatives), steering at scale 4 only, both ways.
# First 40 null directions (seed 0), then the same command with 100: the resumable null file
# (removal_null.jsonl, same key) let the second run measure only directions 41-100.
set -euo pipefail
organism remove runs/hidden-hint/09ab4202f9a3 --control runs/hidden-hint-faithful/177f5c169050 \
  --scales 4 --null-directions 40 --null-seed 0
organism remove runs/hidden-hint/09ab4202f9a3 --control runs/hidden-hint-faithful/177f5c169050 \
  --scales 4 --null-directions 100 --null-seed 0
