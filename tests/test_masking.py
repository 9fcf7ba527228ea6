"""The perceptual layer: numpy reference = Keras layer, identity at exponent 0, energy follows the cover."""

import numpy as np
import pytest

from ditas_tf import masking


def _blocks(speech_16k, n=3):
    return np.stack([speech_16k[16000 + i * 4096 : 16000 + (i + 1) * 4096] for i in range(n)]).astype(np.float64)


def test_exponent_zero_is_perfect_reconstruction(speech_16k):
    cover = _blocks(speech_16k)
    delta = np.random.default_rng(0).standard_normal(cover.shape)
    np.testing.assert_allclose(masking.shape(delta, cover, 0.0), delta, atol=1e-10)


@pytest.mark.parametrize(
    "mode,low_bin,high_bin", [("gain", 0, 0), ("phase", 0, 0), ("bounded", 0, 0), ("bounded", 3, 0), ("bounded", 3, 80)]
)
def test_keras_layer_equals_numpy_reference(speech_16k, mode, low_bin, high_bin):
    from ditas_tf.layers import MaskedResidual

    cover = _blocks(speech_16k).astype(np.float32)
    delta = np.random.default_rng(1).standard_normal(cover.shape).astype(np.float32)
    layer = MaskedResidual(18.0, 0.5, 256, mode, low_bin=low_bin, high_bin=high_bin)
    got = layer([cover.reshape(-1, 64, 64, 1), delta.reshape(-1, 64, 64, 1)]).numpy().reshape(cover.shape)
    ref = cover + masking.masked_modification(
        delta.astype(np.float64), cover.astype(np.float64), 0.5, 18.0, mode=mode, low_bin=low_bin, high_bin=high_bin
    )
    assert np.max(np.abs(got - ref)) < 1e-6
    # Exactly 18 dB under every block.
    snr = 10 * np.log10(np.sum(cover.astype(np.float64) ** 2, 1) / np.sum((got - cover).astype(np.float64) ** 2, 1))
    np.testing.assert_allclose(snr, 18.0, atol=1e-3)


def _logmag(x, frame_length=256):
    """Log STFT magnitude of blocks [..., N], minus each block's mean: the within-block shape only
    (every block is scaled to its own SNR)."""
    fwd, _ = masking.dft_matrices(frame_length)
    k = frame_length // 2 + 1
    s = masking.frames(x, frame_length) @ fwd
    lm = 0.5 * np.log(s[..., :k] ** 2 + s[..., k:] ** 2 + 1e-30)
    return lm - lm.mean(axis=(-2, -1), keepdims=True)


@pytest.mark.parametrize("exponent", [0.5, 1.0])
def test_energy_follows_the_cover_spectrum(speech_16k, exponent):
    cover = _blocks(speech_16k, 4)
    delta = np.random.default_rng(2).standard_normal(cover.shape)
    m = masking.masked_modification(delta, cover, exponent, 20.0, mode="phase")
    lc, lm = _logmag(cover).ravel(), _logmag(m).ravel()
    keep = lc > np.percentile(lc, 20)  # bins above the floor
    slope = np.polyfit(lc[keep], lm[keep], 1)[0]
    # log|M| rises with log|C| at the mask's exponent (windowing blurs it a little).
    assert abs(slope - exponent) < 0.15, slope
    white = masking.masked_modification(delta, cover, 0.0, 20.0)
    assert abs(np.polyfit(lc[keep], _logmag(white).ravel()[keep], 1)[0]) < 0.15


def test_bounded_gain_follows_then_saturates():
    r = np.array([1e-6, 0.5, 0.9, 1.0, 1.1, 2.0, 1e6])
    g = masking.bounded_gain(r, 6.0)
    lim = 10 ** (6 / 20)
    assert np.all(g >= 1 / lim - 1e-9) and np.all(g <= lim + 1e-9)
    np.testing.assert_allclose(g[[0, -1]], [1 / lim, lim], rtol=1e-3)
    np.testing.assert_allclose(g[2:5], r[2:5], rtol=0.01)  # near 1 it is the network's own magnitude
    assert np.all(np.diff(g) > 0)


