"""Metrics on tensors and numpy arrays.

* container MSE (audio in [-1, 1]) and SNR in dB,
  10 log10(sum cover^2 / sum (container - cover)^2);
* PSNR, SSIM and MS-SSIM of [0, 1] images.

Audibility over the carrying span (SNR and wide-band PESQ) is :mod:`ditas_tf.span`.

MS-SSIM on 64x64: tf.image.ssim_multiscale's default (five scales, 11-pixel
window) needs images of at least 161 pixels. We use three scales with weights
(0.0448, 0.2856, 0.3001) renormalised to sum to one, and a 7-pixel Gaussian
window (sigma 1.5): the coarsest scale is then 16x16, larger than the window.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001)
MS_SSIM_FILTER = 7
SSIM_FILTER = 11


def _np(x):
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def container_mse(cover, container, axis=-1):
    """Mean squared error between cover and container audio."""
    cover, container = tf.convert_to_tensor(cover, tf.float32), tf.convert_to_tensor(container, tf.float32)
    return tf.reduce_mean(tf.square(container - cover), axis=axis)


def snr_db(cover, container, axis=-1):
    """Container SNR in dB: 10 log10(sum cover^2 / sum (container - cover)^2)."""
    cover, container = tf.convert_to_tensor(cover, tf.float32), tf.convert_to_tensor(container, tf.float32)
    sig = tf.reduce_sum(tf.square(cover), axis=axis)
    noise = tf.reduce_sum(tf.square(container - cover), axis=axis)
    return 10.0 * tf.math.log((sig + 1e-20) / (noise + 1e-20)) / tf.math.log(10.0)


def psnr(a, b):
    """PSNR in dB of [0, 1] images (clipped to [0, 1]), per image."""
    a = tf.clip_by_value(tf.convert_to_tensor(a, tf.float32), 0.0, 1.0)
    b = tf.clip_by_value(tf.convert_to_tensor(b, tf.float32), 0.0, 1.0)
    return tf.image.psnr(a, b, max_val=1.0)


def ssim(a, b):
    """SSIM of [0, 1] RGB images (11-pixel Gaussian window, sigma 1.5), per image."""
    a = tf.clip_by_value(tf.convert_to_tensor(a, tf.float32), 0.0, 1.0)
    b = tf.clip_by_value(tf.convert_to_tensor(b, tf.float32), 0.0, 1.0)
    return tf.image.ssim(a, b, max_val=1.0, filter_size=SSIM_FILTER)


def ms_ssim(a, b):
    """MS-SSIM with three scales and a 7-pixel window (fits 64x64), per image."""
    a = tf.clip_by_value(tf.convert_to_tensor(a, tf.float32), 0.0, 1.0)
    b = tf.clip_by_value(tf.convert_to_tensor(b, tf.float32), 0.0, 1.0)
    # Three scales fit 64x64 (the coarsest is 16x16); smaller tiles get fewer.
    side = min(int(a.shape[-3]), int(a.shape[-2]))
    scales = max(1, min(len(MS_SSIM_WEIGHTS), int(np.floor(np.log2(side / MS_SSIM_FILTER))) + 1))
    w = np.asarray(MS_SSIM_WEIGHTS[:scales], np.float32)
    return tf.image.ssim_multiscale(a, b, max_val=1.0, power_factors=tuple(w / w.sum()), filter_size=MS_SSIM_FILTER)


def image_metrics(secret, revealed) -> dict:
    """PSNR, SSIM and MS-SSIM per image as numpy arrays."""
    return {
        "psnr": _np(psnr(secret, revealed)),
        "ssim": _np(ssim(secret, revealed)),
        "ms_ssim": _np(ms_ssim(secret, revealed)),
    }
