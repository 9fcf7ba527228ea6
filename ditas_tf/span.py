"""Audibility where the image is carried: span metrics (plain numpy).

The *carrying span* of a container runs from the first modified sample to the
last one. Audio outside it was not touched, and averaging over it would only
dilute a figure, so every audibility number of this project is taken over the
span; the whole-file figures are reported beside it, labelled ``file_``.

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


def carrying_span(cover: np.ndarray, container: np.ndarray, tol: float = MODIFIED_TOL) -> tuple[int, int] | None:
    """(first, last + 1) sample index where ``container`` differs from ``cover``, or None."""
    diff = np.abs(np.asarray(container, np.float64) - np.asarray(cover, np.float64))
    idx = np.flatnonzero(diff > tol)
    if idx.size == 0:
        return None
    return int(idx[0]), int(idx[-1]) + 1


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
      span_start_s, span_seconds, span_snr_db, span_pesq_wb, file_snr_db,
      file_pesq_wb. With no modification the span is empty,
      its SNR infinite and its PESQ NaN.
    """
    cover = np.asarray(cover, np.float64).reshape(-1)
    container = np.asarray(container, np.float64).reshape(-1)
    if cover.shape != container.shape:
        raise ValueError(f"cover and container differ in length: {cover.shape[0]} vs {container.shape[0]}")
    x = container / gain
    span = carrying_span(cover, x)
    out = {"file_snr_db": snr_db(cover, x)}
    if span is None:
        out.update(span_start_s=0.0, span_seconds=0.0, span_snr_db=float("inf"))
    else:
        a, b = span
        out.update(span_start_s=a / rate, span_seconds=(b - a) / rate, span_snr_db=snr_db(cover[a:b], x[a:b]))
    if with_pesq:
        out["file_pesq_wb"] = pesq_wb(cover, x, rate)
        out["span_pesq_wb"] = (
            float("nan") if span is None else pesq_wb(cover[span[0] : span[1]], x[span[0] : span[1]], rate)
        )
    return out
