"""The DITAS networks (every variant) and the Deep-Steg and Kreuk baselines.

Everything is a Keras functional model with named layers:

* ``hiding_stage_i`` (H_i): [residual S_i, cover block T_i (, previous hiding
  features)] -> (modification or container block, features).
* ``revealing_stage_i`` (R_i): [container block T~_i (, previous revealing
  features)] -> (revealed residual R_i, features).
* :func:`build_ditas` assembles the stages as in equations (1)-(3) of the paper:
  S_1 = S_0, S_i = S_0 - C_{i-1}, C_i = sum_{j<=i} R_j.

Connections between stages (the paper's Fig. 3 is not in our copy; this is
what we implement): in ``M-E`` hiding stage i also receives the last body
features of hiding stage i-1, concatenated with its own head features and
mixed by a 1x1 ``bridge`` convolution; ``M-D`` does the same for revealing
stages; ``M-ED`` does both; ``S`` uses one hiding and one revealing
sub-network for every stage; ``M`` has independent stages.

The residual block (Fig. 2) is conv3x3 - ReLU - conv3x3 plus the identity.

An audio block reaches a stage network as its samples (``model.audio_layout=block``, the paper's
w x h reshape, then space-to-depth) or as time-frequency cells of its STFT (``spectral``:
:class:`ditas_tf.layers.SpectralCells`; the hiding network then writes cells that
:class:`ditas_tf.layers.CellsToAudio` turns into audio).
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from ditas_tf.config import BASELINES, ModelConfig
from ditas_tf.layers import (
    BlockISTFT,
    BlockLowPass,
    BlockNormalize,
    BlockSTFT,
    BlocksToCover,
    CellsToAudio,
    CoverToBlocks,
    DepthToSpace,
    FixedSNRResidual,
    MaskedResidual,
    ModificationGain,
    QuantizationNoise,
    SpaceToDepth,
    SpectralCells,
    Spread,
    StackStages,
    StageConv2D,
    StagesToCells,
    TakeChannel,
    TrainingChannel,
)
from ditas_tf.masking import first_bin, spectral_grid, top_bin

DITAS_VARIANTS = ("M", "M-E", "M-D", "M-ED", "S")


def residual_block(x, width: int, name: str):
    """conv3x3 - ReLU - conv3x3 + identity (Fig. 2)."""
    y = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"{name}_conv1")(x)
    y = layers.Conv2D(width, 3, padding="same", name=f"{name}_conv2")(y)
    return layers.Add(name=f"{name}_add")([x, y])


def _body(x, prev, cfg: ModelConfig, name: str):
    """Head conv, optional bridge from the previous stage, residual blocks."""
    x = layers.Conv2D(cfg.width, 3, padding="same", activation="relu", name=f"{name}_head")(x)
    if prev is not None:
        x = layers.Concatenate(name=f"{name}_join")([x, prev])
        x = layers.Conv2D(cfg.width, 1, activation="relu", name=f"{name}_bridge")(x)
    for k in range(cfg.res_blocks):
        x = residual_block(x, cfg.width, f"{name}_res{k + 1}")
    return x


def _cell_channels(cfg: ModelConfig) -> int:
    """Channels of one time-frequency cell of the ``spectral`` layout (real and imaginary parts)."""
    fr, fc = spectral_grid(
        cfg.block_samples, cfg.image_size // cfg.space_to_depth, cfg.spectral_frame_length, cfg.spectral_bins
    )
    return 2 * fr * fc


def _low_bin(cfg: ModelConfig, frame_length: int) -> int:
    """The first STFT bin of a ``frame_length`` STFT that the modification may use (``model.highpass_hz``)."""
    return first_bin(cfg.highpass_hz, cfg.sample_rate, frame_length)


def _spectral_cells(cfg: ModelConfig, block, name: str):
    return SpectralCells(
        cfg.image_size // cfg.space_to_depth,
        cfg.spectral_frame_length,
        cfg.spectral_bins,
        cfg.spectral_exponent,
        _low_bin(cfg, cfg.spectral_frame_length),
        name=name,
    )(block)


def build_hiding_stage(cfg: ModelConfig, name: str, connected: bool) -> keras.Model:
    """H_i: residual image + cover block (+ previous features) -> (block, features).

    The block output is the container itself (``hiding_output=container``) or
    a modification that the assembly adds to the cover.
    """
    n, b = cfg.image_size, cfg.space_to_depth
    residual = keras.Input((n, n, 3), name="residual")
    cover = keras.Input((n, n, 1), name="cover_block")
    inputs = [residual, cover]
    if cfg.audio_layout == "spectral":
        x = layers.Concatenate(name="concat")(
            [SpaceToDepth(b, name="space_to_depth")(residual), _spectral_cells(cfg, cover, "cover_cells")]
        )
    else:
        x = layers.Concatenate(name="concat")([residual, cover])
        x = SpaceToDepth(b, name="space_to_depth")(x)
    prev = None
    if connected:
        prev = keras.Input((n // b, n // b, cfg.width), name="previous_features")
        inputs.append(prev)
    feats = _body(x, prev, cfg, "body")
    if cfg.audio_layout == "spectral":
        # The tail writes the modification's spectrum, cell by cell; an inverse STFT makes it audio.
        out = layers.Conv2D(_cell_channels(cfg), 3, padding="same", name="tail")(feats)
        out = CellsToAudio(
            n,
            cfg.spectral_frame_length,
            cfg.spectral_bins,
            _low_bin(cfg, cfg.spectral_frame_length),
            name="cells_to_audio",
        )(out)
    else:
        out = layers.Conv2D(b * b, 3, padding="same", name="tail")(feats)
        out = DepthToSpace(b, name="depth_to_space")(out)
    return keras.Model(inputs, [out, feats], name=name)


def build_revealing_stage(cfg: ModelConfig, name: str, connected: bool) -> keras.Model:
    """R_i: container block (+ previous features) -> (revealed residual R_i, features)."""
    n, b = cfg.image_size, cfg.space_to_depth
    container = keras.Input((n, n, 1), name="container_block")
    inputs = [container]
    if cfg.audio_layout == "spectral":
        x = _spectral_cells(cfg, container, "container_cells")
    else:
        x = SpaceToDepth(b, name="space_to_depth")(container)
    prev = None
    if connected:
        prev = keras.Input((n // b, n // b, cfg.width), name="previous_features")
        inputs.append(prev)
    feats = _body(x, prev, cfg, "body")
    out = layers.Conv2D(3 * b * b, 3, padding="same", name="tail")(feats)
    out = DepthToSpace(b, name="depth_to_space")(out)
    return keras.Model(inputs, [out, feats], name=name)


@dataclasses.dataclass
class StageNetworks:
    """The sub-networks of a DITAS model (shared objects for variant S)."""

    cfg: ModelConfig
    hiding: list
    revealing: list

    @property
    def hiding_connected(self) -> bool:
        return self.cfg.variant in ("M-E", "M-ED")

    @property
    def revealing_connected(self) -> bool:
        return self.cfg.variant in ("M-D", "M-ED")


def build_stage_networks(cfg: ModelConfig) -> StageNetworks:
    """Create H_1..H_t and R_1..R_t for a DITAS variant."""
    if cfg.variant == "S":
        h = build_hiding_stage(cfg, "hiding_stage_shared", False)
        r = build_revealing_stage(cfg, "revealing_stage_shared", False)
        return StageNetworks(cfg, [h] * cfg.stages, [r] * cfg.stages)
    he = cfg.variant in ("M-E", "M-ED")
    rd = cfg.variant in ("M-D", "M-ED")
    hiding = [build_hiding_stage(cfg, f"hiding_stage_{i + 1}", he and i > 0) for i in range(cfg.stages)]
    revealing = [build_revealing_stage(cfg, f"revealing_stage_{i + 1}", rd and i > 0) for i in range(cfg.stages)]
    return StageNetworks(cfg, hiding, revealing)


class _Domain:
    """Moves a waveform block into the network's domain and back."""

    def __init__(self, cfg: ModelConfig):
        self.cfg = cfg
        self.stft = cfg.domain == "stft"

    def forward(self, block, i: int, role: str):
        """Waveform block -> (network input, state needed by ``inverse``)."""
        if not self.stft:
            return block, None
        c = self.cfg
        logmag, spec = BlockSTFT(c.image_size, c.stft_frame_length, c.stft_frame_step, name=f"{role}_stft_{i}")(block)
        return logmag, spec

    def inverse(self, net_block, state, i: int):
        if not self.stft:
            return net_block
        c = self.cfg
        return BlockISTFT(c.image_size, c.stft_frame_length, c.stft_frame_step, name=f"istft_{i}")([net_block, state])


