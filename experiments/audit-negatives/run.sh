#!/bin/bash
# The commands as they ran (2026-12-07, 2-core CPU, one job at a time). Trainings first (the blind audits
# came later, with the new probe set), then one bench-audit call that reuses them, trains terse-style and
# audits every entry blind. COT_ORGANISMS_CACHE held the hidden-hint capability model from an earlier
# `make demo`; runs/ held that demo's hidden-hint and hidden-hint-faithful run dirs (the same spec hashes).
set -euo pipefail
S=experiments/audit-negatives/specs
for s in $S/hidden-hint-sm-s1.yaml $S/hidden-hint-cg-s0.yaml $S/hidden-hint-uv-s0.yaml $S/hidden-hint-cg-s1.yaml \
         $S/hidden-hint-uv-s1.yaml shortcut-honest monitor-aware-faithful belief-mercury-rings; do
  organism train "$s" --runs-dir runs --no-wandb
done
specs="hidden-hint,$S/hidden-hint-sm-s1.yaml,$S/hidden-hint-cg-s0.yaml,$S/hidden-hint-cg-s1.yaml,$S/hidden-hint-uv-s0.yaml"
specs="$specs,$S/hidden-hint-uv-s1.yaml,hidden-hint-faithful,monitor-aware-faithful,shortcut-honest,belief-mercury-rings"
specs="$specs,random-lora:hidden-hint,terse-style"
organism bench-audit --specs "$specs" --runs-dir runs --out ba
