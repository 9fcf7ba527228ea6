"""Where a TFLite reveal of the shipped default spends its time, float32 against full int8 (docs/profiles.md).

    python scripts/profile_reveal.py [--model default] [--out docs/results/reveal_profile.json]

Measures before anything is changed (issue: the full-int8 revealer at 1 ms):

* the whole revealer, float32 and full int8 (the exporter's own conversion:
  ditas_tf.export_lib.convert, calibrated on 64 real containers), ms per
  64x64 image on 1 and 2 threads, and the int8 file's PSNR loss on those pairs;
* its front end alone (cut the container into blocks, low-pass, divide by each
  block's RMS: the layers up to ``reveal_normalize_i``), float32, the same way;
* for the ``spectral`` layout, that front end with each stage's STFT cells
  (``container_cells``, which full int8 also keeps in float32);
* the op types in each file, quantize / dequantize pairs included.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import tempfile
import time

import numpy as np
from shared_data import DATA, HERE

from ditas_tf import export_lib
from ditas_tf.fileio import atomic_write_text
from ditas_tf.stego import Steganographer


def _ms(path: str, threads: int, x: np.ndarray, runs: int = 200) -> float:
    """Mean ms per call of the file's first signature, as scripts/bench_tflite.py times the revealer
    (ai_edge_litert, XNNPACK where it takes the graph)."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=path, num_threads=threads)
    runner = interp.get_signature_runner(next(iter(interp.get_signature_list())))
    name = next(iter(runner.get_input_details()))
    try:
        runner(**{name: x})
    except RuntimeError:  # XNNPACK refused the graph at prepare time: the builtin kernels, as tflite_runner does
        from ai_edge_litert.interpreter import OpResolverType

        interp = Interpreter(
            model_path=path,
            num_threads=threads,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        runner = interp.get_signature_runner(next(iter(interp.get_signature_list())))
    for _ in range(5):
        runner(**{name: x})
    t0 = time.perf_counter()
    for _ in range(runs):
        runner(**{name: x})
    return (time.perf_counter() - t0) / runs * 1000


def _ops(path: str) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=path)
    return dict(collections.Counter(op["op_name"] for op in interp._get_ops_details()))


def _front_end(steg, path: str, cells: bool = False) -> None:
    """The revealer up to every ``reveal_normalize_i`` output (``cells``: then through each revealing
    stage's own ``container_cells`` layer), as a float32 TFLite file."""
    import keras
    import tensorflow as tf

    revealer = steg.system.revealer()
    outs = [layer.output for layer in revealer.layers if layer.name.startswith("reveal_normalize_")]
    if cells:
        # Each stage's own cells layer, re-made from its config (no weights) under a unique name.
        layers = [stage.get_layer("container_cells") for stage in steg.system.stage_networks.revealing]
        outs = [
            type(layer).from_config({**layer.get_config(), "name": f"container_cells_{i + 1}"})(x)
            for i, (layer, x) in enumerate(zip(layers, outs))
        ]
    front = keras.Model(revealer.input, outs)
    fn = tf.function(lambda x: front(x, training=False))
    concrete = fn.get_concrete_function(tf.TensorSpec([1, steg.cfg.model.cover_samples], tf.float32))
    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], front)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    with open(path, "wb") as f:
        f.write(conv.convert())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="default")
    p.add_argument("--out", default=os.path.join(HERE, "docs", "results", "reveal_profile.json"))
    a = p.parse_args()
    steg = Steganographer.load(a.model, backend="keras")
    pairs = export_lib._verification_pairs(
        steg,
        64,
        images=[os.path.join(DATA, "images", "train", s) for s in ("bsd200", "t91")],
        audio=[os.path.join(DATA, "audio", "LJSpeech-1.1")],
    )
    x = pairs["containers"][:1].astype(np.float32)
    result = {
        "command": f"python scripts/profile_reveal.py --model {a.model} --out {os.path.relpath(a.out, HERE)}",
        "files": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        saved = os.path.join(tmp, "saved_model")
        export_lib.build_archive(steg).write_out(saved, verbose=False)
        paths = {}
        for setting in ("float32", "full_int8"):
            paths[setting] = os.path.join(tmp, f"reveal_{setting}.tflite")
            blob = export_lib.convert(saved, setting, pairs["containers"] if setting == "full_int8" else None)
            with open(paths[setting], "wb") as f:
                f.write(blob)
        paths["front_end_float32"] = os.path.join(tmp, "front_end.tflite")
        _front_end(steg, paths["front_end_float32"])
        if steg.cfg.model.audio_layout == "spectral":
            paths["front_end_with_cells_float32"] = os.path.join(tmp, "front_end_cells.tflite")
            _front_end(steg, paths["front_end_with_cells_float32"], cells=True)
        psnr = {}
        for setting in ("float32", "full_int8"):
            revealed, _ = export_lib.run_tflite(paths[setting], pairs["containers"])
            psnr[setting] = float(np.mean(export_lib._psnr(revealed, pairs["secrets"])))
        for name, path in paths.items():
            result["files"][name] = {
                "bytes": os.path.getsize(path),
                "ms_per_image_1_thread": round(_ms(path, 1, x), 3),
                "ms_per_image_2_threads": round(_ms(path, 2, x), 3),
                "ops": _ops(path),
            }
    result["pairs"] = len(pairs["containers"])
    result["psnr_db"] = psnr
    result["full_int8_psnr_loss_db"] = psnr["float32"] - psnr["full_int8"]
    atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
