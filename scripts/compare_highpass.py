"""Does keeping the modification out of the low band cost image quality? (docs/hiding_output.md)

    python scripts/compare_highpass.py [--steps 1000] [--arms highpass_control,highpass_150] [--train-only | --skip-training]

Release 9's default writes into every STFT bin from 0 Hz, and its networks read them: a 100 Hz
high-pass (the DC-blocking and rumble filters of recorders and editors) costs it 2.28 dB of
revealed PSNR, a 50 Hz one 1.06 dB, where release 7's block-layout default lost nothing.
``model.highpass_hz=150`` leaves the bins under 150 Hz out of the modification and out of
what the networks read (:func:`ditas_tf.masking.first_bin`).

Both arms start from the release-9 default's weights (``checkpoints/spectral_r8``, step 8,600)
with the ``cpu10_spectral`` recipe at its decayed learning rate (1.67e-4, constant, fresh Adam
state), side by side on this machine, for --steps; only the high-pass differs. Each is then
evaluated on the comparisons' pairs (set14 and live1 secrets in LJ002 and TIMIT covers, 16-bit WAV,
every stage, placed where least audible) clean and after each of HIGHPASSES, into
docs/results/experiments/highpass.json (the validation curves beside it). Run folders live under
checkpoints/exp_cmp/ and resume.
"""

from __future__ import annotations

import os

from shared_data import (
    DEFAULT_FINAL_LR,
    HERE,
    arm_arguments,
    compare_to_control,
    evaluate_arms,
    train_side_by_side,
    warm_start_cmd,
)

START = os.path.join("checkpoints", "spectral_r8", "model.weights.h5")
ARMS = {
    "highpass_control": (os.path.join("checkpoints", "exp_cmp", "highpass_control"), []),
    "highpass_150": (os.path.join("checkpoints", "exp_cmp", "highpass_150"), ["model.highpass_hz=150"]),
}
HIGHPASSES = ("highpass:50", "highpass:100", "highpass:200")


def main() -> None:
    a, names = arm_arguments(__doc__.splitlines()[0], ARMS, "compare_highpass")
    os.chdir(HERE)  # run folders and init paths are relative to the repository
    if not a.skip_training:
        cmds = [
            warm_start_cmd("cpu10_spectral", ARMS[n][0], a.steps, START, DEFAULT_FINAL_LR, ARMS[n][1]) for n in names
        ]
        train_side_by_side(cmds, "compare_highpass")
    if a.train_only:
        return
    runs = {n: ARMS[n][0] for n in names}

    def through_highpasses(report: dict) -> dict:
        # The same pairs again, each container high-passed before the receiver sees it.
        label = next(k for k, v in runs.items() if os.path.abspath(v) == os.path.abspath(report["model"]))
        out = {}
        for spec in HIGHPASSES:
            rep = evaluate_arms([runs[label]], a.max_images, channels=(spec,))
            o = next(iter(rep["models"].values()))["overall"]
            out[spec] = {"psnr": o["psnr"], "ssim": o["ssim"], "pairs": o["count"]}
        return {"channels": out}

    command = f"python scripts/compare_highpass.py --skip-training --arms {','.join(names)} --max-images {a.max_images}"
    compare_to_control(None, runs, command, a.max_images, "highpass.json", extra=through_highpasses)


if __name__ == "__main__":
    main()
