#!/bin/bash
# As it ran (2026-12-07, 2-core CPU, alone on the machine): one training seed, the three default bands,
# band-matched controls and the equal-norm random LoRA of each adapter.
set -euo pipefail
organism bench-localization --seeds 0 --out loc
