#!/bin/bash
# As it ran (2026-12-07): one training seed per process, the three default bands, band-matched
# controls and the equal-norm random LoRA of each adapter. Seed 0 on the Intel 2-core CPU machine at
# b0fbacb, alone; seed 1 on the AMD 2-core CPU machine at b60e753, alone. Then one call that only
# summarises the six records (nothing trained or analysed again).
set -euo pipefail
organism bench-localization --seeds 0 --out loc
organism bench-localization --seeds 1 --out loc1
cp loc1/records/*.json loc/records/
organism bench-localization --seeds 0,1 --out loc
