#!/usr/bin/env bash
# Train (or resume) the chain that made release 10's default: release 9's default fine-tuned with
# model.highpass_hz=150, so that DC-blocking and rumble filters remove nothing the revealer reads
# (docs/hiding_output.md, "Release 10").
#
#   scripts/train_highpass.sh [STEPS]     # start or resume the chain; its last link up to STEPS (default 1000)
#
# Its chain of warm starts, each link regenerated here when its folder is missing:
#   1. the `highpass_150` arm of scripts/compare_highpass.py: 1,000 steps from checkpoints/spectral_r8
#      (release 9's default, step 8,600) at 1.67e-4 with a fresh Adam state, resumed to step 1,600;
#   2. the `level_control` arm of scripts/compare_level.py: 1,000 steps from link 1's step-1,600 weights,
#      the same recipe with a fresh Adam state, resumed (with its Adam state) to step 2,000;
#   3. checkpoints/exp_cmp/highpass_decay: link 2's step-2,000 weights at a third of the rate
#      (5.56e-5, constant, fresh Adam state), as release 9's chain decayed at its end, up to STEPS.
# The run folders live under checkpoints/exp_cmp/ (not committed: the repository's size budget). Link 3's
# best weights (step 2,000) ship as release 10's default, committed as checkpoints/spectral_r10; the default
# trains on from there with scripts/train_default.sh. Run this one in the background:
#   nohup scripts/train_highpass.sh 1000 > highpass.log 2>&1 &
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"  # the runs' data and init paths are relative to the repository
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export DITAS_DATA=${DITAS_DATA:-../shared/data}
steps=${1:-1000}
hp=checkpoints/exp_cmp/highpass_150
ctl=checkpoints/exp_cmp/level_control
decay=checkpoints/exp_cmp/highpass_decay
if [ ! -f "$decay/config.yaml" ]; then
  if [ ! -f "$ctl/config.yaml" ]; then
    [ -f "$hp/config.yaml" ] || python scripts/compare_highpass.py --arms highpass_150 --steps 1000 --train-only
    python -m ditas_tf train --model-dir "$hp" --steps 1600 --no-progress
    cp "$hp/model.weights.h5" checkpoints/exp_cmp/level_start.weights.h5
    python scripts/compare_level.py --arms level_control --steps 1000 --train-only
  fi
  python -m ditas_tf train --model-dir "$ctl" --steps 2000 --no-progress
  cp "$ctl/model.weights.h5" checkpoints/exp_cmp/decay_start.weights.h5
fi
# The last link: started from link 2's weights with the recipe at a third of its rate, or resumed.
if [ -f "$decay/config.yaml" ]; then
  python -m ditas_tf train --model-dir "$decay" --steps "$steps" --no-progress
else
  python -m ditas_tf train --config cpu10_spectral --model-dir "$decay" $(python scripts/shared_data.py) \
    --set train.init_weights=checkpoints/exp_cmp/decay_start.weights.h5 \
    --set train.learning_rate=5.555555555555556e-05 --set train.lr_decay_steps=0 \
    --set train.checkpoint_every=200 --set train.validate_every=500 --set model.highpass_hz=150 \
    --steps "$steps" --no-progress
fi
