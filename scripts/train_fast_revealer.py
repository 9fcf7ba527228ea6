"""Train a fast revealer against a frozen hider (ditas_tf.fast_revealer), resumably.

    python scripts/train_fast_revealer.py --run-dir checkpoints/fast_r11 [--hider ditas_tf/models/default]
        [--layout per_stage] [--width 16] [--res-blocks 2] [--stage-weight 1] [--learning-rate 1e-3]
        [--lr-decay-steps 0] [--init-weights W] [--steps 20000]

The first call resolves the spec (the hider folder, the network's shape, the recipe, and the shared
data: BSDS200 + T91 secrets, LJ001-* covers, set5 / LJ002-00* validation, as every training script
here) and saves it in RUN_DIR/fast_revealer.yaml; later calls resume from RUN_DIR's checkpoints with
that spec, and only --steps is read. Training logs go to stderr.

    python scripts/train_fast_revealer.py --run-dir checkpoints/fast_r11 --install ditas_tf/models/default

ships the run's best validation beside the model it was trained against (ditas_tf.fast_revealer.install;
`ditas export` then writes and verifies tflite/reveal_fast_*.tflite).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os

from shared_data import DATA, HERE

from ditas_tf.config import DataConfig
from ditas_tf.fast_revealer import SPEC_FILE, FastRevealerConfig, install, run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run-dir", required=True)
    p.add_argument("--hider", default=os.path.join("ditas_tf", "models", "default"))
    p.add_argument("--layout", default="per_stage", choices=("per_stage", "joint"))
    p.add_argument("--width", type=int, default=16, help="channels per stage (per_stage) or in all (joint)")
    p.add_argument("--res-blocks", type=int, default=2)
    p.add_argument("--stage-weight", type=float, default=1.0, help="per_stage: weight of the hider's own R_i")
    p.add_argument("--init-weights", default="", help="warm start from a fast revealer's weights")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--lr-decay-steps", type=int, default=0)
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--install", metavar="MODEL_DIR", help="ship the run's best weights into MODEL_DIR; no training")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.chdir(HERE)
    if a.install:
        print(json.dumps(install(a.run_dir, a.install)))
        return
    spec = None
    if not os.path.isfile(os.path.join(a.run_dir, SPEC_FILE)):
        data = os.path.relpath(DATA, HERE)
        spec = FastRevealerConfig(
            hider=a.hider,
            layout=a.layout,
            width=a.width,
            res_blocks=a.res_blocks,
            stage_weight=a.stage_weight,
            init_weights=a.init_weights,
            learning_rate=a.learning_rate,
            lr_decay_steps=a.lr_decay_steps,
            steps=a.steps,
            data=dataclasses.replace(
                DataConfig(),
                train_images=[f"{data}/images/train/bsd200", f"{data}/images/train/t91"],
                train_audio=[f"{data}/audio/LJSpeech-1.1"],
                val_images=[f"{data}/images/test/set5"],
                val_audio=[f"{data}/audio/LJSpeech-1.1"],
                ljspeech_train_prefixes=["LJ001"],
                ljspeech_val_prefixes=["LJ002-00"],
                random_scale=True,  # as the shipped models were trained
            ),
        )
    run(spec, a.run_dir, a.steps)


if __name__ == "__main__":
    main()
