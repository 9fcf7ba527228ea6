"""The loss of equations (4)-(6) with per-stage lambda_i, as a dict of named terms."""

from __future__ import annotations

import tensorflow as tf

from ditas_tf.masking import NMR_COVER_FLOOR, NMR_FRAME, NMR_MOD_FLOOR


def nmr_excess_db(cover: tf.Tensor, container: tf.Tensor, offset_db: float) -> tf.Tensor:
    """Mean over STFT bins of max(0, dB(|M|^2) - dB(|C|^2) + offset_db), per block.

    ``cover`` and ``container`` are [..., n] blocks and M = container - cover,
    the modification. A bin counts when the modification comes within
    ``offset_db`` of the cover's own bin: there the speech no longer masks it.
    Zero for a modification that follows the cover's spectrum ``offset_db``
    under it or lower. :func:`ditas_tf.masking.nmr_excess_db` is the same measure
    in numpy (its constants live there).
    """

    def power(x):
        s = tf.signal.stft(x, NMR_FRAME, NMR_FRAME // 2, NMR_FRAME, window_fn=tf.signal.hann_window)
        return tf.math.real(s) ** 2 + tf.math.imag(s) ** 2

    cp = power(cover)
    mp = power(container - cover)
    ref = tf.reduce_mean(cp, axis=[-2, -1], keepdims=True)
    to_db = 10.0 / tf.math.log(10.0)
    excess = to_db * (tf.math.log(mp + NMR_MOD_FLOOR * ref) - tf.math.log(cp + NMR_COVER_FLOOR * ref)) + offset_db
    return tf.reduce_mean(tf.nn.relu(excess), axis=[-2, -1])


def per_example_losses(
    outputs: dict,
    cover_audio: tf.Tensor,
    stages: int,
    lambdas,
    hiding_loss: str = "mse",
    hiding_weight: float = 1.0,
    nmr_offset_db: float = 10.0,
) -> dict:
    """Per-example loss terms, each of shape [B].

    Args:
      outputs: the training model's output dict.
      cover_audio: [B, t*w*h] cover subsequences.
      stages: t.
      lambdas: lambda_i, one per revealing stage (a baseline has one stage).
      hiding_loss: ``mse`` (eq. 5), ``snr`` (MSE / cover power, i.e. 1/SNR) or
        ``nmr`` (:func:`nmr_excess_db`, in dB).
      hiding_weight: weight of every hiding term.
      nmr_offset_db: the offset of ``nmr``.

    Returns:
      ``hiding_i`` and ``revealing_i`` for every stage, and ``total``:
      sum_i hiding_weight * L_H_i + lambda_i * L_R_i.
    """
    cover = tf.reshape(cover_audio, [tf.shape(cover_audio)[0], stages, -1])
    container = tf.reshape(outputs["container_audio"], tf.shape(cover))
    if hiding_loss == "nmr":
        err = nmr_excess_db(cover, container, nmr_offset_db)  # [B, t]
    else:
        err = tf.reduce_mean(tf.square(container - cover), axis=-1)  # [B, t]
    if hiding_loss == "snr":
        err = err / (tf.reduce_mean(tf.square(cover), axis=-1) + 1e-6)
    residuals = outputs["residuals"]
    revealed = outputs["stage_outputs"]
    rev_err = tf.reduce_mean(tf.square(revealed - residuals), axis=[2, 3, 4])  # [B, r]
    r = revealed.shape[1]
    lam = list(lambdas)
    if r != stages:
        # Single-stage baselines: one revealing term carrying the weight of all stages.
        lam = [float(sum(lam))]
    terms = {}
    total = 0.0
    for i in range(stages):
        terms[f"hiding_{i + 1}"] = err[:, i]
        total += hiding_weight * err[:, i]
    for i in range(r):
        terms[f"revealing_{i + 1}"] = rev_err[:, i]
        total += lam[i] * rev_err[:, i]
    terms["total"] = total
    return terms


def batch_losses(terms: dict, global_batch_size: int) -> dict:
    """Per-replica losses scaled to the global batch (tf.nn.compute_average_loss)."""
    return {k: tf.nn.compute_average_loss(v, global_batch_size=global_batch_size) for k, v in terms.items()}
