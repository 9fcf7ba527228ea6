#!/usr/bin/env bash
# Evaluate the shipped models (default, quiet) for docs/RESULTS.md.
#   scripts/eval_shipped.sh
# Secrets: set14, live1, imagenet_val, voc, celeba at 64x64 (deterministic protocol);
# covers: LJ002-* and the TIMIT sample; every container goes through a real 16-bit WAV.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${DITAS_DATA:-$here/../shared/data}
out=$here/docs/results/shipped
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}
ditas eval --model default --model quiet \
  --images "$data/images/test/set14" --images "$data/images/test/live1" \
  --images "$data/images/test/imagenet_val" --images "$data/images/train/voc" \
  --images "$data/images/test/celeba" \
  --audio "$data/audio/LJSpeech-1.1" --audio-select LJ002 --audio "$data/audio/timit" \
  --out "$out"
python "$here/scripts/results_md.py" "$out/metrics.json" > "$here/docs/RESULTS.md.tmp"
mv "$here/docs/RESULTS.md.tmp" "$here/docs/RESULTS.md"
