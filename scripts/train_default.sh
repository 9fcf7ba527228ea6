#!/usr/bin/env bash
# Train (or resume) the shipped default model and install it as package data
# (ditas_tf/models/default: portable config, weights, verified LiteRT graphs).
#
#   scripts/train_default.sh [STEPS]          # resume the default's run up to STEPS (default 20000), then install it
#   scripts/train_default.sh install          # only package the run's current weights
#
# Release 9's default is the `cpu10_spectral` run of scripts/train_spectral.sh (10 stages, stage
# networks that see the audio as STFT cells, the noise-to-mask hiding loss; docs/architecture.md,
# docs/hiding_output.md), whose header gives its chain of warm starts and docs/history.md its whole
# history. That script resumes checkpoints/spectral_r8 from its Adam state where the folder has it, or
# continues the chain in checkpoints/spectral_r8_2 from the committed weights; this one installs
# whichever run is the newer link.
# Secrets: BSDS200 and T91; covers: LJ001-* clips; validation: set5 with LJ002-00* clips.
# A new run from scratch in another folder (the shipped architecture, minus its warm-start history):
#   ditas-train --config cpu10_spectral --model-dir runs/mine $(python scripts/shared_data.py)
# Run it in the background:
#   nohup scripts/train_default.sh 20000 > train.log 2>&1 &
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"  # the run's data paths are relative to the repository
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
if [ "${1:-}" != "install" ]; then
  scripts/train_spectral.sh "${1:-20000}"
fi
run=checkpoints/spectral_r8
if [ -f checkpoints/spectral_r8_2/model.weights.h5 ]; then
  run=checkpoints/spectral_r8_2
fi
python scripts/prune_checkpoints.py "$run"
# hide gives a tile all 10 stages when the cover has room (model.hide_stages 0), as release 7 did.
python scripts/install_model.py "$run" ditas_tf/models/default --hide-stages 0
