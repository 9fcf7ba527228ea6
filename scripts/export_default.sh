#!/usr/bin/env bash
# Regenerate export/default and export/quiet from the shipped weights (SavedModel,
# TF Serving models.config, verified TFLite revealers, metadata.json).
#   scripts/export_default.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}
data=${DITAS_DATA:-$here/../shared/data}
# Calibration and verification pairs: the training images and LJ001-* covers.
common=(--images "$data/images/train/bsd200" --images "$data/images/train/t91" --audio "$data/audio/LJSpeech-1.1")
ditas export --model default --out "$here/export/default" "${common[@]}"
# The quiet model hides 22 dB under the cover: int8 input quantization costs its full-int8
# revealer more than the allowed 1.5 dB, so only the other three settings are exported.
# The quiet model's full-int8 file loses 1.53 dB at step 4,000 (limit 1.5): it ships the other three.
ditas export --model quiet --out "$here/export/quiet" --settings float32,float16,dynamic_int8 "${common[@]}"
du -b "$here"/export/*/tflite/*.tflite "$here"/export/*/saved_model/ditas/1/variables/* | sort -k2
