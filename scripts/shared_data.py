"""Paths and ditas-train arguments for ../shared/data, used by the scripts here."""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("DITAS_DATA", os.path.join(HERE, "..", "shared", "data"))


def train_data_args() -> list:
    """ditas-train data options: BSDS200 + T91 secrets, LJ001-* covers, set5 / LJ002-00* validation."""
    return [
        "--images", f"{DATA}/images/train/bsd200",
        "--images", f"{DATA}/images/train/t91",
        "--audio", f"{DATA}/audio/LJSpeech-1.1",
        "--val-images", f"{DATA}/images/test/set5",
        "--val-audio", f"{DATA}/audio/LJSpeech-1.1",
        "--set", "data.ljspeech_train_prefixes=[LJ001]",
        "--set", "data.ljspeech_val_prefixes=[LJ002-00]",
    ]  # fmt: skip


def train_cmd(config: str, model_dir: str) -> list:
    """``python -m ditas_tf train`` on the shared data, for a preset and a run folder."""
    return [sys.executable, "-m", "ditas_tf", "train", "--config", config, "--model-dir", model_dir, *train_data_args()]
