"""Copies: a long cover carries the image more than once, and the receiver averages what it finds."""

import os

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import IMAGES, LJ

from ditas_tf import sync
from ditas_tf.audio import pcm16_roundtrip, read_audio, resample, to_mono
from ditas_tf.cli import main
from ditas_tf.demo import sample_paths
from ditas_tf.errors import InputError
from ditas_tf.images import eval_tile, load_image
from ditas_tf.metrics import psnr

_, SHORT_COVER = sample_paths()


@pytest.fixture(scope="module")
def steg():
    from ditas_tf.stego import Steganographer

    return Steganographer.load("default")


@pytest.fixture(scope="module")
def long_cover(data_root):
    """Four consecutive LJ002 clips of one reader, joined: about 26 s at 22.05 kHz."""
    parts = [read_audio(os.path.join(LJ, "wavs", f"LJ002-000{i}.wav")) for i in range(1, 5)]
    return np.concatenate([p[0] for p in parts]), parts[0][1]


def _psnr(a, b):
    return float(psnr(np.asarray(a, np.float32)[None], np.asarray(b, np.float32)[None])[0])


def test_a_long_cover_gets_copies_and_the_receiver_averages_them(steg, long_cover):
    from ditas_tf.stego import MAX_COPIES

    cover, rate = long_cover
    secret = eval_tile(load_image(os.path.join(IMAGES, "test", "set14", "baboon.png")), 64)
    res = steg.hide_array(secret, cover, rate, key="k")
    k, b = res.stages, steg.block
    room = len(sync.runs(resample(cover, rate, steg.rate), b, k, steg.cfg.data.energy_floor_db, None))
    assert res.copies == min(MAX_COPIES, room) >= 2
    assert k == steg.cfg.model.stages and len(res.starts) == res.copies
    starts = np.sort(res.starts)
    assert np.all(np.diff(starts) >= k * b)  # every copy in a run of its own
    assert res.span_seconds == pytest.approx(res.copies * k * b / steg.rate)

    stored = pcm16_roundtrip(res.container)
    windows, found = steg.container_windows(stored, rate, 1, key="k")
    assert len(windows) == res.copies
    np.testing.assert_allclose(np.sort(found), starts, atol=0.5)
    singles = steg.reveal_windows(windows, k)[:, -1]
    revealed = steg.reveal_array(stored, rate, key="k")
    np.testing.assert_allclose(revealed, singles.mean(axis=0), atol=1e-6)
    each = [_psnr(secret, s) for s in singles]
    assert _psnr(secret, revealed) > np.mean(each) + 0.5, each  # each copy's error is partly its own

    # A receiver that looks for the image alone (releases before copies) finds one of the runs.
    _, first, scores = sync.locate_runs(resample(to_mono(stored), rate, steg.rate), "k", 1, b, k, rate)
    assert len(first) == 1 and scores[0] > sync.MIN_PEAK_SCORE
    assert np.min(np.abs(starts - first[0])) < 0.5


def test_copies_asked_for_and_refused(steg, long_cover):
    from ditas_tf.stego import check_copies

    cover, rate = long_cover
    img = load_image(sample_paths()[0])
    assert steg.hide_array(img, cover, rate, copies=2).copies == 2
    assert steg.hide_array(img, cover, rate, copies=1).copies == 1
    x, r = sf.read(SHORT_COVER, dtype="float32")
    with pytest.raises(InputError, match=r"cover too short: needs 8 stretch\(es\).*8 copies"):
        steg.hide_array(img, x, r, copies=8)
    for bad in (0, sync.MAX_COPIES + 1):
        with pytest.raises(InputError, match=f"--copies must be in 1..{sync.MAX_COPIES}"):
            check_copies(bad)


def test_cli_hide_copies_reveal_and_windows(tmp_path, long_cover):
    from ditas_tf.stego import MAX_COPIES

    cover, rate = long_cover
    path = tmp_path / "long.wav"
    sf.write(str(path), cover, rate, subtype="PCM_16")
    image = sample_paths()[0]
    out, rev, win = tmp_path / "c.wav", tmp_path / "r.png", tmp_path / "w.npy"
    runner = CliRunner()
    r = runner.invoke(main, ["hide", image, str(path), "-o", str(out), "--copies", "2", "--key", "k"])
    assert r.exit_code == 0, r.output
    assert "(1 tile(s) x 2 copies, 10 of 10 stages)" in r.output, r.output
    r = runner.invoke(main, ["reveal", str(out), "-o", str(rev), "--key", "k"])
    assert r.exit_code == 0, r.output
    assert _psnr(load_image(image) / 255.0, load_image(str(rev)) / 255.0) > 20.0
    r = runner.invoke(main, ["windows", str(out), "-o", str(win), "--key", "k"])
    assert r.exit_code == 0, r.output
    assert np.load(str(win)).shape == (2, 10 * 4096) and "2 copies" in r.output
    r = runner.invoke(main, ["hide", image, str(path), "-o", str(tmp_path / "x.wav"), "--copies", "9"])
    assert r.exit_code == 2 and f"--copies must be in 1..{sync.MAX_COPIES}" in r.output
    assert not (tmp_path / "x.wav").exists()
    assert f"up to {MAX_COPIES})" in runner.invoke(main, ["hide", "--help"]).output


@pytest.mark.parametrize("spec", ["mp3:64", "opus:64"])
def test_every_copy_is_found_after_a_lossy_codec(steg, long_cover, spec):
    from ditas_tf import channels

    cover, rate = long_cover
    res = steg.hide_array(load_image(sample_paths()[0]), cover, rate, key="k")
    received, r = channels.apply(spec, pcm16_roundtrip(res.container), rate)
    windows, _ = steg.container_windows(received, r, 1, key="k")
    assert len(windows) == res.copies >= 2
