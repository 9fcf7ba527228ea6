"""Training-step throughput (samples/s) of the Trainer's own step, for network layouts.

Usage: python scripts/bench_model_step.py [--config cpu] [--steps N] [--set model.width=32 ...]
Prints one JSON line per configuration (scripts/models_table.py collects them).
The step is ditas_tf.trainer.Trainer's (loss, clipping, learning-rate schedule,
strategy.run), fed one fixed batch of the right shapes so that the input
pipeline is not part of the figure (docs/benchmarks.md times the pipeline).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import tensorflow as tf

from ditas_tf.config import load_config
from ditas_tf.trainer import Trainer


def bench(cfg, steps: int, warmup: int = 3) -> float:
    """Samples/s of Trainer.make_train_step() on one repeated batch."""
    m = cfg.model
    b = cfg.train.batch_size
    rng = np.random.default_rng(0)
    batch = {
        "secret_image": rng.random((b, m.image_size, m.image_size, 3), dtype=np.float32),
        "cover_audio": (0.05 * rng.standard_normal((b, m.cover_samples))).astype(np.float32),
    }
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, tmp)
        data = tf.data.Dataset.from_tensors(batch).repeat()
        it = iter(trainer.strategy.experimental_distribute_dataset(data))
        step = trainer.make_train_step()
        for _ in range(warmup):
            step(it)["total"].numpy()
        t0 = time.perf_counter()
        for _ in range(steps):
            out = step(it)
        out["total"].numpy()
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
        json.dumps(
            {
                "variant": m.variant,
                "width": m.width,
                "res_blocks": m.res_blocks,
                "space_to_depth": m.space_to_depth,
                "stages": m.stages,
                "batch": cfg.train.batch_size,
                "samples_per_s": round(sps, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
