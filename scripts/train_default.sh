#!/usr/bin/env bash
# Train (or resume) the shipped default model and install it as package data
# (ditas_tf/models/default: portable config, weights, verified LiteRT graphs).
#
#   scripts/train_default.sh [STEPS]          # resume checkpoints/default_r7 up to STEPS (default 6000)
#   scripts/train_default.sh install          # only package the run's current weights
#
# The run folder's config.yaml was resolved when the run started and is reused unchanged on every
# resume: the `cpu10` preset (M-ED, 10 stages, residual_masked in bounded mode at +-10 dB, exponent
# 0.5, 22.5 dB) with the noise-to-mask hiding loss (train.hiding_loss=nmr, weight 1e-4, offset
# 10 dB), learning rate 5.56e-5 constant. The chain of warm starts that led to it (docs/RESULTS.md
# tells it whole):
#   1. release 5's default, checkpoints/default_r5 (6,000 steps; its own chain is in docs/RESULTS.md);
#   2. the nmr_1e-4 arm of the audibility comparison, 1,500 steps from it at 1.67e-4, committed as
#      checkpoints/exp_cmp/nmr_1e-4:
#        python scripts/compare_audibility.py --train-only --arms nmr_1e-4 --steps 1500
#   3. this run, warm-started from the arm's weights at a third of its learning rate:
#        DITAS_DATA=../shared/data python -m ditas_tf train --config cpu10 --model-dir checkpoints/default_r7 \
#          $(DITAS_DATA=../shared/data python scripts/shared_data.py) \
#          --set train.init_weights=checkpoints/exp_cmp/nmr_1e-4/model.weights.h5 \
#          --set train.learning_rate=5.555555555555556e-05 --set train.lr_decay_steps=0 \
#          --set train.checkpoint_every=200 --set train.validate_every=500 --set train.hiding_loss=nmr \
#          --set train.hiding_weight=1e-4 --set train.nmr_offset_db=10.0 --steps 2000 --no-progress
# Secrets: BSDS200 and T91; covers: LJ001-* clips; validation: set5 with LJ002-00* clips.
# checkpoints/default_r7 is committed, so every run continues where the last one stopped.
# A new run from scratch in another folder (the shipped architecture, minus its warm-start history):
#   ditas-train --config cpu10 --model-dir runs/mine $(python scripts/shared_data.py)
# Run it in the background:
#   nohup scripts/train_default.sh 6000 > train.log 2>&1 &
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"  # the run's data paths are relative to the repository
run=checkpoints/default_r7
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
if [ "${1:-}" != "install" ]; then
  ditas-train --model-dir "$run" --no-progress --steps "${1:-6000}"
fi
python scripts/prune_checkpoints.py "$run"
# hide gives a tile all 10 stages when the cover has room (model.hide_stages 0): with the noise-to-mask
# loss the span's PESQ-WB stays above 3.5 with every stage (docs/whole_cover.md).
python scripts/install_model.py "$run" ditas_tf/models/default --hide-stages 0
