"""The fast revealer: its input layout, its training against a frozen hider, and its export."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest
from conftest import tiny_config
from test_networks import SPECTRAL


def test_stages_to_cells_puts_every_stage_side_by_side():
    """StagesToCells is each block's SpectralCells, stage i in channels i*C..(i+1)*C of the same pixel."""
    from ditas_tf.layers import SpectralCells, StagesToCells

    k, n = 3, 64
    x = np.random.default_rng(1).standard_normal((2, k * n * n)).astype(np.float32)
    cells = SpectralCells(16, 256, 96, 0.5, low_bin=2)
    got = StagesToCells(k, n, cells)(x).numpy()
    c = 2 * 2 * 6
    assert got.shape == (2, 16, 16, k * c)
    for i in range(k):
        one = cells(x[:, i * n * n : (i + 1) * n * n].reshape(2, n, n, 1)).numpy()
        np.testing.assert_allclose(got[..., i * c : (i + 1) * c], one, atol=1e-6)


def test_per_stage_fast_revealer_is_stage_by_stage_and_exports_as_grouped_convolutions():
    """Its grouped convolutions keep each stage's channels apart, the untrained image is the sum of the
    stage_tails (C_k = sum R_i), and the one-op grouped build gives the same numbers from the same weights."""
    import keras

    from ditas_tf.layers import DepthToSpace
    from ditas_tf.networks import build_fast_revealer

    cfg = tiny_config(**{**SPECTRAL, "spectral_bins": 32})
    split = build_fast_revealer(cfg.model, 4, 1)
    grouped = build_fast_revealer(cfg.model, 4, 1, grouped_op=True)
    grouped.set_weights(split.get_weights())
    rng = np.random.default_rng(3)
    x = (0.1 * rng.standard_normal((3, cfg.model.cover_samples))).astype(np.float32)
    np.testing.assert_allclose(grouped(x).numpy(), split(x).numpy(), atol=1e-6)
    tails = keras.Model(split.input, split.get_layer("stage_tails").output)(x).numpy()
    t, ch = cfg.model.stages, 3 * cfg.model.space_to_depth**2
    total = tails.reshape(*tails.shape[:-1], t, ch).sum(axis=-2)
    np.testing.assert_allclose(split(x).numpy(), DepthToSpace(cfg.model.space_to_depth)(total).numpy(), atol=1e-5)
    # Stage 2's block does not reach stage 1's tail.
    y = x.copy()
    y[:, cfg.model.block_samples :] *= -3.0
    other = keras.Model(split.input, split.get_layer("stage_tails").output)(y).numpy()
    np.testing.assert_allclose(other[..., :ch], tails[..., :ch], atol=1e-6)
    assert np.abs(other[..., ch:] - tails[..., ch:]).max() > 1e-3


def test_fast_revealer_needs_the_spectral_layout():
    from ditas_tf.networks import build_fast_revealer

    with pytest.raises(ValueError, match="spectral"):
        build_fast_revealer(tiny_config().model, 8, 1)


def _spec(hider: str, data_root: str, **kw):
    from ditas_tf.config import DataConfig
    from ditas_tf.fast_revealer import FastRevealerConfig

    data = dataclasses.replace(
        DataConfig(),
        train_images=[os.path.join(data_root, "images", "test", "set5")],
        train_audio=[os.path.join(data_root, "audio", "timit")],
        val_images=[os.path.join(data_root, "images", "test", "set5")],
        val_audio=[os.path.join(data_root, "audio", "timit")],
        val_examples=4,
        shuffle_buffer=8,
    )
    base = dict(hider=hider, width=8, res_blocks=1, batch_size=4, steps=2, checkpoint_every=1, validate_every=2)
    return FastRevealerConfig(**{**base, **kw}, data=data)


@pytest.fixture
def spectral_folder(tmp_path):
    """A model folder of a tiny untrained ``spectral``-layout model (the frozen hider)."""
    from ditas_tf.config import save_config
    from ditas_tf.networks import build_system

    # 32 bins: 8-channel cells. (The SavedModel of the 4-channel cells that 16 bins give fails under
    # oneDNN's graph rewrite, "input depth must be evenly divisible by filter depth: 4 vs 8", and runs
    # with TF_ENABLE_ONEDNN_OPTS=0: a TensorFlow bug, not one of this model.)
    cfg = tiny_config(**{**SPECTRAL, "spectral_bins": 32})
    cfg.export.calibration_examples, cfg.export.verify_examples = 2, 2  # set5 has 5 images
    folder = tmp_path / "hider"
    folder.mkdir()
    save_config(cfg, str(folder / "config.yaml"))
    build_system(cfg.model, quantization_noise=False).save_weights(str(folder / "model.weights.h5"))
    return str(folder)


