"""Hide and reveal real files with the shipped model, and every bad-input case."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import IMAGES
from PIL import Image

from ditas_tf.audio import pcm16_roundtrip
from ditas_tf.cli import main
from ditas_tf.demo import sample_paths
from ditas_tf.images import load_image
from ditas_tf.metrics import psnr

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE, COVER = sample_paths()


@pytest.fixture(scope="module")
def steg():
    from ditas_tf.stego import Steganographer

    return Steganographer.load("default")


def _psnr(a, b):
    return float(psnr(np.asarray(a, np.float32)[None], np.asarray(b, np.float32)[None])[0])


def _run(args):
    return CliRunner().invoke(main, args)


def test_hide_reveal_cli_roundtrip_with_key(tmp_path):
    out, rev, bad = tmp_path / "c.wav", tmp_path / "r.png", tmp_path / "w.png"
    cover_bytes = open(COVER, "rb").read()
    r = _run(["hide", IMAGE, COVER, "-o", str(out), "--key", "correct horse"])
    assert r.exit_code == 0, r.output
    assert "placed where it is least audible: noise-to-mask" in r.output, r.output
    assert open(COVER, "rb").read() == cover_bytes  # input untouched
    info_in, info_out = sf.info(COVER), sf.info(str(out))
    assert (info_out.samplerate, info_out.channels, info_out.frames) == (
        info_in.samplerate,
        info_in.channels,
        info_in.frames,
    )
    assert info_out.subtype == "PCM_16"
    r = _run(["reveal", str(out), "-o", str(rev), "--key", "correct horse"])
    assert r.exit_code == 0, r.output
    secret = load_image(IMAGE) / 255.0
    # The CLI gives what the Python API gives for the same pair and key (quality pins: test_promises.py).
    from ditas_tf.stego import Steganographer

    steg = Steganographer.load("default")
    x, rate = sf.read(COVER, dtype="float32")
    api = steg.reveal_array(
        pcm16_roundtrip(steg.hide_array(load_image(IMAGE), x, rate, key="correct horse").container),
        rate,
        key="correct horse",
    )
    assert abs(_psnr(secret, load_image(str(rev)) / 255.0) - _psnr(secret, np.round(api * 255) / 255)) < 0.05
    assert _psnr(secret, load_image(str(rev)) / 255.0) > 15.0
    # A wrong key finds no pilot: a one-line error, no image written.
    r = _run(["reveal", str(out), "-o", str(bad), "--key", "wrong key"])
    assert r.exit_code == 2 and r.output.startswith("error: no hidden image found"), r.output
    assert not bad.exists()


def test_stereo_48k_float_cover_and_size(tmp_path, steg):
    # A 48 kHz stereo cover; a 100x70 image (2x2 tiles) revealed at its size.
    x16, rate = sf.read(COVER, dtype="float32")
    from ditas_tf.audio import resample

    x48 = resample(x16, rate, 48000)
    stereo = np.stack([x48, 0.5 * x48], axis=1)
    cover = tmp_path / "stereo.flac"
    sf.write(cover, np.concatenate([stereo, stereo, stereo]), 48000)
    img = np.asarray(Image.open(os.path.join(IMAGES, "test", "set14", "baboon.png")).convert("RGB").resize((100, 70)))
    Image.fromarray(img).save(tmp_path / "s.png")
    out = tmp_path / "c.wav"
    r = _run(["hide", str(tmp_path / "s.png"), str(cover), "-o", str(out), "--float"])
    assert r.exit_code == 0, r.output
    assert "--size 100x70" in r.output
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.subtype) == (48000, 2, "FLOAT")
    data, _ = sf.read(str(out))
    assert np.abs(data).max() < 1.0
    revealed = steg.reveal_array(data.astype(np.float32), 48000, size=(100, 70))
    assert revealed.shape == (70, 100, 3)
    # The same image through the plain path (mono 16 kHz cover, 16-bit): the rate, the channels
    # and the float file cost at most 1 dB. A flat grey image scores about 12 dB against this picture.
    mono = resample(x16, rate, 16000)
    plain = steg.hide_array(img, np.concatenate([mono, mono, mono]), 16000)
    ref = steg.reveal_array(pcm16_roundtrip(plain.container), 16000, size=(100, 70))
    assert _psnr(img / 255.0, revealed) > _psnr(img / 255.0, ref) - 1.0
    assert _psnr(img / 255.0, ref) > 15.0


def test_hide_resize_fits_a_large_image_in_one_tile(tmp_path):
    big = os.path.join(IMAGES, "test", "set14", "baboon.png")
    out = tmp_path / "c.wav"
    r = _run(["hide", big, COVER, "-o", str(out), "--resize", "64x64", "--pesq"])
    assert r.exit_code == 0, r.output
    assert "hid 64x64 image (1 tile(s), " in r.output and "span SNR" in r.output
    line = r.output.split("span PESQ-WB ")[1].splitlines()[0]
    span, whole = (float(v.strip(")")) for v in line.split(" (whole file "))
    assert 1.0 <= span < whole <= 4.65  # untouched audio flatters the whole-file figure
    r = _run(["hide", big, COVER, "-o", str(tmp_path / "c2.wav")])
    assert r.exit_code == 2 and "cover too short" in r.output


def test_python_api_paths_and_stages(tmp_path, steg):
    out = tmp_path / "c.wav"
    res = steg.hide(IMAGE, COVER, str(out), key="k")
    assert len(res.starts) == 1 and res.sync_scores[0] > 8.5
    secret = load_image(IMAGE) / 255.0
    stages = []
    data, rate = sf.read(str(out), dtype="float32")
    all_c = steg.reveal_array(data, rate, key="k", all_stages=True)
    assert all_c.shape[0] == res.stages == (steg.cfg.model.hide_stages or steg.cfg.model.stages)
    for k in range(1, res.stages + 1):
        stages.append(_psnr(secret, steg.reveal_array(data, rate, key="k", stages=k)))
    # Revealing from the first k stages is C_k.
    np.testing.assert_allclose(stages[-1], _psnr(secret, all_c[-1]), atol=1e-4)
    np.testing.assert_allclose(stages[0], _psnr(secret, all_c[0]), atol=1e-4)


def test_compiled_steganographer_matches_eager(steg):
    from ditas_tf.runners import KerasRunner
    from ditas_tf.stego import Steganographer

    eager = Steganographer.load("default", backend="keras")
    fast = Steganographer(eager.cfg, KerasRunner(eager.system, compiled=True))
    steg = eager
    x, rate = sf.read(COVER, dtype="float32")
    img = load_image(IMAGE)
    a, b = steg.hide_array(img, x, rate), fast.hide_array(img, x, rate)
    # Graph and eager kernels round differently, and the phase mask divides by the magnitude of the
    # network's output, which magnifies that; a quarter of a 16-bit step cannot change the stored file
    # by more than one step (it was 1e-6 before the mask, which the shipped model now exceeds: 1.9e-6).
    np.testing.assert_allclose(a.container, b.container, atol=0.25 / 32768)
    windows, _ = steg.container_windows(a.container, rate, 1)
    windows = np.concatenate([windows, 0.5 * windows, -windows])  # a batch of three
    carried = windows.shape[1] // steg.block
    for k in (2, carried):  # one graph per stage count, any batch size
        w = windows[:, : k * steg.block]
        np.testing.assert_allclose(steg.reveal_windows(w, k), fast.reveal_windows(w, k), atol=1e-5)
    assert fast.reveal_windows(windows[:1], carried).shape == (1, carried, 64, 64, 3)


def test_clipping_is_prevented_not_wrapped(tmp_path, steg):
    x, rate = sf.read(COVER, dtype="float32")
    loud = (0.9999 * np.tanh(20 * x)).astype(np.float32)  # near full scale everywhere
    img = load_image(IMAGE)
    res = steg.hide_array(img, loud, rate)
    assert np.abs(res.container).max() <= 32767 / 32768
    assert res.gain < 1.0


def test_demo_writes_three_files(tmp_path):
    r = _run(["demo", "--out", str(tmp_path / "demo")])
    assert r.exit_code == 0, r.output
    for name in ("secret.png", "container.wav", "revealed.png"):
        assert (tmp_path / "demo" / name).is_file()
    assert "revealed_psnr_db" in r.output and "span_pesq_wb" in r.output and "file_pesq_wb" in r.output


# ------------------------------------------------------------- bad input


def _bad_inputs(tmp):
    trunc_png = tmp / "trunc.png"
    trunc_png.write_bytes(open(IMAGE, "rb").read()[:200])
    trunc_wav = tmp / "trunc.wav"
    trunc_wav.write_bytes(open(COVER, "rb").read()[:40])
    corrupt_wav = tmp / "corrupt.wav"
    corrupt_wav.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 4)
    empty_wav = tmp / "empty.wav"
    sf.write(empty_wav, np.zeros(0, np.float32), 16000)
    silent = tmp / "silent.wav"
    sf.write(silent, np.zeros(16000 * 5, np.float32), 16000)
    short = tmp / "short.wav"
    x, rate = sf.read(COVER)
    sf.write(short, x[: rate // 2], rate)
    text = tmp / "notes.txt"
    text.write_text("hello")
    not_model = tmp / "not_a_model"
    not_model.mkdir()
    good = tmp / "good.wav"
    shutil.copy(COVER, good)
    o = str(tmp / "out.wav")
    p = str(tmp / "out.png")
    return [
        (["hide", str(tmp / "missing.png"), COVER, "-o", o], "file not found"),
        (["hide", str(tmp), COVER, "-o", o], "got a directory"),
        (["hide", str(text), COVER, "-o", o], "not a readable image"),
        (["hide", IMAGE, str(text), "-o", o], "not a readable audio file"),
        (["hide", str(trunc_png), COVER, "-o", o], "not a readable image"),
        (["hide", IMAGE, str(trunc_wav), "-o", o], "not a readable audio file"),
        (["hide", IMAGE, str(corrupt_wav), "-o", o], "not a readable audio file"),
        (["hide", IMAGE, str(empty_wav), "-o", o], "no samples"),
        (["hide", IMAGE, str(silent), "-o", o], "cover is silent"),
        (["hide", IMAGE, str(short), "-o", o], "cover too short: needs 1 stretch(es) of 0.77 s"),
        (["reveal", str(good), "-o", p], "no hidden image found"),
        (["reveal", str(good), "-o", p, "--model", "quiet"], "'quiet' was retired"),
        (["reveal", str(good), "-o", p, "--size", "0x0"], "out of range"),
        (["reveal", str(good), "-o", p, "--size", "100000x100000"], "out of range"),
        (["reveal", str(good), "-o", p, "--size", "big"], "must look like WxH"),
        (["hide", IMAGE, COVER, "-o", o, "--resize", "0x5"], "--resize 0x5 is out of range"),
        (["hide", IMAGE, COVER, "-o", o, "--stages", "0"], "--stages must be at least 1"),
        (["hide", IMAGE, COVER, "-o", o, "--placement", "loud"], "unknown placement 'loud'; choose from"),
        (
            ["eval", "--model", "default", "--images", str(tmp), "--audio", str(tmp), "--out", str(tmp / "ev")]
            + ["--placement", "loud"],
            "unknown placement 'loud'; choose from least-audible, first",
        ),
        (["reveal", str(good), "-o", p, "--stages", "99"], "--stages must be in 1.."),
        (["hide", IMAGE, str(good), "-o", str(good)], "same as an input"),
        (["hide", IMAGE, COVER, "-o", str(tmp / "no" / "dir" / "x.wav")], "output folder does not exist"),
        (["reveal", str(good), "-o", p, "--model", str(not_model)], "not a ditas model folder"),
        (["reveal", str(good), "-o", p, "--model", "nonexistent_name"], "neither a shipped model"),
    ]


def test_every_bad_input_gets_one_line_exit_2_and_no_output(tmp_path):
    cases = _bad_inputs(tmp_path)
    before = {f: open(tmp_path / f, "rb").read() for f in os.listdir(tmp_path) if (tmp_path / f).is_file()}
    for args, message in cases:
        r = _run(args)
        assert r.exit_code == 2, (args, r.output)
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, r.output)
        assert message in lines[0], (args, lines[0])
        assert not (tmp_path / "out.wav").exists() and not (tmp_path / "out.png").exists(), args
    after = {f: open(tmp_path / f, "rb").read() for f in before}
    assert after == before  # no input modified
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]


def test_unwritable_output_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        # As root, permission bits do not stop writes; /proc refuses new files for everyone.
        target = str(ro / "x.wav") if not os.access(ro, os.W_OK) else "/proc/ditas_x.wav"
        r = _run(["hide", IMAGE, COVER, "-o", target])
        assert r.exit_code == 2, r.output
        assert len(r.output.strip().splitlines()) == 1
        assert "not writable" in r.output or "cannot write" in r.output
        assert not os.path.exists(target)
    finally:
        os.chmod(ro, 0o700)


def test_cli_error_is_one_line_on_stderr_without_traceback(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO)
    r = subprocess.run(
        [sys.executable, "-m", "ditas_tf", "hide", IMAGE, COVER[:-4] + "_missing.wav", "-o", str(tmp_path / "x.wav")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"error: file not found: {COVER[:-4]}_missing.wav"]
    assert r.stdout == ""


def test_image_modes_and_an_mp3_cover(tmp_path):
    # Grey, palette, RGBA and 16-bit grey images; an MP3 cover decoded by libsndfile.
    import subprocess

    base = Image.open(IMAGE).convert("RGB")
    files = {
        "grey.png": base.convert("L"),
        "palette.png": base.convert("P"),
        "rgba.png": base.convert("RGBA"),
        "grey16.png": base.convert("I;16"),
    }
    mp3 = tmp_path / "cover.mp3"
    p = subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", COVER, "-b:a", "128k", str(mp3)], capture_output=True)
    assert p.returncode == 0, p.stderr
    for name, im in files.items():
        im.save(tmp_path / name)
        out = tmp_path / f"{name}.wav"
        r = _run(["hide", str(tmp_path / name), str(mp3), "-o", str(out)])
        assert r.exit_code == 0, (name, r.output)
        r = _run(["reveal", str(out), "-o", str(tmp_path / f"{name}.rev.png")])
        assert r.exit_code == 0, (name, r.output)
        secret = load_image(str(tmp_path / name)) / 255.0
        assert secret.shape == (64, 64, 3) and 0.05 < secret.mean() < 0.95  # 16-bit grey is not clipped to white
        assert _psnr(secret, load_image(str(tmp_path / f"{name}.rev.png")) / 255.0) > 15.0


def test_non_finite_cover_is_refused(tmp_path, steg):
    from ditas_tf.errors import InputError

    x, rate = sf.read(COVER, dtype="float32")
    x[1000] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        steg.hide_array(load_image(IMAGE), x, rate)
    sf.write(tmp_path / "nan.wav", x, rate, subtype="FLOAT")
    r = _run(["hide", IMAGE, str(tmp_path / "nan.wav"), "-o", str(tmp_path / "c.wav")])
    assert r.exit_code == 2 and "non-finite" in r.output


def test_stages_k_on_the_command_line(tmp_path):
    out = tmp_path / "c.wav"
    r = _run(["hide", IMAGE, COVER, "-o", str(out), "--stages", "3", "--key", "s"])
    assert r.exit_code == 0, r.output
    assert "3 of " in r.output and "--stages" not in r.output  # the pilot tells the receiver
    r = _run(["reveal", str(out), "-o", str(tmp_path / "r.png"), "--key", "s"])
    assert r.exit_code == 0, r.output
    told = load_image(str(tmp_path / "r.png"))
    assert _psnr(load_image(IMAGE) / 255.0, told / 255.0) > 12.0
    r = _run(["reveal", str(out), "-o", str(tmp_path / "r3.png"), "--stages", "3", "--key", "s"])
    assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(load_image(str(tmp_path / "r3.png")), told)
    r = _run(["reveal", str(out), "-o", str(tmp_path / "r4.png"), "--stages", "4", "--key", "s"])
    assert r.exit_code == 2 and "--stages 4 is more than the 3 stage(s) this container carries" in r.output
