"""ditas-train throughput against the bare model step (same batch shape).

    python scripts/bench_train.py [--config cpu] [--steps 300]

Runs ditas-train (real pipeline, logging, checkpoints every 100 steps, one
validation) for --steps steps in a fresh folder, reads the samples/s it logged
after warm-up, then times the bare forward+backward+Adam step on random
tensors of the same shape. Prints both and the gap.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from shared_data import HERE, train_cmd


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", default="cpu")
    p.add_argument("--steps", type=int, default=300)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, "run")
        cmd = [
            *train_cmd(args.config, run),
            "--set",
            "train.checkpoint_every=100",
            "--set",
            f"train.validate_every={args.steps}",
            "--set",
            "train.summary_every=50",
            "--steps",
            str(args.steps),
            "--no-progress",
        ]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=env)
        wall = time.perf_counter() - t0
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        acc = EventAccumulator(os.path.join(run, "summaries", "train"), size_guidance={"tensors": 0})
        acc.Reload()
        import tensorflow as tf

        vals = [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in acc.Tensors("samples_per_sec")]
        # Drop the first interval (tracing, cache fill); keep intervals that include checkpoints.
        steady = [v for s, v in vals if s > 50]
        loop = sum(steady) / len(steady)
    out = subprocess.run(
        [
            sys.executable,
            os.path.join(HERE, "scripts", "bench_model_step.py"),
            "--config",
            args.config,
            "--steps",
            "30",
        ],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout.strip()
    bare = json.loads(out.splitlines()[-1])["samples_per_s"]  # bench_model_step prints one JSON line
    print(
        json.dumps(
            {
                "config": args.config,
                "ditas_train_samples_per_s": round(loop, 1),
                "bare_step_samples_per_s": round(bare, 1),
                "gap_percent": round(100 * (1 - loop / bare), 1),
                "wall_s": round(wall, 1),
                "steps": args.steps,
            }
        )
    )


if __name__ == "__main__":
    main()
