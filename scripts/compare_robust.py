"""What training through the simulated channel buys, at equal budget (docs/robust_training.md).

    python scripts/compare_robust.py [--steps 2000]

Fine-tunes the release-3 default (checkpoints/default_r3: phase mode at 22 dB)
twice from the same weights, with the same data, seed, learning rate and number
of steps: once with its own recipe (`cpu` with scripts/shared_data.py's
RELEASE3_SETS), once with the `robust` preset over the same recipe (plus
ditas_tf.layers.TrainingChannel between each hiding and revealing stage). Both run folders live under
checkpoints/robust_cmp/ and resume where they stopped. Then the real channel
suite of scripts/robustness.py runs on both and writes
docs/results/robust_training.json and docs/robust_training.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

from shared_data import HERE, finetune_cmd

from ditas_tf.fileio import atomic_write_text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--images-per-set", type=int, default=4)
    p.add_argument("--skip-training", action="store_true", help="only run the suite on the run folders as they are")
    p.add_argument("--render-only", action="store_true", help="only write the Markdown from the JSON")
    a = p.parse_args()
    os.chdir(HERE)  # run folders and the init path are relative to the repository
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    runs = {}
    for preset in ("cpu", "robust"):
        run = os.path.join("checkpoints", "robust_cmp", preset)
        runs[preset] = run
        if a.skip_training or a.render_only:
            continue
        cmd = finetune_cmd(preset, run, a.steps)
        subprocess.run(cmd, check=True, env=env)
    for preset, curve in (("cpu", "phase_control"), ("robust", "robust")):
        shutil.copyfile(
            os.path.join(runs[preset], "validation.jsonl"),
            os.path.join("docs", "results", "experiments", f"{curve}.validation.jsonl"),
        )
    out_json = os.path.join("docs", "results", "robust_training.json")
    if not a.render_only:
        subprocess.run(
            [
                sys.executable,
                os.path.join("scripts", "robustness.py"),
                *[x for r in runs.values() for x in ("--model", r)],
                "--images-per-set",
                str(a.images_per_set),
                "--out",
                out_json,
            ],  # fmt: skip
            check=True,
            env=env,
        )
    with open(out_json, encoding="utf-8") as f:
        suite = json.load(f)
    atomic_write_text(os.path.join("docs", "robust_training.md"), render(suite, runs, a.steps))


def render(suite: dict, runs: dict, steps: int) -> str:
    """docs/robust_training.md: the two arms side by side, from the suite's JSON."""
    plain, robust = (suite["models"][runs[k]] for k in ("cpu", "robust"))
    out = [
        "# Training through the channel: what it buys at equal budget\n",
        f"Written by `python scripts/compare_robust.py --steps {steps}` (numbers in "
        "docs/results/robust_training.json, from "
        f"`{suite['command']} --out docs/results/robust_training.json`).\n",
        f"Both arms start from the release-3 default (`checkpoints/default_r3`, phase mode at 22 dB) and train {steps} more steps with the same data, "
        "seed and learning rate (its final 1.67e-4, constant). `cpu` is its own recipe; "
        "`robust` adds `ditas_tf.layers.TrainingChannel` between every hiding and revealing stage (the `robust` "
        "preset: codec proxy, low-pass, gain, white noise and 8- to 16-bit rounding, each example its own draw). "
        "Each container is then put through the real channel suite of docs/ROBUSTNESS.md (real ffmpeg codecs, "
        "soxr, no re-alignment by hand) and revealed by the receiver's own synchronisation. PSNR on uint8, "
        "mean over the pairs that revealed; a failure is a reveal that found no hidden image (the pilot was not "
        "found: the synchronisation's limit, which training does not change), so where the failures differ the "
        "two PSNRs are over different pairs.\n",
    ]
    pesq = [m["none"].get("span_pesq_wb") for m in (plain, robust)]
    if None not in pesq:
        out.append(f"Span PESQ-WB of the containers (no channel): `cpu` {pesq[0]:.2f}, `robust` {pesq[1]:.2f}.\n")
    out.append("| channel | `cpu` PSNR (dB) | `robust` PSNR (dB) | gain (dB) | `cpu` failures | `robust` failures |")
    out.append("|---|---|---|---|---|---|")
    for ch, a in plain.items():
        b = robust[ch]
        gain = b["psnr"] - a["psnr"]
        out.append(
            f"| {ch} | {a['psnr']:.2f} | {b['psnr']:.2f} | {gain:+.2f} | "
            f"{a['failures']} of {a['pairs']} | {b['failures']} of {b['pairs']} |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
