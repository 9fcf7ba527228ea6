"""Synchronisation: find each tile's subsequences in a container that was edited.

Scheme ``pilot-run/v2`` (plain numpy):

* The hider puts each tile in a *run* of k consecutive cover subsequences
  (k * w * h samples, k <= t: as many stages as the cover has room for), and
  adds to the run a keyed pseudo-noise *pilot*,
  shaped by the cover exactly as the modification is
  (:func:`ditas_tf.masking.masked_modification`) and ``PILOT_SNR_DB`` under
  the cover (a run of fewer than 5 blocks gets a louder pilot, :func:`pilot_snr_db`).
  Tile j's pilot is the sign of an HMAC-SHA256 stream keyed with the key (or a
  public constant without one) over the label ``ditas-pilot/v2``, j and the
  run's length in samples: runs of different lengths carry unrelated pilots.
* The receiver learns k from the pilot (:func:`locate_runs`): it searches tile
  0's pilot for every k <= t and keeps the one that peaks. Containers of scheme
  ``pilot-run/v1`` (releases up to 4: the label ``ditas-pilot/v1`` without the
  length, runs of t blocks or of the receiver's ``--stages``) are still found.
* The receiver finds the run by GCC-PHAT: the cross-correlation of the
  container with the pilot, both spectra divided by their magnitude, peaks at
  the run's first sample. The search covers every offset, negative ones too (a
  cut into the run), so padding or cutting audio outside the run, a gain, or a
  stereo/mono change move nothing. A peak that does not stand out of the
  correlation's noise means a wrong key or a file without a hidden image.
* A cover with room for more than one run per tile gets *copies*: the image's
  tiles again, each in its own run with its own pilot (copy c of tile j is
  pilot number ``j + c * COPY_STRIDE``, so no tile number of another image
  size ever matches it). The receiver looks for copy 1, 2, ... of tile 0 after
  the tiles themselves and keeps each copy whose every tile it finds
  (:func:`locate_runs`); a receiver of an earlier release finds copy 0 alone.
* The hider never puts the pilot more than PILOT_UNDER_MODIFICATION_DB under
  its modification, so a loud modification does not drown it. The receiver
  leaves the pilot in: subtracting an estimate of it changed the revealed
  PSNR by less than its own error (measured on the shipped model).

Where the runs go (hider only): runs of k slots of w * h samples, on the
cover's own grid, whose every slot is above the energy floor (or near the
file's loudest slot, see :func:`runs`). :func:`runs` packs them greedily in
time order (how many fit decides k); the hider then places them where its
modification is least audible (:func:`candidate_runs`, :func:`pick_runs` on
the costs :meth:`ditas_tf.stego.Steganographer.place_runs` measures), or in
the packed order. Without a key, tiles take the runs in time order; with a key,
in a keyed Fisher-Yates order (:func:`ditas_tf.positions.order_slots`). The
receiver searches for each pilot, so it needs to know none of this.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import struct

import numpy as np

from ditas_tf import masking
from ditas_tf.positions import order_slots, slot_rms_db

SYNC_SCHEME = "pilot-run/v2"
READABLE_SCHEMES = ("pilot-run/v1", SYNC_SCHEME)
PILOT_SNR_DB = 32.0
PILOT_EXPONENT = 0.5
PILOT_UNDER_MODIFICATION_DB = 14.0
LOUD_PILOT_UNDER_MODIFICATION_DB = 6.0
# Pilot boosts the hider tries in turn until its own receiver finds every run.
PILOT_BOOSTS_DB = (0.0, 4.0, 8.0)
RELATIVE_FLOOR_DB = 20.0
SNAP_TO_WHOLE = 0.1
ABSOLUTE_FLOOR_DB = -70.0
PUBLIC_KEY = "ditas-public-pilot"
# A peak must stand this many robust standard deviations above the correlation noise.
MIN_PEAK_SCORE = 8.5
# Copy c of tile j carries pilot number j + c * COPY_STRIDE: out of reach of any tile number.
COPY_STRIDE = 1 << 32
# The most copies of an image a receiver looks for (ditas_tf.stego.MAX_COPIES hides at most this many).
MAX_COPIES = 8
# A copy's pilots must peak at least this fraction of tile 0's own score: in a cover that is mostly
# digital silence the correlation noise is underestimated and absent pilots score over
# MIN_PEAK_SCORE; the copies really hidden peak about as high as tile 0 (tests/test_copies.py: all of
# them are found after MP3 and Opus at 64 kbps).
COPY_SCORE_RATIO = 0.4


def run_pilot(run: int, tiles: int) -> int:
    """Pilot number of run ``run`` of an image of ``tiles`` tiles: tile ``run % tiles`` of copy ``run // tiles``."""
    return (run // tiles) * COPY_STRIDE + run % tiles


def pilot(key: str | None, tile: int, length: int, version: int = 2) -> np.ndarray:
    """Tile ``tile``'s keyed +-1 pilot for a run of ``length`` samples (scheme ``pilot-run/v{version}``).

    Version 2 keys the stream with the run's length too, so a run of k blocks
    tells the receiver k; version 1 (releases up to 4) has one stream per tile.
    """
    k = (key or PUBLIC_KEY).encode("utf-8")
    out = bytearray()
    counter = 0
    if version not in (1, 2):
        raise ValueError(f"unknown pilot version {version}")
    while len(out) * 8 < length:
        if version == 1:
            msg = b"ditas-pilot/v1" + struct.pack(">QQ", tile, counter)
        else:
            msg = b"ditas-pilot/v2" + struct.pack(">QQQ", tile, length, counter)
        out += hmac.new(k, msg, hashlib.sha256).digest()
        counter += 1
    bits = np.unpackbits(np.frombuffer(bytes(out), np.uint8))[:length]
    return bits.astype(np.float64) * 2.0 - 1.0


def pilot_snr_db(samples: int) -> float:
    """Pilot level under the cover: PILOT_SNR_DB for a run of 5 x 4096 samples, louder for shorter runs.

    The correlation gain grows with the run's length, so a run of n samples
    gets 10 log10(20480 / n) dB more pilot to be found as reliably.
    """
    return PILOT_SNR_DB + 10.0 * np.log10(samples / 20480.0)


def shaped_pilot(
    key: str | None,
    tile: int,
    cover: np.ndarray,
    block: int,
    exponent: float,
    snr_db: float | None = None,
    version: int = 2,
) -> np.ndarray:
    """The pilot shaped by ``cover`` (one run), ``snr_db`` (default pilot_snr_db) under each block."""
    u = pilot(key, tile, len(cover), version).reshape(-1, block)
    c = np.asarray(cover, np.float64).reshape(-1, block)
    snr = pilot_snr_db(c.size) if snr_db is None else snr_db
    return masking.masked_modification(u, c, exponent, snr, frame_length=256).reshape(-1)


def hiding_pilot(
    key, tile: int, cover: np.ndarray, modification: np.ndarray, block: int, boost_db: float = 0.0
) -> np.ndarray:
    """The pilot the hider adds to one run: pilot_snr_db under the cover, but never more than
    PILOT_UNDER_MODIFICATION_DB under the modification (a loud modification, as the paper's
    formulation makes, would otherwise drown it); louder than the cover's own level, only
    LOUD_PILOT_UNDER_MODIFICATION_DB under it. ``boost_db`` raises it further (the hider's
    fallback, PILOT_BOOSTS_DB, when the receiver would not find the run otherwise)."""
    c = np.asarray(cover, np.float64)
    m = np.asarray(modification, np.float64)
    mod_snr = 10 * np.log10(np.sum(c * c) / max(np.sum(m * m), 1e-30))
    under = PILOT_UNDER_MODIFICATION_DB if mod_snr >= 6.0 else LOUD_PILOT_UNDER_MODIFICATION_DB
    snr = min(pilot_snr_db(len(c)), mod_snr + under) - boost_db
    return shaped_pilot(key, tile, c, block, PILOT_EXPONENT, snr)


def runs(audio: np.ndarray, block: int, t: int, floor_db: float, key: str | None) -> np.ndarray:
    """First slots of the non-overlapping runs of t eligible slots, in the order they are used.

    A slot is eligible when its RMS reaches ``floor_db`` or lies within
    RELATIVE_FLOOR_DB of the file's loudest slot (so a quietly recorded file
    is usable too), and never below ABSOLUTE_FLOOR_DB (digital silence).
    """
    level = slot_rms_db(audio, block)
    if level.size == 0:
        return np.zeros(0, np.int64)
    floor = max(min(floor_db, float(level.max()) - RELATIVE_FLOOR_DB), ABSOLUTE_FLOOR_DB)
    ok = level >= floor
    # Greedy in time order packs the most non-overlapping runs; a key then only orders them.
    taken: list[int] = []
    s = 0
    while s + t <= len(ok):
        if ok[s : s + t].all():
            taken.append(s)
            s += t
        else:
            s += 1
    return order_slots(np.asarray(taken, np.int64), key)


def candidate_runs(audio: np.ndarray, block: int, k: int, floor_db: float) -> np.ndarray:
    """First slots of every run of k consecutive eligible slots, overlapping ones included (time order).

    The same eligibility as :func:`runs`; where :func:`runs` packs the most runs
    greedily, this lists every place a run could go, for :func:`pick_runs`.
    """
    level = slot_rms_db(audio, block)
    if level.size < k:
        return np.zeros(0, np.int64)
    floor = max(min(floor_db, float(level.max()) - RELATIVE_FLOOR_DB), ABSOLUTE_FLOOR_DB)
    ok = (level >= floor).astype(np.int64)
    inside = np.convolve(ok, np.ones(k, np.int64), mode="valid")  # eligible slots in each run
    return np.flatnonzero(inside == k).astype(np.int64)


def pick_runs(starts: np.ndarray, costs: np.ndarray, k: int, count: int) -> np.ndarray:
    """``count`` non-overlapping runs of k slots among ``starts`` with the least total cost, in time order.

    Exact (dynamic programming over the candidates in time order); ties go to
    the earlier runs. A ValueError when the candidates cannot hold ``count`` runs.
    """
    order = np.argsort(starts, kind="stable")
    s = np.asarray(starts, np.int64)[order]
    c = np.asarray(costs, np.float64)[order]
    n = len(s)
    # before[i]: how many candidates end at or before candidate i starts.
    before = np.searchsorted(s + k, s, side="right")
    best = np.full((count + 1, n + 1), np.inf)
    best[0, :] = 0.0
    took = np.zeros((count + 1, n + 1), bool)
    for j in range(1, count + 1):
        for i in range(1, n + 1):
            skip, take = best[j, i - 1], best[j - 1, before[i - 1]] + c[i - 1]
            if take < skip:
                best[j, i], took[j, i] = take, True
            else:
                best[j, i] = skip
    if not np.isfinite(best[count, n]):
        raise ValueError(f"the candidates hold fewer than {count} non-overlapping runs of {k} slots")
    chosen, j, i = [], count, n
    while j > 0:
        if took[j, i]:
            chosen.append(s[i - 1])
            i, j = before[i - 1], j - 1
        else:
            i -= 1
    return np.asarray(chosen[::-1], np.int64)


WHITEN_POWER = 1.0


def whiten(x: np.ndarray, power: float = WHITEN_POWER, frame_length: int = 256) -> np.ndarray:
    """Divide every STFT bin by its magnitude ** power (sqrt-Hann frames, 50 % overlap).

    The pilot sits under the speech in proportion to |C| ** exponent; dividing
    the container by its own local magnitude (more than once, where speech is
    loud) weighs each bin by how much pilot it can carry relative to the speech.
    """
    n = len(x)
    hop = frame_length // 2
    pad = (-n) % hop
    fwd, inv = masking.dft_matrices(frame_length)
    spec = masking.frames(np.pad(np.asarray(x, np.float64), (0, pad)), frame_length) @ fwd
    k = frame_length // 2 + 1
    mag = np.sqrt(spec[:, :k] ** 2 + spec[:, k:] ** 2)
    scale = 1.0 / (mag + 1e-6 * (np.sqrt(np.mean(mag**2)) + 1e-20)) ** power
    spec = spec * np.concatenate([scale, scale], axis=1)
    return masking.overlap_add(spec @ inv)[:n]


def _phat_spectrum(x: np.ndarray, nfft: int) -> np.ndarray:
    spec = np.fft.rfft(x, nfft)
    return spec / (np.abs(spec) + 1e-12)


def snap_fraction(frac: float, rate: int, model_rate: int = 16000) -> float:
    """The sub-sample offset an edit at the file's own ``rate`` can actually produce, nearest to ``frac``.

    Cutting or padding N samples at ``rate`` moves the signal by N * model_rate / rate model
    samples, whose fractional parts are multiples of gcd(model_rate, rate) / rate: only whole
    samples for a 16 kHz file, thirds for 48 kHz. Where that grid is coarse the estimate snaps to
    it; where it is fine (22.05 or 44.1 kHz) an estimate within SNAP_TO_WHOLE of a whole sample is
    taken as one, since an unedited file (the common case) sits exactly on the grid and the
    estimate's own error (a few hundredths of a sample) would otherwise misalign it.
    """
    step = math.gcd(model_rate, int(rate)) / rate
    if step >= 0.2:
        return float(np.round(frac / step) * step)
    return 0.0 if abs(frac) < SNAP_TO_WHOLE else frac


def locate(
    audio: np.ndarray,
    key: str | None,
    tiles: int,
    length: int,
    rate: int | None = None,
    version: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """First sample of each tile's run (fractional, may be negative) and its peak score, by GCC-PHAT.

    An edit at the file's own rate (22.05 kHz, say) moves the 16 kHz signal by
    a fraction of a sample, which the revealer would feel; the peak is refined
    between the integer lags (:func:`_fraction`); with the file's own ``rate`` it is
    snapped to the offsets an edit at that rate can produce (:func:`snap_fraction`). The score is the peak over the median absolute
    correlation / 0.6745 (a robust standard deviation).
    """
    search = _Search(audio, length)
    found = [search.peak(pilot(key, j, length, version), rate) for j in range(tiles)]
    return np.array([f[0] for f in found]), np.array([f[1] for f in found])


def locate_runs(
    audio: np.ndarray,
    key: str | None,
    tiles: int,
    block: int,
    max_stages: int,
    rate: int | None = None,
    stages: int | None = None,
    max_copies: int = 1,
) -> tuple[int, np.ndarray, np.ndarray]:
    """The stage count k the hider used, and each run's start and peak score (:func:`locate`).

    Tile 0's pilot is searched for every k in 1..``max_stages`` and the best
    peak gives k. When no version-2 pilot stands out, the version-1 pilot of a
    run of ``max_stages`` (or ``stages``) blocks is tried: containers of releases
    up to 4. ``stages``, when given, is the count the receiver asks for; the
    search still reports what the container carries.

    With ``max_copies`` > 1, copies 1, 2, ... of the image (:func:`run_pilot`)
    are looked for in turn, up to ``max_copies`` in all: a copy is kept when
    every one of its tiles stands out (MIN_PEAK_SCORE, and COPY_SCORE_RATIO of
    tile 0's score) and none of its runs overlaps a run already found; the
    search stops at the first that fails. Starts and scores are then
    copy-major: run r is tile r % tiles of copy r // tiles.
    """
    search = _Search(audio, max(max_stages, stages or 0) * block)
    best = (0, 2, (0.0, -np.inf))  # (k, version, tile 0's (start, score))
    for k in range(1, max_stages + 1):
        peak = search.peak(pilot(key, 0, k * block), rate)
        if peak[1] > best[2][1]:
            best = (k, 2, peak)
    if best[2][1] < MIN_PEAK_SCORE:
        for k in sorted({max_stages, stages or max_stages}):
            peak = search.peak(pilot(key, 0, k * block, version=1), rate)
            if peak[1] > best[2][1]:
                best = (k, 1, peak)
    k, version, first = best
    # Tile 0 was found by the search itself; the other tiles take its k and version.
    found = [first] + [search.peak(pilot(key, j, k * block, version), rate) for j in range(1, tiles)]
    if version == 2:
        floor = max(MIN_PEAK_SCORE, COPY_SCORE_RATIO * first[1])
        for c in range(1, max_copies):
            copy = []
            for j in range(tiles):  # tile 0 first: a copy that is not there costs one search
                start, score = search.peak(pilot(key, run_pilot(c * tiles + j, tiles), k * block), rate)
                taken = np.array([f[0] for f in found + copy])
                if score < floor or np.any(np.abs(taken - start) < k * block - 0.5):
                    break
                copy.append((start, score))
            if len(copy) < tiles:
                break
            found += copy
    return k, np.array([f[0] for f in found]), np.array([f[1] for f in found])


class _Search:
    """GCC-PHAT against one container: its whitened spectrum, computed once for many pilots."""

    def __init__(self, audio: np.ndarray, max_length: int):
        x = whiten(np.asarray(audio, np.float64))
        self.n = len(x)
        self.nfft = 1 << int(np.ceil(np.log2(len(x) + max_length)))
        self.spectrum = _phat_spectrum(x, self.nfft)

    def peak(self, reference: np.ndarray, rate: int | None) -> tuple[float, float]:
        """(first sample of ``reference`` in the audio, fractional; robust peak score)."""
        length = len(reference)
        corr = np.fft.irfft(self.spectrum * np.conj(_phat_spectrum(reference, self.nfft)), self.nfft)
        # Offsets run from -(length - 1) (a cut into the run) to len(x) - 1.
        valid = np.concatenate([corr[self.nfft - length + 1 :], corr[: self.n]])
        i = int(np.argmax(valid))
        sigma = np.median(np.abs(valid)) / 0.6745 + 1e-30
        frac = _fraction(valid, i)
        start = i - (length - 1) + (frac if rate is None else snap_fraction(frac, rate))
        return float(start), float(valid[i] / sigma)


def _fraction(corr: np.ndarray, lag_index: int, half: int = 32) -> float:
    """The sub-sample position of the correlation peak at ``lag_index`` (in [-0.5, 0.5]).

    The correlation is band-limited, so between its samples it is a sum of
    sincs; a Hann-windowed sinc over +-``half`` samples evaluates it on a grid
    of twentieths of a sample, and a parabola through the best three refines it.
    """
    n = np.arange(-half, half + 1)
    idx = np.clip(lag_index + n, 0, len(corr) - 1)
    vals = corr[idx]
    grid = np.linspace(-0.5, 0.5, 21)
    x = grid[:, None] - n[None, :]
    kernel = np.sinc(x) * (0.5 + 0.5 * np.cos(np.pi * np.clip(x / (half + 1), -1, 1)))
    v = kernel @ vals
    i = int(np.clip(np.argmax(v), 1, len(grid) - 2))
    y0, y1, y2 = v[i - 1], v[i], v[i + 1]
    den = y0 - 2 * y1 + y2
    step = grid[1] - grid[0]
    return float(np.clip(grid[i] + (0.5 * (y0 - y2) / den * step if den < 0 else 0.0), -0.5, 0.5))


def window(audio: np.ndarray, start: float, length: int, margin: int = 512) -> np.ndarray:
    """audio[start : start + length] for a fractional ``start``, zero-filled past either end.

    The fractional part is applied as a linear-phase delay on a segment with
    ``margin`` samples on each side, so the circular wrap stays out of the result.
    """
    i = int(np.floor(start))
    frac = start - i
    a, b = i - margin, i + length + margin
    seg = np.zeros(b - a, np.float64)
    lo, hi = max(a, 0), min(b, len(audio))
    if hi > lo:
        seg[lo - a : hi - a] = audio[lo:hi]
    if frac != 0.0:
        f = np.fft.rfftfreq(len(seg))
        seg = np.fft.irfft(np.fft.rfft(seg) * np.exp(2j * np.pi * f * frac), len(seg))
    return seg[margin : margin + length].astype(np.float32)
