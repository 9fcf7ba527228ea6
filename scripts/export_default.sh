#!/usr/bin/env bash
# Regenerate export/default and export/quiet from the shipped weights (SavedModel,
# TF Serving models.config, four verified TFLite revealers, metadata.json).
#   scripts/export_default.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}
for name in default quiet; do
  ditas export --model "$name" --out "$here/export/$name"
done
du -b "$here"/export/*/tflite/*.tflite "$here"/export/*/saved_model/ditas/1/variables/* | sort -k2
