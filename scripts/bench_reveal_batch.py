"""Batch reveal throughput (images/s) of the shipped models, Keras revealer on CPU.

python scripts/bench_reveal_batch.py
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from ditas_tf.stego import Steganographer


def main():
    for name in ("default", "quiet"):
        steg = Steganographer.load(name)
        rev = steg.system.revealer()
        fn = tf.function(lambda x, rev=rev: rev(x, training=False)["revealed_image"])
        x = tf.constant(
            (0.05 * np.random.default_rng(0).standard_normal((64, steg.cfg.model.cover_samples))).astype(np.float32)
        )
        for _ in range(3):
            fn(x)
        t0 = time.perf_counter()
        n = 10
        for _ in range(n):
            fn(x).numpy()
        dt = time.perf_counter() - t0
        print(f"{name}: batch reveal {n * 64 / dt:.1f} images/s (batch 64, tf.function, CPU)")


if __name__ == "__main__":
    main()
