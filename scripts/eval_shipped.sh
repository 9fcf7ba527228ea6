#!/usr/bin/env bash
# Evaluate the shipped model beside the release-9, release-7, release-5, release-4 and release-3 defaults and the retired white models of release 2,
# for docs/RESULTS.md.
#   scripts/eval_shipped.sh
# Secrets: set14, live1, imagenet_val, voc, celeba at 64x64 (deterministic protocol);
# covers: LJ002-* and the TIMIT sample; every container goes through a real 16-bit WAV.
# Audibility is measured over the carrying span (ditas_tf/span.py).
# The rate-distortion figure also draws docs/results/whole_cover.json and
# docs/results/experiments/level_shipped.json: when the shipped weights change, re-run
# scripts/whole_cover.py and scripts/compare_level.py --shipped, then scripts/results_md.py.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${DITAS_DATA:-$here/../shared/data}
out=$here/docs/results/shipped
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The retired models are run folders; links give them distinct names in the report.
# Release 5's default shipped with hide's cap at 8 of its 10 stages (model.hide_stages); its run folder has none.
mkdir "$tmp/release5_default"
ln -s "$here/checkpoints/default_r5/model.weights.h5" "$tmp/release5_default/model.weights.h5"
python - "$here/checkpoints/default_r5/config.yaml" "$tmp/release5_default/config.yaml" <<'PY'
import sys

from ditas_tf.config import read_config, save_config

cfg = read_config(sys.argv[1])
cfg.model.hide_stages = 8
save_config(cfg, sys.argv[2])
PY
ln -s "$here/checkpoints/spectral_r8" "$tmp/release9_default"
ln -s "$here/checkpoints/default_r7" "$tmp/release7_default"
ln -s "$here/checkpoints/default_r4" "$tmp/release4_default"
ln -s "$here/checkpoints/default_r3" "$tmp/phase_default"
ln -s "$here/checkpoints/default" "$tmp/white_default"
ln -s "$here/checkpoints/quiet" "$tmp/white_quiet"
ditas eval --model default --model "$tmp/release9_default" --model "$tmp/release7_default" --model "$tmp/release5_default" --model "$tmp/release4_default" --model "$tmp/phase_default" --model "$tmp/white_default" --model "$tmp/white_quiet" \
  --images "$data/images/test/set14" --images "$data/images/test/live1" \
  --images "$data/images/test/imagenet_val" --images "$data/images/train/voc" \
  --images "$data/images/test/celeba" \
  --audio "$data/audio/LJSpeech-1.1" --audio-select LJ002 --audio "$data/audio/timit" \
  --out "$out"
python "$here/scripts/results_md.py" "$out/metrics.json" --figure "$out/rate_distortion.png" > "$here/docs/RESULTS.md.tmp"
mv "$here/docs/RESULTS.md.tmp" "$here/docs/RESULTS.md"
# The demo's own numbers (the README quotes them; tests/test_promises.py pins them).
ditas demo --out "$tmp/demo" --json "$out/demo.json"