def _make_container(cfg: ModelConfig, cover_net, out, i: int):
    """Combine the cover (network domain) and H_i's output into the container."""
    if cfg.hiding_output == "container":
        return out
    if cfg.spread:
        out = Spread(name=f"spread_{i}")(out)
    if cfg.lowpass_hz > 0 and cfg.domain == "raw":
        out = BlockLowPass(cfg.lowpass_hz, cfg.sample_rate, name=f"lowpass_{i}")(out)
    if cfg.hiding_output == "residual" or cfg.domain == "stft":
        # In the STFT domain the modification is added to the log-magnitude.
        return layers.Add(name=f"add_modification_{i}")([cover_net, out])
    if cfg.hiding_output == "residual_masked":
        return MaskedResidual(
            cfg.target_snr_db,
            cfg.mask_exponent,
            cfg.mask_frame_length,
            cfg.mask_mode,
            cfg.mask_bound_db,
            _low_bin(cfg, cfg.mask_frame_length),
            top_bin(cfg.mask_top_hz, cfg.sample_rate, cfg.mask_frame_length),
            name=f"masked_residual_{i}",
        )([cover_net, out])
    return FixedSNRResidual(cfg.target_snr_db, name=f"fixed_snr_{i}")([cover_net, out])


def _normalizes(cfg: ModelConfig, hiding: bool) -> bool:
    """Whether a network sees its audio block divided by the block's RMS.

    The revealer may always be normalised; a hiding network only when its
    output is rescaled anyway (``residual_fixed_snr``, ``residual_masked``), since the other modes
    need the cover's absolute level.
    """
    if not cfg.normalize_audio or cfg.domain != "raw":
        return False
    return not hiding or cfg.hiding_output in ("residual_fixed_snr", "residual_masked")


