#!/usr/bin/env bash
# Train (or resume) release 8's candidate default: the `cpu10_spectral` preset (10 stages, stage
# networks that see the audio as STFT cells, the noise-to-mask hiding loss; docs/architecture.md).
#
#   scripts/train_spectral.sh [STEPS]     # start or resume checkpoints/spectral_r8 up to STEPS (default 20000)
#
# Its chain of warm starts:
#   1. the `layout_spectral` arm of the layout comparison: 5 stages (`cpu` + model.audio_layout=spectral)
#      from scratch, stopped at 2,000 steps:
#        python scripts/compare_layout.py --train-only --arms layout_spectral --steps 2000
#   2. its weights grown to 10 stages (stages 6-10 start as copies of stage 5):
#        python scripts/clone_stages.py checkpoints/exp_cmp/layout_spectral START --stages 10 --source 5 --targets 6 7 8 9 10
#   3. this run, from START with the preset's recipe (learning rate 5e-4, divided by 3 every 8,000 steps).
# The run folder's config.yaml is resolved when the run starts and reused on every resume.
# Run it in the background:
#   nohup scripts/train_spectral.sh 20000 > spectral.log 2>&1 &
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"  # the run's data paths are relative to the repository
run=checkpoints/spectral_r8
arm=checkpoints/exp_cmp/layout_spectral
start=$run/grown.weights.h5
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
if [ ! -f "$run/config.yaml" ]; then
  mkdir -p "$run"
  python scripts/clone_stages.py "$arm" "$start" --stages 10 --source 5 --targets 6 7 8 9 10
  python -m ditas_tf train --config cpu10_spectral --model-dir "$run" $(python scripts/shared_data.py) \
    --set "train.init_weights=$start" --set train.checkpoint_every=200 --set train.validate_every=500 \
    --steps "${1:-20000}" --no-progress
else
  python -m ditas_tf train --model-dir "$run" --steps "${1:-20000}" --no-progress
fi