def test_bounded_mode_still_follows_the_cover(speech_16k):
    cover = _blocks(speech_16k, 4)
    # A delta whose bins swing by tens of dB: only +-6 dB of it may reach the container.
    rng = np.random.default_rng(3)
    delta = rng.standard_normal(cover.shape) * np.exp(3 * rng.standard_normal(cover.shape))
    lc = _logmag(cover).ravel()
    keep = lc > np.percentile(lc, 20)
    slopes = {}
    for mode in ("gain", "bounded", "phase"):
        lm = _logmag(masking.masked_modification(delta, cover, 0.5, 20.0, mode=mode)).ravel()
        slopes[mode] = np.polyfit(lc[keep], lm[keep], 1)[0]
    assert abs(slopes["bounded"] - 0.5) < 0.15 and abs(slopes["phase"] - 0.5) < 0.15, slopes


# ---------------------------------------------------------------- the noise-to-mask hiding loss


def test_nmr_excess_counts_the_decibels_over_the_mask(speech_16k):
    """A modification that is the cover itself at -30 dB costs nothing with a 10 dB offset; at -5 dB it
    exceeds the mask by 5 dB wherever the cover's bin is above the floor (40 dB under the block's mean
    bin power) and by less where the floor binds; white noise at the same SNR costs more than noise
    shaped by the cover."""
    import tensorflow as tf

    from ditas_tf.losses import nmr_excess_db

    cover = _blocks(speech_16k)
    f = lambda c: nmr_excess_db(tf.constant(cover, tf.float32), tf.constant(c, tf.float32), 10.0).numpy()  # noqa: E731
    np.testing.assert_allclose(f(cover * (1 + 10 ** (-30 / 20))), 0.0, atol=1e-6)
    at5 = f(cover * (1 + 10 ** (-5 / 20)))
    assert np.all(at5 > 2.0) and np.all(at5 <= 5.0 + 1e-3)
    assert at5.max() > 4.5  # the loudest block: nearly every bin above the floor
    rng = np.random.default_rng(3)
    white = masking.masked_modification(rng.standard_normal(cover.shape), cover, 0.0, 22.5)
    shaped = masking.masked_modification(rng.standard_normal(cover.shape), cover, 0.5, 22.5)
    assert np.all(f(cover + white) > f(cover + shaped) + 3.0)


def test_nmr_loss_trains_through(speech_16k):
    """hiding_loss=nmr gives finite gradients through the masked hiding output."""
    import tensorflow as tf

    from ditas_tf.losses import per_example_losses
    from ditas_tf.networks import build_system
    from tests.conftest import tiny_config

    cfg = tiny_config(hiding_output="residual_masked", mask_mode="bounded", stages=2)
    cfg.train.hiding_loss = "nmr"
    cfg.validate()
    system = build_system(cfg.model)
    m = cfg.model
    rng = np.random.default_rng(0)
    batch = {
        "secret_image": tf.constant(rng.random((2, m.image_size, m.image_size, 3)), tf.float32),
        "cover_audio": tf.constant(np.stack([speech_16k[20000 : 20000 + m.cover_samples]] * 2), tf.float32),
    }
    with tf.GradientTape() as tape:
        out = system.training_model(batch, training=True)
        terms = per_example_losses(out, batch["cover_audio"], 2, cfg.lambdas(), "nmr", 1e-3, 10.0)
        loss = tf.reduce_mean(terms["total"])
    grads = tape.gradient(loss, system.training_model.trainable_variables)
    assert float(tf.reduce_mean(terms["hiding_1"])) > 0.0
    assert all(g is not None and bool(tf.reduce_all(tf.math.is_finite(g))) for g in grads)


def test_numpy_nmr_is_the_training_loss(speech_16k):
    """ditas_tf.masking.nmr_excess_db (hide's placement score) and the training loss are one measure."""
    import tensorflow as tf

    from ditas_tf.losses import nmr_excess_db

    cover = _blocks(speech_16k)
    rng = np.random.default_rng(5)
    mod = masking.masked_modification(rng.standard_normal(cover.shape), cover, 0.25, 18.0)
    want = nmr_excess_db(tf.constant(cover, tf.float32), tf.constant(cover + mod, tf.float32), 10.0).numpy()
    got = masking.nmr_excess_db(cover, mod, 10.0)
    assert got.shape == want.shape and np.all(got > 0.5)
    np.testing.assert_allclose(got, want, atol=2e-3)


