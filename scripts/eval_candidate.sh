#!/usr/bin/env bash
# Evaluate a candidate run folder beside the shipped default, with eval_shipped.sh's protocol, before
# it ships (docs/hiding_output.md).
#   scripts/eval_candidate.sh checkpoints/spectral_r8
# Secrets: set14, live1, imagenet_val, voc, celeba at 64x64; covers: LJ002-* and the TIMIT sample;
# 16-bit WAV; span audibility; hide's own choices (as many stages as a cover has room for, placed
# where least audible). Writes docs/results/candidates/<run name>/ (metrics.json, table.md, figures).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${DITAS_DATA:-$here/../shared/data}
run=${1:?give a run folder}
[ -f "$run/config.yaml" ] && [ -f "$run/model.weights.h5" ] || { echo "eval_candidate: not a run folder with weights: $run" >&2; exit 2; }
name=$(basename "$run")
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}
ditas eval --model default --model "$run" \
  --images "$data/images/test/set14" --images "$data/images/test/live1" \
  --images "$data/images/test/imagenet_val" --images "$data/images/train/voc" \
  --images "$data/images/test/celeba" \
  --audio "$data/audio/LJSpeech-1.1" --audio-select LJ002 --audio "$data/audio/timit" \
  --out "$here/docs/results/candidates/$name"
