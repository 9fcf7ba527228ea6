"""Shared fixtures: the real data in ../shared/data and small trees in real layouts."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("DITAS_DATA", os.path.join(REPO, "..", "shared", "data"))
LJ = os.path.join(DATA, "audio", "LJSpeech-1.1")
IMAGES = os.path.join(DATA, "images")


def tiny_config(**model):
    """A tiny, fast config (smoke preset plus model overrides)."""
    from ditas_tf.config import load_config

    sets = [f"model.{k}={v}" for k, v in model.items()]
    return load_config(["smoke"], sets)


@pytest.fixture(scope="session")
def data_root():
    if not os.path.isdir(DATA):
        pytest.fail(f"the shared data folder is missing: {DATA} (set DITAS_DATA)")
    return DATA


@pytest.fixture(scope="session")
def real_images(data_root):
    """A few real test images as uint8 arrays."""
    from ditas_tf.images import load_image

    names = ["set14/baboon.png", "set14/bridge.png", "live1/parrots.png", "celeba/000001.jpg"]
    out = []
    for n in names:
        p = os.path.join(IMAGES, "test", n)
        if os.path.exists(p):
            out.append(load_image(p))
    assert len(out) >= 3
    return out


@pytest.fixture(scope="session")
def speech_16k(data_root):
    """A real LJ Speech clip at 16 kHz."""
    from ditas_tf.audio import load_mono

    return load_mono(os.path.join(LJ, "wavs", "LJ002-0105.wav"), 16000)


@pytest.fixture()
def lj_tree(tmp_path, data_root):
    """A small LJ Speech 1.1 tree: metadata.csv + wavs/ with real clips."""
    import shutil

    root = tmp_path / "LJSpeech-1.1"
    (root / "wavs").mkdir(parents=True)
    ids = ["LJ001-0001", "LJ001-0002", "LJ001-0003", "LJ002-0001", "LJ002-0002"]
    rows = []
    with open(os.path.join(LJ, "metadata.csv"), encoding="utf-8") as f:
        meta = {line.split("|", 1)[0]: line for line in f}
    for i in ids:
        shutil.copy(os.path.join(LJ, "wavs", f"{i}.wav"), root / "wavs" / f"{i}.wav")
        rows.append(meta[i])
    (root / "metadata.csv").write_text("".join(rows), encoding="utf-8")
    return str(root)


@pytest.fixture()
def voc_tree(tmp_path, data_root):
    """VOCdevkit/VOC2012 with JPEGImages and ImageSets/{Main,Segmentation}."""
    import glob
    import shutil

    voc = tmp_path / "VOCdevkit" / "VOC2012"
    (voc / "JPEGImages").mkdir(parents=True)
    (voc / "ImageSets" / "Main").mkdir(parents=True)
    (voc / "ImageSets" / "Segmentation").mkdir(parents=True)
    src = sorted(glob.glob(os.path.join(IMAGES, "train", "voc", "**", "*.jpg"), recursive=True))
    ids = []
    for p in src[:6]:
        name = os.path.splitext(os.path.basename(p))[0]
        shutil.copy(p, voc / "JPEGImages" / f"{name}.jpg")
        ids.append(name)
    (voc / "ImageSets" / "Main" / "train.txt").write_text("\n".join(ids[:4]) + "\n")
    (voc / "ImageSets" / "Main" / "val.txt").write_text("\n".join(ids[4:]) + "\n")
    (voc / "ImageSets" / "Segmentation" / "val.txt").write_text(ids[0] + "\n")
    return str(tmp_path / "VOCdevkit")


@pytest.fixture()
def timit_tree(tmp_path, data_root):
    """TIMIT layout from real speech: NIST SPHERE (TRAIN) and RIFF (TEST) ``.WAV`` files."""
    import soundfile as sf

    from ditas_tf.audio import load_mono

    root = tmp_path / "TIMIT"
    src = [
        load_mono(os.path.join(DATA, "audio", "timit", "LDC93S1.wav"), 16000),
        load_mono(os.path.join(LJ, "wavs", "LJ001-0004.wav"), 16000),
    ]
    layout = [("TRAIN", "DR1", "FCJF0", "SA1"), ("TEST", "DR2", "MABC0", "SX1")]
    for (split, dr, spk, utt), x in zip(layout, src):
        d = root / split / dr / spk
        d.mkdir(parents=True)
        pcm = np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
        # TRAIN as in the LDC release (NIST SPHERE); TEST as the RIFF variant of redistributions.
        fmt = "NIST" if split == "TRAIN" else "WAV"
        sf.write(d / f"{utt}.WAV", pcm, 16000, format=fmt, subtype="PCM_16")
    return str(root)


def pytest_addoption(parser):
    parser.addoption(
        "--run-large",
        action="store_true",
        help="also run the large tier: multi-process training, the full export, the wheel build",
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-large"):
        return
    skip = pytest.mark.skip(reason="large tier: pass --run-large (the README's test command and .ci/run do)")
    for item in items:
        if "large" in item.keywords:
            item.add_marker(skip)