def test_first_bin_is_the_first_at_or_above_the_cut():
    assert masking.first_bin(0.0, 16000, 256) == 0
    assert masking.first_bin(100.0, 16000, 256) == 2  # bins are 62.5 Hz apart: 125 Hz is the first kept
    assert masking.first_bin(150.0, 16000, 256) == 3
    assert masking.first_bin(125.0, 16000, 256) == 2


def test_highpass_keeps_the_modification_out_of_the_low_band(speech_16k):
    """With the bins under 150 Hz left out, a 100 Hz high-pass (the channel suite's Butterworth)
    takes almost nothing of the modification; without, it takes its DC and lowest bins."""
    from ditas_tf.channels import apply

    cover = _blocks(speech_16k, 4)
    delta = np.random.default_rng(5).standard_normal(cover.shape)

    def lost(low_bin):
        m = masking.masked_modification(delta, cover, 0.5, 20.0, mode="bounded", bound_db=10.0, low_bin=low_bin)
        flat = m.ravel().astype(np.float32)
        filtered = apply("highpass:100", flat, 16000)[0][:, 0]
        return float(np.sum((filtered - flat).astype(np.float64) ** 2) / np.sum(flat.astype(np.float64) ** 2))

    with_cut, without = lost(masking.first_bin(150.0, 16000, 256)), lost(0)
    assert with_cut < 10 ** (-25 / 10), with_cut  # it takes under -25 dB of the modification
    assert without > 10 ** (5 / 10) * with_cut, (without, with_cut)  # at least 5 dB less than without the cut


def test_mask_top_leaves_the_top_band_untouched(speech_16k):
    """With model.mask_top_hz = 5 kHz the modification has no energy from bin 80 up (a 5 kHz cut at
    62.5 Hz per bin), and the config refuses a top under twice the high-pass."""
    from ditas_tf.config import ConfigError, load_config

    assert masking.top_bin(0.0, 16000, 256) == 0 and masking.top_bin(5000.0, 16000, 256) == 80
    cover = _blocks(speech_16k, 4)
    delta = np.random.default_rng(6).standard_normal(cover.shape)
    m = masking.masked_modification(delta, cover, 0.5, 20.0, mode="bounded", bound_db=10.0, high_bin=80)
    fwd, _ = masking.dft_matrices(256)
    s = masking.frames(m, 256) @ fwd
    power = s[..., :129] ** 2 + s[..., 129:] ** 2
    # The sqrt-Hann window leaks a little past the cut (zeroed bins, then overlap-add): from 5.2 kHz
    # up, more than 40 dB under the modification's total.
    assert np.sum(power[..., 83:]) < 1e-4 * np.sum(power), np.sum(power[..., 83:]) / np.sum(power)
    assert np.sum(power[..., :80]) > 0.99 * np.sum(power)
    cfg = load_config(["cpu10_spectral"], ["model.highpass_hz=150", "model.mask_top_hz=5000"])
    assert cfg.model.mask_top_hz == 5000
    with pytest.raises(ConfigError, match="model.mask_top_hz must be 0 or in"):
        load_config(["cpu10_spectral"], ["model.highpass_hz=150", "model.mask_top_hz=200"])


def test_band_envelope_makes_each_band_follow_the_speech_in_time(speech_16k):
    """|C|^0.5 alone moves a band's modification with half the band's level (in log energy, slope
    about 0.5): it fills the quiet gaps. Times the band envelope^0.5 (masking.mask_gain's
    envelope_exponent), the slope is about 1: the band's modification rises and falls with it."""
    cover = _blocks(speech_16k, 10)
    delta = np.random.default_rng(7).standard_normal(cover.shape)
    fwd, _ = masking.dft_matrices(256)

    def band_log_energy(x):
        s = masking.frames(x, 256) @ fwd
        p = s[..., 8:96] ** 2 + s[..., 137:225] ** 2  # 0.5-6 kHz
        return np.log(p.reshape(*p.shape[:-1], 11, 8).sum(-1) + 1e-20).reshape(-1)

    c = band_log_energy(cover)
    slopes = {}
    for env in (0.0, 0.5):
        m = masking.masked_modification(delta, cover, 0.5, 20.0, envelope_exponent=env, envelope_bins=9)
        slopes[env] = np.polyfit(c, band_log_energy(m), 1)[0]
    assert 0.35 < slopes[0.0] < 0.65 and 0.85 < slopes[0.5] < 1.15, slopes
