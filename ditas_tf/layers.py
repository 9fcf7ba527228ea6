"""Serializable Keras layers for the cover layout, STFT domain and stage plumbing.

All layers run on the TensorFlow backend and use only ops that TFLite has as
builtins (reshape, space-to-depth, elementwise math), except the STFT layers.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from ditas_tf import masking
from ditas_tf.masking import lowpass_kernel, spectral_grid

PACKAGE = "ditas_tf"


@keras.saving.register_keras_serializable(package=PACKAGE)
class CoverToBlocks(keras.layers.Layer):
    """[B, t*w*h] cover samples -> list of t blocks [B, h, w, 1] (row-major reshape)."""

    def __init__(self, stages: int, image_size: int, **kwargs):
        super().__init__(**kwargs)
        self.stages = stages
        self.image_size = image_size

    def call(self, cover):
        n = self.image_size
        s = n * n
        # 2-D slices, then a reshape per block: TFLite slices a 5-D [B, t, h, w, 1] view about
        # fifty times slower (0.45 ms for ten 64x64 blocks; docs/benchmarks.md).
        return [tf.reshape(cover[:, i * s : (i + 1) * s], [-1, n, n, 1]) for i in range(self.stages)]

    def compute_output_shape(self, input_shape):
        n = self.image_size
        return [(input_shape[0], n, n, 1)] * self.stages

    def get_config(self):
        return {**super().get_config(), "stages": self.stages, "image_size": self.image_size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class BlocksToCover(keras.layers.Layer):
    """List of t blocks [B, h, w, 1] -> [B, t*w*h], the exact inverse of CoverToBlocks."""

    def call(self, blocks):
        s = blocks[0].shape[1] * blocks[0].shape[2]
        return tf.concat([tf.reshape(b, [-1, s]) for b in blocks], axis=-1)

    def compute_output_shape(self, input_shapes):
        n = input_shapes[0][1] * input_shapes[0][2]
        return (input_shapes[0][0], len(input_shapes) * n)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ChannelsToCover(keras.layers.Layer):
    """[B, h, w, t] (one subsequence per channel) -> [B, t*w*h]."""

    def call(self, x):
        t = x.shape[-1]
        x = tf.transpose(x, [0, 3, 1, 2])
        return tf.reshape(x, [-1, t * x.shape[2] * x.shape[3]])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] * input_shape[2] * input_shape[3])


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpaceToDepth(keras.layers.Layer):
    """tf.nn.space_to_depth as a layer (identity for block 1)."""

    def __init__(self, block: int, **kwargs):
        super().__init__(**kwargs)
        self.block = block

    def call(self, x):
        return x if self.block == 1 else tf.nn.space_to_depth(x, self.block)

    def compute_output_shape(self, s):
        b = self.block
        return (s[0], s[1] // b, s[2] // b, s[3] * b * b)

    def get_config(self):
        return {**super().get_config(), "block": self.block}


@keras.saving.register_keras_serializable(package=PACKAGE)
class DepthToSpace(keras.layers.Layer):
    """tf.nn.depth_to_space as a layer (identity for block 1)."""

    def __init__(self, block: int, **kwargs):
        super().__init__(**kwargs)
        self.block = block

    def call(self, x):
        return x if self.block == 1 else tf.nn.depth_to_space(x, self.block)

    def compute_output_shape(self, s):
        b = self.block
        return (s[0], s[1] * b, s[2] * b, s[3] // (b * b))

    def get_config(self):
        return {**super().get_config(), "block": self.block}


@keras.saving.register_keras_serializable(package=PACKAGE)
class BlockNormalize(keras.layers.Layer):
    """Divide each example's block by its RMS, so the network is loudness-invariant."""

    def call(self, x):
        # x * x and a floor by maximum (not square and "+ eps"): both quantize to int8 ops
        # that XNNPACK accepts; an added tiny constant gives an ADD whose scales it rejects.
        power = tf.reduce_mean(x * x, axis=[1, 2, 3], keepdims=True)
        return x * tf.math.rsqrt(tf.maximum(power, 1e-10))


