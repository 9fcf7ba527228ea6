"""Wall time of ``ditas hide`` and ``ditas reveal`` of a 64x64 image, TensorFlow
start-up included (fresh process each run), then batch reveal throughput.

    python scripts/bench_hide_reveal.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMG = os.path.join(HERE, "ditas_tf", "samples", "astronaut_64.png")
WAV = os.path.join(HERE, "ditas_tf", "samples", "LJ002-0105.wav")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    ditas = shutil.which("ditas")
    tmp = tempfile.mkdtemp()
    try:
        cont, rev = os.path.join(tmp, "c.wav"), os.path.join(tmp, "r.png")
        cmds = {
            "hide": [ditas, "hide", IMG, WAV, "-o", cont, "--key", "bench"],
            "reveal": [ditas, "reveal", cont, "-o", rev, "--key", "bench"],
        }
        for op, cmd in cmds.items():
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                times.append(time.perf_counter() - t0)
            print(
                f"ditas {op} (64x64, default model): min {min(times):.2f} s, "
                f"mean {statistics.mean(times):.2f} s, max {max(times):.2f} s ({args.runs} runs)"
            )
    finally:
        shutil.rmtree(tmp)
    subprocess.run([sys.executable, os.path.join(HERE, "scripts", "bench_reveal_batch.py")], check=True)


if __name__ == "__main__":
    main()
