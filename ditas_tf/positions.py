"""Slots of a cover and the keyed order (plain numpy).

The 16 kHz cover is cut into consecutive slots of w*h samples; a slot's level
decides whether it may carry the image (:func:`slot_rms_db`, used by the data
pipeline and by :func:`ditas_tf.sync.runs`). With a key, candidates are
permuted by a Fisher-Yates shuffle driven by an HMAC-SHA256 stream keyed with
the UTF-8 key (scheme ``hmac-sha256-fisher-yates/v1``): :func:`order_slots`.
Where each tile's run goes and how a receiver finds it is :mod:`ditas_tf.sync`.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import numpy as np

KEY_SCHEME = "hmac-sha256-fisher-yates/v1"


def slot_rms_db(audio: np.ndarray, block: int) -> np.ndarray:
    """RMS in dBFS of each whole slot of ``block`` samples."""
    n = len(audio) // block
    if n == 0:
        return np.zeros(0)
    x = np.asarray(audio[: n * block], np.float64).reshape(n, block)
    return 10.0 * np.log10(np.mean(x * x, axis=1) + 1e-20)


def eligible_slots(audio: np.ndarray, block: int, floor_db: float) -> np.ndarray:
    """Indices of slots whose RMS is at least ``floor_db``."""
    return np.flatnonzero(slot_rms_db(audio, block) >= floor_db)


class _HmacStream:
    """Deterministic uniform integers from HMAC-SHA256(key, label || counter)."""

    def __init__(self, key: str):
        self._key = key.encode("utf-8")
        self._counter = 0
        self._buf = b""

    def _u64(self) -> int:
        if len(self._buf) < 8:
            msg = b"ditas-slots/v1" + struct.pack(">Q", self._counter)
            self._buf += hmac.new(self._key, msg, hashlib.sha256).digest()
            self._counter += 1
        v, self._buf = struct.unpack(">Q", self._buf[:8])[0], self._buf[8:]
        return v

    def below(self, n: int) -> int:
        """Uniform integer in [0, n) without modulo bias (rejection sampling)."""
        limit = (1 << 64) - ((1 << 64) % n)
        while True:
            v = self._u64()
            if v < limit:
                return v % n


def order_slots(eligible: np.ndarray, key: str | None) -> np.ndarray:
    """Eligible slots in the order they are used (time order, or keyed shuffle)."""
    slots = np.asarray(eligible, np.int64).copy()
    if not key:
        return slots
    rng = _HmacStream(key)
    for i in range(len(slots) - 1, 0, -1):
        j = rng.below(i + 1)
        slots[i], slots[j] = slots[j], slots[i]
    return slots


def gather(audio: np.ndarray, slots: np.ndarray, block: int) -> np.ndarray:
    """Concatenate the samples of ``slots`` (in the given order)."""
    return np.concatenate([audio[s * block : (s + 1) * block] for s in slots]).astype(np.float32)
