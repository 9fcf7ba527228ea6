#!/usr/bin/env bash
# Train (or resume) the shipped default model and install it as package data
# (ditas_tf/models/default: portable config, weights, verified LiteRT graphs).
#
#   scripts/train_default.sh [STEPS]          # resume checkpoints/default_r5 up to STEPS (default 24000)
#   scripts/train_default.sh install          # only package the run's current weights
#
# The run folder's config.yaml was resolved when the run started (the `cpu` preset with 10 stages and
# the bound at +-10 dB: M-ED, residual_masked in bounded mode, exponent 0.5, 22.5 dB, learning rate
# 1.67e-4 constant) and is reused unchanged on every resume. It was warm-started from release 4's
# default (checkpoints/default_r4) grown to 10 stages, stage 5 copied into 6..10:
#   python scripts/clone_stages.py checkpoints/default_r4 checkpoints/grow/r4_10_stages.weights.h5 \
#     --stages 10 --source 5 --targets 6 7 8 9 10
#   DITAS_DATA=../shared/data python -m ditas_tf train --config cpu --model-dir checkpoints/default_r5 \
#     $(DITAS_DATA=../shared/data python scripts/shared_data.py) --set model.stages=10 \
#     --set model.mask_bound_db=10.0 --set train.init_weights=checkpoints/grow/r4_10_stages.weights.h5 \
#     --set train.learning_rate=1.6666666666666666e-4 --set train.lr_decay_steps=0 \
#     --set train.validate_every=500 --steps 14000 --no-progress
# (docs/RESULTS.md tells the whole chain.)
# Secrets: BSDS200 and T91; covers: LJ001-* clips; validation: set5 with LJ002-00* clips.
# checkpoints/default_r5 is committed, so every run continues where the last one stopped.
# A new run from scratch in another folder (the shipped recipe, minus its warm-start history):
#   ditas-train --config cpu --model-dir runs/mine $(python scripts/shared_data.py)
# Run it in the background:
#   nohup scripts/train_default.sh 24000 > train.log 2>&1 &
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"  # the run's data paths are relative to the repository
run=checkpoints/default_r5
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
if [ "${1:-}" != "install" ]; then
  ditas-train --model-dir "$run" --no-progress --steps "${1:-24000}"
fi
python scripts/prune_checkpoints.py "$run"
# hide picks at most 8 of the 10 stages on its own: beyond 8 the span's PESQ-WB falls under 3.5
# (docs/whole_cover.md); --stages 10 still uses them all.
python scripts/install_model.py "$run" ditas_tf/models/default --hide-stages 8
