"""What the README and docs/RESULTS.md promise about the shipped model, checked on the model itself.

The numbers come from docs/results/shipped/*.json (scripts/eval_shipped.sh). A model whose
revealer is broken fails here: the documented pairs, the stage order and the demo.
"""

import json
import os

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import DATA

from ditas_tf.audio import pcm16_roundtrip
from ditas_tf.cli import main
from ditas_tf.images import EVAL_PROTOCOL, eval_tile, load_image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(REPO, "docs", "results", "shipped")


def _documented_rows():
    rep = json.load(open(os.path.join(SHIPPED, "metrics.json")))
    assert rep["protocol"]["image_protocol"] == EVAL_PROTOCOL
    groups = rep["models"]["default"]["groups"]
    picks = []
    for name in ("set14 x LJSpeech-1.1:LJ002", "live1 x timit", "celeba x LJSpeech-1.1:LJ002"):
        picks.append(groups[name]["images"][1])
    return picks


def _image_path(row):
    for root in ("test", "train"):
        p = os.path.join(DATA, "images", root, row["image"])
        if os.path.isfile(p):
            return p
    raise AssertionError(f"documented image not found: {row['image']}")


def _cover_path(row):
    if row["cover"].startswith("LJ"):
        return os.path.join(DATA, "audio", "LJSpeech-1.1", "wavs", row["cover"])
    return os.path.join(DATA, "audio", "timit", row["cover"])


@pytest.fixture(scope="module")
def rerun():
    """The documented pairs hidden and revealed again, as ditas eval does (Keras, 16-bit WAV)."""
    from ditas_tf.stego import Steganographer

    steg = Steganographer.load("default", backend="keras")
    out = []
    for row in _documented_rows():
        tile = eval_tile(load_image(_image_path(row)), steg.tile)
        cover, rate = sf.read(_cover_path(row), dtype="float32")
        res = steg.hide_array(tile, cover, rate)
        stages = steg.reveal_array(pcm16_roundtrip(res.container), rate, all_stages=True)
        stages = np.round(np.clip(stages, 0, 1) * 255) / 255
        psnr = [float(10 * np.log10(1 / np.mean((tile - s) ** 2))) for s in stages]
        out.append((row, psnr))
    return out


def test_documented_pairs_reveal_as_documented(rerun):
    for row, psnr in rerun:
        assert abs(psnr[-1] - row["psnr"]) < 1.0, (row["image"], row["cover"], psnr[-1], row["psnr"])
        assert psnr[-1] > 20.0


def test_every_stage_improves_the_image(rerun):
    k = min(len(p) for _, p in rerun)  # each cover carries as many stages as it has room for
    mean = np.mean([p[:k] for _, p in rerun], axis=0)
    assert k >= 3 and np.all(np.diff(mean) > 0), mean
    overall = json.load(open(os.path.join(SHIPPED, "metrics.json")))["models"]["default"]["overall"]
    doc = overall["per_stage"]
    # The stages every documented pair carries (a C_i over fewer pairs is another average).
    documented = [
        doc[f"C{i}"]["psnr"]
        for i in range(1, len(doc) + 1)
        if doc[f"C{i}"].get("count", overall["count"]) == overall["count"]
    ]
    assert len(documented) >= 3 and np.all(np.diff(documented) > 0), documented


def test_demo_prints_its_documented_numbers(tmp_path):
    doc = json.load(open(os.path.join(SHIPPED, "demo.json")))
    r = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "d"), "--json", str(tmp_path / "d.json")])
    assert r.exit_code == 0, r.output
    got = json.load(open(tmp_path / "d.json"))
    assert got["backend"] == "litert"
    assert abs(got["revealed_psnr_db"] - doc["revealed_psnr_db"]) < 1.0
    assert abs(got["span_pesq_wb"] - doc["span_pesq_wb"]) < 0.1
    assert f"revealed_psnr_db: {got['revealed_psnr_db']}" in r.output


def test_shipped_config_holds_no_machine_paths():
    from ditas_tf.config import read_config
    from ditas_tf.stego import SHIPPED_MODELS, shipped_model_dir

    for name in SHIPPED_MODELS:
        folder = shipped_model_dir(name)
        text = open(os.path.join(folder, "config.yaml")).read()
        assert "/work" not in text and "shared/data" not in text and "/tmp" not in text
        cfg = read_config(os.path.join(folder, "config.yaml"))
        assert cfg.data.train_images == [] and cfg.train.init_weights == ""
        graphs = json.load(open(os.path.join(folder, "graphs.json")))
        assert "/" not in json.dumps(graphs).replace("\\/", "")  # no paths in the verification either
        from ditas_tf.fileio import sha256_file

        assert graphs["weights_sha256"] == sha256_file(os.path.join(folder, "model.weights.h5"))
        for f, g in graphs["graphs"].items():
            assert os.path.getsize(os.path.join(folder, f)) == g["bytes"]
        # A fast revealer beside it: its spec names the folder itself and the weights it reveals.
        spec_path = os.path.join(folder, "fast_revealer.yaml")
        if os.path.isfile(spec_path):
            from ditas_tf.fast_revealer import read_spec

            text = open(spec_path).read()
            assert "/work" not in text and "shared/data" not in text and "/tmp" not in text
            spec = read_spec(spec_path)
            assert spec.hider == "." and spec.data.train_images == [] and spec.init_weights == ""
            assert spec.hider_sha256 == graphs["weights_sha256"]


@pytest.mark.large
def test_export_cli_from_an_empty_folder(tmp_path, data_root):
    import subprocess
    import sys

    # Without calibration data: a one-line error that names the flags.
    p = subprocess.run(
        [sys.executable, "-m", "ditas_tf", "export", "--model", "default", "--out", "exp"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 2, p.stderr[-500:]
    assert p.stderr.strip().splitlines()[-1].startswith("error: calibration data not found") and "--images" in p.stderr
    assert not (tmp_path / "exp").exists()
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "ditas_tf",
            "export",
            "--model",
            "default",
            "--out",
            "exp",
            "--settings",
            "float32",
            "--images",
            os.path.join(data_root, "images", "train", "t91"),
            "--audio",
            os.path.join(data_root, "audio", "LJSpeech-1.1"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-1500:]
    meta = json.load(open(tmp_path / "exp" / "metadata.json"))
    assert meta["verification"]["tflite"]["float32"]["psnr_loss_db"] <= 0.01
    assert os.path.isfile(tmp_path / "exp" / "saved_model" / "ditas" / "1" / "saved_model.pb")
