"""Perceptual shaping of the modification (plain numpy, no TensorFlow).

The hiding network's raw modification ``delta`` of one cover subsequence is
reshaped in time and frequency by the cover itself:

    shaped = ISTFT( STFT(delta) * (|STFT(cover)| + floor) ** exponent )

then rescaled so that it sits exactly ``snr_db`` below the subsequence. Loud
time-frequency bins of the speech carry more of the modification and quiet
ones less, which is what auditory masking allows (``exponent`` 0 is white,
1 follows the cover's spectrum exactly).

The STFT uses a sqrt-Hann window for analysis and synthesis with 50 % overlap
(a perfect-reconstruction pair), and the block is padded by half a frame at
both ends, so ``exponent = 0`` returns ``delta`` unchanged. The DFTs are
written as matrix products, so the Keras layer
(:class:`ditas_tf.layers.MaskedResidual`) that mirrors this module exports to
TFLite with builtin ops only. This module is the reference the layer is
tested against, and the mask calibration script uses it.
"""

from __future__ import annotations

import numpy as np

MASK_SCHEME = "sqrt-hann-stft-mask/v1"
# Bins are floored at this fraction of the block's RMS magnitude before the exponent.
MASK_FLOOR = 1e-3


def lowpass_kernel(cutoff_hz: float, rate: int, taps: int = 63) -> np.ndarray:
    """Hann-windowed sinc low-pass FIR (unit DC gain), as the model's BlockLowPass uses it."""
    n = np.arange(taps) - (taps - 1) / 2
    h = np.sinc(2 * cutoff_hz / rate * n) * np.hanning(taps)
    return (h / h.sum()).astype(np.float32)


def lowpass(x: np.ndarray, cutoff_hz: float, rate: int) -> np.ndarray:
    """Low-pass each row of ``x`` [..., N] with zero padding ('same' size, as tf.nn.conv1d SAME)."""
    k = lowpass_kernel(cutoff_hz, rate).astype(np.float64)
    flat = np.asarray(x, np.float64).reshape(-1, x.shape[-1])
    out = np.stack([np.convolve(row, k, mode="same") for row in flat])
    return out.reshape(x.shape)


def spreading_sequence(length: int) -> np.ndarray:
    """The fixed +-1 spreading sequence (scheme ``sha256-spread/v1``): bits of SHA-256 in counter mode.

    Multiplying a block by it turns any structure (an image's rows, say) into
    white noise, and multiplying again restores it.
    """
    import hashlib

    out = bytearray()
    counter = 0
    while len(out) * 8 < length:
        out += hashlib.sha256(b"ditas-spread/v1" + counter.to_bytes(8, "big")).digest()
        counter += 1
    bits = np.unpackbits(np.frombuffer(bytes(out), np.uint8))[:length]
    return bits.astype(np.float32) * 2.0 - 1.0


def window(frame_length: int) -> np.ndarray:
    """sqrt-Hann window whose squares sum to one at hop frame_length / 2."""
    n = np.arange(frame_length)
    return np.sin(np.pi * (n + 0.5) / frame_length)


def first_bin(highpass_hz: float, rate: int, frame_length: int) -> int:
    """The first STFT bin at or above ``highpass_hz`` (0 when it is 0): the bins under it carry nothing.

    ``model.highpass_hz`` keeps the modification out of the band that DC-blocking and rumble filters
    remove, and keeps the spectral layout's networks from reading it.
    """
    if highpass_hz <= 0:
        return 0
    return int(np.ceil(highpass_hz * frame_length / rate - 1e-9))


def top_bin(top_hz: float, rate: int, frame_length: int) -> int:
    """The first STFT bin at or above ``top_hz`` (0 when it is 0: no top): it and the bins above it carry nothing.

    ``model.mask_top_hz`` keeps the modification out of the top of the speech band, where speech is
    weak and bursty and a modification that fills the gaps between the bursts is easy to measure
    (docs/hiding_output.md, "what a detector sees").
    """
    if top_hz <= 0:
        return 0
    return int(np.ceil(top_hz * frame_length / rate - 1e-9))


