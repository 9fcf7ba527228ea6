"""Ways to make the release-5 default less audible, measured at equal budget (docs/hiding_output.md).

    python scripts/compare_audibility.py [--steps 2000] [--arms exp075_18db,nmr_1e-4] [--train-only]

Two ideas:

* a steeper mask at a lower level (``exp075_18db``, ``exp1_16db``);
* a noise-to-mask hiding loss (``train.hiding_loss=nmr``, :func:`ditas_tf.losses.nmr_excess_db`)
  at two weights (``nmr_1e-4``, ``nmr_4e-4``): the release-5 network uses its +-10 dB of
  freedom to whiten its modification (it raises the bins where the speech is weak), and
  its modification exceeds the cover's bins minus 10 dB by 6 dB on average where noise
  shaped by the same mask does by 4 dB.

The steeper masks:

Noise shaped by ``|C| ** exponent`` (scripts/mask_calibration.py) is as audible at
exponent 0.75 and 18 dB, or exponent 1 and 16 dB, as at the release-5 default's
exponent 0.5 and 22.5 dB: a steeper mask buys 4.5 to 6.5 dB more modification for
the same span PESQ-WB. Whether the revealer can use it is what this measures.
An arm stopped early is evaluated at its last checkpoint; the JSON gives each
arm's ``trained_steps`` (``exp1_16db`` was stopped at 1,000 steps, 3 dB behind).

Every arm starts from the release-5 default's weights (checkpoints/default_r5,
6,000 steps) and trains --steps more with its recipe (the ``cpu10`` preset, learning
rate 1.67e-4 constant), changing only the mask's exponent and the target SNR. The
control is the release-5 run itself: its own validation curve gained 0.05 dB over
its last 2,000 steps at this learning rate (checkpoints/default_r5/validation.jsonl),
and its evaluation is run here beside the arms on the same pairs.

Run folders live under checkpoints/exp_cmp/ and resume; arms can train in
parallel (``--train-only --arms NAME``, one process each). Each arm is then evaluated
on set14 and live1 secrets in LJ002 and TIMIT covers after a 16-bit WAV round trip,
with span PESQ-WB, into docs/results/experiments/audibility.json (the arms'
validation curves beside it, as <arm>.validation.jsonl).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from shared_data import DATA, HERE, train_cmd

from ditas_tf.evaluate import evaluate
from ditas_tf.fileio import atomic_write_text

KEYS = ("psnr", "ssim", "worst_block_psnr", "span_snr_db", "span_pesq_wb", "file_pesq_wb")
CONTROL = os.path.join("checkpoints", "default_r5")
START = os.path.join(CONTROL, "model.weights.h5")
LR = 5e-4 / 3  # the release-5 run's constant learning rate
ARMS = {
    "exp075_18db": (
        os.path.join("checkpoints", "exp_cmp", "exp075_18db"),
        ["model.mask_exponent=0.75", "model.target_snr_db=18.0"],
    ),
    "exp1_16db": (
        os.path.join("checkpoints", "exp_cmp", "exp1_16db"),
        ["model.mask_exponent=1.0", "model.target_snr_db=16.0"],
    ),
    "nmr_1e-4": (
        os.path.join("checkpoints", "exp_cmp", "nmr_1e-4"),
        ["train.hiding_loss=nmr", "train.hiding_weight=1e-4", "train.nmr_offset_db=10.0"],
    ),
    "nmr_4e-4": (
        os.path.join("checkpoints", "exp_cmp", "nmr_4e-4"),
        ["train.hiding_loss=nmr", "train.hiding_weight=4e-4", "train.nmr_offset_db=10.0"],
    ),
}


def arm_cmd(run: str, steps: int, sets) -> list:
    """``ditas train`` for one arm: the release-5 recipe warm-started from its weights, ``sets`` last."""
    cmd = [
        *train_cmd("cpu10", run),
        "--set", f"train.init_weights={START}",
        "--set", f"train.learning_rate={LR}",
        "--set", "train.lr_decay_steps=0",
        "--set", "train.checkpoint_every=200",
        "--set", "train.validate_every=500",
        "--steps", str(steps),
        "--no-progress",
    ]  # fmt: skip
    for s in sets:
        cmd += ["--set", s]
    return cmd


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--arms", default=",".join(ARMS))
    p.add_argument("--max-images", type=int, default=8)
    p.add_argument("--skip-training", action="store_true")
    p.add_argument("--train-only", action="store_true")
    a = p.parse_args()
    names = [n for n in a.arms.split(",") if n]
    for n in names:
        if n not in ARMS:
            sys.exit(f"compare_audibility: unknown arm {n!r}; choose from {', '.join(ARMS)}")
    os.chdir(HERE)  # run folders and init paths are relative to the repository
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if not a.skip_training:
        for n in names:
            run, sets = ARMS[n]
            subprocess.run(arm_cmd(run, a.steps, sets), check=True, env=env)
    if a.train_only:
        return
    runs = [CONTROL] + [ARMS[n][0] for n in names]
    labels = ["control_r5"] + names
    result = {
        "command": f"python scripts/compare_audibility.py --steps {a.steps} --arms {','.join(names)} "
        f"--max-images {a.max_images}",
        "steps": a.steps,
        "arms": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        rep = evaluate(
            runs,
            [os.path.join(DATA, "images", "test", s) for s in ("set14", "live1")],
            [os.path.join(DATA, "audio", "LJSpeech-1.1"), os.path.join(DATA, "audio", "timit")],
            tmp,
            audio_select=["LJ002"],
            max_images=a.max_images,
            progress=False,
            figures=False,
        )
    for n, run, m in zip(labels, runs, rep["models"].values()):
        o = m["overall"]
        with open(os.path.join(run, "validation.jsonl")) as f:
            last = json.loads(f.read().splitlines()[-1])  # the weights evaluated are the last validated
        result["arms"][n] = (
            {"run": run, "trained_steps": last["step"], "validation_psnr": last["psnr"]}
            | {"stages": m["stages"], "pairs": o["count"], "skipped": len(m["skipped"])}
            | {"stages_used": o.get("hidden_stages")}
            | {k: o[k] for k in KEYS}
            | {"per_stage_psnr": {s: v["psnr"] for s, v in o["per_stage"].items()}}
        )
    result["protocol"] = rep["protocol"]
    for n in names:  # the arms' validation curves beside the results
        shutil.copyfile(
            os.path.join(ARMS[n][0], "validation.jsonl"),
            os.path.join("docs", "results", "experiments", f"{n}.validation.jsonl"),
        )
    out = os.path.join("docs", "results", "experiments", "audibility.json")
    atomic_write_text(out, json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["arms"], indent=1))


if __name__ == "__main__":
    main()
