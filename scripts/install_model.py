"""Package a training run as a model folder: portable config, weights, verified LiteRT graphs.

    python scripts/install_model.py checkpoints/masked_default ditas_tf/models/default \
        --images ../shared/data/images/train/bsd200 --audio ../shared/data/audio/LJSpeech-1.1

The folder gets config.yaml (no machine paths: ditas_tf.config.portable_config),
model.weights.h5 (the run's latest weights), and hide_float32.tflite /
reveal_float32.tflite with graphs.json, written and verified against Keras by
ditas_tf.export_lib.package_graphs. Every file is replaced atomically.
``--hide-stages K`` caps the stages ``ditas hide`` picks on its own (model.hide_stages).
``--fast-revealer RUN_DIR`` adds a fast revealer trained against this model's hider
(scripts/train_fast_revealer.py): the weights of its best validation and its spec without the
run's machine paths (fast_revealer.yaml), which ``ditas export`` turns into reveal_fast_*.tflite.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil

from ditas_tf.config import portable_config, read_config, save_config
from ditas_tf.export_lib import package_graphs
from ditas_tf.fast_revealer import install


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="training run folder (config.yaml, model.weights.h5)")
    p.add_argument("dest", help="model folder to write (for example ditas_tf/models/default)")
    p.add_argument("--images", action="append", default=None, help="verification images (default: the run's)")
    p.add_argument("--audio", action="append", default=None, help="verification audio (default: the run's)")
    p.add_argument(
        "--hide-stages", type=int, default=None, help="model.hide_stages of the package (most stages hide picks)"
    )
    p.add_argument("--fast-revealer", default=None, help="fast revealer run folder to ship beside the model")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cfg = read_config(os.path.join(a.run, "config.yaml"))
    if a.hide_stages is not None:
        cfg.model.hide_stages = a.hide_stages  # inference policy only: the weights do not change
        cfg.validate()
    os.makedirs(a.dest, exist_ok=True)
    save_config(portable_config(cfg), os.path.join(a.dest, "config.yaml"))
    tmp = os.path.join(a.dest, ".tmp.weights.h5")
    shutil.copyfile(os.path.join(a.run, "model.weights.h5"), tmp)
    os.replace(tmp, os.path.join(a.dest, "model.weights.h5"))
    images = a.images or cfg.data.train_images
    audio = a.audio or cfg.data.train_audio
    report = package_graphs(a.dest, images, audio)
    print(json.dumps(report["verification"], indent=1))
    if a.fast_revealer:
        print("fast revealer:", json.dumps(install(a.fast_revealer, a.dest)))


if __name__ == "__main__":
    main()
