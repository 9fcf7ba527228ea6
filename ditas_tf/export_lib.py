"""Export: a SavedModel for TF Serving and verified TFLite revealers for phones.

Layout written under OUT::

    OUT/saved_model/ditas/<version>/   SavedModel (signatures: reveal = serving_default, hide)
    OUT/models.config                  TF Serving model config
    OUT/tflite/reveal_{float32,float16,dynamic_int8,full_int8}.tflite
    OUT/metadata.json                  receiver parameters and verification results

The SavedModel is written with keras.export.ExportArchive (Keras 3's
``model.save()`` writes no SavedModel). The TFLite files are converted from
that SavedModel with builtin ops only (a conversion that needs Flex fails) and
verified numerically against it under ai_edge_litert on real containers.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time

import numpy as np

from ditas_tf.errors import DitasError, InputError
from ditas_tf.fileio import atomic_write_text, sha256_file
from ditas_tf.version import __version__

log = logging.getLogger(__name__)

SETTINGS = ("float32", "float16", "dynamic_int8", "full_int8")
HIDE_SETTINGS = ("float32", "float16")


class ExportVerificationError(DitasError):
    """A TFLite file lost more PSNR than allowed."""


def build_archive(steg):
    """ExportArchive with ``reveal`` (also serving_default) and ``hide`` endpoints."""
    import keras
    import tensorflow as tf

    m = steg.cfg.model
    n, samples = m.image_size, m.cover_samples
    hider, revealer = steg.system.hider(), steg.system.revealer()
    archive = keras.export.ExportArchive()
    # Not archive.track(): it stores every weight a second time (keras-team/keras#23553);
    # the endpoints capture the variables themselves.

    def reveal(container_audio):
        out = revealer(container_audio, training=False)
        return {"revealed_image": out["revealed_image"], "revealed_stages": out["revealed_stages"]}

    def hide(cover_audio, secret_image):
        out = hider({"secret_image": secret_image, "cover_audio": cover_audio}, training=False)
        return {"container_audio": out["container_audio"]}

    # The first endpoint is also exported as serving_default.
    archive.add_endpoint(
        "reveal", reveal, input_signature=[tf.TensorSpec([None, samples], tf.float32, name="container_audio")]
    )
    archive.add_endpoint(
        "hide",
        hide,
        input_signature=[
            tf.TensorSpec([None, samples], tf.float32, name="cover_audio"),
            tf.TensorSpec([None, n, n, 3], tf.float32, name="secret_image"),
        ],
    )
    return archive


# The front end of every revealing stage (cut the container into blocks, low-pass, divide by the
# block's RMS) stays float32 in the int8 file: speech blocks differ widely in level, so one int8
# scale for the raw input leaves a quiet block's hidden residual only a few levels.
FLOAT_FRONT_END_OPS = ["STRIDED_SLICE", "RESHAPE", "EXPAND_DIMS", "MEAN", "MAXIMUM", "RSQRT", "MUL"]


# Layers (by name) whose ops stay float32 in full int8: the low-pass filters (``block`` layout), the
# STFT cells (``spectral``) and the fast revealer's stacking of every stage's cells (StagesToCells).
FLOAT_FRONT_END_LAYERS = ("_lowpass_", "container_cells", "stages_to_cells")


def _front_end_nodes(float_blob: bytes) -> list:
    """Output tensor names of the front end's layers (FLOAT_FRONT_END_LAYERS) in a float TFLite reveal model."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=float_blob)
    names = {t["index"]: t["name"] for t in interp.get_tensor_details()}
    out = []
    for op in interp._get_ops_details():  # the only listing of ops and their output tensors
        out += [names[i] for i in op["outputs"] if any(key in names[i] for key in FLOAT_FRONT_END_LAYERS)]
    return out