def _reveal_input(cfg: ModelConfig, block, i: int, role: str):
    domain = _Domain(cfg)
    x, _ = domain.forward(block, i, role)
    if cfg.lowpass_hz > 0 and cfg.domain == "raw" and cfg.hiding_output != "container" and cfg.audio_layout == "block":
        # The modification lives below lowpass_hz: the cover above it is only noise to
        # the revealer, and this makes the result independent of the resampler used.
        # (The spectral layout's cells stop at spectral_bins, under the cut-off: they need no filter.)
        x = BlockLowPass(cfg.lowpass_hz, cfg.sample_rate, name=f"{role}_lowpass_{i}")(x)
    if _normalizes(cfg, hiding=False):
        x = BlockNormalize(name=f"{role}_normalize_{i}")(x)
    if cfg.spread:
        x = Spread(name=f"{role}_despread_{i}")(x)
    return x


def _through_channel(x, channel, rate: int, name: str, cover=None):
    """``x`` through the training-time channel of a ChannelConfig (``TrainingChannel``, training only);
    ``x`` itself when there is none or it changes nothing. With ``cover`` (x's cover block) and
    ``channel.modification_gain_db``, the modification's level is first moved (``ModificationGain``)."""
    if channel is None:
        return x
    if cover is not None and channel.moves_the_level:
        x = ModificationGain(channel.modification_gain_db, name=f"{name}_level")([cover, x])
    if not channel.enabled:
        return x
    return TrainingChannel(rate, **channel.file_journey(), name=name)(x)


