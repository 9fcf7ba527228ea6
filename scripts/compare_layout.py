"""How should the stage networks see the audio? The paper's sample block against time-frequency cells.

    python scripts/compare_layout.py [--steps 2500] [--arms block,spectral] [--train-only | --skip-training]

DITAS reshapes each 4096-sample cover subsequence row-major into a 64 x 64 block, and
the ``cpu`` networks see it after a 4 x 4 space-to-depth: a body pixel holds 4 samples
of 4 rows that lie 64 samples apart. The masked modification, though, is made in a
256-point STFT, so to write or read it a network must learn a DFT that its 3 x 3
convolutions can barely span. ``model.audio_layout=spectral`` gives both networks the
block's STFT instead, grouped into 16 x 16 time-frequency cells (2 frames x 6 bins
each, bins up to 6 kHz), and lets the hiding network write its modification as cells
through an inverse STFT (:class:`ditas_tf.layers.SpectralCells`). The mask, the level,
the pilot, the file and the receiver's search are unchanged.

Both arms train from scratch with the ``cpu`` preset (5 stages, masked, bounded +-6 dB,
22.5 dB) for --steps, same data, same seed, then are evaluated on the comparisons' pairs
(set14 and live1 secrets in LJ002 and TIMIT covers, 16-bit WAV round trip, every stage,
first-fit placement) into docs/results/experiments/layout.json. Run folders live under
checkpoints/exp_cmp/ and resume.
"""

from __future__ import annotations

import os

from shared_data import HERE, arm_arguments, compare_to_control, train_cmd, train_side_by_side

ARMS = {
    "layout_block": (os.path.join("checkpoints", "exp_cmp", "layout_block"), "block"),
    "layout_spectral": (os.path.join("checkpoints", "exp_cmp", "layout_spectral"), "spectral"),
}


def main() -> None:
    a, names = arm_arguments(__doc__.splitlines()[0], ARMS, "compare_layout")
    os.chdir(HERE)  # run folders are relative to the repository
    if not a.skip_training:
        cmds = [
            [
                *train_cmd("cpu", ARMS[n][0]),
                "--set",
                f"model.audio_layout={ARMS[n][1]}",
                "--set",
                "train.checkpoint_every=200",
                "--set",
                "train.validate_every=500",
                "--steps",
                str(a.steps),
                "--no-progress",
            ]  # fmt: skip
            for n in names
        ]
        train_side_by_side(cmds, "compare_layout")
    if a.train_only:
        return
    command = f"python scripts/compare_layout.py --skip-training --arms {','.join(names)} --max-images {a.max_images}"
    # Neither arm is a shipped model: no release-5 control line.
    runs = {n: ARMS[n][0] for n in names}
    compare_to_control(None, runs, command, a.max_images, "layout.json", placement="first")


if __name__ == "__main__":
    main()