def convert(saved_model_dir: str, setting: str, calibration: np.ndarray | None, signature: str = "reveal") -> bytes:
    """Convert the ``reveal`` (or ``hide``) signature to TFLite with builtin ops only.

    ``full_int8``: every convolution of the stage networks in int8 (calibrated
    on ``calibration``), with the per-block front end kept in float32
    (FLOAT_FRONT_END_OPS) and float input/output.
    """
    import tensorflow as tf

    def make():
        conv = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=[signature])
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return conv

    conv = make()
    if setting == "float16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif setting == "dynamic_int8":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    try:
        if setting != "full_int8":
            return conv.convert()
        if signature != "reveal":
            raise DitasError(f"full_int8 is offered for the reveal graph only, not {signature}")
        nodes = _front_end_nodes(conv.convert())
        conv = make()
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]

        def representative():
            for x in calibration:
                yield {"container_audio": x[None].astype(np.float32)}

        conv.representative_dataset = representative
        opts = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=FLOAT_FRONT_END_OPS, denylisted_nodes=nodes)
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=conv,
            debug_dataset=lambda: ([x[None].astype(np.float32)] for x in calibration),
            debug_options=opts,
        )
        return debugger.get_nondebug_quantized_model()
    except Exception as exc:  # the converter raises ConverterError and friends
        raise DitasError(f"TFLite conversion ({setting}) failed: {str(exc).splitlines()[0][:200]}") from None


