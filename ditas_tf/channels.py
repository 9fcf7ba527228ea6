"""What files go through on their way: a suite of named, parameterised channels (numpy + real tools).

A channel is written ``NAME`` or ``NAME:PARAM`` and maps ``(samples [frames,
channels] float32, rate)`` to the same. Codecs run the real encoders and
decoders of ffmpeg (libmp3lame, aac, libopus), never an imitation; resampling
uses soxr. Every channel works on a copy.

=================  =========================================================
``pcm16``          16-bit PCM quantisation
``pcm8``           8-bit PCM quantisation
``resample:HZ``    resample to HZ and back (soxr, high quality)
``gain:DB``        multiply by 10 ** (DB / 20), clipped to [-1, 1)
``noise:SNR``      white noise SNR dB under the file
``babble:SNR``     speech noise (four shifted copies of a bundled clip) SNR dB under the file
``lowpass:HZ``     4th-order Butterworth low-pass (zero phase)
``highpass:HZ``    4th-order Butterworth high-pass (zero phase)
``mp3:KBPS``       MP3 encode and decode (ffmpeg, libmp3lame)
``aac:KBPS``       AAC-LC in MP4 encode and decode (ffmpeg's aac)
``opus:KBPS``      Opus in Ogg encode and decode (ffmpeg, libopus)
``pad_start:S``    S seconds of silence before the file
``pad_end:S``      S seconds of silence after it
``cut_start:N``    drop the first N samples
``cut_end:N``      drop the last N samples
``mono``           mix all channels to one
``stereo``         duplicate a mono file into two channels
=================  =========================================================
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import numpy as np
import soundfile as sf

from ditas_tf.errors import InputError

# name -> (parameter meaning, lower bound, upper bound); None: takes no parameter.
CHANNELS = {
    "pcm16": None,
    "pcm8": None,
    "resample": ("a rate in Hz", 4000, 192000),
    "gain": ("a gain in dB", -60, 20),
    "noise": ("an SNR in dB", -20, 100),
    "babble": ("an SNR in dB", -20, 100),
    "lowpass": ("a cut-off in Hz", 100, 96000),
    "highpass": ("a cut-off in Hz", 10, 96000),
    "mp3": ("a bitrate in kbps", 8, 320),
    "aac": ("a bitrate in kbps", 8, 512),
    "opus": ("a bitrate in kbps", 6, 510),
    "pad_start": ("a length in seconds", 0, 3600),
    "pad_end": ("a length in seconds", 0, 3600),
    "cut_start": ("a number of samples", 0, 1 << 31),
    "cut_end": ("a number of samples", 0, 1 << 31),
    "mono": None,
    "stereo": None,
}


def parse(spec: str) -> tuple[str, float | None]:
    """'mp3:128' -> ('mp3', 128.0); a one-line InputError for unknown names or bad parameters."""
    name, _, param = str(spec).partition(":")
    name = name.strip().lower()
    if name not in CHANNELS:
        raise InputError(f"unknown channel {name!r}: choose from {', '.join(CHANNELS)}")
    rule = CHANNELS[name]
    if rule is None:
        if param:
            raise InputError(f"channel {name} takes no parameter, got {spec!r}")
        return name, None
    what, lo, hi = rule
    try:
        value = float(param)
    except ValueError:
        raise InputError(f"channel {name} needs {what} ({name}:VALUE), got {spec!r}") from None
    if not (np.isfinite(value) and lo <= value <= hi):
        raise InputError(f"channel {name}: {what} must be in [{lo}, {hi}], got {param}")
    return name, value


def apply(spec: str, samples: np.ndarray, rate: int, seed: int = 0) -> tuple[np.ndarray, int]:
    """Apply channel ``spec`` to ``samples`` ([frames] or [frames, ch]); returns (samples, rate)."""
    name, p = parse(spec)
    x = np.array(samples, np.float32, copy=True)
    if x.ndim == 1:
        x = x[:, None]
    if name == "pcm16":
        return _quantize(x, 16), rate
    if name == "pcm8":
        return _quantize(x, 8), rate
    if name == "resample":
        from ditas_tf.audio import resample

        return resample(resample(x, rate, int(p)), int(p), rate), rate
    if name == "gain":
        return np.clip(x * 10 ** (p / 20), -1.0, 32767 / 32768), rate
    if name in ("noise", "babble"):
        noise = _white(x.shape, seed) if name == "noise" else _babble(x.shape, rate, seed)
        power = np.mean(x.astype(np.float64) ** 2)
        noise *= np.sqrt(power / 10 ** (p / 10) / max(np.mean(noise**2), 1e-20))
        return np.clip(x + noise, -1.0, 32767 / 32768).astype(np.float32), rate
    if name in ("lowpass", "highpass"):
        if p >= rate / 2:
            raise InputError(f"channel {name}: cut-off {p:g} Hz is not below the file's Nyquist ({rate / 2:g} Hz)")
        from scipy.signal import butter, sosfiltfilt

        sos = butter(4, p, btype=name[:-4] if name == "lowpass" else "high", fs=rate, output="sos")
        return sosfiltfilt(sos, x, axis=0).astype(np.float32), rate
    if name in ("mp3", "aac", "opus"):
        return _codec(name, int(p), x, rate)
    if name == "pad_start":
        return np.concatenate([np.zeros((round(p * rate), x.shape[1]), np.float32), x]), rate
    if name == "pad_end":
        return np.concatenate([x, np.zeros((round(p * rate), x.shape[1]), np.float32)]), rate
    if name in ("cut_start", "cut_end"):
        n = int(p)
        if n >= len(x):
            raise InputError(f"channel {name}:{n} would remove the whole file ({len(x)} samples)")
        return (x[n:] if name == "cut_start" else x[: len(x) - n]), rate
    if name == "mono":
        return x.mean(axis=1, keepdims=True), rate
    if name == "stereo":
        return np.repeat(x.mean(axis=1, keepdims=True), 2, axis=1), rate
    raise AssertionError(name)  # every name in CHANNELS is handled above


def _quantize(x: np.ndarray, bits: int) -> np.ndarray:
    q = float(2 ** (bits - 1))
    return (np.clip(np.round(x * q), -q, q - 1) / q).astype(np.float32)


def _white(shape, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _babble(shape, rate: int, seed: int) -> np.ndarray:
    """Four randomly shifted copies of the bundled LJ Speech clip, at the file's rate."""
    from importlib import resources

    from ditas_tf.audio import load_mono

    speech = load_mono(str(resources.files("ditas_tf") / "samples" / "LJ002-0105.wav"), rate).astype(np.float64)
    rng = np.random.default_rng(seed)
    reps = int(np.ceil(shape[0] / len(speech))) + 1
    long = np.tile(speech, reps)
    out = np.zeros(shape[0])
    for _ in range(4):
        s = int(rng.integers(0, len(speech)))
        out += long[s : s + shape[0]]
    return np.repeat(out[:, None], shape[1], axis=1)


