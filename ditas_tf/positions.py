"""Where the t subsequences of each tile sit in a cover (the position / key scheme).

The 16 kHz cover is cut into consecutive slots of w*h samples. A slot is
eligible when its RMS is at least the energy floor (near-silent stretches are
avoided, since a modification there is audible). Without a key, a tile's
subsequences are the eligible slots in time order. With a key, the eligible
slots are permuted by a Fisher-Yates shuffle driven by an HMAC-SHA256 stream
keyed with the UTF-8 key (scheme ``hmac-sha256-fisher-yates/v1``), and taken in
that order: tile 0 gets the first t, tile 1 the next t, and so on.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import numpy as np

KEY_SCHEME = "hmac-sha256-fisher-yates/v1"
DEFAULT_SCHEME = "eligible-slots-in-order/v1"


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


def choose_slots(audio: np.ndarray, block: int, needed: int, floor_db: float, key: str | None):
    """The ``needed`` slots used for hiding, or None if the cover has too few."""
    order = order_slots(eligible_slots(audio, block, floor_db), key)
    if len(order) < needed:
        return None
    return order[:needed]


def gather(audio: np.ndarray, slots: np.ndarray, block: int) -> np.ndarray:
    """Concatenate the samples of ``slots`` (in the given order)."""
    return np.concatenate([audio[s * block : (s + 1) * block] for s in slots]).astype(np.float32)


def scatter(audio: np.ndarray, slots: np.ndarray, block: int, values: np.ndarray) -> np.ndarray:
    """Copy of ``audio`` with ``values`` written back into ``slots``."""
    out = np.array(audio, np.float32, copy=True)
    for k, s in enumerate(slots):
        out[s * block : (s + 1) * block] = values[k * block : (k + 1) * block]
    return out