def tflite_runner(model_path: str, threads: int = 2):
    """The ``reveal`` signature runner, with the default XNNPACK delegate when it accepts the model.

    XNNPACK refuses some int8 graphs at prepare time (an ADD whose input and
    output scales are too far apart, as when a late stage's output is nearly
    zero); such a file then runs on the builtin kernels. Returns (runner, xnnpack).
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_path=model_path, num_threads=threads)
    runner = interp.get_signature_runner("reveal")
    probe = np.zeros([1, *_input_shape(interp)[1:]], np.float32)
    try:
        runner(container_audio=probe)
        return runner, True
    except RuntimeError:
        interp = Interpreter(
            model_path=model_path,
            num_threads=threads,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        return interp.get_signature_runner("reveal"), False


def _input_shape(interp) -> list:
    details = interp.get_signature_runner("reveal").get_input_details()
    return list(details["container_audio"]["shape"])


def run_tflite(model_path: str, containers: np.ndarray, threads: int = 2):
    """Revealed images [N, h, w, 3] from a TFLite revealer under ai_edge_litert, and whether XNNPACK ran it."""
    runner, xnnpack = tflite_runner(model_path, threads)
    out = []
    for x in containers:
        res = runner(container_audio=x[None].astype(np.float32))
        out.append(res["revealed_image"][0])
    return np.stack(out), xnnpack


def _write_and_reveal(blob: bytes, path: str, containers: np.ndarray, secrets: np.ndarray):
    """Write a TFLite revealer to ``path`` and reveal ``containers`` with it: (images, mean PSNR
    against ``secrets``, seconds per container, whether XNNPACK ran it)."""
    with open(path, "wb") as f:
        f.write(blob)
    t0 = time.perf_counter()
    out, xnnpack = run_tflite(path, containers)
    dt = (time.perf_counter() - t0) / len(containers)
    return out, float(np.mean(_psnr(secrets, out))), dt, xnnpack


def _psnr(a, b) -> np.ndarray:
    a = np.clip(a, 0, 1).astype(np.float64)
    b = np.clip(b, 0, 1).astype(np.float64)
    mse = np.mean((a - b) ** 2, axis=(1, 2, 3))
    return 10 * np.log10(1.0 / np.maximum(mse, 1e-12))


def export(
    model: str,
    out_dir: str,
    version: int = 1,
    settings=SETTINGS,
    images: list | None = None,
    audio: list | None = None,
) -> dict:
    """Export ``model`` (shipped name or run folder) to ``out_dir``; verify; return metadata.

    Verification: each TFLite file reveals real containers; its mean PSNR
    against the secret must be within ``export.max_psnr_loss_db[setting]`` of
    the SavedModel's. A failure raises ExportVerificationError after writing
    nothing but a temporary folder, which is removed.
    """
    import tensorflow as tf

    from ditas_tf.stego import Steganographer, resolve_model_dir

    if version < 1:
        raise InputError(f"--version must be >= 1, got {version}")
    try:
        import ai_edge_litert  # noqa: F401
    except ImportError:
        raise DitasError("ditas export verifies with ai-edge-litert: pip install 'ditas-tf[export]'") from None
    steg = Steganographer.load(model, backend="keras")
    ecfg = steg.cfg.export
    parent = os.path.dirname(os.path.abspath(out_dir)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        sm_dir = os.path.join(tmp, "saved_model", "ditas", str(version))
        build_archive(steg).write_out(sm_dir, verbose=False)
        n_cal, n_ver = ecfg.calibration_examples, ecfg.verify_examples
        pairs = _verification_pairs(steg, n_cal + n_ver, images, audio)
        containers, secret = pairs["containers"], pairs["secrets"]
        calibration, verify, verify_secret = containers[:n_cal], containers[n_cal:], secret[n_cal:]
        loaded = tf.saved_model.load(sm_dir)
        reveal_fn = loaded.signatures["reveal"]
        sm_out = reveal_fn(container_audio=tf.constant(verify))["revealed_image"].numpy()
        sm_psnr = float(np.mean(_psnr(verify_secret, sm_out)))
        os.makedirs(os.path.join(tmp, "tflite"))
        results = {}
        for setting in settings:
            blob = convert(sm_dir, setting, calibration)
            path = os.path.join(tmp, "tflite", f"reveal_{setting}.tflite")
            out, p, dt, xnnpack = _write_and_reveal(blob, path, verify, verify_secret)
            loss = sm_psnr - p
            limit = ecfg.max_psnr_loss_db[setting]
            results[setting] = {
                "file": f"tflite/reveal_{setting}.tflite",
                "bytes": len(blob),
                "sha256": hashlib.sha256(blob).hexdigest(),
                "psnr_db": round(p, 4),
                "psnr_loss_db": round(loss, 4),
                "max_psnr_loss_db": limit,
                "max_abs_diff_vs_saved_model": float(np.max(np.abs(out - sm_out))),
                "latency_ms_per_image_2_threads": round(dt * 1000, 3),
                "xnnpack_delegate": xnnpack,
                "passed": bool(loss <= limit),
            }
            log.info("%s: %d bytes, PSNR %.3f dB (loss %.4f dB, limit %.2f)", setting, len(blob), p, loss, limit)
        # The fast revealer shipped beside the model, if any: its own TFLite files, verified against it.
        from ditas_tf.fast_revealer import load_fast_revealer

        fast = load_fast_revealer(resolve_model_dir(model), steg.cfg)
        fast_info = None
        if fast is not None:
            fast_info = _export_fast_revealer(fast, steg.cfg, tmp, calibration, verify, verify_secret, sm_psnr)
            results.update(fast_info.pop("files"))
        # The hide graphs for phones: their containers, 16-bit rounded, revealed by the SavedModel.
        from ditas_tf.audio import pcm16_roundtrip
        from ditas_tf.runners import litert_interpreter

        hiding = {}
        verify_cover = pairs["covers"][n_cal:]
        for setting in (x for x in HIDE_SETTINGS if x in settings):
            blob = convert(sm_dir, setting, None, signature="hide")
            name = f"tflite/hide_{setting}.tflite"
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(blob)
            run = litert_interpreter(os.path.join(tmp, name)).get_signature_runner("hide")
            cont = run(cover_audio=verify_cover, secret_image=verify_secret)["container_audio"]
            rev = reveal_fn(container_audio=tf.constant(pcm16_roundtrip(cont)))["revealed_image"].numpy()
            p = float(np.mean(_psnr(verify_secret, rev)))
            limit = ecfg.max_psnr_loss_db[setting]
            hiding[setting] = {
                "file": name,
                "bytes": len(blob),
                "sha256": hashlib.sha256(blob).hexdigest(),
                "psnr_db": round(p, 4),
                "psnr_loss_db": round(sm_psnr - p, 4),
                "max_psnr_loss_db": limit,
                "container_max_abs_diff_vs_keras": float(np.max(np.abs(cont - pairs["raw_containers"][n_cal:]))),
                "passed": bool(sm_psnr - p <= limit),
            }
            results[f"hide_{setting}"] = hiding[setting]
        meta = {
            "ditas_tf_version": __version__,
            "model": model,
            "model_dir_weights_sha256": sha256_file(os.path.join(resolve_model_dir(model), "model.weights.h5")),
            **steg.metadata(),
            "container_samples": steg.cfg.model.cover_samples,
            "export_time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "saved_model": {
                "path": f"saved_model/ditas/{version}",
                "version": version,
                "signatures": {
                    "reveal": "container_audio [N, t*w*h] -> revealed_image [N, h, w, 3], revealed_stages [N, t, h, w, 3]",
                    "serving_default": "same as reveal",
                    "hide": "cover_audio [N, t*w*h], secret_image [N, h, w, 3] in [0, 1] -> container_audio",
                },
            },
            "verification": {
                "containers": "real: the hiding network on training images (evaluation protocol) and the "
                "first eligible subsequences of the training clips, 16-bit rounded",
                "calibration_examples": len(calibration),
                "verify_examples": len(verify),
                "saved_model_psnr_db": round(sm_psnr, 4),
                "tflite": results,
            },
        }
        if fast_info is not None:
            meta["fast_revealer"] = fast_info
        atomic_write_text(os.path.join(tmp, "metadata.json"), json.dumps(meta, indent=2) + "\n")
        atomic_write_text(os.path.join(tmp, "models.config"), _models_config())
        failed = [s for s, r in results.items() if not r["passed"]]
        if failed:
            detail = ", ".join(
                f"{s} lost {results[s]['psnr_loss_db']:.3f} dB > {results[s]['max_psnr_loss_db']}" for s in failed
            )
            raise ExportVerificationError(f"TFLite verification failed: {detail}")
        if os.path.isdir(out_dir):
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
        return meta
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


FAST_SETTINGS = ("float32", "full_int8")


def fast_revealer_archive(fast, samples: int):
    """ExportArchive with the fast revealer as a ``reveal`` endpoint (container_audio -> revealed_image)."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()

    def reveal(container_audio):
        return {"revealed_image": fast(container_audio, training=False)}

    archive.add_endpoint(
        "reveal", reveal, input_signature=[tf.TensorSpec([None, samples], tf.float32, name="container_audio")]
    )
    return archive