CODECS = {
    "mp3": (["-c:a", "libmp3lame"], ".mp3"),
    "aac": (["-c:a", "aac"], ".m4a"),
    "opus": (["-c:a", "libopus"], ".ogg"),
}


def _codec(name: str, kbps: int, x: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """Encode and decode with ffmpeg; the result is resampled (soxr) to the input rate if the codec changed it."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise InputError(f"channel {name} needs ffmpeg on PATH (apt-get install ffmpeg)")
    args, ext = CODECS[name]
    with tempfile.TemporaryDirectory(prefix="ditas-channel-") as tmp:
        src, enc, dec = (os.path.join(tmp, f) for f in ("in.wav", f"enc{ext}", "out.wav"))
        sf.write(src, _quantize(x, 16), rate, subtype="PCM_16")
        for cmd in (
            [ffmpeg, "-v", "error", "-y", "-i", src, *args, "-b:a", f"{kbps}k", enc],
            [ffmpeg, "-v", "error", "-y", "-i", enc, "-c:a", "pcm_s16le", dec],
        ):
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                msg = (done.stderr.strip().splitlines() or ["no message"])[-1]
                raise InputError(f"channel {name}:{kbps}: ffmpeg failed ({msg[:160]})")
        y, r = sf.read(dec, dtype="float32", always_2d=True)
    if r != rate:
        from ditas_tf.audio import resample

        y = resample(y, r, rate)
    return y.astype(np.float32), rate
