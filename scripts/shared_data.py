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


# The release-3 default (committed run folder, 10,800 steps, phase mode at 22 dB) and its learning rate
# where its training stopped (5e-4 / 3 after 8,000 steps): the common start of the equal-budget
# fine-tuning comparisons, whose arms pin its recipe with RELEASE3_SETS.
RELEASE3_WEIGHTS = os.path.join("checkpoints", "default_r3", "model.weights.h5")
RELEASE3_SETS = ("model.mask_mode=phase", "model.target_snr_db=22.0")
DEFAULT_FINAL_LR = 5e-4 / 3


def warm_start_cmd(config: str, model_dir: str, steps: int, weights: str, learning_rate: float, sets=()) -> list:
    """``train_cmd`` warm-started from ``weights`` at a constant ``learning_rate`` for ``steps`` steps,
    checkpointed every 200 and validated every 500; ``sets`` come last and win.

    The common recipe of the equal-budget fine-tuning arms. Paths are relative to the
    repository: run it from there.
    """
    cmd = [
        *train_cmd(config, model_dir),
        "--set", f"train.init_weights={weights}",
        "--set", f"train.learning_rate={learning_rate}",
        "--set", "train.lr_decay_steps=0",
        "--set", "train.checkpoint_every=200",
        "--set", "train.validate_every=500",
        "--steps", str(steps),
        "--no-progress",
    ]  # fmt: skip
    for s in sets:
        cmd += ["--set", s]
    return cmd


def train_side_by_side(cmds: list, prog: str) -> None:
    """Run training commands at once (each gets about a core of this machine) and wait for all;
    exit with a one-line error naming ``prog`` when any fails."""
    import subprocess

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    procs = [subprocess.Popen(cmd, env=env) for cmd in cmds]
    if any(p.wait() for p in procs):
        raise SystemExit(f"{prog}: a training run failed")


def model_with(run: str, sets, folder: str) -> str:
    """``folder``: a model folder with ``run``'s weights and its config changed by ``--set``-style
    ``sets`` (``section.key=value``), for measuring the same network hiding another way. It holds no
    LiteRT graphs, so it runs through Keras."""
    from ditas_tf.config import read_config, save_config, set_value

    cfg = read_config(os.path.join(run, "config.yaml"))
    for item in sets:
        key, value = item.split("=", 1)
        set_value(cfg, key.strip(), value.strip())
    cfg.validate()
    os.makedirs(folder)
    save_config(cfg, os.path.join(folder, "config.yaml"))
    os.symlink(os.path.abspath(os.path.join(run, "model.weights.h5")), os.path.join(folder, "model.weights.h5"))
    return folder


def finetune_cmd(config: str, model_dir: str, steps: int, sets=()) -> list:
    """:func:`warm_start_cmd` from the release-3 default with its recipe (RELEASE3_SETS over
    ``config``) at its final learning rate; ``sets`` come last and win."""
    return warm_start_cmd(config, model_dir, steps, RELEASE3_WEIGHTS, DEFAULT_FINAL_LR, (*RELEASE3_SETS, *sets))


def arm_arguments(description: str, arms: dict, prog: str):
    """The fine-tuning comparisons' command line: (parsed arguments, the arm names asked for).

    Options: --steps, --arms (comma-separated, all by default), --max-images, --skip-training,
    --train-only. An unknown arm exits with a one-line error naming the valid ones.
    """
    import argparse

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--arms", default=",".join(arms))
    p.add_argument("--max-images", type=int, default=8)
    p.add_argument("--skip-training", action="store_true")
    p.add_argument("--train-only", action="store_true")
    a = p.parse_args()
    names = [n for n in a.arms.split(",") if n]
    for n in names:
        if n not in arms:
            sys.exit(f"{prog}: unknown arm {n!r}; choose from {', '.join(arms)}")
    return a, names


# What the fine-tuning comparisons report per arm (ditas eval's overall means).
ARM_KEYS = ("psnr", "ssim", "worst_block_psnr", "span_snr_db", "span_pesq_wb", "file_pesq_wb")


def evaluate_arms(runs: list, max_images: int, **options) -> dict:
    """``ditas eval`` of run folders on the arms' pairs: ``max_images`` set14 and live1 secrets each,
    in LJ002 clips and the TIMIT sample, after a 16-bit WAV round trip (no figures), one copy per
    pair as the arms were measured before hide made copies; ``options`` (``stages``, ``placement``,
    ``copies``) go to :func:`ditas_tf.evaluate.evaluate`."""
    import tempfile

    from ditas_tf.evaluate import evaluate

    options.setdefault("copies", 1)
    with tempfile.TemporaryDirectory() as tmp:
        return evaluate(
            runs,
            [os.path.join(DATA, "images", "test", s) for s in ("set14", "live1")],
            [os.path.join(DATA, "audio", "LJSpeech-1.1"), os.path.join(DATA, "audio", "timit")],
            tmp,
            audio_select=["LJ002"],
            max_images=max_images,
            progress=False,
            figures=False,
            **options,
        )


def arm_summary(model_report: dict) -> dict:
    """One arm's line of a comparison: stage count, pairs, ARM_KEYS and PSNR by stage."""
    o = model_report["overall"]
    return (
        {"stages": model_report["stages"], "pairs": o["count"], "skipped": len(model_report["skipped"])}
        | {k: o[k] for k in ARM_KEYS}
        | {"per_stage_psnr": {s: v["psnr"] for s, v in o["per_stage"].items()}}
    )


def compare_to_control(
    control: str | None, arms: dict, command: str, max_images: int, name: str, extra=None, **options
) -> None:
    """Evaluate release 5's default (``control``; None: arms only) and each arm's run folder (``arms``:
    label -> run) on the arms' pairs (:func:`evaluate_arms`, ``options`` passed on) and write the
    comparison to ``name``.

    Each arm's line: its run, the step evaluated (the latest checkpoint's: model.weights.h5 is written
    with every checkpoint), :func:`arm_summary`, and ``extra(model_report)`` when given.
    """
    from ditas_tf.run_dir import latest_step

    runs = ({"control_r5": control} if control else {}) | arms
    steps_at_eval = {label: latest_step(run) for label, run in runs.items()}
    rep = evaluate_arms(list(runs.values()), max_images, **options)
    result = {"command": command, "arms": {}}
    for (label, run), m in zip(runs.items(), rep["models"].values()):
        line = {"run": run, "trained_steps": steps_at_eval[label]} | arm_summary(m)
        result["arms"][label] = line | (extra(m) if extra else {})
    write_comparison(result, rep["protocol"], arms, name)


def write_comparison(result: dict, protocol: dict, curves: dict, name: str) -> None:
    """Write a comparison to docs/results/experiments/<name> with the eval ``protocol``, copy each
    arm's validation curve beside it (``curves``: label -> run folder) and print the arms."""
    import json
    import shutil

    from ditas_tf.fileio import atomic_write_text

    experiments = os.path.join(HERE, "docs", "results", "experiments")
    result["protocol"] = protocol
    for label, run in curves.items():
        shutil.copyfile(os.path.join(run, "validation.jsonl"), os.path.join(experiments, f"{label}.validation.jsonl"))
    atomic_write_text(os.path.join(experiments, name), json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["arms"], indent=1))


if __name__ == "__main__":
    # For shell use: ditas-train --config cpu --model-dir runs/x $(python scripts/shared_data.py)
    print(" ".join(train_data_args()))