def dft_matrices(frame_length: int) -> tuple[np.ndarray, np.ndarray]:
    """(forward [L, 2K], inverse [2K, L]) real DFT matrices, K = L/2 + 1 bins.

    ``frames @ forward`` gives [Re | Im] of the windowed frames' spectra and
    ``spectra @ inverse`` the windowed frames back.
    """
    L = frame_length
    k = np.arange(L // 2 + 1)
    n = np.arange(L)
    ang = 2 * np.pi * np.outer(n, k) / L  # [L, K]
    w = window(L)[:, None]
    forward = np.concatenate([w * np.cos(ang), -w * np.sin(ang)], axis=1)
    c = np.full(L // 2 + 1, 2.0)
    c[0] = 1.0
    c[-1] = 1.0
    inv_re = (c[:, None] * np.cos(ang.T)) / L
    inv_im = -(c[:, None] * np.sin(ang.T)) / L
    inverse = np.concatenate([inv_re, inv_im], axis=0) * window(L)[None, :]
    return forward, inverse


def analysis(frame_length: int, low_bin: int = 0) -> np.ndarray:
    """The forward DFT matrix of :func:`dft_matrices` with the columns of bins under ``low_bin`` zeroed."""
    fwd, _ = dft_matrices(frame_length)
    k = frame_length // 2 + 1
    fwd = fwd.copy()
    fwd[:, :low_bin] = 0.0
    fwd[:, k : k + low_bin] = 0.0
    return fwd


def synthesis(frame_length: int, low_bin: int = 0, high_bin: int = 0) -> np.ndarray:
    """The inverse DFT matrix of :func:`dft_matrices` with the rows of bins under ``low_bin`` zeroed,
    and those from ``high_bin`` up when it is not 0."""
    _, inv = dft_matrices(frame_length)
    k = frame_length // 2 + 1
    inv = inv.copy()
    inv[:low_bin] = 0.0
    inv[k : k + low_bin] = 0.0
    if high_bin:
        inv[high_bin:k] = 0.0
        inv[k + high_bin :] = 0.0
    return inv


def spectral_grid(block_samples: int, cells: int, frame_length: int, bins: int) -> tuple[int, int]:
    """(frames, bins) of one T-F cell of the ``spectral`` audio layout, or ValueError.

    A block of ``block_samples`` is cut into ``block_samples / hop`` frames (hop = frame_length / 2;
    the frames of :func:`ditas_tf.masking.frames` but the first); ``cells`` x ``cells`` cells split
    them and the first ``bins`` bins evenly.
    """
    hop = frame_length // 2
    if frame_length < 4 or frame_length % 4 or block_samples % hop:
        raise ValueError(f"frame length {frame_length}: its half must divide the block ({block_samples} samples)")
    frames = block_samples // hop
    if frames % cells or bins % cells or not 0 < bins <= frame_length // 2:
        raise ValueError(
            f"{frames} frames x {bins} bins do not split into {cells} x {cells} cells "
            f"(bins must be in 1..{frame_length // 2})"
        )
    return frames // cells, bins // cells


def frames(x: np.ndarray, frame_length: int) -> np.ndarray:
    """[..., N] -> [..., N / hop + 1, L] half-overlapping frames of x padded by hop at both ends."""
    hop = frame_length // 2
    if x.shape[-1] % hop:
        raise ValueError(f"block length {x.shape[-1]} is not a multiple of the hop {hop}")
    pad = [(0, 0)] * (x.ndim - 1) + [(hop, hop)]
    seg = np.pad(x, pad).reshape(*x.shape[:-1], -1, hop)
    return np.concatenate([seg[..., :-1, :], seg[..., 1:, :]], axis=-1)


def overlap_add(fr: np.ndarray) -> np.ndarray:
    """Inverse of :func:`frames` for windowed frames: [..., F, L] -> [..., (F - 1) * hop]."""
    hop = fr.shape[-1] // 2
    first, second = fr[..., :hop], fr[..., hop:]
    zeros = np.zeros_like(first[..., :1, :])
    seg = np.concatenate([first, zeros], axis=-2) + np.concatenate([zeros, second], axis=-2)
    out = seg.reshape(*fr.shape[:-2], -1)
    return out[..., hop:-hop]


def _hann_smooth(x: np.ndarray, width: int, axis: int) -> np.ndarray:
    """x smoothed along ``axis`` by a unit-sum Hann kernel of ``width`` taps ('same' size)."""
    k = np.hanning(width + 2)[1:-1]
    k = k / k.sum()
    return np.apply_along_axis(lambda r: np.convolve(r, k, mode="same"), axis, x)


def mask_gain(
    cover: np.ndarray,
    exponent: float,
    frame_length: int = 256,
    floor: float = MASK_FLOOR,
    spread_bins: int = 1,
    spread_frames: int = 1,
    envelope_exponent: float = 0.0,
    envelope_bins: int = 9,
) -> np.ndarray:
    """Per-bin gain (|C| + floor * rms|C|) ** exponent, [..., F, K], for blocks [..., N].

    ``spread_bins`` / ``spread_frames`` > 1 first smooth the cover's power over that many
    neighbouring bins / frames (a Hann kernel): a crude spreading of masking across frequency and
    time, measured by scripts/mask_calibration.py. The model's layer has no spreading.
    ``envelope_exponent`` multiplies the gain by the cover's band envelope (its power smoothed over
    ``envelope_bins`` bins, as a magnitude) to that power: with ``exponent + envelope_exponent = 1``
    a band's modification rises and falls with the band's speech over time, while across the bins
    of a band it keeps ``|C| ** exponent`` (scripts/mask_detectability.py).
    """
    fwd, _ = dft_matrices(frame_length)
    spec = frames(cover, frame_length) @ fwd
    k = frame_length // 2 + 1
    power = spec[..., :k] ** 2 + spec[..., k:] ** 2
    if spread_bins > 1:
        power = _hann_smooth(power, spread_bins, -1)
    if spread_frames > 1:
        power = _hann_smooth(power, spread_frames, -2)
    mag = np.sqrt(power + 1e-20)
    rms = np.sqrt(np.mean(mag**2, axis=(-2, -1), keepdims=True))
    gain = (mag + floor * rms + 1e-12) ** exponent
    if envelope_exponent:
        env = np.sqrt(_hann_smooth(power, envelope_bins, -1) + 1e-20)
        gain = gain * (env + floor * rms + 1e-12) ** envelope_exponent
    return gain


def cover_limited_bits(cover: np.ndarray, modification: np.ndarray, frame_length: int = 256, bins: int = 96) -> float:
    """Mean log2(1 + |M|^2 / |C|^2) over the STFT bins below ``bins`` of blocks [..., N].

    A rough upper measure of what a receiver that treats the cover as unknown noise could read
    from a modification M in each time-frequency bin of cover C (bits per bin): a modification
    concentrated where the cover is weak scores high, one that follows the cover scores low.
    """
    fwd, _ = dft_matrices(frame_length)
    k = frame_length // 2 + 1

    def power(x):
        s = frames(np.asarray(x, np.float64), frame_length) @ fwd
        return (s[..., :k] ** 2 + s[..., k:] ** 2)[..., :bins]

    return float(np.mean(np.log2(1.0 + power(modification) / (power(cover) + 1e-12))))


def bounded_gain(relative: np.ndarray, bound_db: float) -> np.ndarray:
    """exp(b tanh(ln(relative) / b)) with b = ln 10 ** (bound_db / 20): a gain that follows
    ``relative`` near 1 and saturates at +-bound_db."""
    b = np.log(10.0 ** (bound_db / 20.0))
    return np.exp(b * np.tanh(np.log(relative) / b))


def shape(
    delta: np.ndarray,
    cover: np.ndarray,
    exponent: float,
    frame_length: int = 256,
    mode: str = "gain",
    bound_db: float = 6.0,
    spread_bins: int = 1,
    spread_frames: int = 1,
    low_bin: int = 0,
    high_bin: int = 0,
    envelope_exponent: float = 0.0,
    envelope_bins: int = 9,
) -> np.ndarray:
    """The modification ``delta`` [..., N] shaped by the cover's STFT magnitude (unscaled).

    ``mode="gain"`` multiplies delta's spectrum by the mask, so a network can
    still raise weak bins by raising delta there; ``mode="phase"`` first
    divides every bin of delta by its own magnitude, so the mask alone sets the
    magnitudes and the network chooses the phases; ``mode="bounded"`` lets the
    network move each bin's magnitude too, but only within +-``bound_db`` of
    the mask (:func:`bounded_gain` of the bin's magnitude relative to delta's RMS).
    Bins under ``low_bin`` (:func:`first_bin`) are left out of the result, and with
    ``high_bin`` (:func:`top_bin`) the bins from it up. ``envelope_exponent`` and ``envelope_bins``
    are :func:`mask_gain`'s.
    """
    fwd, inv = dft_matrices(frame_length)
    g = mask_gain(
        cover,
        exponent,
        frame_length,
        spread_bins=spread_bins,
        spread_frames=spread_frames,
        envelope_exponent=envelope_exponent,
        envelope_bins=envelope_bins,
    )
    spec = frames(delta, frame_length) @ fwd
    if mode in ("phase", "bounded"):
        k = frame_length // 2 + 1
        mag = np.sqrt(spec[..., :k] ** 2 + spec[..., k:] ** 2)
        rms = np.sqrt(np.mean(mag**2, axis=(-2, -1), keepdims=True))
        floored = mag + MASK_FLOOR * rms + 1e-12
        spec = spec / np.concatenate([floored, floored], axis=-1)
        if mode == "bounded":
            g = g * bounded_gain(floored / (rms + 1e-12), bound_db)
    spec = spec * np.concatenate([g, g], axis=-1)
    return overlap_add(spec @ synthesis(frame_length, low_bin, high_bin))


def masked_modification(
    delta: np.ndarray,
    cover: np.ndarray,
    exponent: float,
    snr_db: float,
    frame_length: int = 256,
    mode: str = "gain",
    bound_db: float = 6.0,
    spread_bins: int = 1,
    spread_frames: int = 1,
    low_bin: int = 0,
    high_bin: int = 0,
    envelope_exponent: float = 0.0,
    envelope_bins: int = 9,
) -> np.ndarray:
    """Shaped modification rescaled to sit exactly ``snr_db`` under each block [..., N]."""
    m = shape(
        delta,
        cover,
        exponent,
        frame_length,
        mode,
        bound_db,
        spread_bins,
        spread_frames,
        low_bin,
        high_bin,
        envelope_exponent,
        envelope_bins,
    )
    cover_rms = np.sqrt(np.mean(cover**2, axis=-1, keepdims=True))
    m_rms = np.sqrt(np.mean(m**2, axis=-1, keepdims=True) + 1e-24)
    return m * (10.0 ** (-snr_db / 20.0) * cover_rms / m_rms)


# The noise-to-mask measure (the ``nmr`` training loss, :func:`ditas_tf.losses.nmr_excess_db`, and
# ``ditas hide``'s choice of where a tile goes): Hann frames of NMR_FRAME samples at half overlap; the
# cover's bins are floored NMR_COVER_FLOOR times the block's mean bin power, so that digital silence does
# not make any modification infinitely audible; the modification's NMR_MOD_FLOOR times it (a log of zero).
NMR_FRAME = 256
NMR_COVER_FLOOR = 1e-4
NMR_MOD_FLOOR = 1e-12
NMR_OFFSET_DB = 10.0


def nmr_excess_db(cover: np.ndarray, modification: np.ndarray, offset_db: float = NMR_OFFSET_DB) -> np.ndarray:
    """Mean over STFT bins of max(0, dB|M|^2 - dB|C|^2 + offset_db), per block [..., N] -> [...].

    How far the modification rises above the cover's own bins minus ``offset_db``:
    where it does, the speech no longer masks it. Zero for a modification that
    follows the cover's spectrum ``offset_db`` under it or lower. The numpy twin of
    the training loss (tests/test_masking.py checks that they agree).
    """
    hop = NMR_FRAME // 2
    n = np.arange(NMR_FRAME)
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / NMR_FRAME)  # periodic, as tf.signal.hann_window

    def power(x):
        x = np.asarray(x, np.float64)
        count = (x.shape[-1] - NMR_FRAME) // hop + 1
        idx = np.arange(count)[:, None] * hop + n[None, :]
        spec = np.fft.rfft(x[..., idx] * hann, axis=-1)
        return spec.real**2 + spec.imag**2

    cp, mp = power(cover), power(modification)
    ref = np.mean(cp, axis=(-2, -1), keepdims=True)
    excess = 10.0 * (np.log10(mp + NMR_MOD_FLOOR * ref) - np.log10(cp + NMR_COVER_FLOOR * ref)) + offset_db
    return np.mean(np.maximum(excess, 0.0), axis=(-2, -1))
