import os
import shutil

import numpy as np
import pytest
import soundfile as sf
from conftest import IMAGES, LJ, tiny_config

from ditas_tf import data as data_lib
from ditas_tf.audio import load_mono, resample
from ditas_tf.errors import DataError


def test_voc_splits(voc_tree):
    train = data_lib.list_images([voc_tree], "train")
    val = data_lib.list_images([voc_tree], "val")
    seg = data_lib.list_images([voc_tree], "Segmentation/val")
    assert len(train) == 4 and len(val) == 2 and len(seg) == 1
    assert not set(train) & set(val)
    assert all(p.endswith(".jpg") and os.path.isfile(p) for p in train + val)
    with pytest.raises(DataError, match="split 'test' not found"):
        data_lib.list_images([voc_tree], "test")


def test_image_folder_skips_voc_label_maps(data_root):
    files = data_lib.list_images([os.path.join(IMAGES, "train", "voc")])
    # 5 loose VOC2007 photos plus the 2 JPEGImages of a VOC2012 tree without ImageSets.
    assert len(files) == 7 and not any("Segmentation" in f for f in files)
    assert len(data_lib.list_images([os.path.join(IMAGES, "test", "set14")])) == 14


def test_ljspeech_split_by_prefix_and_list(lj_tree, tmp_path):
    train = data_lib.list_audio([lj_tree], ["LJ001"])
    val = data_lib.list_audio([lj_tree], ["LJ002"])
    assert [os.path.basename(p) for p in train] == ["LJ001-0001.wav", "LJ001-0002.wav", "LJ001-0003.wav"]
    assert len(val) == 2
    ids = tmp_path / "ids.txt"
    ids.write_text("LJ001-0002\nLJ002-0002\n")
    listed = data_lib.list_audio([lj_tree], [str(ids)])
    assert [os.path.basename(p) for p in listed] == ["LJ001-0002.wav", "LJ002-0002.wav"]


def test_timit_nist_sphere(timit_tree):
    train = data_lib.list_audio([timit_tree], None, "TRAIN")
    test = data_lib.list_audio([timit_tree], None, "TEST")
    assert len(train) == 1 and len(test) == 1
    assert sf.info(train[0]).format == "NIST" and sf.info(test[0]).format == "WAV"
    assert load_mono(test[0], 16000).size > 16000
    x = load_mono(train[0], 16000)
    assert x.dtype == np.float32 and x.ndim == 1 and np.abs(x).max() <= 1.0
    ref = load_mono(os.path.join(os.path.dirname(LJ), "timit", "LDC93S1.wav"), 16000)
    np.testing.assert_allclose(x, ref, atol=2 / 32768)


def test_resampling_keeps_a_tone_frequency():
    rate_in, f0 = 22050, 1000.0
    t = np.arange(rate_in) / rate_in
    tone = (0.5 * np.sin(2 * np.pi * f0 * t)).astype(np.float32)
    y = resample(tone, rate_in, 16000)
    assert len(y) == 16000
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert abs(np.argmax(spec) * 16000 / len(y) - f0) <= 1.0
    # Anti-aliasing: a 10 kHz tone (above the new Nyquist) is removed, not folded.
    alias = resample((0.5 * np.sin(2 * np.pi * 10000 * t)).astype(np.float32), rate_in, 16000)
    assert np.sqrt(np.mean(alias[500:-500] ** 2)) < 1e-3


def _cfg(lj_tree, voc_tree, **data):
    cfg = tiny_config()
    cfg.data.train_images = [voc_tree]
    cfg.data.train_audio = [lj_tree]
    cfg.data.val_images = [voc_tree]
    cfg.data.val_audio = [lj_tree]
    for k, v in data.items():
        setattr(cfg.data, k, v)
    return cfg


