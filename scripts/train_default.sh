#!/usr/bin/env bash
# Train (or resume) the shipped default model and install it as package data
# (ditas_tf/models/default: portable config, weights, verified LiteRT graphs).
#
#   scripts/train_default.sh [STEPS]          # resume checkpoints/default_r4 up to STEPS (default 24000)
#   scripts/train_default.sh install          # only package the run's current weights
#
# The run folder's config.yaml was resolved when the run started (the `cpu` preset: M-ED, 5 stages,
# residual_masked in bounded mode (+-6 dB), exponent 0.5, 22.5 dB, learning rate 1.67e-4 constant)
# and is reused unchanged on every resume. It was warm-started from the bounded arm of
# scripts/compare_finetune.py (2,000 steps from checkpoints/default_r3; docs/RESULTS.md tells the chain).
# Secrets: BSDS200 and T91; covers: LJ001-* clips; validation: set5 with LJ002-00* clips.
# checkpoints/default_r4 is committed, so every run continues where the last one stopped.
# A new run from scratch in another folder (the shipped recipe, minus its warm-start history):
#   ditas-train --config cpu --model-dir runs/mine $(python scripts/shared_data.py)
# Run it in the background:
#   nohup scripts/train_default.sh 24000 > train.log 2>&1 &
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"  # the run's data paths are relative to the repository
run=checkpoints/default_r4
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
if [ "${1:-}" != "install" ]; then
  ditas-train --model-dir "$run" --no-progress --steps "${1:-24000}"
fi
python scripts/prune_checkpoints.py "$run"
python scripts/install_model.py "$run" ditas_tf/models/default
