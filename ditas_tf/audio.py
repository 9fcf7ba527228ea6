"""Audio decoding, resampling and writing.

tensorflow-io would be the TensorFlow-native choice, but its last release
(0.37.1) only loads with TF <= 2.17. We decode with soundfile (libsndfile:
WAV, FLAC, OGG, MP3 and TIMIT's NIST SPHERE) and resample with soxr, a
maintained, anti-aliased resampler.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import soundfile as sf
import soxr

from ditas_tf.errors import InputError
from ditas_tf.fileio import atomic_path

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".sph", ".nist")


def read_audio(path: str) -> tuple[np.ndarray, int]:
    """Decode a file to float32 samples [frames, channels] in [-1, 1] and its rate.

    Raises:
      InputError: missing path, a folder, or a file libsndfile cannot decode.
    """
    if not os.path.exists(path):
        raise InputError(f"audio file not found: {path}")
    if os.path.isdir(path):
        raise InputError(f"expected an audio file, got a directory: {path}")
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise InputError(f"not a readable audio file: {path} ({_short(exc)})") from None
    if data.shape[0] == 0:
        raise InputError(f"audio file has no samples: {path}")
    if not np.all(np.isfinite(data)):
        raise InputError(f"audio file holds non-finite samples: {path}")
    return data, int(rate)


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__


def to_mono(data: np.ndarray) -> np.ndarray:
    """Mid signal (mean of the channels) of [frames, channels] audio."""
    return data.mean(axis=1) if data.ndim == 2 else data


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Anti-aliased resampling (soxr, high quality) of a 1-D or [frames, ch] array."""
    if rate_in == rate_out:
        return np.asarray(x, np.float32)
    return soxr.resample(np.asarray(x, np.float32), rate_in, rate_out, quality="HQ").astype(np.float32)


def load_mono(path: str, rate: int) -> np.ndarray:
    """Decode, mix to mono and resample to ``rate``: float32 1-D in [-1, 1]."""
    data, sr = read_audio(path)
    return resample(to_mono(data), sr, rate)


def pcm16_roundtrip(x: np.ndarray) -> np.ndarray:
    """What a 16-bit WAV write then read gives back (clip, round, rescale)."""
    q = np.clip(np.round(np.asarray(x, np.float64) * 32768.0), -32768, 32767)
    return (q / 32768.0).astype(np.float32)


def write_audio(path: str, data: np.ndarray, rate: int, float32: bool = False) -> None:
    """Write WAV atomically: 16-bit PCM (default) or 32-bit float.

    Samples must already be inside [-1, 1); nothing is wrapped.
    """
    data = np.asarray(data, np.float32)
    if float32:
        arr, subtype = data, "FLOAT"
    else:
        # Our own rounding (x * 32768), so that reading back gives pcm16_roundtrip(x) exactly.
        arr = np.clip(np.round(data.astype(np.float64) * 32768.0), -32768, 32767).astype(np.int16)
        subtype = "PCM_16"
    with atomic_path(path, suffix=".wav") as tmp:
        sf.write(tmp, arr, rate, subtype=subtype, format="WAV")