@pytest.mark.parametrize("random_scale", [False, True])
def test_train_dataset_shapes_ranges_and_floor(lj_tree, voc_tree, random_scale):
    cfg = _cfg(lj_tree, voc_tree, random_scale=random_scale)
    ds = data_lib.train_dataset(cfg)
    m = cfg.model
    for batch in ds.take(3):
        img, cov = batch["secret_image"].numpy(), batch["cover_audio"].numpy()
        assert img.shape == (cfg.train.batch_size, m.image_size, m.image_size, 3) and img.dtype == np.float32
        assert cov.shape == (cfg.train.batch_size, m.cover_samples) and cov.dtype == np.float32
        assert 0.0 <= img.min() and img.max() <= 1.0 and np.abs(cov).max() <= 1.0
        power_db = 10 * np.log10(np.mean(cov.reshape(len(cov), m.stages, -1) ** 2, axis=-1))
        assert power_db.min() >= cfg.data.energy_floor_db


def test_per_replica_batch(lj_tree, voc_tree):
    import tensorflow as tf

    cfg = _cfg(lj_tree, voc_tree)
    ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=2)
    batch = next(iter(data_lib.train_dataset(cfg, ctx)))
    assert batch["secret_image"].shape[0] == cfg.train.batch_size // 2


def test_validation_set_is_deterministic(lj_tree, voc_tree):
    cfg = _cfg(lj_tree, voc_tree, ljspeech_val_prefixes=["LJ002"])
    a, b = data_lib.validation_set(cfg), data_lib.validation_set(cfg)
    np.testing.assert_array_equal(a["secret_image"], b["secret_image"])
    np.testing.assert_array_equal(a["cover_audio"], b["cover_audio"])
    assert a["cover_audio"].shape[1] == cfg.model.cover_samples


def test_corrupt_files_are_skipped_and_counted(lj_tree, voc_tree, caplog):
    # A truncated WAV and a fake JPEG inside the real layouts.
    bad_wav = os.path.join(lj_tree, "wavs", "LJ001-0002.wav")
    with open(bad_wav, "r+b") as f:
        f.truncate(30)
    jpgs = os.path.join(voc_tree, "VOC2012", "JPEGImages")
    first = sorted(os.listdir(jpgs))[0]
    with open(os.path.join(jpgs, first), "wb") as f:
        f.write(b"not a jpeg at all")
    data_lib.SKIPPED.reset()
    cfg = _cfg(lj_tree, voc_tree)
    ds = data_lib.train_dataset(cfg)
    for _ in ds.take(4):
        pass
    assert data_lib.SKIPPED.count == 2
    assert bad_wav in data_lib.SKIPPED.files
    assert any("skipping" in r.message for r in caplog.records)


def test_empty_dataset_errors_name_the_folder(tmp_path, lj_tree):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=str(empty)):
        data_lib.list_images([str(empty)])
    with pytest.raises(DataError, match="not found"):
        data_lib.list_audio([str(tmp_path / "missing")])
    with pytest.raises(DataError, match="no audio files"):
        data_lib.list_audio([lj_tree], ["LJ999"])


def test_short_clips_concat_or_skip():
    clips = [np.ones(3, np.float32), np.ones(4, np.float32), np.ones(10, np.float32), None, np.ones(2, np.float32)]
    joined = list(data_lib.join_short_clips(clips, 6, "concat"))
    assert [len(c) for c in joined] == [7, 10]
    skipped = list(data_lib.join_short_clips(clips, 6, "skip"))
    assert [len(c) for c in skipped] == [10]


def test_flac_and_ogg_folders(tmp_path, speech_16k):
    d = tmp_path / "mixed"
    d.mkdir()
    sf.write(d / "a.flac", speech_16k, 16000)
    sf.write(d / "b.ogg", speech_16k, 16000)
    shutil.copy(os.path.join(LJ, "wavs", "LJ001-0001.wav"), d / "c.wav")
    files = data_lib.list_audio([str(d)])
    assert [os.path.basename(f) for f in files] == ["a.flac", "b.ogg", "c.wav"]
    for f in files:
        x = load_mono(f, 16000)
        assert x.ndim == 1 and len(x) > 16000
