"""TFLite reveal latency (1 and 2 threads), SavedModel reveal throughput and the
reference client's end-to-end time on a 5 s container.

    python scripts/bench_tflite.py --export export/default --out docs/results/tflite.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def latency(path: str, threads: int, samples: int, runs: int = 50) -> float:
    """Milliseconds per reveal of one container of ``samples`` samples (the model's t * w * h)."""
    from ditas_tf.export_lib import tflite_runner

    run, _ = tflite_runner(path, threads)
    x = (0.05 * np.random.default_rng(0).standard_normal((1, samples))).astype(np.float32)
    for _ in range(5):
        run(container_audio=x)
    t0 = time.perf_counter()
    for _ in range(runs):
        run(container_audio=x)
    return (time.perf_counter() - t0) / runs * 1000


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--export", default=os.path.join(HERE, "export", "default"))
    p.add_argument("--out", default="")
    args = p.parse_args()
    meta = json.load(open(os.path.join(args.export, "metadata.json")))
    reveal = {k: v for k, v in meta["verification"]["tflite"].items() if not k.startswith("hide_")}
    command = f"python scripts/bench_tflite.py --export {args.export}" + (f" --out {args.out}" if args.out else "")
    result = {"command": command, "reveal": {}, "client": {}}
    for setting, r in reveal.items():
        path = os.path.join(args.export, r["file"])
        l1, l2 = (latency(path, n, meta["container_samples"]) for n in (1, 2))
        result["reveal"][setting] = {
            "bytes": r["bytes"],
            "psnr_loss_db": r["psnr_loss_db"],
            "ms_per_image_1_thread": round(l1, 3),
            "ms_per_image_2_threads": round(l2, 3),
        }
        print(
            f"tflite {setting}: {r['bytes'] / 1e6:.2f} MB, {l1:.2f} ms/image (1 thread), {l2:.2f} ms/image (2 threads)"
        )
    import tensorflow as tf

    sm = tf.saved_model.load(os.path.join(args.export, meta["saved_model"]["path"]))
    fn = sm.signatures["reveal"]
    x = tf.constant(
        (0.05 * np.random.default_rng(0).standard_normal((64, meta["container_samples"]))).astype(np.float32)
    )
    for _ in range(3):
        fn(container_audio=x)
    t0 = time.perf_counter()
    for _ in range(10):
        fn(container_audio=x)["revealed_image"].numpy()
    result["saved_model_images_per_s_batch_64"] = round(640 / (time.perf_counter() - t0), 1)
    print(f"SavedModel reveal: {result['saved_model_images_per_s_batch_64']} images/s (batch 64)")
    # Reference client, end to end, on a 5 s container written by ditas hide.
    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(HERE, "ditas_tf", "samples", "LJ002-0105.wav")
        x, rate = sf.read(wav)
        five = os.path.join(tmp, "five.wav")
        sf.write(five, x[: 5 * rate], rate)
        cont = os.path.join(tmp, "c.wav")
        img = os.path.join(HERE, "ditas_tf", "samples", "astronaut_64.png")
        subprocess.run(["ditas", "hide", img, five, "-o", cont], check=True, stdout=subprocess.DEVNULL)
        client = os.path.join(HERE, "export", "reveal_tflite.py")
        for setting, r in reveal.items():
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                subprocess.run(
                    [
                        sys.executable,
                        client,
                        cont,
                        "--model",
                        os.path.join(args.export, r["file"]),
                        "--metadata",
                        os.path.join(args.export, "metadata.json"),
                        "-o",
                        os.path.join(tmp, "r.png"),
                    ],
                    check=True,
                    stderr=subprocess.DEVNULL,
                )
                times.append(time.perf_counter() - t0)
            result["client"][setting] = {"min_s": round(min(times), 3), "mean_s": round(float(np.mean(times)), 3)}
            print(
                f"reference client end-to-end, 5 s container, {setting}: min {min(times):.3f} s, mean {np.mean(times):.3f} s"
            )
    if args.out:
        from ditas_tf.fileio import atomic_write_text

        atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
