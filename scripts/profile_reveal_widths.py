"""What a narrower full-int8 revealer would cost: the model's revealer rebuilt at other widths and depths.

    python scripts/profile_reveal_widths.py [--model checkpoints/spectral_r8] [--shapes 64x2,32x2,16x2,16x0]
        [--out docs/results/reveal_widths.json]

Each shape WIDTHxRES_BLOCKS rebuilds the model's architecture (its config with ``model.width`` and
``model.res_blocks`` replaced; untrained weights: latency does not depend on their values), exports
the ``reveal`` signature with the exporter's own full-int8 conversion (ditas_tf.export_lib.convert,
the front end kept in float32) and times it as scripts/profile_reveal.py does (ms per 64x64 image,
1 and 2 threads). For the `spectral` layout it also times the float32 front end with the STFT
cells alone, which every shape shares. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile

import numpy as np
from profile_reveal import _front_end, _ms
from shared_data import HERE

from ditas_tf import export_lib
from ditas_tf.config import read_config, save_config
from ditas_tf.fileio import atomic_write_text
from ditas_tf.stego import Steganographer, resolve_model_dir


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="checkpoints/spectral_r8")
    p.add_argument("--shapes", default="64x2,32x2,16x2,16x0")
    p.add_argument("--out", default=os.path.join(HERE, "docs", "results", "reveal_widths.json"))
    a = p.parse_args()
    import keras

    from ditas_tf.networks import build_system

    cfg = read_config(os.path.join(resolve_model_dir(a.model), "config.yaml"))
    rng = np.random.default_rng(0)
    # Calibration only sets the int8 scales; for timing, audio-like noise at a speech level serves.
    calibration = (0.05 * rng.standard_normal((16, cfg.model.cover_samples))).astype(np.float32)
    x = calibration[:1]
    result = {
        "command": f"python scripts/profile_reveal_widths.py --model {a.model} --shapes {a.shapes} "
        f"--out {os.path.relpath(a.out, HERE)}",
        "architecture": {
            k: getattr(cfg.model, k) for k in ("variant", "stages", "audio_layout", "width", "res_blocks")
        },
        "full_int8": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for shape in a.shapes.split(","):
            width, blocks = (int(v) for v in shape.split("x"))
            keras.utils.clear_session()
            shaped = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, width=width, res_blocks=blocks))
            folder = os.path.join(tmp, shape)
            os.makedirs(folder)
            save_config(shaped, os.path.join(folder, "config.yaml"))
            build_system(shaped.model, quantization_noise=False).save_weights(os.path.join(folder, "model.weights.h5"))
            steg = Steganographer.load(folder, backend="keras")
            saved = os.path.join(folder, "saved_model")
            export_lib.build_archive(steg).write_out(saved, verbose=False)
            path = os.path.join(folder, "reveal_full_int8.tflite")
            with open(path, "wb") as f:
                f.write(export_lib.convert(saved, "full_int8", calibration))
            result["full_int8"][shape] = {
                "bytes": os.path.getsize(path),
                "ms_per_image_1_thread": round(_ms(path, 1, x), 3),
                "ms_per_image_2_threads": round(_ms(path, 2, x), 3),
            }
            if cfg.model.audio_layout == "spectral" and "front_end_with_cells_float32" not in result:
                front = os.path.join(folder, "front_end_cells.tflite")
                _front_end(steg, front, cells=True)
                result["front_end_with_cells_float32"] = {
                    "ms_per_image_1_thread": round(_ms(front, 1, x), 3),
                    "ms_per_image_2_threads": round(_ms(front, 2, x), 3),
                }
            print(shape, json.dumps(result["full_int8"][shape]), flush=True)
    atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
