"""Facts about a training run folder, read without TensorFlow."""

from __future__ import annotations

import os


def latest_checkpoint(run_dir: str) -> str | None:
    """File prefix of the run's latest checkpoint (``ckpt-1500``), or None before the first."""
    path = os.path.join(run_dir, "ckpt", "checkpoint")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        first = f.readline()  # model_checkpoint_path: "ckpt-1500"
    return os.path.basename(first.split('"')[1])


def latest_step(run_dir: str) -> int:
    """The step of the run's latest checkpoint (0 before the first)."""
    name = latest_checkpoint(run_dir)
    return int(name.rsplit("-", 1)[1]) if name else 0
