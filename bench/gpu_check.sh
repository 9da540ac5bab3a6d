#!/usr/bin/env bash
# GPU check: training tokens/s and MFU (chatclone's loop against HF Trainer, bf16) for a
# SmolLM2-135M and a 0.5B Qwen2-shaped model with random weights, reply speed, FSDP
# save -> resume -> identical weights, and the DDP loss-equivalence test. Each part runs in
# its own process under its own time limit: one failing part never stops the others.
# Needs torch, transformers and accelerate; no network, no model download.
#
#   OUT=results bash bench/gpu_check.sh          # writes $OUT/gpu.json and $OUT/gpu_check.log
#   GPU_CHECK_DEVICE=cpu OUT=dry-run bash bench/gpu_check.sh   # tiny dry run on a CPU
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check-results}
mkdir -p "$OUT"
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export CHATCLONE_CACHE="$OUT/.cache"
PY=${PYTHON:-python}
LOG="$OUT/gpu_check.log"
started=$(date +%s)
{
  echo "gpu_check started $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | head -3
  # part and its time limit in seconds (the total stays under 6 minutes)
  for spec in env:15 train-135m:100 train-0.5b:110 reply:40 fsdp:80 ddp:15; do
    part=${spec%%:*}
    limit=${spec##*:}
    [ "${GPU_CHECK_DEVICE:-cuda}" = cpu ] && limit=$(( limit * 4 ))  # a slow CPU dry run
    t0=$(date +%s)
    timeout -k 5 "$limit" "$PY" bench/gpu_check.py --part "$part" --out "$OUT" 2>"$OUT/$part.err"
    rc=$?
    echo "[$part] exit $rc after $(( $(date +%s) - t0 )) s (limit $limit s)"
    if [ "$rc" != 0 ]; then
      tail -n 15 "$OUT/$part.err"
      printf '{"error": "exit %s (124: over its %s s limit)"}' "$rc" "$limit" > "$OUT/part-$part.json"
    fi
  done
  "$PY" - "$OUT" <<'PYEOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
merged = {p.stem[5:]: json.loads(p.read_text()) for p in sorted(out.glob("part-*.json"))}
(out / "gpu.json").write_text(json.dumps(merged, indent=2))
print(json.dumps(merged, indent=2))
PYEOF
  echo "gpu_check done in $(( $(date +%s) - started )) s"
} 2>&1 | tee "$LOG"
