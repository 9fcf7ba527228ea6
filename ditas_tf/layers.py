"""Serializable Keras layers for the cover layout, STFT domain and stage plumbing.

All layers run on the TensorFlow backend and use only ops that TFLite has as
builtins (reshape, space-to-depth, elementwise math), except the STFT layers.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

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
        blocks = tf.reshape(cover, [-1, self.stages, n, n, 1])
        return [blocks[:, i] for i in range(self.stages)]

    def compute_output_shape(self, input_shape):
        n = self.image_size
        return [(input_shape[0], n, n, 1)] * self.stages

    def get_config(self):
        return {**super().get_config(), "stages": self.stages, "image_size": self.image_size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class BlocksToCover(keras.layers.Layer):
    """List of t blocks [B, h, w, 1] -> [B, t*w*h], the exact inverse of CoverToBlocks."""

    def call(self, blocks):
        stacked = tf.stack(blocks, axis=1)
        return tf.reshape(stacked, [-1, len(blocks) * blocks[0].shape[1] * blocks[0].shape[2]])

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


def lowpass_kernel(cutoff_hz: float, rate: int, taps: int = 63) -> np.ndarray:
    """Hann-windowed sinc low-pass FIR (unit DC gain)."""
    n = np.arange(taps) - (taps - 1) / 2
    h = np.sinc(2 * cutoff_hz / rate * n) * np.hanning(taps)
    return (h / h.sum()).astype(np.float32)


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
