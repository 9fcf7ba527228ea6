"""The revealers of an export side by side on the test set: revealed quality and LiteRT latency.

    python scripts/eval_fast_revealer.py [--model default] [--export export/default] [--max-images 0]
        [--no-timing] [--out docs/results/fast_revealer.json]

Pairs: the test secrets (set14, live1, imagenet_val, voc, celeba at 64x64, evaluation protocol) in
consecutive t-block windows of the test covers from their starts (LJ002-* and the TIMIT sample, whose
2.9 s hold one), hidden by the model's
Keras hider with every stage and stored as 16-bit samples, as a WAV file holds them. Each revealer
reads the same containers: the model's Keras revealer, and every reveal*.tflite file of the export
(scripts/export_default.sh; with a fast revealer shipped beside the model, reveal_fast_*.tflite too).
PSNR and SSIM are taken on uint8 images, per image, then averaged per group and over the groups.
Latency: ms per 64x64 image (one container) on 1 and 2 threads, as scripts/profile_reveal.py times
it (the median of 7 repeats, the files in turn), in a fresh process that never imports TensorFlow (whose idle threads would share the cores), before
the evaluation; run it on an idle machine, or pass --no-timing.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys

import numpy as np
from shared_data import DATA, HERE

from ditas_tf.audio import pcm16_roundtrip
from ditas_tf.fileio import atomic_write_text

IMAGE_SETS = {
    "set14": "images/test/set14",
    "live1": "images/test/live1",
    "imagenet_val": "images/test/imagenet_val",
    "voc": "images/train/voc",
    "celeba": "images/test/celeba",
}
COVERS = {"LJ002": ("audio/LJSpeech-1.1", ["LJ002"]), "timit": ("audio/timit", None)}


def _pairs(steg, max_images: int) -> dict:
    from ditas_tf import data as data_lib

    cfg = steg.cfg
    out = {}
    for cname, (root, prefixes) in COVERS.items():
        clips = data_lib.list_audio([os.path.join(DATA, root)], prefixes)  # as `ditas eval --audio-select`
        for iname, folder in IMAGE_SETS.items():
            files = data_lib.list_images([os.path.join(DATA, folder)], "val")
            if max_images:
                files = files[:max_images]
            secrets, _ = data_lib.eval_images(files, cfg.model.image_size)
            covers = _windows(clips, cfg.model.cover_samples, cfg.data.sample_rate, len(secrets))
            out[f"{iname}/{cname}"] = (secrets, covers)
    return out


def _windows(clips: list, samples: int, rate: int, count: int) -> np.ndarray:
    """Consecutive cover windows of ``samples`` from the start of each clip, in order, cycled to ``count``."""
    from ditas_tf.audio import load_mono

    windows = []
    for path in clips:
        x = load_mono(path, rate)
        windows += [x[i : i + samples] for i in range(0, len(x) - samples + 1, samples)]
    return np.stack([windows[i % len(windows)] for i in range(count)]).astype(np.float32)


def _scores(secrets, revealed) -> dict:
    from ditas_tf.evaluate import quantize_uint8, worst_block_psnr
    from ditas_tf.metrics import psnr, ssim

    rev = quantize_uint8(np.clip(revealed, 0, 1))
    return {
        "psnr": float(np.mean(psnr(secrets, rev))),
        "ssim": float(np.mean(ssim(secrets, rev))),
        "worst_block_psnr": float(np.mean([worst_block_psnr(s, r) for s, r in zip(secrets, rev)])),
    }


def _time(files: list, samples: int, repeats: int = 7) -> dict:
    """ms per container of each file on 1 and 2 threads (ai_edge_litert only: no TensorFlow here).

    Each figure is the median of ``repeats`` means of 200 calls, the files taken in turn in every
    repeat, so that a slow spell of a shared machine falls on all of them alike.
    """
    from profile_reveal import _ms

    x = pcm16_roundtrip(0.05 * np.random.default_rng(0).standard_normal((1, samples)))
    runs = {(f, n): [] for f in files for n in (1, 2)}
    for _ in range(repeats):
        for f, n in runs:
            runs[(f, n)].append(_ms(f, n, x))
    return {
        os.path.basename(f)[: -len(".tflite")]: {
            "bytes": os.path.getsize(f),
            "ms_per_image_1_thread": round(float(np.median(runs[(f, 1)])), 3),
            "ms_per_image_2_threads": round(float(np.median(runs[(f, 2)])), 3),
            "ms_2_threads_all_repeats": [round(v, 3) for v in runs[(f, 2)]],
        }
        for f in files
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="default")
    p.add_argument("--export", default=os.path.join(HERE, "export", "default"))
    p.add_argument("--max-images", type=int, default=0, help="per image set (0: all)")
    p.add_argument("--no-timing", action="store_true")
    p.add_argument("--out", default=os.path.join(HERE, "docs", "results", "fast_revealer.json"))
    p.add_argument("--time-files", nargs="+", help=argparse.SUPPRESS)  # the TensorFlow-free timing process
    a = p.parse_args()
    if a.time_files:
        print(json.dumps(_time(a.time_files, int(a.max_images))))
        return
    files = sorted(glob.glob(os.path.join(a.export, "tflite", "reveal*.tflite")))
    meta = json.load(open(os.path.join(a.export, "metadata.json")))
    timing = {}
    if not a.no_timing:
        cmd = [sys.executable, __file__, "--max-images", str(meta["container_samples"]), "--time-files", *files]
        timing = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        print(json.dumps(timing, indent=1), flush=True)
    from ditas_tf.export_lib import run_tflite
    from ditas_tf.stego import Steganographer

    steg = Steganographer.load(a.model, backend="keras")
    t = steg.cfg.model.stages
    names = ["keras"] + [os.path.basename(f)[: -len(".tflite")] for f in files]
    groups = {}
    for group, (secrets, covers) in _pairs(steg, a.max_images).items():
        containers = pcm16_roundtrip(steg.runner.hide(secrets, covers, t))
        rows = {"pairs": len(secrets), "keras": _scores(secrets, steg.runner.reveal(containers, t)[:, -1])}
        for f, name in zip(files, names[1:]):
            rows[name] = _scores(secrets, run_tflite(f, containers)[0])
        groups[group] = rows
        print(group, json.dumps({k: round(v["psnr"], 3) for k, v in rows.items() if k != "pairs"}), flush=True)
    mean = {
        name: {k: float(np.mean([g[name][k] for g in groups.values()])) for k in ("psnr", "ssim", "worst_block_psnr")}
        for name in names
    }
    command = f"python scripts/eval_fast_revealer.py --model {a.model}"
    if a.max_images:
        command += f" --max-images {a.max_images}"
    command += " --no-timing" * a.no_timing + f" --out {os.path.relpath(a.out, HERE)}"
    result = {"command": command, "mean_over_groups": mean, "timing": timing, "groups": groups}
    result["export"] = {k: v for k, v in meta.items() if k in ("fast_revealer", "verification")}
    atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps({"mean_over_groups": mean, "timing": timing}, indent=1))


if __name__ == "__main__":
    main()