def _ditas_forward(nets: StageNetworks, secret, cover, stages: int, noise: bool, role: str, channel=None):
    """Shared graph of eqs. (1)-(3) over the first ``stages`` stages (``channel`` between H_i and R_i)."""
    cfg = nets.cfg
    blocks = CoverToBlocks(stages, cfg.image_size, name=f"{role}_cover_to_blocks")(cover)
    domain = _Domain(cfg)
    containers, residuals, outputs, cumulative = [], [], [], []
    h_prev = r_prev = None
    c_prev = None
    for i in range(stages):
        s_i = secret if c_prev is None else layers.Subtract(name=f"residual_{i + 1}")([secret, c_prev])
        t_net, state = domain.forward(blocks[i], i + 1, role)
        h_in = t_net
        if _normalizes(cfg, hiding=True):
            h_in = BlockNormalize(name=f"{role}_hide_normalize_{i + 1}")(t_net)
        if cfg.spread:
            h_in = Spread(name=f"{role}_hide_despread_{i + 1}")(h_in)
        h_args = [s_i, h_in] + ([h_prev] if (nets.hiding_connected and i > 0) else [])
        out, h_prev = nets.hiding[i](h_args)
        container_net = _make_container(cfg, t_net, out, i + 1)
        container = domain.inverse(container_net, state, i + 1)
        containers.append(container)
        noisy = _through_channel(container, channel, cfg.sample_rate, f"channel_{i + 1}", cover=blocks[i])
        noisy = QuantizationNoise(noise, name=f"quantization_noise_{i + 1}")(noisy)
        r_in = _reveal_input(cfg, noisy, i + 1, f"{role}_reveal")
        r_args = [r_in] + ([r_prev] if (nets.revealing_connected and i > 0) else [])
        r_i, r_prev = nets.revealing[i](r_args)
        c_i = r_i if c_prev is None else layers.Add(name=f"cumulative_{i + 1}")([c_prev, r_i])
        residuals.append(s_i)
        outputs.append(r_i)
        cumulative.append(c_i)
        c_prev = c_i
    container_audio = BlocksToCover(name="container_audio")(containers)
    return container_audio, residuals, outputs, cumulative


def _outputs(container_audio, residuals, outputs, cumulative):
    return {
        "container_audio": container_audio,
        "residuals": StackStages(name="residuals")(residuals),
        "stage_outputs": StackStages(name="stage_outputs")(outputs),
        "revealed_stages": StackStages(name="revealed_stages")(cumulative),
        "revealed_image": layers.Identity(name="revealed_image")(cumulative[-1]),
    }


def _inputs(cfg: ModelConfig, stages: int):
    n = cfg.image_size
    secret = keras.Input((n, n, 3), name="secret_image")
    cover = keras.Input((stages * n * n,), name="cover_audio")
    return secret, cover


