"""Audibility where the image is carried: span metrics (plain numpy).

The *carrying span* of a container runs from the first modified sample to the
last one. Audio outside it was not touched, and averaging over it would only
dilute a figure, so every audibility number of this project is taken over the
span; the whole-file figures are reported beside it, labelled ``file_``.
Where the image sits in separate stretches of the cover (tiles or copies in
runs apart), an untouched stretch of at least MIN_GAP_SECONDS between them is
left out too: the span is then the modified stretches, joined end to end
(:func:`carrying_segments`). One run has one stretch, the first to the last
modified sample.

Both signals are compared on the same grid (the same rate and length). When
the hider had to scale the whole file down to avoid clipping, every sample
differs by that gain; the caller passes it (``HideResult.gain``) and
:func:`span_metrics` divides it out first, so the span and SNR describe the
hidden modification, not the loudness change.
"""

from __future__ import annotations

import numpy as np

# A sample counts as modified when it moved by more than half a 16-bit step.
MODIFIED_TOL = 0.5 / 32768.0
PESQ_MIN_SECONDS = 0.5
# An untouched stretch at least this long inside the span is left out of it (runs are whole blocks apart).
MIN_GAP_SECONDS = 0.1


def carrying_span(cover: np.ndarray, container: np.ndarray, tol: float = MODIFIED_TOL) -> tuple[int, int] | None:
    """(first, last + 1) sample index where ``container`` differs from ``cover``, or None."""
    diff = np.abs(np.asarray(container, np.float64) - np.asarray(cover, np.float64))
    idx = np.flatnonzero(diff > tol)
    if idx.size == 0:
        return None
    return int(idx[0]), int(idx[-1]) + 1


def carrying_segments(
    cover: np.ndarray, container: np.ndarray, rate: int = 16000, tol: float = MODIFIED_TOL
) -> list[tuple[int, int]]:
    """The modified stretches [(first, last + 1), ...] in time order; untouched gaps of at least
    MIN_GAP_SECONDS split them. Empty when nothing changed."""
    diff = np.abs(np.asarray(container, np.float64) - np.asarray(cover, np.float64))
    idx = np.flatnonzero(diff > tol)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > MIN_GAP_SECONDS * rate)
    firsts = np.concatenate([[idx[0]], idx[breaks + 1]])
    lasts = np.concatenate([idx[breaks], [idx[-1]]]) + 1
    return [(int(a), int(b)) for a, b in zip(firsts, lasts)]


def snr_db(cover: np.ndarray, container: np.ndarray) -> float:
    """10 log10(cover power / modification power); inf when nothing changed."""
    c = np.asarray(cover, np.float64)
    e = np.sum((np.asarray(container, np.float64) - c) ** 2)
    if e == 0:
        return float("inf")
    return float(10.0 * np.log10(np.sum(c * c) / e + 1e-300))


def pesq_wb(cover: np.ndarray, container: np.ndarray, rate: int = 16000) -> float:
    """Wide-band PESQ (ITU-T P.862.2) at 16 kHz; NaN when PESQ cannot score the pair."""
    from pesq import pesq
    from pesq.cypesq import PesqError

    if rate != 16000:
        raise ValueError("wide-band PESQ needs 16 kHz audio")
    if len(cover) < PESQ_MIN_SECONDS * rate:
        return float("nan")
    try:
        return float(pesq(rate, np.asarray(cover, np.float32), np.asarray(container, np.float32), "wb"))
    except PesqError:
        return float("nan")


def span_metrics(
    cover: np.ndarray, container: np.ndarray, rate: int = 16000, with_pesq: bool = True, gain: float = 1.0
) -> dict:
    """SNR and PESQ-WB over the carrying span, and over the whole file beside them.

    Args:
      cover: 1-D cover samples in [-1, 1].
      container: 1-D container samples on the same grid (same rate and length).
      rate: sample rate (PESQ needs 16 kHz).
      with_pesq: also compute the PESQ figures (about 0.1 s per second of audio).
      gain: the whole-file gain the hider applied against clipping (divided out).

    Returns:
      span_start_s, span_seconds (the modified stretches' total length),
      span_segments (how many stretches), span_snr_db, span_pesq_wb,
      file_snr_db, file_pesq_wb. With no modification the span is empty, its
      SNR infinite and its PESQ NaN.
    """
    cover = np.asarray(cover, np.float64).reshape(-1)
    container = np.asarray(container, np.float64).reshape(-1)
    if cover.shape != container.shape:
        raise ValueError(f"cover and container differ in length: {cover.shape[0]} vs {container.shape[0]}")
    x = container / gain
    segments = carrying_segments(cover, x, rate)
    out = {"file_snr_db": snr_db(cover, x)}
    if not segments:
        out.update(span_start_s=0.0, span_seconds=0.0, span_segments=0, span_snr_db=float("inf"))
    else:
        c = np.concatenate([cover[a:b] for a, b in segments])
        y = np.concatenate([x[a:b] for a, b in segments])
        out.update(
            span_start_s=segments[0][0] / rate,
            span_seconds=len(c) / rate,
            span_segments=len(segments),
            span_snr_db=snr_db(c, y),
        )
    if with_pesq:
        out["file_pesq_wb"] = pesq_wb(cover, x, rate)
        out["span_pesq_wb"] = float("nan") if not segments else pesq_wb(c, y, rate)
    return out
