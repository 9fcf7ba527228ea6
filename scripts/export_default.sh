#!/usr/bin/env bash
# Export the shipped default model to export/default (SavedModel, TF Serving models.config,
# verified TFLite revealers and hiders, metadata.json). export/ is a build output, not committed.
#   scripts/export_default.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}
data=${DITAS_DATA:-$here/../shared/data}
# Calibration and verification pairs: the training images and LJ001-* covers.
# The masked default loses more than the int8 limits (dynamic-range 0.5 dB, full 1.5 dB; measured
# by `ditas export --settings dynamic_int8,full_int8`), so it ships the float files only.
ditas export --model default --out "$here/export/default" --settings float32,float16 \
  --images "$data/images/train/bsd200" --images "$data/images/train/t91" --audio "$data/audio/LJSpeech-1.1"
du -b "$here"/export/default/tflite/*.tflite "$here"/export/default/saved_model/ditas/1/variables/* | sort -k2
