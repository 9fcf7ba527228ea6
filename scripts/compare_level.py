"""One model, several levels: does training the revealer on quieter modifications cost the default's? (docs/hiding_output.md)

    python scripts/compare_level.py [--steps 1000] [--arms level_control,level_jitter] [--train-only | --skip-training]
    python scripts/compare_level.py --shipped [--max-images 6]    # the shipped default at DEFAULT_LEVELS, untrained for them

A `transparent` model (issue #11: span PESQ-WB >= 4.2) hides about 3 dB quieter than the default.
If one set of weights reveals both, the quieter model ships as a hiding level of the same weights,
not as a second network. Hiding the default 2.5 dB quieter without retraining cost it 1.74 dB
(span PESQ-WB 3.98 -> 4.20, PSNR 26.13 -> 24.39 dB on 24 set14 / live1 pairs). Training with
``channel.modification_gain_db=[-4, 0]`` shows the revealer each stage's modification at a random
0-4 dB under the hider's level (``ModificationGain``, training only).

Both arms start from START (the ``highpass_150`` run of scripts/compare_highpass.py, resumed to
step 1,600: copy its model.weights.h5 there) with its recipe (``cpu10_spectral``,
``model.highpass_hz=150``, 1.67e-4 constant, fresh Adam state), side by side for --steps; only the
level jitter differs. Each is evaluated on the comparisons' pairs (set14 and live1 secrets in LJ002
and TIMIT covers, 16-bit WAV, all stages, placed where least audible) hiding at each of LEVELS,
into docs/results/experiments/level.json. Run folders live under checkpoints/exp_cmp/ and resume.
"""

from __future__ import annotations

import os
import sys
import tempfile

from shared_data import (
    DEFAULT_FINAL_LR,
    HERE,
    arm_arguments,
    arm_summary,
    evaluate_arms,
    model_with,
    train_side_by_side,
    warm_start_cmd,
    write_comparison,
)

START = os.path.join("checkpoints", "exp_cmp", "level_start.weights.h5")
BASE = ["model.highpass_hz=150"]
ARMS = {
    "level_control": (os.path.join("checkpoints", "exp_cmp", "level_control"), BASE),
    "level_jitter": (
        os.path.join("checkpoints", "exp_cmp", "level_jitter"),
        [*BASE, "channel.modification_gain_db=[-4.0, 0.0]"],
    ),
}
LEVELS = (22.5, 25.5)
DEFAULT_LEVELS = (22.5, 25.0, 27.5)


def _at_level(run: str, snr_db: float, tmp: str) -> str:
    """A model folder with ``run``'s weights whose hider works at ``snr_db``."""
    folder = os.path.join(tmp, f"{os.path.basename(run)}_{snr_db:g}db")
    return model_with(run, [f"model.target_snr_db={snr_db}"], folder)


def shipped_levels(max_images: int) -> None:
    """The shipped default hiding at DEFAULT_LEVELS, as it was trained (no jitter): level_shipped.json."""
    from ditas_tf.stego import resolve_model_dir

    run = resolve_model_dir("default")
    result = {
        "command": f"python scripts/compare_level.py --shipped --max-images {max_images}",
        "levels_db": list(DEFAULT_LEVELS),
        "arms": {"default": {"run": "default"}},
    }
    with tempfile.TemporaryDirectory() as tmp:
        folders = {lv: _at_level(run, lv, tmp) for lv in DEFAULT_LEVELS}
        rep = evaluate_arms(list(folders.values()), max_images)
        for lv, m in zip(folders, rep["models"].values()):
            result["arms"]["default"][f"{lv:g}db"] = arm_summary(m)
    write_comparison(result, rep["protocol"], {}, "level_shipped.json")


def main() -> None:
    if "--shipped" in sys.argv:
        sys.argv.remove("--shipped")
        a, _ = arm_arguments(__doc__.splitlines()[0], ARMS, "compare_level")
        return shipped_levels(a.max_images)
    a, names = arm_arguments(__doc__.splitlines()[0], ARMS, "compare_level")
    os.chdir(HERE)  # run folders and init paths are relative to the repository
    if not a.skip_training:
        if not os.path.isfile(START):
            sys.exit(f"compare_level: {START} is missing: copy the highpass_150 run's model.weights.h5 there")
        cmds = [
            warm_start_cmd("cpu10_spectral", ARMS[n][0], a.steps, START, DEFAULT_FINAL_LR, ARMS[n][1]) for n in names
        ]
        train_side_by_side(cmds, "compare_level")
    if a.train_only:
        return
    from ditas_tf.run_dir import latest_step

    result = {
        "command": f"python scripts/compare_level.py --skip-training --arms {','.join(names)} --max-images {a.max_images}",
        "levels_db": list(LEVELS),
        "arms": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        folders = {(n, lv): _at_level(ARMS[n][0], lv, tmp) for n in names for lv in LEVELS}
        rep = evaluate_arms(list(folders.values()), a.max_images)
        for (n, lv), m in zip(folders, rep["models"].values()):
            line = result["arms"].setdefault(n, {"run": ARMS[n][0], "trained_steps": latest_step(ARMS[n][0])})
            line[f"{lv:g}db"] = arm_summary(m)
    write_comparison(result, rep["protocol"], {n: ARMS[n][0] for n in names}, "level.json")


if __name__ == "__main__":
    main()