class DitasSystem:
    """A trainable steganography system with its hider and revealer views.

    ``training_model`` maps {secret_image, cover_audio} to a dict with
    container_audio, residuals (S_i), stage_outputs (R_i), revealed_stages
    (C_i) and revealed_image (C_t). ``hider(k)`` and ``revealer(k)`` share its
    weights and use the first k stages.
    """

    def __init__(self, cfg: ModelConfig, quantization_noise: bool = True, channel=None):
        self.cfg = cfg
        self.channel = channel
        self.is_baseline = cfg.variant in BASELINES
        if self.is_baseline:
            self._nets = _build_baseline_nets(cfg)
        else:
            self._nets = build_stage_networks(cfg)
        self.training_model = self._assemble(cfg.stages, quantization_noise)
        self._hiders: dict = {}
        self._revealers: dict = {}

    @property
    def stages(self) -> int:
        return self.cfg.stages

    @property
    def stage_networks(self) -> StageNetworks:
        """H_1..H_t and R_1..R_t of a DITAS variant (shared objects for variant S)."""
        if self.is_baseline:
            raise ValueError(f"{self.cfg.variant} is a baseline without stage sub-networks")
        return self._nets

    @property
    def sub_networks(self) -> list:
        """Unique sub-networks, in stage order."""
        if self.is_baseline:
            return list(self._nets.values())
        seen, out = set(), []
        for m in self._nets.hiding + self._nets.revealing:
            if id(m) not in seen:
                seen.add(id(m))
                out.append(m)
        return out

    def _check_k(self, k):
        k = self.stages if k is None else int(k)
        if not 1 <= k <= self.stages:
            raise ValueError(f"stages must be in 1..{self.stages}, got {k}")
        if self.is_baseline and k != self.stages:
            raise ValueError(f"{self.cfg.variant} has a single stage over all {self.stages} subsequences")
        return k

    def _assemble(self, stages: int, noise: bool) -> keras.Model:
        secret, cover = _inputs(self.cfg, stages)
        if self.is_baseline:
            outs = _baseline_forward(self.cfg, self._nets, secret, cover, noise, "train", self.channel)
        else:
            outs = _ditas_forward(self._nets, secret, cover, stages, noise, "train", self.channel)
        return keras.Model(
            {"secret_image": secret, "cover_audio": cover},
            _outputs(*outs),
            name=f"ditas_{self.cfg.variant.lower().replace('-', '_')}",
        )

    def hider(self, k: int | None = None) -> keras.Model:
        """{secret_image, cover_audio [k*w*h]} -> container_audio, using stages 1..k."""
        k = self._check_k(k)
        if k not in self._hiders:
            secret, cover = _inputs(self.cfg, k)
            if self.is_baseline:
                outs = _baseline_forward(self.cfg, self._nets, secret, cover, False, "hide")
            else:
                outs = _ditas_forward(self._nets, secret, cover, k, False, "hide")
            self._hiders[k] = keras.Model(
                {"secret_image": secret, "cover_audio": cover},
                {"container_audio": outs[0]},
                name=f"hider_{k}",
            )
        return self._hiders[k]

    def revealer(self, k: int | None = None) -> keras.Model:
        """container_audio [k*w*h] -> {revealed_image, revealed_stages}, stages 1..k."""
        k = self._check_k(k)
        if k not in self._revealers:
            n = self.cfg.image_size
            container = keras.Input((k * n * n,), name="container_audio")
            if self.is_baseline:
                cumulative = [_baseline_reveal(self.cfg, self._nets, container, "reveal")]
            else:
                cumulative = _ditas_reveal(self._nets, container, k)
            self._revealers[k] = keras.Model(
                container,
                {
                    "revealed_image": layers.Identity(name="revealed_image")(cumulative[-1]),
                    "revealed_stages": StackStages(name="revealed_stages")(cumulative),
                },
                name=f"revealer_{k}",
            )
        return self._revealers[k]

    def save_weights(self, path: str) -> None:
        """Save the training model's weights (``.weights.h5``)."""
        self.training_model.save_weights(path)

    def load_weights(self, path: str) -> None:
        """Load weights saved by :meth:`save_weights`."""
        self.training_model.load_weights(path)


def _ditas_reveal(nets: StageNetworks, container, k: int):
    cfg = nets.cfg
    blocks = CoverToBlocks(k, cfg.image_size, name="reveal_cover_to_blocks")(container)
    cumulative, r_prev, c_prev = [], None, None
    for i in range(k):
        r_in = _reveal_input(cfg, blocks[i], i + 1, "reveal")
        r_args = [r_in] + ([r_prev] if (nets.revealing_connected and i > 0) else [])
        r_i, r_prev = nets.revealing[i](r_args)
        c_prev = r_i if c_prev is None else layers.Add(name=f"cumulative_{i + 1}")([c_prev, r_i])
        cumulative.append(c_prev)
    return cumulative


FAST_LAYOUTS = ("per_stage", "joint")


