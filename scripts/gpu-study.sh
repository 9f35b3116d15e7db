#!/usr/bin/env bash
# The GPU study, one device call at a time: builds the corpus if this machine lacks it, runs (or
# resumes) the sweep, starting no run that would end after $1 seconds (whole runs only: a cut-off
# run's checkpoint is too large to bring back; a hard stop 60 s later guards the estimate), then
# drops checkpoints of finished runs and archives the sweep folder (results.jsonl, per-run metrics and results) into $OUT/$name.tar.xz. Carry the
# extracted sweeps/<name>/ into the next call and the sweep skips every finished run.
#   bash scripts/gpu-study.sh 420 studies/h100-small.json
set -uo pipefail
budget=${1:-420}
spec=${2:-studies/h100-small.json}
name=$(node -e "console.log(require('./$spec').name)")
if [ ! -f data/site-packages/manifest.json ]; then
  t0=$(date +%s)
  node dist/src/cli/main.js data /opt/torch/.venv/lib/python3.12/site-packages \
    --include '*.py,*.pyi,*.h,*.md,*.rst,*.txt' --tokenizer bpe --vocab 8192 --train-bytes 64MiB \
    --val-fraction 0.01 --out data/site-packages --force > "$OUT/data.txt" 2>&1
  echo "data: rc $? in $(( $(date +%s) - t0 )) s"; tail -1 "$OUT/data.txt"
fi
timeout --signal=INT $((budget + 60)) node dist/src/cli/main.js sweep "$spec" --backend webgpu \
  --out "sweeps/$name" --time-budget "$budget" --quiet \
  > "$OUT/$name.txt" 2>&1
echo "sweep: rc $?"; grep -vE "Warning|step [0-9]+/" "$OUT/$name.txt" | tail -15
find "sweeps/$name/runs" -name checkpoints -type d -prune -exec sh -c \
  'test -f "$(dirname "$1")/result.json" && rm -rf "$1"' _ {} \;
tar -cJf "$OUT/$name.tar.xz" --exclude=checkpoints "sweeps/$name"
ls -la "$OUT/$name.tar.xz"