@keras.saving.register_keras_serializable(package=PACKAGE)
class FixedSNRResidual(keras.layers.Layer):
    """container = cover + delta rescaled to sit exactly ``snr_db`` below the cover.

    The scale is computed per example and per block, so the container SNR of
    every subsequence equals ``snr_db`` by construction.
    """

    def __init__(self, snr_db: float, **kwargs):
        super().__init__(**kwargs)
        self.snr_db = float(snr_db)

    def call(self, inputs):
        cover, delta = inputs
        axes = [1, 2, 3]
        cover_rms = tf.sqrt(tf.reduce_mean(tf.square(cover), axis=axes, keepdims=True))
        delta_rms = tf.sqrt(tf.reduce_mean(tf.square(delta), axis=axes, keepdims=True) + 1e-12)
        gain = 10.0 ** (-self.snr_db / 20.0)
        return cover + delta * (gain * cover_rms / delta_rms)

    def compute_output_shape(self, shapes):
        return shapes[0]

    def get_config(self):
        return {**super().get_config(), "snr_db": self.snr_db}


def _frames(x, frame_length: int):
    """[B, N] -> [B, N / hop + 1, L] half-overlapping frames, padded by a hop at both ends."""
    hop = frame_length // 2
    n = x.shape[-1]
    seg = tf.reshape(tf.pad(x, [[0, 0], [hop, hop]]), [-1, n // hop + 2, hop])
    return tf.concat([seg[:, :-1], seg[:, 1:]], axis=-1)


def _overlap_add(fr, frame_length: int):
    """[B, F, L] windowed frames -> [B, (F - 1) * hop] (inverse of _frames)."""
    hop = frame_length // 2
    f = fr.shape[1]
    seg = tf.pad(fr[..., :hop], [[0, 0], [0, 1], [0, 0]]) + tf.pad(fr[..., hop:], [[0, 0], [1, 0], [0, 0]])
    out = tf.reshape(seg, [-1, (f + 1) * hop])
    return out[:, hop:-hop]


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedResidual(keras.layers.Layer):
    """container = cover + delta shaped by the cover's STFT magnitude, at a fixed SNR.

    ``shaped = ISTFT(STFT(delta) * (|STFT(cover)| + floor) ** exponent)``, then
    rescaled to sit exactly ``snr_db`` under each block, as
    :func:`ditas_tf.masking.masked_modification` (the numpy reference) does.
    With ``mode="phase"`` every bin of delta is first divided by its own
    magnitude, so that the mask alone sets the magnitudes; ``mode="bounded"``
    then lets the network move each magnitude within +-``bound_db`` of the mask; bins under
    ``low_bin``, and from ``high_bin`` up when it is not 0, are left out of the modification. The DFTs are
    constant matrix products and the framing is reshapes and slices, so the
    layer converts to TFLite builtin ops.
    """

    def __init__(
        self,
        snr_db: float,
        exponent: float,
        frame_length: int = 256,
        mode: str = "gain",
        bound_db: float = 6.0,
        low_bin: int = 0,
        high_bin: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.snr_db = float(snr_db)
        self.exponent = float(exponent)
        self.frame_length = int(frame_length)
        self.mode = mode
        self.bound_db = float(bound_db)
        self.low_bin = int(low_bin)
        self.high_bin = int(high_bin)
        fwd, _ = masking.dft_matrices(self.frame_length)
        self._fwd = fwd.astype(np.float32)
        # Bins under low_bin (model.highpass_hz) and from high_bin up (model.mask_top_hz) are dropped
        # in the synthesis: no extra op.
        self._inv = masking.synthesis(self.frame_length, self.low_bin, self.high_bin).astype(np.float32)

    def _spectrum(self, x):
        L = self.frame_length
        fr = _frames(x, L)
        f = fr.shape[1]
        spec = tf.matmul(tf.reshape(fr, [-1, L]), tf.constant(self._fwd))
        return tf.reshape(spec, [-1, f, 2 * (L // 2 + 1)])

    def call(self, inputs):
        cover, delta = inputs
        n, m = cover.shape[1], cover.shape[2]
        L, k = self.frame_length, self.frame_length // 2 + 1
        c = tf.reshape(cover, [-1, n * m])
        d = tf.reshape(delta, [-1, n * m])
        cs = self._spectrum(c)
        mag = tf.sqrt(cs[..., :k] * cs[..., :k] + cs[..., k:] * cs[..., k:] + 1e-20)
        rms = tf.sqrt(tf.reduce_mean(mag * mag, axis=[1, 2], keepdims=True))
        gain = tf.exp(self.exponent * tf.math.log(mag + masking.MASK_FLOOR * rms + 1e-12))
        ds = self._spectrum(d)
        if self.mode in ("phase", "bounded"):
            dmag = tf.sqrt(ds[..., :k] * ds[..., :k] + ds[..., k:] * ds[..., k:] + 1e-20)
            drms = tf.sqrt(tf.reduce_mean(dmag * dmag, axis=[1, 2], keepdims=True))
            dmag = dmag + masking.MASK_FLOOR * drms + 1e-12
            ds = ds / tf.concat([dmag, dmag], axis=-1)
            if self.mode == "bounded":
                b = math.log(10.0 ** (self.bound_db / 20.0))
                gain = gain * tf.exp(b * tf.tanh(tf.math.log(dmag / (drms + 1e-12)) / b))
        ds = ds * tf.concat([gain, gain], axis=-1)
        f = ds.shape[1]
        fr = tf.reshape(tf.matmul(tf.reshape(ds, [-1, 2 * k]), tf.constant(self._inv)), [-1, f, L])
        shaped = _overlap_add(fr, L)
        cover_rms = tf.sqrt(tf.reduce_mean(c * c, axis=-1, keepdims=True))
        shaped_rms = tf.sqrt(tf.reduce_mean(shaped * shaped, axis=-1, keepdims=True) + 1e-24)
        scale = 10.0 ** (-self.snr_db / 20.0) * cover_rms / shaped_rms
        return cover + tf.reshape(shaped * scale, [-1, n, m, 1])

    def compute_output_shape(self, shapes):
        return shapes[0]

    def get_config(self):
        return {
            **super().get_config(),
            "snr_db": self.snr_db,
            "exponent": self.exponent,
            "frame_length": self.frame_length,
            "mode": self.mode,
            "bound_db": self.bound_db,
            "low_bin": self.low_bin,
            "high_bin": self.high_bin,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpectralCells(keras.layers.Layer):
    """Audio block -> its STFT as a ``cells`` x ``cells`` grid of time-frequency cells (``spectral`` layout).

    A w x h x 1 block (row-major samples) is cut into half-overlapping
    sqrt-Hann frames (those of :mod:`ditas_tf.masking`, the mask's own STFT);
    frames 1..N/hop and the first ``bins`` bins are kept; each bin's
    magnitude is compressed to ``(|X| / rms) ** exponent`` with its phase kept
    (speech spans a wide range of levels); and frames x bins are grouped so
    that cell (r, c) holds frames in row r and bins in column c, their real and
    imaginary parts as channels. Neighbouring body pixels are then neighbouring
    times and frequencies, as in the mask, instead of samples 64 apart.
    Bins under ``low_bin`` (``model.highpass_hz``) read as zero. DFTs are
    constant matrix products (TFLite builtins).
    """

    def __init__(
        self, cells: int, frame_length: int = 256, bins: int = 96, exponent: float = 0.5, low_bin: int = 0, **kwargs
    ):
        super().__init__(**kwargs)
        self.cells = int(cells)
        self.frame_length = int(frame_length)
        self.bins = int(bins)
        self.exponent = float(exponent)
        self.low_bin = int(low_bin)
        fwd = masking.analysis(self.frame_length, self.low_bin)
        k = self.frame_length // 2 + 1
        # Only the kept bins, real and imaginary parts interleaved: [Re_0, Im_0, Re_1, Im_1, ...],
        # so the product is already the cells' channel order and no stack of the parts is needed.
        parts = np.stack([fwd[:, : self.bins], fwd[:, k : k + self.bins]], axis=-1)
        self._fwd = parts.reshape(self.frame_length, 2 * self.bins).astype(np.float32)

    def call(self, block):
        n, m = block.shape[1], block.shape[2]
        fr, fc = spectral_grid(n * m, self.cells, self.frame_length, self.bins)
        g, nb = self.cells, self.bins
        # Frames 1..N/hop: the first frame, half padding, is dropped so that N/hop frames remain.
        frames = _frames(tf.reshape(block, [-1, n * m]), self.frame_length)[:, 1:]
        spec = tf.matmul(tf.reshape(frames, [-1, self.frame_length]), tf.constant(self._fwd))
        spec = tf.reshape(spec, [-1, fr * g, nb, 2])  # [B, frames, bins, (Re, Im)]
        power = tf.reduce_sum(spec * spec, axis=-1, keepdims=True)
        rms = tf.sqrt(tf.reduce_mean(power, axis=[1, 2, 3], keepdims=True) + 1e-20)
        # |X| ** e with the phase kept: X * (|X| + floor) ** (e - 1), in block-RMS units.
        level = tf.sqrt(power + 1e-20) / rms + masking.MASK_FLOOR
        if self.exponent == 0.5:
            scale = tf.math.rsqrt(level)  # the same value; LiteRT runs it faster than EXP(LOG)
        else:
            scale = tf.exp((self.exponent - 1.0) * tf.math.log(level))
        x = spec * (scale / rms)
        # Cell (r, c) takes frames r*fr.. and bins c*fc..; only the frame and column axes swap
        # (a 4-D transpose: LiteRT's 6-D one is several times slower).
        x = tf.reshape(x, [-1, fr, g, fc * 2])
        x = tf.transpose(x, [0, 2, 1, 3])
        return tf.reshape(x, [-1, g, g, fr * fc * 2])

    def compute_output_shape(self, s):
        fr, fc = spectral_grid(s[1] * s[2], self.cells, self.frame_length, self.bins)
        return (s[0], self.cells, self.cells, fr * fc * 2)

    def get_config(self):
        return {
            **super().get_config(),
            "cells": self.cells,
            "frame_length": self.frame_length,
            "bins": self.bins,
            "exponent": self.exponent,
            "low_bin": self.low_bin,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class StageConv2D(keras.layers.Layer):
    """A "same" convolution grouped by stage: ``groups`` independent convolutions over channel slices.

    The weights are those of a grouped ``Conv2D`` (kernel [k, k, in / groups, filters]). With
    ``grouped_op`` the call is one grouped convolution, which TFLite runs as one CONV_2D (the fast
    revealer's export); without it, one convolution per group, then a concatenation: the same
    numbers, and what TensorFlow trains fast on a CPU (its grouped kernel is far slower there).
    """

    def __init__(self, filters: int, kernel_size: int, groups: int, activation=None, grouped_op: bool = False, **kw):
        super().__init__(**kw)
        self.filters, self.kernel_size, self.groups = int(filters), int(kernel_size), int(groups)
        self.activation = keras.activations.get(activation)
        self.grouped_op = bool(grouped_op)
        if self.filters % self.groups:
            raise ValueError(f"{self.filters} filters do not split into {self.groups} groups")

    def build(self, input_shape):
        cin = int(input_shape[-1])
        if cin % self.groups:
            raise ValueError(f"{cin} input channels do not split into {self.groups} groups")
        k = self.kernel_size
        self.kernel = self.add_weight(
            name="kernel", shape=(k, k, cin // self.groups, self.filters), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, x):
        if self.grouped_op:
            y = tf.nn.conv2d(x, self.kernel, 1, "SAME")  # grouped: the input has groups x the kernel's depth
        else:
            xs = tf.split(x, self.groups, axis=-1)
            ks = tf.split(self.kernel, self.groups, axis=-1)
            y = tf.concat([tf.nn.conv2d(a, w, 1, "SAME") for a, w in zip(xs, ks)], axis=-1)
        return self.activation(y + self.bias)

    def compute_output_shape(self, s):
        return (*s[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "groups": self.groups,
            "activation": keras.activations.serialize(self.activation),
            "grouped_op": self.grouped_op,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class StagesToCells(keras.layers.Layer):
    """[B, k*w*h] container -> [B, cells, cells, k * C]: every stage's block as ``SpectralCells``, side by side.

    The k blocks are one batch of the STFT (one matrix product instead of k), and cell (r, c) of
    every block lands in the same pixel, stage by stage along the channels: the input of the fast
    revealer, which reads all the blocks with one network.
    """

    def __init__(self, stages: int, image_size: int, cells_layer: SpectralCells, **kwargs):
        super().__init__(**kwargs)
        self.stages = int(stages)
        self.image_size = int(image_size)
        self.cells_layer = cells_layer

    def call(self, container):
        n, k, g = self.image_size, self.stages, self.cells_layer.cells
        s = n * n
        # 2-D slices first, as CoverToBlocks: a RESHAPE of the input itself is the op the int8
        # converter quantizes (the raw audio in int8), whatever the deny-list says.
        blocks = tf.concat([tf.reshape(container[:, i * s : (i + 1) * s], [-1, 1, s]) for i in range(k)], axis=1)
        cells = self.cells_layer(tf.reshape(blocks, [-1, n, n, 1]))  # [B*k, g, g, C]
        c = cells.shape[-1]
        # [B, k, g*g, C] -> [B, g*g, k, C]: a 4-D transpose (LiteRT runs higher ranks far slower).
        x = tf.transpose(tf.reshape(cells, [-1, k, g * g, c]), [0, 2, 1, 3])
        return tf.reshape(x, [-1, g, g, k * c])

    def compute_output_shape(self, s):
        g = self.cells_layer.cells
        fr, fc = spectral_grid(self.image_size**2, g, self.cells_layer.frame_length, self.cells_layer.bins)
        return (s[0], g, g, self.stages * fr * fc * 2)

    def get_config(self):
        return {
            **super().get_config(),
            "stages": self.stages,
            "image_size": self.image_size,
            "cells_layer": keras.saving.serialize_keras_object(self.cells_layer),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cells_layer"] = keras.saving.deserialize_keras_object(config["cells_layer"])
        return cls(**config)


@keras.saving.register_keras_serializable(package=PACKAGE)
class CellsToAudio(keras.layers.Layer):
    """A grid of time-frequency cells (``SpectralCells``' layout, no compression) -> a w x h x 1 block.

    The inverse STFT of the cells' real and imaginary parts (bins past
    ``bins`` and the half-padded first frame are zero), by overlap-add of
    sqrt-Hann frames: the hiding network writes its modification as a spectrum.
    Bins under ``low_bin`` are dropped.
    """

    def __init__(self, image_size: int, frame_length: int = 256, bins: int = 96, low_bin: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.image_size = int(image_size)
        self.frame_length = int(frame_length)
        self.bins = int(bins)
        self.low_bin = int(low_bin)
        inv = masking.synthesis(self.frame_length, self.low_bin)
        k = self.frame_length // 2 + 1
        self._inv = np.concatenate([inv[: self.bins], inv[k : k + self.bins]], axis=0).astype(np.float32)

    def call(self, x):
        g = x.shape[1]
        n = self.image_size
        fr, fc = spectral_grid(n * n, g, self.frame_length, self.bins)
        x = tf.reshape(x, [-1, g, g, fr, fc, 2])
        x = tf.transpose(x, [0, 1, 3, 2, 4, 5])
        x = tf.reshape(x, [-1, g * fr, self.bins, 2])
        spec = tf.concat([x[..., 0], x[..., 1]], axis=-1)  # [B, frames, 2 * bins]
        L = self.frame_length
        frames = tf.reshape(tf.matmul(tf.reshape(spec, [-1, 2 * self.bins]), tf.constant(self._inv)), [-1, g * fr, L])
        # Frame 0 (half padding) carries nothing: overlap-add expects it.
        frames = tf.pad(frames, [[0, 0], [1, 0], [0, 0]])
        out = _overlap_add(frames, L)
        return tf.reshape(out, [-1, n, n, 1])

    def compute_output_shape(self, s):
        return (s[0], self.image_size, self.image_size, 1)

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "frame_length": self.frame_length,
            "bins": self.bins,
            "low_bin": self.low_bin,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class Spread(keras.layers.Layer):
    """Multiply a block [B, h, w, 1] by the fixed +-1 sequence of :func:`ditas_tf.masking.spreading_sequence`.

    Its own inverse. Between the hiding network and the audio it makes the
    modification white before the perceptual mask shapes it, so the network
    cannot pile its energy where the speech is weak; the hiding and revealing
    networks both work on the despread block.
    """

    def call(self, x):
        n, m = x.shape[1], x.shape[2]
        pn = masking.spreading_sequence(n * m).reshape(1, n, m, 1)
        return x * tf.constant(pn)


@keras.saving.register_keras_serializable(package=PACKAGE)
class QuantizationNoise(keras.layers.Layer):
    """Adds 16-bit PCM rounding noise (uniform, one LSB wide) in training only."""

    def __init__(self, enabled: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.enabled = enabled

    def call(self, x, training=None):
        if not (training and self.enabled):
            return x
        return x + tf.random.uniform(tf.shape(x), -0.5, 0.5) / 32768.0

    def get_config(self):
        return {**super().get_config(), "enabled": self.enabled}


@keras.saving.register_keras_serializable(package=PACKAGE)
class StackStages(keras.layers.Layer):
    """List of t images [B, h, w, c] -> [B, t, h, w, c]."""

    def call(self, xs):
        return tf.stack(xs, axis=1)

    def compute_output_shape(self, shapes):
        return (shapes[0][0], len(shapes), *shapes[0][1:])


def _magnitude(spec):
    # sqrt with a floor instead of tf.abs: the gradient of |z| at z = 0 is NaN.
    return tf.sqrt(tf.math.real(spec) ** 2 + tf.math.imag(spec) ** 2 + 1e-12)


def stft_geometry(block_samples: int, frame_length: int, frame_step: int):
    """(padding, frames, bins) of the padded STFT used for one subsequence."""
    pad = frame_length - frame_step
    frames = 1 + (block_samples + 2 * pad - frame_length) // frame_step
    bins = frame_length // 2 + 1
    return pad, frames, bins


@keras.saving.register_keras_serializable(package=PACKAGE)
class BlockSTFT(keras.layers.Layer):
    """Waveform block [B, h, w, 1] -> (log-magnitude [B, h, w, 1], full complex STFT).

    The signal is padded so that every sample is covered by two Hann windows,
    which makes :class:`BlockISTFT` an exact inverse. The network sees the
    log-magnitude of the first h frames and the first w bins.
    """

    def __init__(self, image_size: int, frame_length: int, frame_step: int, **kwargs):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.frame_length = frame_length
        self.frame_step = frame_step

    def call(self, block):
        n = self.image_size
        pad, _, _ = stft_geometry(n * n, self.frame_length, self.frame_step)
        x = tf.reshape(block, [-1, n * n])
        x = tf.pad(x, [[0, 0], [pad, pad]])
        spec = tf.signal.stft(x, self.frame_length, self.frame_step, window_fn=tf.signal.hann_window)
        logmag = tf.math.log(_magnitude(spec[:, :n, :n]) + 1e-5)
        return logmag[..., None], spec

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class BlockISTFT(keras.layers.Layer):
    """(new log-magnitude [B, h, w, 1], original complex STFT) -> waveform [B, h, w, 1].

    The modified log-magnitude replaces the magnitude of the first h frames
    and w bins; the phase, and every other bin, stay as in the cover.
    """

    def __init__(self, image_size: int, frame_length: int, frame_step: int, **kwargs):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.frame_length = frame_length
        self.frame_step = frame_step

    def call(self, inputs):
        logmag, spec = inputs
        n = self.image_size
        pad, frames, bins = stft_geometry(n * n, self.frame_length, self.frame_step)
        old = spec[:, :n, :n]
        # Scale each bin's complex value: keeps the phase, sets the new magnitude.
        ratio = (tf.exp(logmag[..., 0]) - 1e-5) / _magnitude(old)
        new = old * tf.cast(ratio, old.dtype)
        new = tf.pad(new, [[0, 0], [0, frames - n], [0, bins - n]])
        mask = tf.pad(tf.ones([n, n], spec.dtype), [[0, frames - n], [0, bins - n]])
        full = new * mask + spec * (1 - mask)
        wave = tf.signal.inverse_stft(
            full,
            self.frame_length,
            self.frame_step,
            window_fn=tf.signal.inverse_stft_window_fn(self.frame_step),
        )
        wave = wave[:, pad : pad + n * n]
        return tf.reshape(wave, [-1, n, n, 1])

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
        }


def stft_roundtrip_error(block_samples: int = 4096, frame_length: int = 128) -> float:
    """Max abs error of STFT then inverse STFT on noise (used by tests and docs)."""
    n = int(math.isqrt(block_samples))
    x = tf.random.stateless_uniform([2, n, n, 1], seed=[1, 2], minval=-1, maxval=1)
    stft = BlockSTFT(n, frame_length, frame_length // 2)
    istft = BlockISTFT(n, frame_length, frame_length // 2)
    logmag, spec = stft(x)
    y = istft([logmag, spec])
    return float(tf.reduce_max(tf.abs(x - y)))


@keras.saving.register_keras_serializable(package=PACKAGE)
class TakeChannel(keras.layers.Layer):
    """[B, h, w, c] -> channel ``index`` as [B, h, w, 1]."""

    def __init__(self, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def call(self, x):
        return x[..., self.index : self.index + 1]

    def compute_output_shape(self, s):
        return (*s[:-1], 1)

    def get_config(self):
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package=PACKAGE)
class BlockLowPass(keras.layers.Layer):
    """Low-pass filter a block [B, h, w, 1] along its (row-major) sample order.

    Keeps the modification below ``cutoff_hz`` so that it survives resampling
    to and from the cover's rate (soxr's passband ends near 0.91 x Nyquist).
    """

    def __init__(self, cutoff_hz: float, rate: int, **kwargs):
        super().__init__(**kwargs)
        self.cutoff_hz = float(cutoff_hz)
        self.rate = int(rate)
        self._kernel = lowpass_kernel(self.cutoff_hz, self.rate)

    def call(self, x):
        n, m = x.shape[1], x.shape[2]
        flat = tf.reshape(x, [-1, n * m, 1])
        k = tf.constant(self._kernel[:, None, None])
        y = tf.nn.conv1d(flat, k, stride=1, padding="SAME")
        return tf.reshape(y, [-1, n, m, 1])

    def get_config(self):
        return {**super().get_config(), "cutoff_hz": self.cutoff_hz, "rate": self.rate}


def _uniform(batch, bounds):
    lo, hi = float(bounds[0]), float(bounds[1])
    return tf.random.uniform([batch, 1], lo, hi) if hi > lo else tf.fill([batch, 1], lo)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ModificationGain(keras.layers.Layer):
    """[cover block, container block] -> cover + g (container - cover), in training only.

    ``g`` is 10 ** (u / 20) with u drawn uniformly from ``gain_db`` per example: the revealer sees the
    same modification hidden at another level, so one model learns to reveal containers hidden
    anywhere in that range (``channel.modification_gain_db``). Outside training it is the identity.
    """

    def __init__(self, gain_db=(0.0, 0.0), **kwargs):
        super().__init__(**kwargs)
        self.gain_db = [float(v) for v in gain_db]

    def call(self, inputs, training=None):
        cover, container = inputs
        if not training:
            return container
        shape = [tf.shape(container)[0]] + [1] * (len(container.shape) - 1)
        u = tf.random.uniform(shape, self.gain_db[0], self.gain_db[1])
        return cover + tf.pow(10.0, u / 20.0) * (container - cover)

    def compute_output_shape(self, shapes):
        return shapes[1]

    def get_config(self):
        return {**super().get_config(), "gain_db": self.gain_db}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TrainingChannel(keras.layers.Layer):
    """What a file goes through, simulated differentiably on container audio, in training only.

    The input is a container block [B, h, w, 1] (row-major samples) or
    container audio [B, samples]; the output has its shape.

    Each example draws its own channel, in this order:

    * a codec proxy (probability ``codec_probability``): in a 512-sample
      STFT, bins more than ``codec_floor_db`` under their frame's loudest bin
      are gated off (a perceptual codec spends no bits on them) and the rest
      get complex noise ``codec_snr_db`` under their own magnitude;
    * a low-pass at a cut-off drawn from ``lowpass_hz`` (probability
      ``lowpass_probability``; a resampler's or a band-limited channel's);
    * a gain drawn from ``gain_db``;
    * white noise ``noise_snr_db`` under the block (probability
      ``noise_probability``);
    * PCM quantisation to a bit depth drawn from ``bits`` (uniform noise one
      step wide, the usual straight-through model of rounding).

    Ranges are [low, high] pairs drawn uniformly. Outside training the layer
    is the identity, so exported graphs never contain it.
    """

    FRAME = 512
    HOP = 128

    def __init__(
        self,
        rate: int = 16000,
        noise_probability: float = 0.0,
        noise_snr_db=(20.0, 40.0),
        gain_db=(0.0, 0.0),
        bits=(16.0, 16.0),
        lowpass_probability: float = 0.0,
        lowpass_hz=(4000.0, 7500.0),
        codec_probability: float = 0.0,
        codec_floor_db=(25.0, 45.0),
        codec_snr_db=(15.0, 30.0),
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.rate = int(rate)
        self.noise_probability = float(noise_probability)
        self.noise_snr_db = [float(v) for v in noise_snr_db]
        self.gain_db = [float(v) for v in gain_db]
        self.bits = [float(v) for v in bits]
        self.lowpass_probability = float(lowpass_probability)
        self.lowpass_hz = [float(v) for v in lowpass_hz]
        self.codec_probability = float(codec_probability)
        self.codec_floor_db = [float(v) for v in codec_floor_db]
        self.codec_snr_db = [float(v) for v in codec_snr_db]

    def call(self, x, training=None):
        if not training:
            return x
        flat = tf.reshape(x, [-1, math.prod(x.shape[1:])])
        batch = tf.shape(flat)[0]
        if self.codec_probability > 0:
            flat = self._maybe(batch, self.codec_probability, self._codec(flat, batch), flat)
        if self.lowpass_probability > 0:
            flat = self._maybe(batch, self.lowpass_probability, self._lowpass(flat, batch), flat)
        flat = flat * 10.0 ** (_uniform(batch, self.gain_db) / 20.0)
        if self.noise_probability > 0:
            power = tf.reduce_mean(flat * flat, axis=1, keepdims=True)
            scale = tf.sqrt(power / 10.0 ** (_uniform(batch, self.noise_snr_db) / 10.0))
            noisy = flat + scale * tf.random.normal(tf.shape(flat))
            flat = self._maybe(batch, self.noise_probability, noisy, flat)
        step = 2.0 ** (1.0 - _uniform(batch, self.bits))
        flat = flat + step * tf.random.uniform(tf.shape(flat), -0.5, 0.5)
        return tf.reshape(flat, tf.shape(x))

    @staticmethod
    def _maybe(batch, probability, changed, unchanged):
        take = tf.cast(tf.random.uniform([batch, 1]) < probability, changed.dtype)
        return take * changed + (1.0 - take) * unchanged

    def _lowpass(self, flat, batch):
        length = flat.shape[1]
        freqs = tf.constant(np.fft.rfftfreq(length, 1.0 / self.rate)[None, :], tf.float32)
        cutoff = _uniform(batch, self.lowpass_hz)
        # A smooth 200 Hz-wide edge: a brick wall would ring over the whole block.
        response = tf.sigmoid((cutoff - freqs) / 50.0)
        spec = tf.signal.rfft(flat) * tf.complex(response, tf.zeros_like(response))
        return tf.signal.irfft(spec, fft_length=[length])

    def _codec(self, flat, batch):
        length = flat.shape[1]
        pad = self.FRAME - self.HOP
        padded = tf.pad(flat, [[0, 0], [pad, pad]])
        window = tf.signal.hann_window
        spec = tf.signal.stft(padded, self.FRAME, self.HOP, window_fn=window)
        mag = _magnitude(spec)
        level = 20.0 * tf.math.log(mag + 1e-9) / math.log(10.0)
        peak = tf.reduce_max(level, axis=-1, keepdims=True)
        floor = _uniform(batch, self.codec_floor_db)[:, :, None]
        # A soft gate (2 dB wide) keeps the gradient alive near the threshold.
        gate = tf.sigmoid((level - (peak - floor)) / 2.0)
        rel = 10.0 ** (-_uniform(batch, self.codec_snr_db)[:, :, None] / 20.0) / math.sqrt(2.0)
        noise = tf.complex(tf.random.normal(tf.shape(mag)), tf.random.normal(tf.shape(mag)))
        coded = spec * tf.complex(gate, tf.zeros_like(gate)) * (1.0 + noise * tf.complex(rel, tf.zeros_like(rel)))
        out = tf.signal.inverse_stft(
            coded, self.FRAME, self.HOP, window_fn=tf.signal.inverse_stft_window_fn(self.HOP, forward_window_fn=window)
        )
        return out[:, pad : pad + length]

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_probability": self.noise_probability,
            "noise_snr_db": self.noise_snr_db,
            "gain_db": self.gain_db,
            "bits": self.bits,
            "lowpass_probability": self.lowpass_probability,
            "lowpass_hz": self.lowpass_hz,
            "codec_probability": self.codec_probability,
            "codec_floor_db": self.codec_floor_db,
            "codec_snr_db": self.codec_snr_db,
        }
