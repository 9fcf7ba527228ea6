"""The TensorFlow-free path: hide, reveal, demo and windows on LiteRT, equal to the Keras path."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from ditas_tf.audio import pcm16_roundtrip
from ditas_tf.demo import sample_paths
from ditas_tf.images import load_image

IMAGE, COVER = sample_paths()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Any import of TensorFlow or Keras fails in this interpreter.
BLOCKED = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
            raise ImportError("blocked in this test: " + name)
        return None
sys.meta_path.insert(0, _Block())
from ditas_tf.cli import main
sys.argv = ["ditas"] + sys.argv[1:]
main()
"""


def _blocked(*args, cwd):
    return subprocess.run([sys.executable, "-c", BLOCKED, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def _psnr(a, b):
    return float(10 * np.log10(255.0**2 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


def test_hide_reveal_demo_windows_without_tensorflow(tmp_path):
    c, r = str(tmp_path / "c.wav"), str(tmp_path / "r.png")
    p = _blocked("hide", IMAGE, COVER, "-o", c, "--key", "k", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""  # no runtime chatter on the fast path
    p = _blocked("reveal", c, "-o", r, "--key", "k", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    # The same pair through the default path in this process (LiteRT too): the blocked interpreter changes nothing.
    from ditas_tf.stego import Steganographer

    x, rate = sf.read(COVER, dtype="float32")
    steg = Steganographer.load("default")
    ref = steg.reveal_array(
        pcm16_roundtrip(steg.hide_array(load_image(IMAGE), x, rate, key="k").container), rate, key="k"
    )
    assert abs(_psnr(load_image(IMAGE), load_image(r)) - _psnr(load_image(IMAGE), np.round(ref * 255))) < 0.05
    p = _blocked("windows", c, "-o", str(tmp_path / "w.npy"), "--key", "k", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert np.load(tmp_path / "w.npy").shape == (1, steg.cfg.model.stages * 4096)  # the signature's t blocks
    p = _blocked("demo", "--out", str(tmp_path / "demo"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "backend: litert" in p.stdout and "span_pesq_wb" in p.stdout


def test_folder_without_graphs_needs_tensorflow(tmp_path):
    # The same model without its LiteRT graphs falls back to Keras, so TensorFlow is imported.
    from ditas_tf.stego import shipped_model_dir

    src = shipped_model_dir("default")
    dst = tmp_path / "model"
    dst.mkdir()
    for f in ("config.yaml", "model.weights.h5"):
        shutil.copy(os.path.join(src, f), dst / f)
    p = _blocked("reveal", COVER, "-o", str(tmp_path / "r.png"), "--model", str(dst), cwd=tmp_path)
    assert p.returncode != 0 and "blocked in this test: tensorflow" in p.stderr


@pytest.fixture(scope="module")
def both():
    from ditas_tf.stego import Steganographer

    return Steganographer.load("default", backend="litert"), Steganographer.load("default", backend="keras")


def test_containers_cross_between_backends(both):
    lite, keras_ = both
    x, rate = sf.read(COVER, dtype="float32")
    img = load_image(IMAGE)
    secret = img / 255.0
    a = lite.hide_array(img, x, rate, key="k").container
    b = keras_.hide_array(img, x, rate, key="k").container
    assert np.max(np.abs(a - b)) < 1e-4
    p = {}
    for name, cont in (("lite", a), ("keras", b)):
        for who, steg in (("lite", lite), ("keras", keras_)):
            out = steg.reveal_array(cont, rate, key="k")
            p[(name, who)] = 10 * np.log10(1 / np.mean((secret - out) ** 2))
    ref = p[("keras", "keras")]
    for v in p.values():
        assert abs(v - ref) < 0.01, p


@pytest.mark.parametrize("k", [1, 3])
def test_fewer_stages_on_the_full_graph_equal_keras(both, k):
    lite, keras_ = both
    x, rate = sf.read(COVER, dtype="float32")
    img = load_image(IMAGE)
    a = lite.hide_array(img, x, rate, stages=k)
    b = keras_.hide_array(img, x, rate, stages=k)
    assert np.max(np.abs(a.container - b.container)) < 1e-4
    assert a.stages == b.stages == k and a.reveal_hint == ""
    # The receiver reads k from the pilot.
    ra = lite.reveal_array(a.container, rate, all_stages=True)
    rb = keras_.reveal_array(a.container, rate, all_stages=True)
    assert ra.shape == (k, 64, 64, 3)
    assert np.max(np.abs(ra - rb)) < 1e-4


@pytest.fixture
def spectral_folder(tmp_path):
    """A model folder (config.yaml, model.weights.h5) of a tiny untrained ``spectral``-layout model."""
    from conftest import tiny_config
    from test_networks import SPECTRAL

    from ditas_tf.config import save_config
    from ditas_tf.networks import build_system

    cfg = tiny_config(**SPECTRAL)
    folder = tmp_path / "spectral"
    folder.mkdir()
    save_config(cfg, str(folder / "config.yaml"))
    build_system(cfg.model, quantization_noise=False).save_weights(str(folder / "model.weights.h5"))
    return str(folder)


def test_spectral_layout_converts_and_agrees(spectral_folder, data_root):
    """A model of the ``spectral`` audio layout converts to LiteRT builtins and equals Keras (package_graphs' check)."""
    from ditas_tf.export_lib import package_graphs
    from ditas_tf.stego import Steganographer

    folder = spectral_folder
    images = [os.path.join(data_root, "images", "test", "set5")]
    audio = [os.path.join(data_root, "audio", "timit")]
    report = package_graphs(folder, images, audio, count=4)
    v = report["verification"]
    assert v["container_max_abs_diff"] <= 1e-4 and abs(v["psnr_loss_db"]) <= 0.01, v
    # The TensorFlow-free runner hides and reveals with those graphs as Keras does.
    lite = Steganographer.load(folder, backend="litert")
    keras_ = Steganographer.load(folder, backend="keras")
    x, rate = sf.read(COVER, dtype="float32")
    img = load_image(IMAGE)[:16, :16]
    a = lite.hide_array(img, x, rate, key="k").container
    b = keras_.hide_array(img, x, rate, key="k").container
    assert np.max(np.abs(a - b)) < 1e-4


def test_spectral_full_int8_keeps_the_stft_cells_in_float(tmp_path, spectral_folder):
    """full_int8 quantizes the stage networks' convolutions, not the spectral front end, whose DFT and
    magnitude compression ruin a trained revealer in int8 (docs/profiles.md, "Release 8")."""
    from ai_edge_litert.interpreter import Interpreter

    from ditas_tf import export_lib
    from ditas_tf.stego import Steganographer

    steg = Steganographer.load(spectral_folder, backend="keras")
    saved = str(tmp_path / "saved_model")
    export_lib.build_archive(steg).write_out(saved, verbose=False)
    rng = np.random.default_rng(0)
    calibration = (0.1 * rng.standard_normal((8, steg.cfg.model.cover_samples))).astype(np.float32)
    blob = export_lib.convert(saved, "full_int8", calibration)
    interp = Interpreter(model_content=blob)
    dtypes = {t["index"]: t["dtype"] for t in interp.get_tensor_details()}
    ops = interp._get_ops_details()
    kinds = {(op["op_name"], np.dtype(dtypes[op["inputs"][0]]).name) for op in ops}
    assert ("CONV_2D", "int8") in kinds  # the networks are quantized
    # The cells' DFT and compression are not (exponent 0.5: SQRT and RSQRT instead of EXP(LOG)).
    for name in ("SQRT", "RSQRT", "FULLY_CONNECTED"):
        assert (name, "float32") in kinds and (name, "int8") not in kinds, kinds
