"""Reproduce the paper's Table 1 and Fig. 4 at equal compute (docs/REPRODUCTION.md).

    python scripts/reproduce.py train  [--samples 24000] [--only NAME ...]   # resumable
    python scripts/reproduce.py tsweep [--samples 8000]                      # DITAS-M, t = 1..8
    python scripts/reproduce.py report                                       # eval + docs

Every model uses the `repro` preset (the paper's formulation in the `cpu` width
class), the same data (images/train, LJ001-* covers; validation set5 with
LJ002-00*) and the same number of training samples. Runs live in
runs/repro/<name> and resume from their checkpoints, so the budget may be
spread over several sessions. `report` evaluates every finished model with
`ditas eval` on natural images (set14, live1, imagenet_val, voc) and faces
(celeba), with LJ002-* and the TIMIT sample as covers, and writes
docs/results/reproduction.json and docs/REPRODUCTION.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from shared_data import DATA, HERE, train_cmd

RUNS = os.path.join(HERE, "runs", "repro")

MODELS = {
    "DITAS-S": ["model.variant=S"],
    "DITAS-M": ["model.variant=M"],
    "DITAS-M-E": ["model.variant=M-E"],
    "DITAS-M-D": ["model.variant=M-D"],
    "DITAS-M-ED": ["model.variant=M-ED"],
    "Deep-Steg": ["model.variant=deep-steg"],
    "Kreuk": ["model.variant=kreuk", "model.domain=stft"],
    # Claim (e): the DITAS-M stages in the STFT domain.
    "DITAS-M-STFT": ["model.variant=M", "model.domain=stft", "model.hiding_output=residual"],
}
PAPER = {  # Table 1: natural -> TIMIT, face -> TIMIT: (MSE, PSNR, SSIM, MS-SSIM)
    "Deep-Steg": ((2.7669e-3, 31.40, 0.8624, 0.9576), (2.2258e-3, 31.44, 0.8196, 0.9380)),
    "Kreuk": ((1.3495e-3, 33.68, 0.8893, 0.9671), (9.8872e-4, 33.59, 0.8420, 0.9574)),
    "DITAS-S": ((1.2144e-3, 27.84, 0.8691, 0.9685), (1.1033e-3, 28.05, 0.7682, 0.9340)),
    "DITAS-M": ((1.9249e-3, 37.09, 0.9444, 0.9925), (2.1313e-3, 36.12, 0.8898, 0.9807)),
    "DITAS-M-E": ((9.3864e-4, 37.84, 0.9482, 0.9934), (9.9386e-4, 36.52, 0.8906, 0.9847)),
    "DITAS-M-D": ((1.6904e-3, 38.42, 0.9581, 0.9935), (1.7932e-3, 37.65, 0.9036, 0.9883)),
    "DITAS-M-ED": ((9.8471e-4, 38.39, 0.9597, 0.9944), (1.0582e-3, 37.69, 0.9054, 0.9900)),
}
NATURAL = ["set14", "live1", "imagenet_val", "voc"]


def train(name: str, sets: list, samples: int, extra: list | None = None) -> None:
    steps = samples // 16
    cmd = [
        *train_cmd("repro", os.path.join(RUNS, name)),
        "--steps",
        str(steps),
        "--no-progress",
    ]
    for s in sets + (extra or []):
        cmd += ["--set", s]
    print(f"== {name}: {steps} steps ({samples} samples)", flush=True)
    subprocess.run(cmd, check=True)


def evaluate(names: list, out: str, max_images: int | None = None) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "ditas_tf",
        "eval",
        "--out",
        out,
        "--audio",
        f"{DATA}/audio/LJSpeech-1.1",
        "--audio-select",
        "LJ002",
        "--audio",
        f"{DATA}/audio/timit",
    ]
    for n in names:
        cmd += ["--model", os.path.join(RUNS, n)]
    for s in NATURAL + ["celeba"]:
        cmd += ["--images", f"{DATA}/images/train/voc" if s == "voc" else f"{DATA}/images/test/{s}"]
    if max_images:
        cmd += ["--max-images", str(max_images)]
    subprocess.run(cmd, check=True)
    with open(os.path.join(out, "metrics.json")) as f:
        return json.load(f)


def _group_mean(groups: dict, sets: list, audio: str, key: str) -> float:
    tot, n = 0.0, 0
    for s in sets:
        g = groups[f"{s} x {audio}"]["mean"]
        tot += g[key] * g["count"]
        n += g["count"]
    return tot / n


def main():
    global RUNS
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["train", "tsweep", "report"])
    p.add_argument("--samples", type=int, default=None)
    p.add_argument("--only", nargs="*", default=None)
    p.add_argument("--runs", default=None, help="folder of the runs (default runs/repro)")
    p.add_argument("--max-images", type=int, default=None, help="report: at most this many images per set")
    p.add_argument(
        "--out", default=os.path.join(HERE, "docs", "results", "reproduction.json"), help="report: the JSON to write"
    )
    args = p.parse_args()
    RUNS = args.runs or RUNS
    os.makedirs(RUNS, exist_ok=True)
    if args.cmd == "train":
        for name, sets in MODELS.items():
            if args.only and name not in args.only:
                continue
            train(name, sets, args.samples or 24000)
    elif args.cmd == "tsweep":
        for t in range(1, 9):
            train(f"tsweep-M-t{t}", ["model.variant=M", f"model.stages={t}"], args.samples or 8000)
    else:
        report(args.out, args.max_images)


def report(out: str, max_images: int | None = None):
    names = [n for n in MODELS if os.path.isfile(os.path.join(RUNS, n, "model.weights.h5"))]
    res = evaluate(names, os.path.join(RUNS, "eval"), max_images)
    table = {}
    for n in names:
        m = res["models"][n]
        row = {}
        for audio in ("LJSpeech-1.1:LJ002", "timit"):
            for group, sets in (("natural", NATURAL), ("faces", ["celeba"])):
                row[f"{group} x {audio}"] = {
                    k: _group_mean(m["groups"], sets, audio, k)
                    for k in ("container_mse", "snr_db", "pesq", "psnr", "ssim", "ms_ssim")
                }
        with open(os.path.join(RUNS, n, "validation.jsonl")) as f:
            last = [json.loads(x) for x in f][-1]
        row["training_samples"] = last["step"] * 16
        with open(os.path.join(RUNS, n, "config.yaml")) as f:
            row["config"] = f.read()
        table[n] = row
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(table, f, indent=1)
    print(json.dumps({n: {k: v for k, v in r.items() if k != "config"} for n, r in table.items()}, indent=1))


if __name__ == "__main__":
    main()
