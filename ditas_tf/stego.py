"""Hide an image in a recording and reveal it: the Steganographer.

Covers of any rate and channel count are handled like this: the mid signal
(mean of the channels) is resampled to the model rate (16 kHz); the image is
cut into w x h tiles (edge-padded), each tile gets its own t subsequences (see
:mod:`ditas_tf.positions`); the networks compute the container at 16 kHz; the
modification (container - cover) is resampled back to the cover's rate and
added to every channel, so the mid signal carries it and the output keeps the
cover's rate, channels and length. If the result would clip, the whole file is
scaled down (the revealer normalises each block, so a gain does not matter).

A cover with room for more runs than the image has tiles carries *copies* of
the image, up to MAX_COPIES: each in its own stretch of the cover, so its revealing error is
partly its own, and the receiver averages the copies it finds
(docs/whole_cover.md measures what each copy buys).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from importlib import resources

import numpy as np

from ditas_tf import masking, sync
from ditas_tf import span as span_lib
from ditas_tf.audio import pcm16_roundtrip, read_audio, resample, to_mono, write_audio
from ditas_tf.config import BASELINES, Config, read_config
from ditas_tf.errors import InputError
from ditas_tf.images import load_image, save_png
from ditas_tf.positions import KEY_SCHEME, slot_rms_db

log = logging.getLogger(__name__)

SHIPPED_MODELS = ("default",)
# Shipped names of earlier releases -> why they are gone and what to use instead.
RETIRED_MODELS = {
    "quiet": "the shipped model 'quiet' was retired in release 3: its containers were audible "
    "(span PESQ-WB about 2); use --model default, whose modification is masked by the speech",
}
MAX_SIDE = 16384
# Fewest stages hide picks on its own (a tile in fewer reveals poorly; --stages K still asks for any K).
MIN_AUTO_STAGES = 3
# Where hide puts each tile's run: where its modification is least audible, or the first runs that fit.
PLACEMENTS = ("least-audible", "first")
# The most cover slots hide scores for placement (each t of them cost one run of the hiding graph):
# 160 slots, 41 s, so that copies in a long cover go where they are least audible too
# (docs/whole_cover.md); a longer cover is placed in time order (docs/placement.md).
MAX_SCORED_SLOTS = 160
# The most copies of the image hide makes on its own (docs/whole_cover.md: what each one buys).
MAX_COPIES = 4
PEAK = 32767.0 / 32768.0


def shipped_model_dir(name: str) -> str:
    """Folder of a model shipped inside the package."""
    return str(resources.files("ditas_tf") / "models" / name)


def resolve_model_dir(name_or_dir: str) -> str:
    """A shipped model name or a run folder -> a folder with config.yaml and weights."""
    if name_or_dir in RETIRED_MODELS and not os.path.isdir(name_or_dir):
        raise InputError(RETIRED_MODELS[name_or_dir])
    if name_or_dir in SHIPPED_MODELS:
        path = shipped_model_dir(name_or_dir)
        if not os.path.isfile(os.path.join(path, "model.weights.h5")):
            raise InputError(f"the shipped model {name_or_dir!r} has no weights in this install ({path})")
        return path
    path = name_or_dir
    if not os.path.isdir(path):
        raise InputError(f"--model {path!r} is neither a shipped model ({', '.join(SHIPPED_MODELS)}) nor a folder")
    if not os.path.isfile(os.path.join(path, "config.yaml")) or not os.path.isfile(
        os.path.join(path, "model.weights.h5")
    ):
        raise InputError(f"not a ditas model folder (needs config.yaml and model.weights.h5): {path}")
    return path


def parse_size(text: str | None, option: str = "--size") -> tuple[int, int] | None:
    """'WxH' -> (w, h), with sane bounds."""
    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"{option} must look like WxH (for example 64x64), got {text!r}") from None
    if not (1 <= w <= MAX_SIDE and 1 <= h <= MAX_SIDE):
        raise InputError(f"{option} {text} is out of range: each side must be in 1..{MAX_SIDE}")
    return w, h


@dataclasses.dataclass
class HideResult:
    """What :meth:`Steganographer.hide_array` produced."""

    container: np.ndarray  # [frames, channels] at the cover's rate
    rate: int
    starts: np.ndarray  # first sample (16 kHz) of each tile's run
    tiles: tuple  # (rows, cols)
    size: tuple  # (w, h) of the secret image
    gain: float
    snr_db: float  # over the carrying span, at 16 kHz
    snr_db_file: float  # over the whole file, at the cover's rate
    reveal_hint: str
    sync_scores: np.ndarray  # the receiver's pilot peak score per tile
    span_seconds: float = 0.0  # length of the carrying span (its runs, joined)
    stages: int = 0  # stages used (the most the cover had room for, unless asked)
    placement: str = "first"  # how the runs were placed (PLACEMENTS); "first" also when nothing was to choose
    nmr_db: float = float("nan")  # the placed runs' mean noise-to-mask excess, as scored (least-audible only)
    nmr_db_first: float = float("nan")  # the same for the first runs that fit, for comparison
    copies: int = 1  # copies of the image, each tile in a run of its own per copy


class Steganographer:
    """Hide images in audio and reveal them with a trained DITAS model.

    Example:
      >>> steg = Steganographer.load("default")
      >>> result = steg.hide_array(image_uint8, cover_samples, 22050, key="k")
      >>> revealed = steg.reveal_array(result.container, 22050, key="k")
    """

    def __init__(self, cfg: Config, runner=None, name: str = "custom"):
        self.cfg = cfg
        self.runner = runner
        self.name = name

    @property
    def system(self):
        """The Keras :class:`ditas_tf.networks.DitasSystem` (Keras runner only)."""
        if getattr(self.runner, "backend", None) != "keras":
            raise InputError("this model runs on LiteRT; load it with backend='keras' for its Keras networks")
        return self.runner.system

    @property
    def backend(self) -> str:
        """``litert`` or ``keras``."""
        return self.runner.backend

    @classmethod
    def load(cls, model: str = "default", backend: str = "auto", compiled: bool = False) -> Steganographer:
        """Load a shipped model by name or a run/model folder.

        ``backend``: ``auto`` runs the folder's TFLite graphs under LiteRT when it
        has them (no TensorFlow import) and the Keras model otherwise; ``litert``
        or ``keras`` force one. ``compiled=True`` runs the Keras hider and
        revealer as graph functions (about a second more at the first call, then
        several times faster per call, which pays off for ``ditas eval``).
        """
        from ditas_tf.runners import LiteRTRunner, has_graphs

        if backend not in ("auto", "litert", "keras"):
            raise InputError(f"backend must be auto, litert or keras, got {backend!r}")
        path = resolve_model_dir(model)
        cfg = read_config(os.path.join(path, "config.yaml"))
        m = cfg.model
        if backend == "litert" or (backend == "auto" and has_graphs(path)):
            if not has_graphs(path):
                raise InputError(f"no TFLite graphs in {path}: run scripts/install_model.py or use backend='keras'")
            return cls(cfg, LiteRTRunner(path, m.stages, m.image_size, m.block_samples), name=model)
        if backend == "auto":
            log.info("no TFLite graphs in %s: using TensorFlow (slower start)", path)
        return cls(cfg, keras_runner(cfg, path, compiled), name=model)

    @classmethod
    def from_export(cls, metadata_path: str, reveal_path: str | None = None, hide_path: str | None = None):
        """A LiteRT Steganographer for exported TFLite files, configured by the export's metadata.json."""
        import json

        from ditas_tf.config import from_dict
        from ditas_tf.runners import LiteRTRunner

        for path in (reveal_path, hide_path, metadata_path):
            if path and not os.path.isfile(path):
                raise InputError(f"file not found: {path}")
        try:
            with open(metadata_path, encoding="utf-8") as f:
                metadata = json.load(f)
        except (OSError, ValueError) as exc:
            raise InputError(f"not a readable metadata.json: {metadata_path} ({exc})") from None

        try:
            cfg = from_dict(
                {
                    "model": {
                        "variant": metadata["variant"],
                        "stages": metadata["stages"],
                        "image_size": metadata["image_size"],
                        "sample_rate": metadata["sample_rate"],
                        "hide_stages": metadata.get("max_auto_stages", 0),
                    },
                    "data": {"sample_rate": metadata["sample_rate"], "energy_floor_db": metadata["energy_floor_db"]},
                }
            )
        except KeyError as exc:
            raise InputError(f"metadata.json lacks {exc.args[0]!r}: export it again with this release") from None
        scheme = metadata.get("sync_scheme", {}).get("name")
        if scheme not in sync.READABLE_SCHEMES:
            raise InputError(
                f"this export uses synchronisation {scheme!r}; this release reads {', '.join(sync.READABLE_SCHEMES)}"
            )
        m = cfg.model
        runner = LiteRTRunner(
            None, m.stages, m.image_size, m.block_samples, hide_path=hide_path, reveal_path=reveal_path
        )
        return cls(cfg, runner, name="export")

    # ------------------------------------------------------------ geometry

    @property
    def tile(self) -> int:
        return self.cfg.model.image_size

    @property
    def block(self) -> int:
        return self.cfg.model.block_samples

    @property
    def rate(self) -> int:
        return self.cfg.data.sample_rate

    def stage_count(self, stages: int | None) -> int:
        """The number of stages to use: all when None; an InputError when out of range."""
        t = self.cfg.model.stages
        if stages is None:
            return t
        if not 1 <= stages <= t:
            raise InputError(f"--stages must be in 1..{t} for this model, got {stages}")
        if self.cfg.model.variant in BASELINES and stages != t:
            raise InputError(f"the {self.cfg.model.variant} baseline only works with all {t} stages")
        return stages

    def tile_grid(self, w: int, h: int) -> tuple[int, int]:
        """(rows, cols) of the model-size tiles that cover a w x h image."""
        return math.ceil(h / self.tile), math.ceil(w / self.tile)

    def _needed_error(self, needed: int, have: int, k: int, what: str, copies: int = 1) -> InputError:
        sec = k * self.block / self.rate
        per = "one per 64x64 tile" + (f" and copy ({copies} copies)" if copies > 1 else "")
        return InputError(
            f"{what} too short: needs {needed} stretch(es) of {sec:.2f} s of continuous speech ({per}), has {have}"
        )

    # --------------------------------------------------------------- arrays

    def hide_array(
        self,
        secret: np.ndarray,
        cover: np.ndarray,
        rate: int,
        key: str | None = None,
        stages: int | None = None,
        pcm16: bool = True,
        placement: str = "least-audible",
        copies: int | None = None,
    ) -> HideResult:
        """Hide ``secret`` (uint8 or [0, 1] float, [H, W, 3]) in ``cover`` ([frames] or [frames, ch]).

        Returns the container at the cover's rate, channels and length. Each
        tile takes the most stages (up to t) the cover has room for, or
        ``stages``; the receiver reads the count from the pilot. Then the
        image gets as many copies as the cover still has room for, up to
        MAX_COPIES, or ``copies`` (with the most stages that leave room for
        them); the receiver finds and averages them. ``pcm16``
        says whether it will be stored as 16-bit PCM (the receiver's view is
        simulated that way to check that it finds the same slots).
        ``placement`` (PLACEMENTS) says where the runs go: :meth:`place_runs`.
        """
        check_placement(placement)
        check_copies(copies)
        img = _as_float_image(secret)
        h, w = img.shape[:2]
        rows, cols = self.tile_grid(w, h)
        n = self.tile
        padded = np.pad(img, ((0, rows * n - h), (0, cols * n - w), (0, 0)), mode="edge")
        tiles = padded.reshape(rows, n, cols, n, 3).transpose(0, 2, 1, 3, 4).reshape(-1, n, n, 3)
        cover2d = cover[:, None] if cover.ndim == 1 else cover
        if not np.all(np.isfinite(cover2d)):
            raise InputError("cover holds non-finite samples (NaN or infinity)")
        frames = cover2d.shape[0]
        mid16 = resample(to_mono(cover2d), rate, self.rate)
        if not np.any(slot_rms_db(mid16, self.block) >= sync.ABSOLUTE_FLOOR_DB):
            raise InputError(f"cover is silent: no subsequence is above {sync.ABSOLUTE_FLOOR_DB:.0f} dBFS")
        if copies is None:
            k, found = self.choose_stages(mid16, len(tiles), stages, key)
            copies = max(1, min(MAX_COPIES, len(found) // len(tiles)))
        else:
            k, found = self.choose_stages(mid16, len(tiles) * copies, stages, key, copies=copies)
        count = len(tiles) * copies  # runs: tile r % len(tiles) of copy r // len(tiles)
        starts, placed = found[:count] * self.block, None
        if placement == "least-audible":
            placed = self.place_runs(tiles, mid16, k, key, count)
            if placed is not None:
                starts = placed[0]
        windows, blocks = self._hide_windows(np.tile(tiles, (copies, 1, 1, 1)), mid16, starts, k)
        for boost in sync.PILOT_BOOSTS_DB:
            container, gain, mod16 = self._embed(
                windows, blocks, cover2d, rate, mid16, starts, k, frames, key, len(tiles), boost
            )
            # The receiver finds each run from the written file alone: check that it does.
            stored = pcm16_roundtrip(container) if pcm16 else container
            seen = resample(to_mono(stored), rate, self.rate)
            k_seen, again, scores = sync.locate_runs(
                seen, key, len(tiles), self.block, self.cfg.model.stages, rate, max_copies=copies
            )
            if k_seen == k and np.array_equal(np.round(again), starts) and scores.min() >= sync.MIN_PEAK_SCORE:
                break
            log.info("receiver would not find every run (peak score %.1f); pilot +%.0f dB", scores.min(), boost)
        else:
            raise InputError("could not place the image so that a receiver finds it in this cover; try another cover")
        # The span: the runs themselves, joined (span_lib: untouched audio between them is left out).
        carried = np.concatenate([np.arange(s, s + k * self.block) for s in np.sort(starts)])
        cover16 = mid16[carried]
        snr = span_lib.snr_db(cover16, cover16 + mod16[carried])
        snr_file = span_lib.snr_db(cover2d, container / gain)
        hint = "" if (w, h) == (n, n) else f"--size {w}x{h}"
        return HideResult(
            container,
            rate,
            starts,
            (rows, cols),
            (w, h),
            gain,
            snr,
            snr_file,
            hint,
            scores,
            len(cover16) / self.rate,
            k,
            "first" if placed is None else "least-audible",
            *((float("nan"),) * 2 if placed is None else placed[1:]),
            copies,
        )

    def choose_stages(self, mid16, tiles: int, stages: int | None, key, copies: int = 1) -> tuple[int, np.ndarray]:
        """The stage count and the runs for ``tiles`` runs: ``stages`` if given, else the most that fit.

        More stages mean more cover per tile and a better revealed image
        (docs/whole_cover.md), up to ``model.hide_stages`` (0: all t); the
        receiver reads the count from the pilot. ``copies`` only words the
        error (``tiles`` counts every copy's runs).
        """
        floor = self.cfg.data.energy_floor_db
        if stages is not None:
            k = self.stage_count(stages)
            found = sync.runs(mid16, self.block, k, floor, key)
            if len(found) < tiles:
                raise self._needed_error(tiles, len(found), k, "cover", copies)
            return k, found
        t = self.cfg.model.stages
        most = self.cfg.model.hide_stages or t
        lowest = t if self.cfg.model.variant in BASELINES else min(most, MIN_AUTO_STAGES)
        for k in range(most, lowest - 1, -1):
            found = sync.runs(mid16, self.block, k, floor, key)
            if len(found) >= tiles:
                if k < most:
                    log.debug("cover has room for %d of %d stages per tile", k, most)
                return k, found
        raise self._needed_error(tiles, len(found), lowest, "cover", copies)

    def place_runs(self, tiles, mid16, k: int, key, count: int | None = None) -> tuple[np.ndarray, float, float] | None:
        """Each tile's run where the hider's modification is least audible: (starts, cost, first runs' cost).

        Every cover slot a run of k slots could use is scored by how far the
        hiding network's modification of it rises above the speech's own
        spectrum (:func:`ditas_tf.masking.nmr_excess_db`, the noise-to-mask
        measure), with the first tile as the secret and the slots, in time
        order, as the t stages of the hiding graph. Then :func:`sync.pick_runs`
        chooses the runs of least total cost. The receiver finds each run by its
        pilot wherever it is. ``count`` runs (default: one per tile; copies
        add theirs). None when there is nothing to choose (no more candidate
        runs than ``count``) or more than MAX_SCORED_SLOTS slots to score: then
        the runs are the first that fit.
        """
        floor = self.cfg.data.energy_floor_db
        count = count or len(tiles)
        cands = sync.candidate_runs(mid16, self.block, k, floor)
        slots = np.unique(cands[:, None] + np.arange(k)) if len(cands) else cands
        if len(cands) <= count or len(slots) > MAX_SCORED_SLOTS:
            return None
        cost = np.zeros(int(slots.max()) + 1)
        cost[slots] = self.slot_audibility(tiles[0], mid16, slots)
        run_cost = cost[cands[:, None] + np.arange(k)].sum(axis=1)
        chosen = sync.pick_runs(cands, run_cost, k, count)
        first = sync.runs(mid16, self.block, k, floor, None)[:count]
        per_slot = k * count
        placed = sync.order_slots(chosen, key) * self.block
        return (
            placed,
            float(cost[chosen[:, None] + np.arange(k)].sum() / per_slot),
            float(cost[first[:, None] + np.arange(k)].sum() / per_slot),
        )

    def slot_audibility(self, tile: np.ndarray, mid16: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """The noise-to-mask excess (dB) of the hiding network's modification in each of ``slots``.

        The slots go through the t-stage hiding graph t at a time, in time order
        (the last group padded with copies), with ``tile`` as the secret.
        """
        t, b = self.cfg.model.stages, self.block
        blocks = np.stack([mid16[s * b : (s + 1) * b] for s in slots]).astype(np.float32)
        groups = -(-len(blocks) // t)
        padded = blocks[np.arange(groups * t) % len(blocks)].reshape(groups, t * b)
        secret = np.repeat(np.asarray(tile, np.float32)[None], groups, axis=0)
        container = self.runner.hide(secret, padded, t).reshape(groups * t, b)[: len(blocks)]
        return masking.nmr_excess_db(blocks, container.astype(np.float64) - blocks)

    def _hide_windows(self, tiles, mid16, starts, k):
        """The cover windows at ``starts`` and the hiding network's container blocks for them."""
        length = k * self.block
        windows = np.stack([mid16[s : s + length] for s in starts]).astype(np.float32)
        return windows, self.runner.hide(np.asarray(tiles, np.float32), windows, k)

    def _embed(self, windows, containers, cover2d, rate, mid16, starts, k, frames, key, tiles, pilot_boost_db=0.0):
        length = k * self.block
        mod16 = np.zeros(len(mid16), np.float64)
        for i, s in enumerate(starts):
            delta = containers[i].astype(np.float64) - windows[i]
            pilot = sync.hiding_pilot(key, sync.run_pilot(i, tiles), windows[i], delta, self.block, pilot_boost_db)
            mod16[s : s + length] = delta + pilot
        mod = resample(mod16.astype(np.float32), self.rate, rate)
        mod = np.pad(mod, (0, max(0, frames - len(mod))))[:frames]
        container = cover2d + mod[:, None]
        peak = float(np.max(np.abs(container)))
        gain = 1.0
        if peak > PEAK:
            # Prevent clipping by scaling the whole file (never wrap, never hard-clip).
            gain = PEAK / peak * 0.999
            container = container * gain
        return container.astype(np.float32), gain, mod16

    def reveal_array(
        self,
        container: np.ndarray,
        rate: int,
        key: str | None = None,
        size: tuple[int, int] | None = None,
        stages: int | None = None,
        all_stages: bool = False,
    ):
        """Reveal the image hidden in ``container`` ([frames] or [frames, ch]).

        Returns a float [H, W, 3] image in [0, 1] (or, with ``all_stages``,
        [k, H, W, 3] of the cumulative C_1..C_k). Copies of the image in the
        container are averaged (:func:`average_copies`).
        """
        n = self.tile
        w, h = size or (n, n)
        rows, cols = self.tile_grid(w, h)
        windows, _ = self.container_windows(container, rate, rows * cols, key=key, stages=stages)
        k = windows.shape[1] // self.block
        stages_out = average_copies(self.reveal_windows(windows, k), rows * cols)  # [tiles, k, n, n, 3]
        k = stages_out.shape[1]  # 1 for a revealer without per-stage outputs (the fast revealer)
        full = stages_out.reshape(rows, cols, k, n, n, 3).transpose(2, 0, 3, 1, 4, 5).reshape(k, rows * n, cols * n, 3)
        full = full[:, :h, :w]
        return full if all_stages else full[-1]

    def container_windows(self, container: np.ndarray, rate: int, tiles: int, key=None, stages=None):
        """The receiver's view: [runs, k*w*h] samples at 16 kHz and each run's first sample.

        Each tile's run is found by its keyed pilot (:mod:`ditas_tf.sync`) to a
        fraction of a sample, and k is the stage count the pilot tells, or
        ``stages`` (C_k of a container that carries more). Copies of the image
        come after the tiles, copy-major: runs = copies x ``tiles``. An InputError when a
        run cannot be found (a wrong key, a wrong --size, or no hidden image) or
        ``stages`` is more than the container carries.
        """
        if stages is not None:
            self.stage_count(stages)
        c2d = container[:, None] if container.ndim == 1 else container
        mid16 = resample(to_mono(c2d), rate, self.rate)
        if len(mid16) < self.block:
            raise InputError(f"container too short: {len(mid16) / self.rate:.2f} s")
        carried, starts, scores = sync.locate_runs(
            mid16, key, tiles, self.block, self.cfg.model.stages, rate, stages=stages, max_copies=sync.MAX_COPIES
        )
        if scores.min() < sync.MIN_PEAK_SCORE:
            raise InputError(
                "no hidden image found: wrong key, wrong --size, or not a ditas container "
                f"(sync score {scores.min():.1f} < {sync.MIN_PEAK_SCORE})"
            )
        k = carried if stages is None else stages
        if k > carried:
            raise InputError(f"--stages {k} is more than the {carried} stage(s) this container carries")
        windows = np.stack([sync.window(mid16, float(s), k * self.block) for s in starts])
        return windows, starts

    def reveal_windows(self, windows: np.ndarray, stages: int | None = None) -> np.ndarray:
        """Cumulative revealed images C_1..C_k [N, k, h, w, 3] (clipped to [0, 1])."""
        k = self.stage_count(stages)
        return np.clip(self.runner.reveal(np.asarray(windows, np.float32), k), 0.0, 1.0)

    # ---------------------------------------------------------------- paths

    def hide(
        self,
        secret_path: str,
        cover_path: str,
        out_path: str,
        key: str | None = None,
        stages: int | None = None,
        float32: bool = False,
        copies: int | None = None,
    ) -> HideResult:
        """Read an image and a cover, hide, and write the container WAV atomically."""
        _check_output(out_path, [secret_path, cover_path])
        secret = load_image(secret_path)
        cover, rate = read_audio(cover_path)
        res = self.hide_array(secret, cover, rate, key=key, stages=stages, pcm16=not float32, copies=copies)
        write_audio(out_path, res.container, rate, float32=float32)
        return res

    def reveal(
        self,
        container_path: str,
        out_path: str,
        key: str | None = None,
        size: tuple[int, int] | None = None,
        stages: int | None = None,
    ) -> np.ndarray:
        """Read a container, reveal, and write the PNG atomically."""
        _check_output(out_path, [container_path])
        data, rate = read_audio(container_path)
        image = self.reveal_array(data, rate, key=key, size=size, stages=stages)
        save_png(out_path, image)
        return image

    def metadata(self) -> dict:
        """Parameters a receiver needs (used by the exporter's metadata.json)."""
        m = self.cfg.model
        return {
            "sample_rate": self.rate,
            "image_size": m.image_size,
            "stages": m.stages,
            "variant": m.variant,
            "block_samples": m.block_samples,
            "energy_floor_db": self.cfg.data.energy_floor_db,
            "sync_scheme": {
                "name": sync.SYNC_SCHEME,
                "pilot_snr_db": sync.PILOT_SNR_DB,
                "pilot_exponent": sync.PILOT_EXPONENT,
                "min_peak_score": sync.MIN_PEAK_SCORE,
                "run_order_with_key": KEY_SCHEME,
                # Copy c of tile j: pilot number j + c * copy_stride; kept when every tile of it peaks
                # over max(min_peak_score, copy_score_ratio x tile 0's score) without overlapping a run.
                "copy_stride": sync.COPY_STRIDE,
                "copy_score_ratio": sync.COPY_SCORE_RATIO,
                "max_copies": sync.MAX_COPIES,
            },
            "copies": "the revealed tiles of every copy found are averaged",
            "channel": "mid (mean of all channels)",
            # hide gives each tile the most stages the cover has room for, down to this many;
            # the pilot is keyed with its run's length, so the receiver learns the count from it.
            "min_auto_stages": min(m.hide_stages or m.stages, MIN_AUTO_STAGES),
            "max_auto_stages": m.hide_stages or m.stages,
        }


def keras_runner(cfg: Config, path: str, compiled: bool = False):
    """A Keras runner with the weights of model folder ``path`` (imports TensorFlow)."""
    from ditas_tf.networks import build_system
    from ditas_tf.runners import KerasRunner

    system = build_system(cfg.model, quantization_noise=False)
    try:
        system.load_weights(os.path.join(path, "model.weights.h5"))
    except (ValueError, OSError) as exc:
        raise InputError(f"weights in {path} do not fit its config.yaml ({str(exc).splitlines()[0][:120]})") from None
    return KerasRunner(system, compiled=compiled)


def average_copies(revealed: np.ndarray, tiles: int) -> np.ndarray:
    """[copies * tiles, ...] revealed runs (copy-major) -> [tiles, ...]: each tile's copies averaged.

    The copies sit in different stretches of the cover, so part of each one's error is its own,
    and the mean has less of it (docs/whole_cover.md measures how much).
    """
    copies = len(revealed) // tiles
    return revealed[: copies * tiles].reshape(copies, tiles, *revealed.shape[1:]).mean(axis=0)


def check_copies(copies: int | None) -> None:
    """An InputError unless ``copies`` is None (as many as fit) or 1..sync.MAX_COPIES (what a receiver looks for)."""
    if copies is not None and not 1 <= copies <= sync.MAX_COPIES:
        raise InputError(f"--copies must be in 1..{sync.MAX_COPIES}, got {copies}")


def _as_float_image(img: np.ndarray) -> np.ndarray:
    arr = np.asarray(img)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise InputError(f"secret image must be [H, W, 3], got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    return np.clip(arr.astype(np.float32), 0.0, 1.0)


def check_placement(placement: str) -> None:
    """An InputError naming the choices when ``placement`` is not one of PLACEMENTS."""
    if placement not in PLACEMENTS:
        raise InputError(f"unknown placement {placement!r}; choose from {', '.join(PLACEMENTS)}")


def check_paths(inputs: list, out_path: str) -> None:
    """Inputs must be existing files; the output must be writable and not an input."""
    for p in inputs:
        if not os.path.exists(p):
            raise InputError(f"file not found: {p}")
        if os.path.isdir(p):
            raise InputError(f"expected a file, got a directory: {p}")
    _check_output(out_path, inputs)


def _check_output(out_path: str, inputs: list) -> None:
    """Refuse outputs that would overwrite an input or cannot be written."""
    out_abs = os.path.realpath(out_path)
    for p in inputs:
        if os.path.exists(p) and os.path.realpath(p) == out_abs:
            raise InputError(f"output path is the same as an input: {out_path}")
    if os.path.isdir(out_path):
        raise InputError(f"output path is a directory: {out_path}")
    folder = os.path.dirname(out_abs)
    if not os.path.isdir(folder):
        raise InputError(f"output folder does not exist: {folder}")
    if not os.access(folder, os.W_OK):
        raise InputError(f"output folder is not writable: {folder}")