def _export_fast_revealer(fast, cfg, out_tmp: str, calibration, verify, verify_secret, sm_psnr: float) -> dict:
    """Write tflite/reveal_fast_{float32,full_int8}.tflite; each within ``export.max_psnr_loss_db`` of the
    Keras fast revealer. Returns the metadata entry, with the files' results under ``files``."""
    keras_psnr = float(np.mean(_psnr(verify_secret, np.clip(fast.predict(verify, verbose=0), 0, 1))))
    files = {}
    with tempfile.TemporaryDirectory() as sm_tmp:
        sm_dir = os.path.join(sm_tmp, "fast_saved_model")
        fast_revealer_archive(fast, cfg.model.cover_samples).write_out(sm_dir, verbose=False)
        for setting in FAST_SETTINGS:
            blob = convert(sm_dir, setting, calibration)
            name = f"tflite/reveal_fast_{setting}.tflite"
            _, p, dt, xnnpack = _write_and_reveal(blob, os.path.join(out_tmp, name), verify, verify_secret)
            limit = cfg.export.max_psnr_loss_db[setting]
            files[f"reveal_fast_{setting}"] = {
                "file": name,
                "bytes": len(blob),
                "sha256": hashlib.sha256(blob).hexdigest(),
                "psnr_db": round(p, 4),
                "psnr_loss_db": round(keras_psnr - p, 4),
                "psnr_below_saved_model_db": round(sm_psnr - p, 4),
                "max_psnr_loss_db": limit,
                "latency_ms_per_image_2_threads": round(dt * 1000, 3),
                "xnnpack_delegate": xnnpack,
                "passed": bool(keras_psnr - p <= limit),
            }
            log.info("fast %s: %d bytes, PSNR %.3f dB (loss %.4f dB against its Keras model)", setting, len(blob), p,
                     keras_psnr - p)  # fmt: skip
    return {
        "what": "one network reading every stage's cells (ditas_tf.fast_revealer), trained against this hider; "
        "tflite/reveal_fast_*.tflite have the reveal signature's container_audio -> revealed_image",
        "keras_psnr_db": round(keras_psnr, 4),
        "files": files,
    }


