#!/usr/bin/env bash
# Regenerate export/default and export/quiet from the shipped weights (SavedModel,
# TF Serving models.config, four verified TFLite revealers, metadata.json).
#   scripts/export_default.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}
data=${DITAS_DATA:-$here/../shared/data}
for name in default quiet; do
  # Calibration and verification pairs: the training images and LJ001-* covers.
  ditas export --model "$name" --out "$here/export/$name" \
    --images "$data/images/train/bsd200" --images "$data/images/train/t91" \
    --audio "$data/audio/LJSpeech-1.1"
done
du -b "$here"/export/*/tflite/*.tflite "$here"/export/*/saved_model/ditas/1/variables/* | sort -k2
