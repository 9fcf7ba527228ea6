"""Wall-clock of the CLI as a user runs it: median of fresh processes, TensorFlow's import beside it.

    python scripts/bench_hide_reveal.py --runs 5 --out docs/results/speed.json --md docs/speed.md

Each command is a new `ditas` process (what a user waits for, start-up
included), timed --runs times; the median is reported. `python -c "import
tensorflow"` is timed the same way in the same run, as the ratio's reference.
Inputs: the bundled 64x64 image in the bundled 7.9 s LJ Speech clip, and set14's
baboon at 256x256 in a 26.5 s cover (the first four LJ002 clips joined: a
256x256 image needs 16 stretches of 1.28 s of continuous speech).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf
from PIL import Image

from ditas_tf.demo import sample_paths
from ditas_tf.fileio import atomic_write_text

FLOORS = {
    "hide 64x64": 1.0,
    "reveal 64x64": 1.0,
    "hide 256x256": 2.0,
    "reveal 256x256": 2.0,
    "--help": 0.5,
    "bad input": 0.5,
    "demo": 1.5,
}


def timed(cmd, runs, cwd, expect=0):
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
        out.append(time.perf_counter() - t0)
        if p.returncode != expect:
            raise SystemExit(f"{cmd} exited {p.returncode}, expected {expect}: {p.stderr[-500:]}")
    return statistics.median(out), out


def main() -> None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = os.environ.get("DITAS_DATA", os.path.join(here, "..", "shared", "data"))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--out", required=True)
    p.add_argument("--md", default="")
    a = p.parse_args()
    image, cover = sample_paths()
    ditas = [sys.executable, "-m", "ditas_tf"]
    with tempfile.TemporaryDirectory() as tmp:
        clips = sorted(glob.glob(os.path.join(data, "audio", "LJSpeech-1.1", "wavs", "LJ002-*.wav")))[:4]
        long = np.concatenate([sf.read(c, dtype="float32")[0] for c in clips])
        sf.write(os.path.join(tmp, "long.wav"), long, 22050, subtype="PCM_16")
        big = Image.open(os.path.join(data, "images", "test", "set14", "baboon.png")).convert("RGB")
        big.resize((256, 256), Image.BICUBIC).save(os.path.join(tmp, "big.png"))
        cmds = {
            "import tensorflow": [sys.executable, "-c", "import tensorflow"],
            "--help": [*ditas, "--help"],
            "bad input": [*ditas, "hide", image, "missing.wav", "-o", "x.wav"],
            "hide 64x64": [*ditas, "hide", image, cover, "-o", "c.wav", "--key", "k"],
            "reveal 64x64": [*ditas, "reveal", "c.wav", "-o", "r.png", "--key", "k"],
            "hide 256x256": [*ditas, "hide", "big.png", "long.wav", "-o", "cb.wav", "--key", "k"],
            "reveal 256x256": [*ditas, "reveal", "cb.wav", "-o", "rb.png", "--key", "k", "--size", "256x256"],
            "demo": [*ditas, "demo", "--out", "demo"],
        }
        rows = {}
        for name, cmd in cmds.items():
            med, all_ = timed(cmd, a.runs, tmp, expect=2 if name == "bad input" else 0)
            rows[name] = {"median_s": round(med, 3), "runs_s": [round(x, 3) for x in all_], "floor_s": FLOORS.get(name)}
            print(name, rows[name], flush=True)
    tf_s = rows["import tensorflow"]["median_s"]
    for r in rows.values():
        r["ratio_to_import_tensorflow"] = round(r["median_s"] / tf_s, 3)
        if r["floor_s"] is not None:
            r["met"] = r["median_s"] <= r["floor_s"]
    result = {
        "command": f"python scripts/bench_hide_reveal.py --runs {a.runs}",
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}",
        "rows": rows,
    }
    atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")
    if a.md:
        atomic_write_text(a.md, render(result))


def render(result: dict) -> str:
    out = [
        "# Speed of the command line\n",
        f"Written by `{result['command']} --out docs/results/speed.json --md docs/speed.md` on {result['machine']}. "
        "Every figure is the median wall-clock of fresh processes (start-up included); the shipped model runs on "
        "its LiteRT graphs and TensorFlow is never imported on these paths.\n",
        "| command | median (s) | floor (s) | met | / `import tensorflow` |",
        "|---|---|---|---|---|",
    ]
    for name, r in result["rows"].items():
        floor = "" if r["floor_s"] is None else f"{r['floor_s']:.1f}"
        met = "" if r["floor_s"] is None else ("yes" if r["met"] else "**no**")
        out.append(f"| `{name}` | {r['median_s']:.3f} | {floor} | {met} | {r['ratio_to_import_tensorflow']:.2f} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
