#!/usr/bin/env bash
# Train (or continue) the shipped default model and install it as package data
# (ditas_tf/models/default: portable config, weights, verified LiteRT graphs).
#
#   scripts/train_default.sh [STEPS]          # continue the default's chain up to STEPS (default 2000), then install it
#   scripts/train_default.sh install          # only package the newest link's weights
#
# Release 10's default is checkpoints/spectral_r10: release 9's default (scripts/train_spectral.sh)
# fine-tuned with model.highpass_hz=150 by the chain of scripts/train_highpass.sh, whose header gives its
# links, and docs/history.md its whole history. The committed run holds the weights of its best
# validation (step 2,000 of its last link), its config and its validation curve, but not Adam's state
# (the repository's size budget). So a call continues the chain in checkpoints/spectral_r10_2,
# warm-started from those weights with the run's own resolved config (its step counter restarts at 0),
# or resumes checkpoints/spectral_r10_2 where it exists; the newer link is installed.
# Secrets: BSDS200 and T91; covers: LJ001-* clips; validation: set5 with LJ002-00* clips.
# A new run from scratch in another folder (the shipped architecture, minus its warm-start history):
#   ditas-train --config cpu10_spectral --set model.highpass_hz=150 --model-dir runs/mine $(python scripts/shared_data.py)
# Run it in the background:
#   nohup scripts/train_default.sh 2000 > train.log 2>&1 &
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"  # the run's data paths are relative to the repository
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export DITAS_DATA=${DITAS_DATA:-../shared/data}
run=checkpoints/spectral_r10
next=${run}_2
if [ "${1:-}" != "install" ]; then
  if [ -f "$next/config.yaml" ]; then
    python -m ditas_tf train --model-dir "$next" --steps "${1:-2000}" --no-progress
  else
    python -m ditas_tf train --config "$run/config.yaml" --model-dir "$next" \
      --set "train.init_weights=$run/model.weights.h5" --steps "${1:-2000}" --no-progress
  fi
  python scripts/prune_checkpoints.py "$next"
  run=$next
elif [ -f "$next/model.weights.h5" ]; then
  run=$next
fi
# hide gives a tile all 10 stages when the cover has room (model.hide_stages 0), as release 7 did.
python scripts/install_model.py "$run" ditas_tf/models/default --hide-stages 0