def _verification_pairs(steg, count: int, images: list | None = None, audio: list | None = None):
    """Real pairs from the data module's deterministic path, and the hider's containers.

    Secrets: the model's training images (evenly spread, evaluation protocol);
    covers: the first eligible subsequences of its training clips. The same
    pairs on every run, so the verification is repeatable.
    """
    from ditas_tf import data as data_lib
    from ditas_tf.audio import pcm16_roundtrip

    cfg = steg.cfg
    d = cfg.data
    image_roots = list(images or d.train_images)
    audio_roots = list(audio or d.train_audio)
    missing = [p for p in image_roots + audio_roots if not os.path.isdir(p)]
    if missing or not image_roots or not audio_roots:
        raise InputError(
            f"calibration data not found ({', '.join(missing) or 'none configured'}): pass --images and --audio"
        )
    files = data_lib.list_images(image_roots, d.voc_train_split)
    step = max(1, len(files) // count)
    secrets, _ = data_lib.eval_images(files[::step][:count], cfg.model.image_size)
    clips = data_lib.list_audio(audio_roots, d.ljspeech_train_prefixes, "TRAIN")
    covers, _ = data_lib.eval_covers(clips, cfg, len(secrets))
    raw = steg.runner.hide(secrets, covers, cfg.model.stages)
    return {"containers": pcm16_roundtrip(raw), "raw_containers": raw, "secrets": secrets, "covers": covers}


def package_graphs(model_dir: str, images: list | None = None, audio: list | None = None, count: int = 16) -> dict:
    """Write the verified LiteRT graphs of a model folder into it (the TensorFlow-free path).

    Converts the ``hide`` and ``reveal`` signatures to float32 TFLite, runs both
    under ai_edge_litert on ``count`` real pairs (``images``/``audio``, default:
    the model's training data) and requires a container within 1e-4 max abs of
    the Keras hider's and a revealed PSNR within 0.01 dB of the Keras
    revealer's. Writes hide_float32.tflite, reveal_float32.tflite and
    graphs.json (the verification, no machine paths) atomically.
    """
    from ditas_tf.audio import pcm16_roundtrip
    from ditas_tf.runners import HIDE_GRAPH, REVEAL_GRAPH, LiteRTRunner
    from ditas_tf.stego import Steganographer

    steg = Steganographer.load(model_dir, backend="keras")
    m = steg.cfg.model
    pairs = _verification_pairs(steg, count, images, audio)
    secrets, covers = pairs["secrets"], pairs["covers"]
    keras_cont = steg.runner.hide(secrets, covers, m.stages)
    stored = pcm16_roundtrip(keras_cont)
    keras_rev = np.clip(steg.runner.reveal(stored, m.stages)[:, -1], 0, 1)
    tmp = tempfile.mkdtemp(prefix=".graphs-", dir=model_dir)
    try:
        sm_dir = os.path.join(tmp, "saved_model")
        build_archive(steg).write_out(sm_dir, verbose=False)
        blobs = {}
        for name, sig in ((HIDE_GRAPH, "hide"), (REVEAL_GRAPH, "reveal")):
            blobs[name] = convert(sm_dir, "float32", None, signature=sig)
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(blobs[name])
        lite = LiteRTRunner(tmp, m.stages, m.image_size, m.block_samples)
        lite_cont = lite.hide(secrets, covers, m.stages)
        lite_rev = np.clip(lite.reveal(stored, m.stages)[:, -1], 0, 1)
        cont_diff = float(np.max(np.abs(lite_cont - keras_cont)))
        psnr_keras = float(np.mean(_psnr(secrets, keras_rev)))
        psnr_lite = float(np.mean(_psnr(secrets, lite_rev)))
        report = {
            "ditas_tf_version": __version__,
            "weights_sha256": sha256_file(os.path.join(model_dir, "model.weights.h5")),
            "graphs": {
                name: {"bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()} for name, blob in blobs.items()
            },
            "verification": {
                "pairs": len(secrets),
                "container_max_abs_diff": cont_diff,
                "container_limit": 1e-4,
                "keras_psnr_db": round(psnr_keras, 4),
                "litert_psnr_db": round(psnr_lite, 4),
                "psnr_loss_db": round(psnr_keras - psnr_lite, 5),
                "psnr_limit_db": 0.01,
            },
        }
        if cont_diff > 1e-4 or abs(psnr_keras - psnr_lite) > 0.01:
            raise ExportVerificationError(
                f"LiteRT graphs disagree with Keras: container max abs {cont_diff:.2e} (limit 1e-4), "
                f"PSNR {psnr_lite:.4f} vs {psnr_keras:.4f} dB (limit 0.01)"
            )
        for name in blobs:
            os.replace(os.path.join(tmp, name), os.path.join(model_dir, name))
        atomic_write_text(os.path.join(model_dir, "graphs.json"), json.dumps(report, indent=2) + "\n")
        return report
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _models_config() -> str:
    # TF Serving's Docker image serves /models/<name>: mount OUT/saved_model/ditas there.
    return (
        "# docker run -p 8501:8501 -v $PWD/saved_model/ditas:/models/ditas \\\n"
        "#   -v $PWD/models.config:/models/models.config tensorflow/serving \\\n"
        "#   --model_config_file=/models/models.config\n"
        "model_config_list {\n"
        "  config {\n"
        '    name: "ditas"\n'
        '    base_path: "/models/ditas"\n'
        '    model_platform: "tensorflow"\n'
        "  }\n"
        "}\n"
    )
