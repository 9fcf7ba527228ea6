#!/usr/bin/env bash
# Run every benchmark on an otherwise idle machine and write docs/benchmarks.md
# (each section shows the exact command and its output).
#   scripts/run_benchmarks.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export TF_CPP_MIN_LOG_LEVEL=3
out=docs/benchmarks.md.tmp
{
  echo "# Benchmarks"
  echo
  echo "Written by \`scripts/run_benchmarks.sh\` on $(date -u +%Y-%m-%d): $(nproc) CPU cores, no GPU,"
  echo "TensorFlow $(python -c 'import tensorflow as tf; print(tf.__version__)' 2>/dev/null), Python $(python -c 'import platform; print(platform.python_version())')."
  echo "Each section gives the command and what it printed. Nothing else ran on the machine meanwhile."
  echo
} > "$out"
section() {
  local title=$1; shift
  echo "== $title" >&2
  {
    echo "## $title"
    echo
    echo '```'
    echo "\$ $*"
    "$@" 2>&1 | grep -v -E '^(WARNING: All log|I0000|E0000|W0000)|oneDNN|cuda|AVX|INFO: Created TensorFlow Lite'
    echo '```'
    echo
  } >> "$out"
}
section "Training step: the bare model step, cpu preset (issue: core library)" python scripts/bench_model_step.py --config cpu --steps 30
section "Input pipeline, cpu preset (must deliver >= 5x the training step's consumption)" python scripts/bench_pipeline.py --config cpu --seconds 30
section "ditas-train against the bare step (gap must be <= 10 %)" python scripts/bench_train.py --config cpu --steps 300
section "ditas hide / reveal / demo / --help, fresh processes (medians; the floors in docs/speed.md)" python scripts/bench_hide_reveal.py --runs 5 --out docs/results/speed.json --md docs/speed.md
# export/ is a build output (not committed): export the shipped default before timing it.
section "Export of the shipped default (export/default)" bash scripts/export_default.sh
section "TFLite revealers, SavedModel, reference client (export/default)" python scripts/bench_tflite.py --export export/default
cat >> "$out" <<'TEXT'
## Choosing the `cpu` preset: network layouts at equal cost

All 5 stages, 64x64, batch 16, variant M, `cpu` preset otherwise. The `cpu` preset took space-to-depth 4
with width 64 (4x the width of the full-resolution width-16 network for about the same time when it was
chosen) and M-ED (the paper's best variant). The five sections below measure each layout as it runs today.

TEXT
for layout in "1 16" "2 32" "4 64" "4 128" "8 128"; do
  set -- $layout
  section "Layout: space-to-depth $1, width $2 (variant M, cpu preset otherwise)" \
    python scripts/bench_model_step.py --config cpu --set model.variant=M --set model.space_to_depth=$1 --set model.width=$2 --steps 10
done
section "Export sizes" bash -c 'du -b export/default/tflite/*.tflite export/default/saved_model/ditas/1/variables/* | sort -k2'
echo "Each release's LiteRT files, where a reveal spends its time and what the full-int8 revealer needs: docs/profiles.md." >> "$out"
mv "$out" docs/benchmarks.md
echo "wrote docs/benchmarks.md" >&2
