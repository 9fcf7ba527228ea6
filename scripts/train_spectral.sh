#!/usr/bin/env bash
# Train (or resume) release 8's candidate default: the `cpu10_spectral` preset (10 stages, stage
# networks that see the audio as STFT cells, the noise-to-mask hiding loss; docs/architecture.md).
#
#   scripts/train_spectral.sh [STEPS]     # start, resume or continue the run up to STEPS (default 20000)
#
# Its chain of warm starts:
#   1. the `layout_spectral` arm of the layout comparison: 5 stages (`cpu` + model.audio_layout=spectral)
#      from scratch, stopped at 2,000 steps:
#        python scripts/compare_layout.py --train-only --arms layout_spectral --steps 2000
#   2. its weights grown to 10 stages (stages 6-10 start as copies of stage 5):
#        python scripts/clone_stages.py checkpoints/exp_cmp/layout_spectral START --stages 10 --source 5 --targets 6 7 8 9 10
#   3. this run, from START with the preset's recipe (learning rate 5e-4, divided by 3 every 8,000 steps):
#      5,000 steps in release 8, then resumed with its Adam state (kept on the training machine between
#      sessions) to step 8,600 in release 9, whose weights ship as the default (docs/history.md).
#      It is committed with its weights and config but without Adam's state (ckpt/ is not committed:
#      the repository's size budget), so in a fresh clone a later call continues the chain in
#      checkpoints/spectral_r8_2, warm-started from those weights with the same recipe; copying a kept
#      ckpt/ back into checkpoints/spectral_r8 resumes the run itself instead.
# Each run folder's config.yaml is resolved when the run starts and reused on every resume.
# Run it in the background:
#   nohup scripts/train_spectral.sh 20000 > spectral.log 2>&1 &
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"  # the run's data paths are relative to the repository
run=checkpoints/spectral_r8
arm=checkpoints/exp_cmp/layout_spectral
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export DITAS_DATA=${DITAS_DATA:-../shared/data}  # relative paths in the run folder's config, so a clone elsewhere resumes
steps=${1:-20000}
train() {  # train RUN INIT_WEIGHTS [--set ...]: start RUN from INIT_WEIGHTS with the preset's recipe, or resume it
  if [ -f "$1/config.yaml" ]; then
    python -m ditas_tf train --model-dir "$1" --steps "$steps" --no-progress
  else
    local run_dir=$1 init=$2
    shift 2
    python -m ditas_tf train --config cpu10_spectral --model-dir "$run_dir" $(python scripts/shared_data.py) \
      --set "train.init_weights=$init" --set train.checkpoint_every=200 --set train.validate_every=500 "$@" \
      --steps "$steps" --no-progress
  fi
}
if [ ! -f "$run/config.yaml" ]; then
  mkdir -p "$run"
  python scripts/clone_stages.py "$arm" "$run/grown.weights.h5" --stages 10 --source 5 --targets 6 7 8 9 10
  train "$run" "$run/grown.weights.h5"
elif [ -f "$run/ckpt/checkpoint" ]; then
  train "$run"
else
  # The committed run has its weights but not Adam's state (the repository's size budget): the next
  # link of the chain warm-starts from them in its own folder, with the same recipe at the rate the
  # run had reached (its step counter restarts at 0; the run decayed once, at step 8,000).
  train "${run}_2" "$run/model.weights.h5" --set train.learning_rate=1.6666666666666666e-4
fi