def build_fast_revealer(
    cfg: ModelConfig,
    width: int,
    res_blocks: int,
    stages: int | None = None,
    layout: str = "per_stage",
    grouped_op: bool = False,
) -> keras.Model:
    """The fast revealer: container_audio [k*w*h] -> revealed_image, one network for all k stages.

    It reads the container made by a ``spectral`` DITAS model's hiding stages, with every block's
    STFT cells stacked along the channels (:class:`ditas_tf.layers.StagesToCells`), and writes the
    revealed image at once instead of running k revealing stages one after the other. Trained
    against the frozen hider (:mod:`ditas_tf.fast_revealer`); it exists for phones.

    ``per_stage``: every convolution is grouped by stage (:class:`ditas_tf.layers.StageConv2D`, k small
    independent decoders; ``grouped_op`` makes each one op, for export, with the same weights and
    numbers), ``stage_tails`` writes each stage's R_i as cells, and a 1x1
    ``sum_stages`` convolution (initialised to their sum, C_k) mixes them. ``joint``: one network
    of ``width`` channels over all the stages' cells at once.
    """
    if cfg.audio_layout != "spectral":
        raise ValueError("the fast revealer reads the spectral layout's cells (model.audio_layout=spectral)")
    if layout not in FAST_LAYOUTS:
        raise ValueError(f"fast revealer layout must be one of {', '.join(FAST_LAYOUTS)}, got {layout!r}")
    k = cfg.stages if stages is None else int(stages)
    n, b = cfg.image_size, cfg.space_to_depth
    container = keras.Input((k * n * n,), name="container_audio")
    cells = SpectralCells(
        n // b,
        cfg.spectral_frame_length,
        cfg.spectral_bins,
        cfg.spectral_exponent,
        _low_bin(cfg, cfg.spectral_frame_length),
        name="container_cells",
    )
    x = StagesToCells(k, n, cells, name="stages_to_cells")(container)
    out_ch = 3 * b * b
    if layout == "joint":
        x = _body(x, None, dataclasses.replace(cfg, width=int(width), res_blocks=int(res_blocks)), "body")
        out = layers.Conv2D(out_ch, 3, padding="same", name="tail")(x)
    else:
        w, g = k * int(width), bool(grouped_op)
        x = StageConv2D(w, 3, k, "relu", g, name="body_head")(x)
        for j in range(int(res_blocks)):
            y = StageConv2D(w, 3, k, "relu", g, name=f"body_res{j + 1}_conv1")(x)
            y = StageConv2D(w, 3, k, None, g, name=f"body_res{j + 1}_conv2")(y)
            x = layers.Add(name=f"body_res{j + 1}_add")([x, y])
        x = StageConv2D(k * out_ch, 3, k, None, g, name="stage_tails")(x)
        total = np.zeros((1, 1, k * out_ch, out_ch), np.float32)
        for i in range(k):
            total[0, 0, i * out_ch : (i + 1) * out_ch] = np.eye(out_ch)
        out = layers.Conv2D(
            out_ch, 1, use_bias=False, kernel_initializer=keras.initializers.Constant(total), name="sum_stages"
        )(x)
    out = DepthToSpace(b, name="depth_to_space")(out)
    return keras.Model(container, layers.Identity(name="revealed_image")(out), name="fast_revealer")


# --------------------------------------------------------------------------
# Baselines: Deep-Steg (raw) and Kreuk et al. (STFT log-magnitude).
# Both stack the t subsequences as t channels of one w x h tensor and hide the
# whole secret image with one preparation, one hiding and one revealing network.
# --------------------------------------------------------------------------


def _conv_net(inputs, x, cfg: ModelConfig, out_channels: int, name: str) -> keras.Model:
    b = cfg.space_to_depth
    x = SpaceToDepth(b, name="space_to_depth")(x)
    x = _body(x, None, cfg, "body")
    out = layers.Conv2D(out_channels * b * b, 3, padding="same", name="tail")(x)
    out = DepthToSpace(b, name="depth_to_space")(out)
    return keras.Model(inputs, out, name=name)


