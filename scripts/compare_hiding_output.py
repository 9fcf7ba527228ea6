"""Measure the three hiding outputs at equal budget (docs/hiding_output.md).

    python scripts/compare_hiding_output.py [--steps 250]

Trains the `cpu` architecture (variant M) three times from scratch with the same
data, seed and steps: H_i outputs the container (eq. 1, MSE hiding loss),
a residual added to the cover (MSE hiding loss), or a residual rescaled to a
fixed 10 dB SNR. Prints the last validation (set5 secrets, LJ002-00* covers,
after 16-bit rounding): PSNR and container SNR.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile

from shared_data import train_cmd

VARIANTS = {
    "container": ["model.hiding_output=container", "model.normalize_audio=false", "model.lowpass_hz=0"],
    "residual": ["model.hiding_output=residual", "model.normalize_audio=false", "model.lowpass_hz=0"],
    "residual_fixed_snr (10 dB)": ["model.hiding_output=residual_fixed_snr"],
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=250)
    args = p.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    print("| hiding output | steps | validation PSNR (dB) | validation SNR (dB) |\n|---|---|---|---|")
    for name, sets in VARIANTS.items():
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                *train_cmd("cpu", tmp),
                "--set",
                "model.variant=M",
                "--set",
                f"train.validate_every={args.steps}",
                "--set",
                "train.checkpoint_every=100000",
                "--steps",
                str(args.steps),
                "--no-progress",
            ]
            for s in sets:
                cmd += ["--set", s]
            subprocess.run(cmd, check=True, env=env, stderr=subprocess.DEVNULL)
            with open(os.path.join(tmp, "validation.jsonl")) as f:
                last = json.loads(f.read().splitlines()[-1])
        print(f"| {name} | {args.steps} | {last['psnr']:.2f} | {last['snr_db']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
