#!/usr/bin/env bash
# Train (or resume) the shipped models on ../shared/data and install their weights
# as package data (ditas_tf/models/<name>/).
#
#   scripts/train_default.sh [default|quiet|both] [STEPS]
#
# default: the `cpu` preset (container SNR 10 dB); quiet: `cpu_quiet` (22 dB).
# Secrets: BSDS200 and T91 (the VOC samples are kept for testing); covers: LJ001-* clips.
# Validation: images/test/set5 with LJ002-00* clips (neither is in docs/RESULTS.md's
# image sets). Runs resume from checkpoints/<name>/, which is committed, so every
# run continues where the last one stopped. DITAS_TRAIN_EXTRA adds ditas-train options
# (for example "--set train.init_weights=old.weights.h5" for a warm start of a new run).
# Run it in the background:
#   nohup scripts/train_default.sh both 20000 > train.log 2>&1 &
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${DITAS_DATA:-$here/../shared/data}
which=${1:-both}
steps=${2:-20000}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

train_one() {
  local name=$1 preset=$2
  local dir=$here/checkpoints/$name
  ditas-train --config "$preset" --model-dir "$dir" --no-progress \
    --images "$data/images/train/bsd200" --images "$data/images/train/t91" \
    --audio "$data/audio/LJSpeech-1.1" \
    --val-images "$data/images/test/set5" \
    --val-audio "$data/audio/LJSpeech-1.1" \
    --set 'data.ljspeech_train_prefixes=[LJ001]' \
    --set 'data.ljspeech_val_prefixes=[LJ002-00]' \
    --steps "$steps" ${DITAS_TRAIN_EXTRA:-}
  install_weights "$name"
}

install_weights() {
  local name=$1
  local dir=$here/checkpoints/$name dest=$here/ditas_tf/models/$name
  mkdir -p "$dest"
  cp "$dir/config.yaml" "$dest/config.yaml.tmp" && mv "$dest/config.yaml.tmp" "$dest/config.yaml"
  cp "$dir/model.weights.h5" "$dest/.tmp.weights.h5" && mv "$dest/.tmp.weights.h5" "$dest/model.weights.h5"
  # Keep only the latest checkpoint: it is committed so that the next run resumes from it.
  python "$here/scripts/prune_checkpoints.py" "$dir"
  echo "installed $dir -> $dest"
}

case "$which" in
  default) train_one default cpu ;;
  quiet) train_one quiet cpu_quiet ;;
  both)
    train_one default cpu &
    p1=$!
    train_one quiet cpu_quiet &
    p2=$!
    wait $p1 && wait $p2 ;;
  install) install_weights default; install_weights quiet ;;
  *) echo "usage: $0 [default|quiet|both|install] [STEPS]" >&2; exit 2 ;;
esac