def _build_baseline_nets(cfg: ModelConfig) -> dict:
    n, t = cfg.image_size, cfg.stages
    secret = keras.Input((n, n, 3), name="secret_image")
    prep = _conv_net(secret, secret, cfg, 3, "preparation_network")
    prepared = keras.Input((n, n, 3), name="prepared_secret")
    cover = keras.Input((n, n, t), name="cover_stack")
    joined = layers.Concatenate(name="concat")([prepared, cover])
    hide = _conv_net([prepared, cover], joined, cfg, t, "hiding_network")
    container = keras.Input((n, n, t), name="container_stack")
    reveal = _conv_net(container, container, cfg, 3, "revealing_network")
    return {"preparation": prep, "hiding": hide, "revealing": reveal}


def _stack_blocks(cfg: ModelConfig, cover, role: str):
    """[B, t*w*h] -> (network input stack [B, h, w, t], per-block domain tensors, STFT states)."""
    blocks = CoverToBlocks(cfg.stages, cfg.image_size, name=f"{role}_cover_to_blocks")(cover)
    domain = _Domain(cfg)
    nets, bases, states = [], [], []
    for i, blk in enumerate(blocks):
        x, st = domain.forward(blk, i + 1, role)
        bases.append(x)
        if _normalizes(cfg, hiding=role == "train" or role == "hide"):
            x = BlockNormalize(name=f"{role}_normalize_{i + 1}")(x)
        nets.append(x)
        states.append(st)
    stack = layers.Concatenate(name=f"{role}_stack")(nets) if len(nets) > 1 else nets[0]
    return stack, bases, states


def _baseline_forward(cfg: ModelConfig, nets: dict, secret, cover, noise: bool, role: str, channel=None):
    stack, bases, states = _stack_blocks(cfg, cover, role)
    prepared = nets["preparation"](secret)
    out = nets["hiding"]([prepared, stack])
    domain = _Domain(cfg)
    containers = []
    for i in range(cfg.stages):
        o_i = TakeChannel(i, name=f"{role}_take_{i + 1}")(out)
        c_net = _make_container(cfg, bases[i], o_i, i + 1)
        containers.append(domain.inverse(c_net, states[i], i + 1))
    container_audio = BlocksToCover(name="container_audio")(containers)
    noisy = _through_channel(container_audio, channel, cfg.sample_rate, "channel")
    noisy = QuantizationNoise(noise, name="quantization_noise")(noisy)
    revealed = _baseline_reveal(cfg, nets, noisy, f"{role}_reveal")
    return container_audio, [secret], [revealed], [revealed]


def _baseline_reveal(cfg: ModelConfig, nets: dict, container, role: str):
    stack, _, _ = _stack_blocks(cfg, container, role)
    return nets["revealing"](stack)


def build_system(cfg: ModelConfig, quantization_noise: bool = True, channel=None) -> DitasSystem:
    """Build any variant or baseline from its config (``channel``: a ChannelConfig for training)."""
    return DitasSystem(cfg, quantization_noise=quantization_noise, channel=channel)


def count_params(system: DitasSystem) -> dict:
    """Trainable parameters of the hiding side and the revealing side."""
    hider = system.hider()
    revealer = system.revealer()
    return {
        "total": int(sum(int(tf.size(w)) for w in system.training_model.trainable_weights)),
        "hiding": int(sum(int(tf.size(w)) for w in hider.trainable_weights)),
        "revealing": int(sum(int(tf.size(w)) for w in revealer.trainable_weights)),
    }


def count_flops(model: keras.Model) -> int:
    """Float operations of one forward pass for one example (TF profiler count)."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    specs = tf.nest.map_structure(lambda t: tf.TensorSpec([1, *t.shape[1:]], tf.float32), model.inputs)
    fn = tf.function(lambda *args: model(list(args) if len(args) > 1 else args[0]))
    if isinstance(model.input, dict):
        names = list(model.input.keys())
        fn = tf.function(lambda *args: model(dict(zip(names, args))))
        specs = [tf.TensorSpec([1, *model.input[k].shape[1:]], tf.float32) for k in names]
    concrete = fn.get_concrete_function(*specs)
    frozen = convert_variables_to_constants_v2(concrete)
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    info = tf.compat.v1.profiler.profile(graph=frozen.graph, options=opts)
    return int(info.total_float_ops)
