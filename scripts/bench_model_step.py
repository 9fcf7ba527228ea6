"""Bare model training-step throughput (samples/s) for network layouts.

Usage: python scripts/bench_model_step.py [--steps N] [--set model.width=32 ...]
Prints one line per configuration; used to choose the ``cpu`` preset
(docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np
import tensorflow as tf

from ditas_tf.config import load_config
from ditas_tf.losses import batch_losses, per_example_losses
from ditas_tf.networks import build_system


def bench(cfg, steps: int, warmup: int = 3) -> float:
    """Samples/s of forward+backward+Adam on random data of the right shapes."""
    m = cfg.model
    system = build_system(m)
    model = system.training_model
    opt = keras.optimizers.Adam(1e-4)
    b = cfg.train.batch_size
    rng = np.random.default_rng(0)
    secret = tf.constant(rng.random((b, m.image_size, m.image_size, 3), dtype=np.float32))
    cover = tf.constant(0.05 * rng.standard_normal((b, m.cover_samples)).astype(np.float32))
    lam = cfg.lambdas()

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            out = model({"secret_image": secret, "cover_audio": cover}, training=True)
            loss = batch_losses(per_example_losses(out, cover, m.stages, lam), b)["total"]
        grads = tape.gradient(loss, model.trainable_weights)
        opt.apply_gradients(zip(grads, model.trainable_weights))
        return loss

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * b / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", action="append", default=[])
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--steps", type=int, default=10)
    args = p.parse_args()
    cfg = load_config(args.config or ["cpu"], args.set)
    sps = bench(cfg, args.steps)
    m = cfg.model
    print(
        f"variant={m.variant} width={m.width} res_blocks={m.res_blocks} "
        f"space_to_depth={m.space_to_depth} stages={m.stages} batch={cfg.train.batch_size}: "
        f"{sps:.1f} samples/s"
    )


if __name__ == "__main__":
    main()
