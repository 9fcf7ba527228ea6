"""The channel suite: real tools, exact edits, one-line errors for bad names and parameters."""

import os

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import IMAGES, LJ

from ditas_tf import channels
from ditas_tf.cli import main
from ditas_tf.demo import sample_paths
from ditas_tf.errors import InputError

_, COVER = sample_paths()


@pytest.fixture(scope="module")
def clip():
    x, rate = sf.read(COVER, dtype="float32", always_2d=True)
    return x[: rate * 3], rate


@pytest.mark.parametrize("spec", [s for s in channels.CHANNELS])
def test_every_channel_runs_on_real_audio(clip, spec):
    x, rate = clip
    name = spec
    if channels.CHANNELS[spec] is not None:
        spec = {
            "resample": "resample:44100",
            "gain": "gain:-6",
            "noise": "noise:20",
            "babble": "babble:20",
            "lowpass": "lowpass:4000",
            "highpass": "highpass:300",
            "mp3": "mp3:64",
            "aac": "aac:96",
            "opus": "opus:32",
            "pad_start": "pad_start:0.5",
            "pad_end": "pad_end:0.5",
            "cut_start": "cut_start:100",
            "cut_end": "cut_end:100",
        }[spec]
    before = x.copy()
    y, r = channels.apply(spec, x, rate)
    assert np.array_equal(x, before)  # the input is never modified
    assert r == rate and y.dtype == np.float32 and np.all(np.isfinite(y))
    if name in ("pad_start", "pad_end"):
        assert len(y) == len(x) + rate // 2
    elif name in ("cut_start", "cut_end"):
        assert len(y) == len(x) - 100
        assert np.array_equal(y, x[100:] if name == "cut_start" else x[:-100])
    elif name == "stereo":
        assert y.shape == (len(x), 2)
    elif name in ("mp3", "aac", "opus"):
        assert abs(len(y) - len(x)) < rate // 10  # decoders trim the codec's delay
        assert not np.array_equal(y[: len(x)], x[: len(y)])
    elif name == "gain":
        np.testing.assert_allclose(y, x * 10 ** (-6 / 20), atol=1e-7)
    elif name in ("noise", "babble"):
        snr = 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / np.sum((y - x).astype(np.float64) ** 2))
        assert abs(snr - 20) < 0.5


@pytest.mark.parametrize(
    "spec,message",
    [
        ("mp4:3", "unknown channel 'mp4'"),
        ("mp3", "channel mp3 needs a bitrate in kbps"),
        ("mp3:fast", "channel mp3 needs a bitrate in kbps"),
        ("mp3:1000", "must be in [8, 320]"),
        ("mono:2", "takes no parameter"),
        ("gain:nan", "must be in"),
    ],
)
def test_bad_channels_get_one_line(spec, message):
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        channels.apply(spec, np.zeros((100, 1), np.float32), 16000)
    args = ["eval", "--model", "default", "--images", os.path.join(IMAGES, "test", "set5"), "--audio", LJ]
    r = CliRunner().invoke(main, args + ["--out", "unused", "--channel", spec])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not os.path.exists("unused")


def test_lowpass_above_nyquist_is_refused(clip):
    x, rate = clip
    with pytest.raises(InputError, match="Nyquist"):
        channels.apply("lowpass:20000", x, 16000)
