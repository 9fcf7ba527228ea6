"""Typed configuration: dataclass defaults, then YAML presets, then ``--set k=v``.

The resolved configuration of a run is written next to its checkpoints as
``config.yaml`` and read back on resume, export and evaluation.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Iterable
from importlib import resources
from typing import Any

import yaml

from ditas_tf.errors import ConfigError

VARIANTS = ("M", "M-E", "M-D", "M-ED", "S", "deep-steg", "kreuk")
BASELINES = ("deep-steg", "kreuk")
HIDING_OUTPUTS = ("container", "residual", "residual_fixed_snr", "residual_masked")
DOMAINS = ("raw", "stft")
AUDIO_LAYOUTS = ("block", "spectral")


@dataclasses.dataclass
class ModelConfig:
    """Network configuration.

    Attributes:
      variant: one of DITAS ``M``, ``M-E``, ``M-D``, ``M-ED``, ``S`` or the
        baselines ``deep-steg`` (Baluja 2017) and ``kreuk`` (Kreuk et al., STFT).
      stages: t, the number of stages (and cover subsequences).
      image_size: w = h, the side of the square secret image tile.
      width: kernels per convolution (64 in the paper).
      res_blocks: residual blocks per sub-network.
      space_to_depth: block size b; the body runs at (w/b) x (h/b) with the
        pixels of each b x b block as channels (1 = the paper's layout).
      domain: ``raw`` (reshape samples to w x h) or ``stft`` (log-magnitude).
      hiding_output: ``container`` (H_i outputs T~_i, eq. 1), ``residual``
        (T~_i = T_i + H_i output) or ``residual_fixed_snr`` (the modification
        is rescaled to exactly ``target_snr_db`` below each subsequence).
        ``residual_masked`` shapes the modification by the cover's STFT
        magnitude (``|C| ** mask_exponent``, :mod:`ditas_tf.masking`) before
        rescaling it to ``target_snr_db``, so that speech masks it.
      target_snr_db: the container SNR of every subsequence used by
        ``residual_fixed_snr`` and ``residual_masked``.
      mask_exponent: 0 = white modification, 1 = follows the cover's spectrum.
      mask_frame_length: STFT frame of the mask (sqrt-Hann, 50 % overlap).
      mask_mode: ``gain`` multiplies the network's modification by the mask
        (the network can still raise weak bins); ``phase`` keeps only its
        phases, so the mask alone sets the magnitudes; ``bounded`` keeps its
        phases and lets it move each magnitude within +-``mask_bound_db``.
      mask_bound_db: the magnitude freedom of ``mask_mode=bounded``.
      spread: multiply the hiding network's output by a fixed +-1 sequence
        before the mask (and the networks' audio inputs by the same), so the
        modification is white before it is shaped (``residual_masked`` only).
      normalize_audio: networks see audio blocks divided by their RMS (the
        revealer always, the hiding network with the rescaled outputs), which
        makes the model independent of the cover's loudness.
      lowpass_hz: low-pass cut-off of the modification (0 = off; residual
        modes, raw domain), so that it survives resampling to the cover's rate.
      highpass_hz: the modification starts at this frequency (0 = off;
        ``residual_masked``): the mask's STFT bins under it are left out, and
        the ``spectral`` layout's cells read them as zero, so that the
        DC-blocking and rumble filters that files go through remove nothing
        the revealer needs.
      mask_top_hz: the masked modification stops under this frequency (0 =
        off; ``residual_masked``): the mask's STFT bins from it up are left
        out, where a detector sees the modification most (docs/hiding_output.md).
      sample_rate: the rate the networks run at (must equal data.sample_rate).
      stft_frame_length: STFT window for the ``stft`` domain and Kreuk.
      stft_frame_step: STFT hop.
      audio_layout: how the stage networks see an audio block. ``block``
        (the paper's): its samples row-major as a w x h image, then
        space-to-depth like the secret. ``spectral``: its STFT
        (``spectral_frame_length``, sqrt-Hann, 50 % overlap, the first
        ``spectral_bins`` bins, magnitudes compressed by ``spectral_exponent``)
        grouped into (w/b) x (h/b) time-frequency cells, and the hiding
        network writes its output as such cells, through an inverse STFT
        (:class:`ditas_tf.layers.SpectralCells`, raw domain only). The cells
        stop under ``lowpass_hz``, so the revealer needs no low-pass filter.
      spectral_frame_length: STFT frame of the ``spectral`` layout.
      spectral_bins: bins the ``spectral`` layout keeps (from 0 Hz).
      spectral_exponent: magnitude compression of the ``spectral`` layout's input.
      hide_stages: the most stages ``hide`` gives a tile on its own (0 = all
        t; ``--stages`` still asks for any). Inference only: a model may
        reveal better with every stage than the span's audibility allows.
    """

    variant: str = "M"
    stages: int = 5
    image_size: int = 64
    width: int = 64
    res_blocks: int = 4
    space_to_depth: int = 1
    domain: str = "raw"
    hiding_output: str = "container"
    target_snr_db: float = 10.0
    mask_exponent: float = 0.5
    mask_frame_length: int = 256
    mask_mode: str = "gain"
    mask_bound_db: float = 6.0
    spread: bool = False
    normalize_audio: bool = False
    lowpass_hz: float = 0.0
    highpass_hz: float = 0.0
    mask_top_hz: float = 0.0
    sample_rate: int = 16000
    stft_frame_length: int = 128
    stft_frame_step: int = 64
    audio_layout: str = "block"
    spectral_frame_length: int = 256
    spectral_bins: int = 96
    spectral_exponent: float = 0.5
    hide_stages: int = 0

    @property
    def block_samples(self) -> int:
        """Samples in one cover subsequence (w * h)."""
        return self.image_size * self.image_size

    @property
    def cover_samples(self) -> int:
        """Samples the model takes: t * w * h."""
        return self.stages * self.block_samples


@dataclasses.dataclass
class DataConfig:
    """Data configuration.

    Attributes:
      train_images: image roots for training (VOC root or any image folder).
      train_audio: audio roots for training (LJ Speech, TIMIT or any folder).
      val_images: image roots for validation during training.
      val_audio: audio roots for validation during training.
      ljspeech_train_prefixes: LJ Speech clip-id prefixes for training.
      ljspeech_val_prefixes: LJ Speech clip-id prefixes for validation.
      voc_train_split: VOC ImageSets split name used for training.
      voc_val_split: VOC ImageSets split name used for validation.
      sample_rate: model sample rate in Hz.
      energy_floor_db: subsequences quieter than this RMS (dBFS) are avoided.
      short_clips: ``concat`` joins clips shorter than a window with the next
        ones; ``skip`` drops them.
      random_scale: training crops are squares of a random side between the
        tile size and the image's short side, resized to the tile (so that
        training sees whole-image detail as the evaluation protocol does);
        false takes plain tile-size crops as in the paper.
      shuffle_buffer: windows/images in the shuffle buffer.
      cache: ``memory``, ``none`` or a file path prefix for tf.data cache.
      seed: seed of shuffling and cropping.
      val_examples: number of fixed validation pairs.
    """

    train_images: list = dataclasses.field(default_factory=list)
    train_audio: list = dataclasses.field(default_factory=list)
    val_images: list = dataclasses.field(default_factory=list)
    val_audio: list = dataclasses.field(default_factory=list)
    ljspeech_train_prefixes: list = dataclasses.field(default_factory=lambda: ["LJ001"])
    ljspeech_val_prefixes: list = dataclasses.field(default_factory=lambda: ["LJ002"])
    voc_train_split: str = "train"
    voc_val_split: str = "val"
    sample_rate: int = 16000
    energy_floor_db: float = -45.0
    short_clips: str = "concat"
    random_scale: bool = False
    shuffle_buffer: int = 512
    cache: str = "memory"
    seed: int = 1234
    val_examples: int = 32


@dataclasses.dataclass
class TrainConfig:
    """Training loop configuration.

    Attributes:
      batch_size: global batch size.
      steps: total optimizer steps.
      learning_rate: initial Adam learning rate.
      lr_decay_factor: the learning rate is divided by this ...
      lr_decay_steps: ... every this many steps (0 = never), or
      lr_decay_epochs: ... every this many epochs (an epoch is one pass over
        the training images: ceil(images / batch) steps); overrides lr_decay_steps.
      epochs: when > 0, train for this many epochs (overrides steps).
      lambdas: lambda_i per stage (one value is broadcast to all stages).
      hiding_loss: ``mse`` (eq. 5), ``snr`` (MSE divided by the cover power,
        so that the term measures 1/SNR) or ``nmr`` (noise-to-mask: by how many
        dB each STFT bin of the modification exceeds the cover's own bin minus
        ``nmr_offset_db``, averaged over the bins; :func:`ditas_tf.losses.nmr_excess_db`).
      hiding_weight: weight of the hiding terms.
      nmr_offset_db: how far under the cover's bin the modification may sit
        before ``hiding_loss=nmr`` counts it.
      clip_norm: global gradient-norm clipping (0 = off).
      quantization_noise: add 16-bit rounding noise to containers in training.
      checkpoint_every: steps between checkpoints.
      validate_every: steps between validations.
      summary_every: steps between TensorBoard scalars.
      image_summary_every: steps between TensorBoard images and audio.
      best_metric: validation metric whose best value is kept apart.
      max_to_keep: checkpoints kept.
      strategy: ``auto``, ``one_device``, ``mirrored`` or ``multi_worker``.
      init_weights: a ``.weights.h5`` file to start from when the run folder
        has no checkpoint yet (warm start; the optimizer starts fresh).
    """

    batch_size: int = 16
    steps: int = 100000
    learning_rate: float = 1e-4
    lr_decay_factor: float = 3.0
    lr_decay_steps: int = 0
    lr_decay_epochs: float = 0.0
    epochs: float = 0.0
    lambdas: list = dataclasses.field(default_factory=lambda: [0.8])
    hiding_loss: str = "mse"
    hiding_weight: float = 1.0
    nmr_offset_db: float = 10.0
    clip_norm: float = 0.0
    quantization_noise: bool = True
    checkpoint_every: int = 500
    validate_every: int = 500
    summary_every: int = 50
    image_summary_every: int = 1000
    best_metric: str = "psnr"
    max_to_keep: int = 3
    strategy: str = "auto"
    init_weights: str = ""


@dataclasses.dataclass
class ChannelConfig:
    """Training-time channel: what a file goes through, simulated on each container block
    between the hiding and the revealing stage (:class:`ditas_tf.layers.TrainingChannel`).

    Ranges are ``[low, high]`` and drawn uniformly per example; the defaults
    leave the container untouched (``train.quantization_noise`` still adds
    16-bit rounding).

    Attributes:
      noise_probability: share of examples given white noise ...
      noise_snr_db: ... this many dB under the block.
      gain_db: a gain.
      bits: PCM bit depth of a rounding noise (16 = what quantization_noise adds anyway).
      lowpass_probability: share of examples low-passed ...
      lowpass_hz: ... at this cut-off.
      codec_probability: share of examples given the codec proxy, which gates off STFT bins ...
      codec_floor_db: ... this far under their frame's loudest bin ...
      codec_snr_db: ... and adds noise this far under the bins it keeps.
      modification_gain_db: a gain on the hidden modification alone (the
        container minus the cover) on its way to the revealer, per example and
        stage: trained with [-4, 0], one model reveals containers hidden from
        ``target_snr_db`` to 4 dB quieter (DITAS variants only).
    """

    noise_probability: float = 0.0
    noise_snr_db: list = dataclasses.field(default_factory=lambda: [20.0, 40.0])
    gain_db: list = dataclasses.field(default_factory=lambda: [0.0, 0.0])
    bits: list = dataclasses.field(default_factory=lambda: [16.0, 16.0])
    lowpass_probability: float = 0.0
    lowpass_hz: list = dataclasses.field(default_factory=lambda: [4000.0, 7500.0])
    codec_probability: float = 0.0
    codec_floor_db: list = dataclasses.field(default_factory=lambda: [25.0, 45.0])
    codec_snr_db: list = dataclasses.field(default_factory=lambda: [15.0, 30.0])
    modification_gain_db: list = dataclasses.field(default_factory=lambda: [0.0, 0.0])

    @property
    def moves_the_level(self) -> bool:
        """Whether the modification's level is drawn per example (``modification_gain_db``)."""
        return any(float(v) != 0.0 for v in self.modification_gain_db)

    def file_journey(self) -> dict:
        """The keyword arguments of :class:`ditas_tf.layers.TrainingChannel` (what the file goes through)."""
        d = dataclasses.asdict(self)
        d.pop("modification_gain_db")
        return d

    @property
    def enabled(self) -> bool:
        """Whether the channel changes anything beyond 16-bit rounding."""
        return (
            self.noise_probability > 0
            or self.lowpass_probability > 0
            or self.codec_probability > 0
            or any(float(v) != 0.0 for v in self.gain_db)
            or any(float(v) != 16.0 for v in self.bits)
        )

    def validate(self, rate: int) -> None:
        """Raise ConfigError naming the first bad key."""
        for key in ("noise_probability", "lowpass_probability", "codec_probability"):
            v = getattr(self, key)
            if not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise ConfigError(f"channel.{key} must be in [0, 1], got {v!r}")
        bounds = {
            "noise_snr_db": (-20, 100),
            "gain_db": (-60, 20),
            "bits": (2, 24),
            "lowpass_hz": (100, rate / 2),
            "codec_floor_db": (0, 120),
            "codec_snr_db": (-10, 100),
            "modification_gain_db": (-20, 20),
        }
        for key, (lo, hi) in bounds.items():
            v = getattr(self, key)
            ok = isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)
            if not ok or not lo <= v[0] <= v[1] <= hi:
                raise ConfigError(f"channel.{key} must be [low, high] with {lo} <= low <= high <= {hi}, got {v!r}")


@dataclasses.dataclass
class ExportConfig:
    """Export configuration.

    Attributes:
      version: TF Serving model version.
      calibration_examples: real containers used to calibrate full int8.
      verify_examples: real containers used to verify each TFLite file.
      max_psnr_loss_db: allowed PSNR loss per TFLite setting.
    """

    version: int = 1
    calibration_examples: int = 64
    verify_examples: int = 16
    max_psnr_loss_db: dict = dataclasses.field(
        default_factory=lambda: {
            "float32": 0.01,
            "float16": 0.1,
            "dynamic_int8": 0.5,
            "full_int8": 1.5,
        }
    )


@dataclasses.dataclass
class Config:
    """The whole configuration of a run."""

    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    channel: ChannelConfig = dataclasses.field(default_factory=ChannelConfig)
    export: ExportConfig = dataclasses.field(default_factory=ExportConfig)

    def to_dict(self) -> dict:
        """Plain nested dict (YAML-serialisable)."""
        return dataclasses.asdict(self)

    def lambdas(self) -> list:
        """lambda_i for each stage."""
        lam = list(self.train.lambdas)
        if len(lam) == 1:
            return lam * self.model.stages
        return lam

    def validate(self) -> Config:
        """Check values; raise ConfigError naming the bad key."""
        m, t, d = self.model, self.train, self.data
        _choice("model.variant", m.variant, VARIANTS)
        _choice("model.hiding_output", m.hiding_output, HIDING_OUTPUTS)
        _choice("model.domain", m.domain, DOMAINS)
        _choice("data.short_clips", d.short_clips, ("concat", "skip"))
        _choice("train.hiding_loss", t.hiding_loss, ("mse", "snr", "nmr"))
        if not -40 <= t.nmr_offset_db <= 60:
            raise ConfigError(f"train.nmr_offset_db must be in [-40, 60], got {t.nmr_offset_db}")
        _choice("train.strategy", t.strategy, ("auto", "one_device", "mirrored", "multi_worker"))
        _choice("train.best_metric", t.best_metric, ("psnr", "ssim", "snr_db", "loss"))
        _positive("model.stages", m.stages, upper=64)
        if not 0 <= m.hide_stages <= m.stages:
            raise ConfigError(f"model.hide_stages must be in 0..{m.stages} (model.stages), got {m.hide_stages}")
        _positive("model.image_size", m.image_size, upper=1024)
        _positive("model.width", m.width, upper=4096)
        _positive("model.space_to_depth", m.space_to_depth, upper=16)
        if m.res_blocks < 0:
            raise ConfigError(f"model.res_blocks must be >= 0, got {m.res_blocks}")
        if m.image_size % m.space_to_depth:
            raise ConfigError(
                f"model.image_size ({m.image_size}) must be divisible by model.space_to_depth ({m.space_to_depth})"
            )
        if m.variant == "kreuk" and m.domain != "stft":
            raise ConfigError("model.variant 'kreuk' hides in the STFT domain: set model.domain=stft")
        if m.domain == "stft":
            if m.stft_frame_step * 2 != m.stft_frame_length:
                raise ConfigError("model.stft_frame_step must be half of model.stft_frame_length")
            if m.block_samples % m.stft_frame_step:
                raise ConfigError("model.stft_frame_step must divide image_size**2")
            frames = 1 + m.block_samples // m.stft_frame_step
            bins = m.stft_frame_length // 2 + 1
            if frames < m.image_size or bins < m.image_size:
                raise ConfigError(
                    f"the STFT of one subsequence ({frames} frames x {bins} bins) must cover "
                    f"image_size x image_size: use model.stft_frame_length={2 * m.image_size}"
                )
        _choice("model.audio_layout", m.audio_layout, AUDIO_LAYOUTS)
        if m.audio_layout == "spectral":
            if m.domain != "raw" or m.variant in BASELINES:
                raise ConfigError("model.audio_layout 'spectral' needs a DITAS variant and model.domain=raw")
            if not 0 < m.spectral_exponent <= 1:
                raise ConfigError(f"model.spectral_exponent must be in (0, 1], got {m.spectral_exponent}")
            from ditas_tf.masking import spectral_grid

            try:
                spectral_grid(
                    m.block_samples, m.image_size // m.space_to_depth, m.spectral_frame_length, m.spectral_bins
                )
            except ValueError as exc:
                raise ConfigError(f"model.audio_layout 'spectral': {exc}") from None
            top = m.spectral_bins * m.sample_rate / m.spectral_frame_length
            if m.lowpass_hz > 0 and top > m.lowpass_hz:
                raise ConfigError(
                    f"model.audio_layout 'spectral': its {m.spectral_bins} bins reach {top:.0f} Hz, past "
                    f"model.lowpass_hz ({m.lowpass_hz:.0f}): the revealer reads the cells unfiltered"
                )
        if m.hiding_output == "residual_masked":
            if m.domain != "raw":
                raise ConfigError("model.hiding_output 'residual_masked' needs model.domain=raw")
            _choice("model.mask_mode", m.mask_mode, ("gain", "phase", "bounded"))
            if not 0 < m.mask_bound_db <= 40:
                raise ConfigError(f"model.mask_bound_db must be in (0, 40], got {m.mask_bound_db}")
            if not 0 <= m.mask_exponent <= 2:
                raise ConfigError(f"model.mask_exponent must be in [0, 2], got {m.mask_exponent}")
            if m.mask_frame_length < 4 or m.mask_frame_length % 4 or m.block_samples % (m.mask_frame_length // 2):
                raise ConfigError(
                    f"model.mask_frame_length must be a multiple of 4 whose half divides image_size**2, got {m.mask_frame_length}"
                )
        elif m.spread:
            raise ConfigError("model.spread needs model.hiding_output=residual_masked")
        elif m.highpass_hz:
            raise ConfigError("model.highpass_hz needs model.hiding_output=residual_masked")
        elif m.mask_top_hz:
            raise ConfigError("model.mask_top_hz needs model.hiding_output=residual_masked")
        if m.mask_top_hz and not 2 * m.highpass_hz < m.mask_top_hz <= m.sample_rate / 2:
            raise ConfigError(
                f"model.mask_top_hz must be 0 or in ({2 * m.highpass_hz:.0f}, {m.sample_rate / 2:.0f}], got {m.mask_top_hz}"
            )
        top = m.lowpass_hz if m.lowpass_hz > 0 else m.sample_rate / 2
        if not 0 <= m.highpass_hz < top / 2:
            raise ConfigError(f"model.highpass_hz must be in [0, {top / 2:.0f}), got {m.highpass_hz}")
        if m.sample_rate != d.sample_rate:
            raise ConfigError(f"model.sample_rate ({m.sample_rate}) must equal data.sample_rate ({d.sample_rate})")
        if not 0 <= m.lowpass_hz < m.sample_rate / 2:
            raise ConfigError(f"model.lowpass_hz must be in [0, {m.sample_rate // 2}), got {m.lowpass_hz}")
        if len(t.lambdas) not in (1, m.stages):
            raise ConfigError(f"train.lambdas needs 1 or {m.stages} values (model.stages), got {len(t.lambdas)}")
        _positive("train.batch_size", t.batch_size, upper=1 << 16)
        _positive("train.steps", t.steps, upper=1 << 40)
        _positive("train.checkpoint_every", t.checkpoint_every, upper=1 << 40)
        _positive("train.validate_every", t.validate_every, upper=1 << 40)
        _positive("data.sample_rate", d.sample_rate, upper=384000)
        if t.learning_rate <= 0:
            raise ConfigError(f"train.learning_rate must be > 0, got {t.learning_rate}")
        if t.lr_decay_factor < 1:
            raise ConfigError(f"train.lr_decay_factor must be >= 1, got {t.lr_decay_factor}")
        self.channel.validate(m.sample_rate)
        if self.channel.moves_the_level and m.variant in BASELINES:
            raise ConfigError("channel.modification_gain_db needs a DITAS variant (the baselines have no cover block)")
        return self


def _choice(key: str, value: Any, valid: Iterable[str]) -> None:
    valid = tuple(valid)
    if value not in valid:
        raise ConfigError(f"{key}={value!r} is not valid; choose one of: {', '.join(valid)}")


def _positive(key: str, value: int, upper: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= upper:
        raise ConfigError(f"{key} must be an integer in 1..{upper}, got {value!r}")


PRESETS = ("paper", "cpu", "cpu10", "cpu10_spectral", "robust", "cpu_white", "cpu_quiet", "repro", "smoke")


def preset_path(name: str):
    """Path of a shipped YAML preset."""
    return resources.files("ditas_tf") / "presets" / f"{name}.yaml"


def _merge(cfg: Config, tree: dict, where: str) -> None:
    if not isinstance(tree, dict):
        raise ConfigError(f"{where}: expected a mapping of sections, got {type(tree).__name__}")
    sections = {f.name for f in dataclasses.fields(Config)}
    for section, values in tree.items():
        if section not in sections:
            raise ConfigError(f"{where}: unknown section {section!r}; valid sections: {', '.join(sorted(sections))}")
        if values is None:
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: section {section!r} must be a mapping")
        for key, value in values.items():
            set_value(cfg, f"{section}.{key}", value, where=where)


def set_value(cfg: Config, dotted: str, value: Any, where: str = "--set") -> None:
    """Set ``section.key`` to ``value`` with type checking against the default."""
    if "." not in dotted:
        raise ConfigError(f"{where}: {dotted!r} must look like section.key")
    section, key = dotted.split(".", 1)
    sections = {f.name: f for f in dataclasses.fields(Config)}
    if section not in sections:
        raise ConfigError(f"{where}: unknown section {section!r}; valid sections: {', '.join(sorted(sections))}")
    sub = getattr(cfg, section)
    fields = {f.name: f for f in dataclasses.fields(sub)}
    if key not in fields:
        close = difflib.get_close_matches(key, fields, n=1)
        hint = f" (did you mean {section}.{close[0]}?)" if close else ""
        raise ConfigError(
            f"{where}: unknown key {dotted!r}{hint}; valid keys in {section}: {', '.join(sorted(fields))}"
        )
    current = getattr(sub, key)
    setattr(sub, key, _coerce(dotted, value, current))


def _coerce(dotted: str, value: Any, current: Any) -> Any:
    if isinstance(value, str) and isinstance(current, float) and not isinstance(current, bool):
        try:
            value = float(value)  # YAML 1.1 reads "1e30" as a string
        except ValueError:
            pass
    if isinstance(value, str) and not isinstance(current, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{dotted}: cannot parse {value!r}: {exc}") from None
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{dotted} must be true or false, got {value!r}")
    elif isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{dotted} must be an integer, got {value!r}")
    elif isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{dotted} must be a number, got {value!r}")
        value = float(value)
    elif isinstance(current, list):
        if not isinstance(value, list):
            value = [value]
    elif isinstance(current, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{dotted} must be a mapping, got {value!r}")
    elif isinstance(current, str) and not isinstance(value, str):
        value = str(value)
    return value


def load_config(sources: Iterable[str] = (), overrides: Iterable[str] = ()) -> Config:
    """Resolve a config from presets or YAML files (in order), then overrides.

    Args:
      sources: preset names (``paper``, ``cpu``, ``cpu_quiet``, ``smoke``) or
        paths of YAML files, applied in order over the dataclass defaults.
      overrides: ``section.key=value`` strings applied last.

    Returns:
      A validated Config.
    """
    cfg = Config()
    for src in sources:
        merge_yaml(cfg, src)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r} must look like section.key=value")
        key, value = item.split("=", 1)
        set_value(cfg, key.strip(), value.strip())
    return cfg.validate()


def merge_yaml(cfg: Config, src: str) -> None:
    """Merge a preset name or YAML path into ``cfg``."""
    if src in PRESETS:
        text = preset_path(src).read_text()
    elif os.path.isfile(src):
        with open(src, encoding="utf-8") as f:
            text = f.read()
    else:
        raise ConfigError(f"config {src!r} is neither a preset ({', '.join(PRESETS)}) nor a YAML file")
    try:
        tree = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{src}: invalid YAML: {exc}".splitlines()[0]) from None
    if isinstance(tree, dict) and "base" in tree:
        # `base: cpu` merges that preset first, so an overlay states only what it changes.
        tree = dict(tree)
        base = tree.pop("base")
        if base not in PRESETS or base == src:
            raise ConfigError(f"{src}: base must name another preset ({', '.join(PRESETS)}), got {base!r}")
        merge_yaml(cfg, base)
    _merge(cfg, tree, src)


def from_dict(tree: dict) -> Config:
    """Build a validated Config from a nested dict."""
    cfg = Config()
    _merge(cfg, tree, "config")
    return cfg.validate()


def save_config(cfg: Config, path: str) -> None:
    """Write ``cfg`` as YAML atomically."""
    from ditas_tf.fileio import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def read_config(path: str) -> Config:
    """Read a config.yaml written by :func:`save_config`."""
    try:
        with open(path, encoding="utf-8") as f:
            tree = yaml.safe_load(f) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except yaml.YAMLError:
        raise ConfigError(f"{path}: invalid YAML") from None
    return from_dict(tree)


def portable_config(cfg: Config) -> Config:
    """A copy of ``cfg`` without the paths of the machine it was trained on.

    A shipped model folder carries the network, the energy floor and the
    export settings; data folders and the warm-start file only made sense on
    the training machine (``ditas export`` takes ``--images``/``--audio``).
    """
    out = from_dict(dataclasses.asdict(cfg))
    out.data.train_images, out.data.train_audio = [], []
    out.data.val_images, out.data.val_audio = [], []
    out.train.init_weights = ""
    return out
