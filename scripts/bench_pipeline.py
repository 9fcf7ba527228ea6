"""Input-pipeline throughput (examples/s) for a preset on ../shared/data.

    python scripts/bench_pipeline.py [--config cpu] [--seconds 30]

The first pass decodes and caches the corpus; throughput is measured after it.
Compare with the training step's consumption (scripts/bench_model_step.py).
"""

from __future__ import annotations

import argparse
import time

from shared_data import DATA

from ditas_tf import data as data_lib
from ditas_tf.config import load_config


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", default="cpu")
    p.add_argument("--seconds", type=float, default=30.0)
    args = p.parse_args()
    cfg = load_config(
        [args.config],
        [
            f"data.train_images=['{DATA}/images/train/bsd200', '{DATA}/images/train/t91']",
            f"data.train_audio=['{DATA}/audio/LJSpeech-1.1']",
            "data.ljspeech_train_prefixes=[LJ001]",
        ],
    )
    ds = data_lib.train_dataset(cfg)
    it = iter(ds)
    t0 = time.perf_counter()
    # Warm-up: fill the caches (every image and clip decoded once).
    warm = 0
    while time.perf_counter() - t0 < 5 or warm < 60:
        next(it)
        warm += 1
    t1 = time.perf_counter()
    n = 0
    while time.perf_counter() - t1 < args.seconds:
        next(it)
        n += 1
    dt = time.perf_counter() - t1
    b = cfg.train.batch_size
    print(f"warm-up (decode + cache): {t1 - t0:.1f} s for {warm} batches")
    print(f"pipeline {args.config}: {n * b / dt:.1f} examples/s ({n} batches of {b} in {dt:.1f} s)")


if __name__ == "__main__":
    main()