def test_fast_revealer_trains_resumes_and_leaves_the_hider_alone(tmp_path, spectral_folder, data_root):
    """Training changes the student only; the run's spec is saved once and pins the hider's weights."""
    from ditas_tf.errors import ConfigError
    from ditas_tf.fast_revealer import SPEC_FILE, WEIGHTS_FILE, read_spec, run
    from ditas_tf.fileio import sha256_file

    hider_weights = os.path.join(spectral_folder, "model.weights.h5")
    before = sha256_file(hider_weights)
    run_dir = str(tmp_path / "fast")
    last = run(_spec(spectral_folder, data_root), run_dir, 2)
    assert np.isfinite(last["loss"]) and last["loss"] > 0
    assert sha256_file(hider_weights) == before  # the input folder is never modified
    spec = read_spec(os.path.join(run_dir, SPEC_FILE))
    assert spec.hider_sha256 == before and spec.width == 8
    lines = [json.loads(x) for x in open(os.path.join(run_dir, "validation.jsonl"))]
    assert [x["step"] for x in lines] == [2]
    assert 0 < lines[0]["psnr"] < 60 and 0 < lines[0]["hider_revealer_psnr"] < 60
    first = open(os.path.join(run_dir, WEIGHTS_FILE), "rb").read()
    # Resume: the saved spec wins over the one given, and the step goes on from the checkpoint.
    run(_spec(spectral_folder, data_root, width=16), run_dir, 3)
    assert read_spec(os.path.join(run_dir, SPEC_FILE)).width == 8
    assert [json.loads(x)["step"] for x in open(os.path.join(run_dir, "validation.jsonl"))] == [2, 3]
    assert open(os.path.join(run_dir, WEIGHTS_FILE), "rb").read() != first
    # A new run can start from those weights (fast_revealer.init_weights).
    from ditas_tf.fast_revealer import FastRevealerTrainer, prepare_run_dir

    warm_dir = str(tmp_path / "warm")
    warm = prepare_run_dir(
        warm_dir, _spec(spectral_folder, data_root, init_weights=os.path.join(run_dir, WEIGHTS_FILE))
    )
    trainer = FastRevealerTrainer(warm, warm_dir)
    assert trainer.restore() == 0
    from ditas_tf.networks import build_fast_revealer

    ref = build_fast_revealer(trainer.cfg.model, 8, 1)
    ref.load_weights(os.path.join(run_dir, WEIGHTS_FILE))
    for a, b in zip(trainer.student.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    # Shipping it beside its hider: the best validation's weights, a spec without the run's paths.
    from ditas_tf.fast_revealer import install

    assert install(run_dir, spectral_folder)["step"] in (2, 3)
    shipped = read_spec(os.path.join(spectral_folder, SPEC_FILE))
    assert shipped.hider == "." and shipped.data.train_images == [] and shipped.hider_sha256 == before
    assert os.path.isfile(os.path.join(spectral_folder, WEIGHTS_FILE))
    # Other hiding weights: the run refuses to go on, and to be shipped beside them.
    from ditas_tf.config import read_config
    from ditas_tf.errors import DitasError
    from ditas_tf.networks import build_system

    build_system(read_config(os.path.join(spectral_folder, "config.yaml")).model).save_weights(hider_weights)
    with pytest.raises(ConfigError, match="changed"):
        run(None, run_dir, 4)
    with pytest.raises(DitasError, match="other hiding weights"):
        install(run_dir, spectral_folder)


@pytest.mark.large
def test_export_writes_and_verifies_the_fast_revealer(tmp_path, spectral_folder, data_root):
    """A model folder with a fast revealer exports reveal_fast_{float32,full_int8}.tflite, each equal to the
    Keras fast revealer (float32 within 0.01 dB) and with the reveal signature; other weights are refused."""
    from ditas_tf.config import read_config
    from ditas_tf.errors import DitasError
    from ditas_tf.export_lib import export, run_tflite
    from ditas_tf.fast_revealer import SPEC_FILE, WEIGHTS_FILE, load_fast_revealer, save_spec
    from ditas_tf.fileio import sha256_file
    from ditas_tf.networks import build_fast_revealer

    cfg = read_config(os.path.join(spectral_folder, "config.yaml"))
    spec = _spec(".", data_root, hider_sha256=sha256_file(os.path.join(spectral_folder, "model.weights.h5")))
    save_spec(spec, os.path.join(spectral_folder, SPEC_FILE))
    fast = build_fast_revealer(cfg.model, spec.width, spec.res_blocks)
    fast.save_weights(os.path.join(spectral_folder, WEIGHTS_FILE))
    images = [os.path.join(data_root, "images", "test", "set5")]
    audio = [os.path.join(data_root, "audio", "timit")]
    out = tmp_path / "export"
    meta = export(spectral_folder, str(out), settings=("float32",), images=images, audio=audio)
    files = meta["verification"]["tflite"]
    assert {"reveal_fast_float32", "reveal_fast_full_int8"} <= set(files)
    assert abs(files["reveal_fast_float32"]["psnr_loss_db"]) <= 0.01, files["reveal_fast_float32"]
    assert meta["fast_revealer"]["keras_psnr_db"] > 0
    # Full int8 quantizes the stage networks only: the container, its blocks and their cells stay float32
    # (a quantized input costed a trained fast revealer 3.2 dB; docs/profiles.md, "Release 11").
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(out / "tflite" / "reveal_fast_full_int8.tflite"))
    dtypes = {t["index"]: np.dtype(t["dtype"]).name for t in interp.get_tensor_details()}
    ops = interp._get_ops_details()
    first_quantize = next(i for i, op in enumerate(ops) if op["op_name"] == "QUANTIZE")
    assert {op["op_name"] for op in ops[:first_quantize]} >= {"STRIDED_SLICE", "FULLY_CONNECTED", "TRANSPOSE"}
    assert all(dtypes[op["outputs"][0]] == "float32" for op in ops[:first_quantize])
    assert {dtypes[op["inputs"][0]] for op in ops if op["op_name"] == "CONV_2D"} == {"int8"}
    # The file is a drop-in revealer: the reveal signature, container_audio -> revealed_image.
    rng = np.random.default_rng(2)
    x = (0.1 * rng.standard_normal((2, cfg.model.cover_samples))).astype(np.float32)
    lite, _ = run_tflite(str(out / "tflite" / "reveal_fast_float32.tflite"), x)
    np.testing.assert_allclose(lite, fast.predict(x, verbose=0), atol=1e-4)
    # The reference client's path (Steganographer.from_export): a full-stage tile reveals with the fast
    # file as the fast Keras model reveals its window; a tile with fewer stages is refused in one line.
    import soundfile as sf

    from ditas_tf.demo import sample_paths
    from ditas_tf.errors import InputError
    from ditas_tf.images import load_image
    from ditas_tf.stego import Steganographer

    image, cover = sample_paths()
    x, rate = sf.read(cover, dtype="float32")
    keras_steg = Steganographer.load(spectral_folder, backend="keras")
    secret = load_image(image)[:16, :16]
    t = cfg.model.stages
    hidden = keras_steg.hide_array(secret, x, rate, key="k", stages=t)
    client = Steganographer.from_export(
        str(out / "metadata.json"), reveal_path=str(out / "tflite" / "reveal_fast_float32.tflite")
    )
    got = client.reveal_array(hidden.container, rate, key="k")
    windows, _ = keras_steg.container_windows(hidden.container, rate, tiles=1, key="k")
    assert len(windows) == hidden.copies  # the clip has room for copies of a 16x16 tile: averaged
    np.testing.assert_allclose(got, np.clip(fast.predict(windows, verbose=0), 0, 1).mean(axis=0), atol=1e-4)
    with pytest.raises(InputError, match="all 2 stages"):
        client.runner.reveal(windows[:, : cfg.model.block_samples], 1)
    # Fast revealer weights trained against other hiding weights are refused, naming the file.
    spec.hider_sha256 = "0" * 64
    save_spec(spec, os.path.join(spectral_folder, SPEC_FILE))
    with pytest.raises(DitasError, match="other hiding weights"):
        load_fast_revealer(spectral_folder, cfg)
