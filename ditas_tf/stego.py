"""Hide an image in a recording and reveal it: the Steganographer.

Covers of any rate and channel count are handled like this: the mid signal
(mean of the channels) is resampled to the model rate (16 kHz); the image is
cut into w x h tiles (edge-padded), each tile gets its own t subsequences (see
:mod:`ditas_tf.positions`); the networks compute the container at 16 kHz; the
modification (container - cover) is resampled back to the cover's rate and
added to every channel, so the mid signal carries it and the output keeps the
cover's rate, channels and length. If the result would clip, the whole file is
scaled down (the revealer normalises each block, so a gain does not matter).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from importlib import resources

import numpy as np

from ditas_tf.audio import pcm16_roundtrip, read_audio, resample, to_mono, write_audio
from ditas_tf.config import Config, read_config
from ditas_tf.errors import InputError
from ditas_tf.images import load_image, save_png
from ditas_tf.positions import DEFAULT_SCHEME, KEY_SCHEME, choose_slots, eligible_slots, gather

log = logging.getLogger(__name__)

SHIPPED_MODELS = ("default", "quiet")
MAX_SIDE = 16384
PEAK = 32767.0 / 32768.0


def shipped_model_dir(name: str) -> str:
    """Folder of a model shipped inside the package."""
    return str(resources.files("ditas_tf") / "models" / name)


def resolve_model_dir(name_or_dir: str) -> str:
    """A shipped model name or a run folder -> a folder with config.yaml and weights."""
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
    slots: np.ndarray
    tiles: tuple  # (rows, cols)
    size: tuple  # (w, h) of the secret image
    gain: float
    snr_db: float  # over the modified subsequences, at 16 kHz
    snr_db_file: float  # over the whole file, at the cover's rate
    reveal_hint: str


class Steganographer:
    """Hide images in audio and reveal them with a trained DITAS model.

    Example:
      >>> steg = Steganographer.load("default")
      >>> result = steg.hide_array(image_uint8, cover_samples, 22050, key="k")
      >>> revealed = steg.reveal_array(result.container, 22050, key="k")
    """

    def __init__(self, cfg: Config, system, name: str = "custom", compiled: bool = False):
        self.cfg = cfg
        self.system = system
        self.name = name
        self.compiled = compiled
        self._fns: dict = {}

    @classmethod
    def load(cls, model: str = "default", compiled: bool = False) -> Steganographer:
        """Load a shipped model by name or a run/model folder.

        ``compiled=True`` runs the hider and revealer as graph functions (one trace
        per stage count, any batch): about a second more at the first call, then
        several times faster per call, which pays off for many calls (``ditas eval``).
        """
        from ditas_tf.networks import build_system

        path = resolve_model_dir(model)
        cfg = read_config(os.path.join(path, "config.yaml"))
        system = build_system(cfg.model, quantization_noise=False)
        try:
            system.load_weights(os.path.join(path, "model.weights.h5"))
        except (ValueError, OSError) as exc:
            raise InputError(
                f"weights in {path} do not fit its config.yaml ({str(exc).splitlines()[0][:120]})"
            ) from None
        return cls(cfg, system, name=model, compiled=compiled)

    def _fn(self, kind: str, k: int):
        """The hider or revealer for k stages, eager or as a cached graph function."""
        model = self.system.hider(k) if kind == "hide" else self.system.revealer(k)
        if not self.compiled:
            return lambda x: model(x, training=False)
        if (kind, k) not in self._fns:
            import tensorflow as tf

            n, b = self.tile, k * self.block
            window = tf.TensorSpec([None, b], tf.float32)
            if kind == "hide":
                spec = [{"secret_image": tf.TensorSpec([None, n, n, 3], tf.float32), "cover_audio": window}]
            else:
                spec = [window]
            self._fns[(kind, k)] = tf.function(lambda x: model(x, training=False), input_signature=spec)
        return self._fns[(kind, k)]

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
        if self.system.is_baseline and stages != t:
            raise InputError(f"the {self.cfg.model.variant} baseline only works with all {t} stages")
        return stages

    def tile_grid(self, w: int, h: int) -> tuple[int, int]:
        """(rows, cols) of the model-size tiles that cover a w x h image."""
        return math.ceil(h / self.tile), math.ceil(w / self.tile)

    def _needed_error(self, needed: int, have: int, what: str) -> InputError:
        sec = self.block / self.rate
        return InputError(
            f"{what} too short: needs {needed * sec:.2f} s of non-silent audio "
            f"({needed} subsequences of {sec:.3f} s), has {have * sec:.2f} s ({have} usable)"
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
    ) -> HideResult:
        """Hide ``secret`` (uint8 or [0, 1] float, [H, W, 3]) in ``cover`` ([frames] or [frames, ch]).

        Returns the container at the cover's rate, channels and length.
        ``pcm16`` says whether it will be stored as 16-bit PCM (the receiver's
        view is simulated that way to check that it finds the same slots).
        """
        k = self.stage_count(stages)
        img = _as_float_image(secret)
        h, w = img.shape[:2]
        rows, cols = self.tile_grid(w, h)
        n = self.tile
        padded = np.pad(img, ((0, rows * n - h), (0, cols * n - w), (0, 0)), mode="edge")
        tiles = padded.reshape(rows, n, cols, n, 3).transpose(0, 2, 1, 3, 4).reshape(-1, n, n, 3)
        cover2d = cover[:, None] if cover.ndim == 1 else cover
        frames = cover2d.shape[0]
        mid16 = resample(to_mono(cover2d), rate, self.rate)
        needed = len(tiles) * k
        floor = self.cfg.data.energy_floor_db
        have = len(eligible_slots(mid16, self.block, floor))
        if have == 0:
            raise InputError(f"cover is silent: no subsequence is above the energy floor ({floor:.0f} dBFS)")
        slots = choose_slots(mid16, self.block, needed, floor, key)
        if slots is None:
            raise self._needed_error(needed, have, "cover")
        for _ in range(4):
            container, gain, mod16 = self._embed(tiles, cover2d, rate, mid16, slots, k, frames)
            # The receiver derives the slots from the container: check that it finds the same ones.
            stored = pcm16_roundtrip(container) if pcm16 else container
            seen = resample(to_mono(stored), rate, self.rate)
            again = choose_slots(seen, self.block, needed, floor, key)
            if again is not None and np.array_equal(again, slots):
                break
            if again is None:
                raise InputError("cover too quiet: the hidden subsequences fall under the energy floor")
            slots = again
        else:
            raise InputError("could not place the subsequences stably in this cover; try another cover or key")
        cover16 = gather(mid16, slots, self.block)
        modified = gather(mid16 + mod16, slots, self.block)
        snr = 10 * math.log10(np.sum(cover16.astype(np.float64) ** 2) / max(np.sum((modified - cover16) ** 2), 1e-20))
        diff = container - cover2d
        snr_file = 10 * math.log10(
            np.sum(cover2d.astype(np.float64) ** 2) / max(np.sum(diff.astype(np.float64) ** 2), 1e-20)
        )
        hint = "" if (w, h) == (n, n) else f"--size {w}x{h}"
        if k != self.cfg.model.stages:
            hint = (hint + f" --stages {k}").strip()
        return HideResult(container, rate, slots, (rows, cols), (w, h), gain, snr, snr_file, hint)

    def _embed(self, tiles, cover2d, rate, mid16, slots, k, frames):
        b = self.block
        windows = np.stack([gather(mid16, slots[i * k : (i + 1) * k], b) for i in range(len(tiles))])
        hider = self._fn("hide", k)
        out = []
        for i in range(0, len(tiles), 64):
            res = hider(
                {
                    "secret_image": np.asarray(tiles[i : i + 64], np.float32),
                    "cover_audio": np.asarray(windows[i : i + 64], np.float32),
                }
            )
            out.append(np.asarray(res["container_audio"]))
        containers = np.concatenate(out)
        mod16 = np.zeros_like(mid16)
        for i in range(len(tiles)):
            delta = containers[i] - windows[i]
            for j in range(k):
                s = slots[i * k + j]
                mod16[s * b : (s + 1) * b] = delta[j * b : (j + 1) * b]
        mod = resample(mod16, self.rate, rate)
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
        [k, H, W, 3] of the cumulative C_1..C_k).
        """
        k = self.stage_count(stages)
        n = self.tile
        w, h = size or (n, n)
        rows, cols = self.tile_grid(w, h)
        windows, _ = self.container_windows(container, rate, rows * cols, key=key, stages=k)
        stages_out = self.reveal_windows(windows, k)  # [tiles, k, n, n, 3]
        full = stages_out.reshape(rows, cols, k, n, n, 3).transpose(2, 0, 3, 1, 4, 5).reshape(k, rows * n, cols * n, 3)
        full = full[:, :h, :w]
        return full if all_stages else full[-1]

    def container_windows(self, container: np.ndarray, rate: int, tiles: int, key=None, stages=None):
        """The receiver's view: [tiles, k*w*h] samples at 16 kHz and the slots they came from."""
        k = self.stage_count(stages)
        c2d = container[:, None] if container.ndim == 1 else container
        mid16 = resample(to_mono(c2d), rate, self.rate)
        needed = tiles * k
        floor = self.cfg.data.energy_floor_db
        slots = choose_slots(mid16, self.block, needed, floor, key)
        if slots is None:
            have = len(eligible_slots(mid16, self.block, floor))
            raise self._needed_error(needed, have, "container")
        b = self.block
        windows = np.stack([gather(mid16, slots[i * k : (i + 1) * k], b) for i in range(tiles)])
        return windows, slots

    def reveal_windows(self, windows: np.ndarray, stages: int | None = None) -> np.ndarray:
        """Cumulative revealed images C_1..C_k [N, k, h, w, 3] (clipped to [0, 1])."""
        k = self.stage_count(stages)
        revealer = self._fn("reveal", k)
        out = []
        for i in range(0, len(windows), 64):
            out.append(np.asarray(revealer(np.asarray(windows[i : i + 64], np.float32))["revealed_stages"]))
        return np.clip(np.concatenate(out), 0.0, 1.0)

    # ---------------------------------------------------------------- paths

    def hide(
        self,
        secret_path: str,
        cover_path: str,
        out_path: str,
        key: str | None = None,
        stages: int | None = None,
        float32: bool = False,
    ) -> HideResult:
        """Read an image and a cover, hide, and write the container WAV atomically."""
        _check_output(out_path, [secret_path, cover_path])
        secret = load_image(secret_path)
        cover, rate = read_audio(cover_path)
        res = self.hide_array(secret, cover, rate, key=key, stages=stages, pcm16=not float32)
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
            "position_scheme": {"without_key": DEFAULT_SCHEME, "with_key": KEY_SCHEME},
            "channel": "mid (mean of all channels)",
        }


def _as_float_image(img: np.ndarray) -> np.ndarray:
    arr = np.asarray(img)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise InputError(f"secret image must be [H, W, 3], got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    return np.clip(arr.astype(np.float32), 0.0, 1.0)


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
