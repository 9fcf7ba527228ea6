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
from ditas_tf.fileio import atomic_write_text
from ditas_tf.version import __version__

log = logging.getLogger(__name__)

SETTINGS = ("float32", "float16", "dynamic_int8", "full_int8")


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


def _front_end_nodes(float_blob: bytes) -> list:
    """Output tensor names of the low-pass convolutions in a float TFLite reveal model."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=float_blob)
    names = {t["index"]: t["name"] for t in interp.get_tensor_details()}
    out = []
    for op in interp._get_ops_details():  # the only listing of ops and their output tensors
        out += [names[i] for i in op["outputs"] if "_lowpass_" in names[i]]
    return out


def convert(saved_model_dir: str, setting: str, calibration: np.ndarray | None) -> bytes:
    """Convert the ``reveal`` signature to TFLite with builtin ops only.

    ``full_int8``: every convolution of the stage networks in int8 (calibrated
    on ``calibration``), with the per-block front end kept in float32
    (FLOAT_FRONT_END_OPS) and float input/output.
    """
    import tensorflow as tf

    def make():
        conv = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=["reveal"])
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
    steg = Steganographer.load(model)
    if images:
        steg.cfg.data.train_images = list(images)
    if audio:
        steg.cfg.data.train_audio = list(audio)
    missing = [p for p in steg.cfg.data.train_images + steg.cfg.data.train_audio if not os.path.isdir(p)]
    if missing or not steg.cfg.data.train_images or not steg.cfg.data.train_audio:
        raise InputError(
            f"calibration data not found ({', '.join(missing) or 'none configured'}): pass --images and --audio"
        )
    ecfg = steg.cfg.export
    parent = os.path.dirname(os.path.abspath(out_dir)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        sm_dir = os.path.join(tmp, "saved_model", "ditas", str(version))
        build_archive(steg).write_out(sm_dir, verbose=False)
        n_cal, n_ver = ecfg.calibration_examples, ecfg.verify_examples
        pairs = _verification_pairs(steg, n_cal + n_ver)
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
            with open(path, "wb") as f:
                f.write(blob)
            t0 = time.perf_counter()
            out, xnnpack = run_tflite(path, verify)
            dt = (time.perf_counter() - t0) / len(verify)
            p = float(np.mean(_psnr(verify_secret, out)))
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
        meta = {
            "ditas_tf_version": __version__,
            "model": model,
            "model_dir_weights_sha256": _sha256(os.path.join(resolve_model_dir(model), "model.weights.h5")),
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


def _verification_pairs(steg, count: int):
    """Real pairs from the data module's deterministic path, and the hider's containers.

    Secrets: the model's training images (evenly spread, evaluation protocol);
    covers: the first eligible subsequences of its training clips. The same
    pairs on every run, so the verification is repeatable.
    """
    from ditas_tf import data as data_lib
    from ditas_tf.audio import pcm16_roundtrip

    cfg = steg.cfg
    d = cfg.data
    files = data_lib.list_images(d.train_images, d.voc_train_split)
    step = max(1, len(files) // count)
    secrets, _ = data_lib.eval_images(files[::step][:count], cfg.model.image_size)
    clips = data_lib.list_audio(d.train_audio, d.ljspeech_train_prefixes, "TRAIN")
    covers, _ = data_lib.eval_covers(clips, cfg, len(secrets))
    conts = []
    for i in range(0, len(secrets), 16):
        batch = {"secret_image": secrets[i : i + 16], "cover_audio": covers[i : i + 16]}
        conts.append(pcm16_roundtrip(steg.system.hider()(batch, training=False)["container_audio"].numpy()))
    return {"containers": np.concatenate(conts), "secrets": secrets}


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
