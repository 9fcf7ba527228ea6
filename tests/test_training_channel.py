"""The training-time channel (ditas_tf.layers.TrainingChannel) on real speech blocks."""

import numpy as np
import pytest
import tensorflow as tf

from ditas_tf.config import load_config
from ditas_tf.layers import TrainingChannel
from ditas_tf.losses import per_example_losses
from ditas_tf.networks import build_system

QUIET = dict(bits=(24.0, 24.0))  # rounding far below anything measured here


@pytest.fixture()
def blocks(speech_16k):
    """Four real 4096-sample speech blocks as [4, 64, 64, 1]."""
    return speech_16k[8000 : 8000 + 4 * 4096].reshape(4, 64, 64, 1).astype(np.float32)


def _snr(x, y):
    x, e = x.reshape(len(x), -1).astype(np.float64), (y - x).reshape(len(x), -1)
    return 10 * np.log10((x**2).sum(1) / (e**2).sum(1))


def test_identity_outside_training(blocks):
    ch = TrainingChannel(noise_probability=1.0, codec_probability=1.0, lowpass_probability=1.0, gain_db=(-20, 6))
    assert np.array_equal(ch(blocks, training=False).numpy(), blocks)


def test_noise_lands_at_the_drawn_snr(blocks):
    y = TrainingChannel(noise_probability=1.0, noise_snr_db=(20.0, 20.0), **QUIET)(blocks, training=True).numpy()
    assert y.shape == blocks.shape
    np.testing.assert_allclose(_snr(blocks, y), 20.0, atol=0.3)


def test_gain_and_bit_depth(blocks):
    y = TrainingChannel(gain_db=(-6.0, -6.0), bits=(24.0, 24.0))(blocks, training=True).numpy()
    np.testing.assert_allclose(y, blocks * 10 ** (-6 / 20), atol=1e-6)
    # 8-bit rounding noise: one step of 2**-7, uniform, so its power is step**2 / 12.
    y = TrainingChannel(bits=(8.0, 8.0))(blocks, training=True).numpy()
    assert np.mean((y - blocks) ** 2) == pytest.approx(2.0**-14 / 12, rel=0.05)
    assert np.abs(y - blocks).max() <= 2.0**-8 + 1e-7


def test_lowpass_removes_what_is_above_the_cutoff(blocks):
    y = TrainingChannel(lowpass_probability=1.0, lowpass_hz=(4000.0, 4000.0), **QUIET)(blocks, training=True).numpy()
    f = np.fft.rfftfreq(4096, 1 / 16000)
    x_spec, y_spec = (np.abs(np.fft.rfft(v.reshape(4, -1))) ** 2 for v in (blocks, y))
    assert y_spec[:, f > 4500].sum() < 1e-6 * x_spec[:, f > 4500].sum()
    assert y_spec[:, f < 3500].sum() == pytest.approx(x_spec[:, f < 3500].sum(), rel=1e-3)


def test_codec_proxy_gates_quiet_bins_and_keeps_loud_ones(blocks):
    # With nothing gated and no noise, the STFT round trip gives the block back.
    y = TrainingChannel(codec_probability=1.0, codec_floor_db=(120, 120), codec_snr_db=(100, 100), **QUIET)(
        blocks, training=True
    ).numpy()
    np.testing.assert_allclose(y, blocks, atol=1e-5)
    # Gating at 30 dB under each frame's peak with bins kept at 20 dB SNR: the result stays close to the block
    # (speech's energy sits in its loudest bins), but its spectrum loses the quiet bins.
    y = TrainingChannel(codec_probability=1.0, codec_floor_db=(30, 30), codec_snr_db=(20, 20), **QUIET)(
        blocks, training=True
    ).numpy()
    snr = _snr(blocks, y)
    assert np.all(snr > 12) and np.all(snr < 30), snr
    spec = lambda v: np.abs(tf.signal.stft(v.reshape(4, -1), 512, 128).numpy())  # noqa: E731
    sx, sy = spec(blocks), spec(y)
    quiet = 20 * np.log10(sx + 1e-9) < 20 * np.log10(sx.max(-1, keepdims=True)) - 50
    assert quiet.mean() > 0.05
    assert np.median(sy[quiet] / sx[quiet]) < 0.5


def test_gradients_flow_through_every_transform(blocks):
    x = tf.Variable(blocks)
    ch = TrainingChannel(
        noise_probability=1.0, codec_probability=1.0, lowpass_probability=1.0, gain_db=(-20, 6), bits=(8, 16)
    )
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(ch(x, training=True) ** 2)
    g = tape.gradient(loss, x).numpy()
    assert np.all(np.isfinite(g)) and np.abs(g).mean() > 0


@pytest.mark.parametrize("variant", ["M-ED", "deep-steg"])
def test_a_robust_system_trains_and_shares_the_plain_weights(variant):
    sets = ["channel.noise_probability=1", "channel.codec_probability=1", "channel.bits=[8, 16]"]
    cfg = load_config(["smoke"], [f"model.variant={variant}", *sets])
    plain = build_system(cfg.model)
    robust = build_system(cfg.model, channel=cfg.channel)
    names = {layer.name for layer in robust.training_model.layers}
    expected = {"channel"} if variant == "deep-steg" else {f"channel_{i}" for i in range(1, cfg.model.stages + 1)}
    assert expected <= names
    # The channel holds no weights: the same weights file serves both systems.
    assert len(robust.training_model.weights) == len(plain.training_model.weights)
    rng = np.random.default_rng(0)
    m = cfg.model
    batch = {
        "secret_image": rng.random((2, m.image_size, m.image_size, 3), dtype=np.float32),
        "cover_audio": (0.1 * rng.standard_normal((2, m.cover_samples))).astype(np.float32),
    }
    robust.training_model.set_weights(plain.training_model.get_weights())
    a = plain.revealer()(plain.hider()(batch)["container_audio"])["revealed_image"].numpy()
    b = robust.revealer()(robust.hider()(batch)["container_audio"])["revealed_image"].numpy()
    np.testing.assert_array_equal(a, b)  # hiding and revealing views carry no channel
    # Training sees the channel: two passes differ, and a gradient step is finite.
    o1 = robust.training_model(batch, training=True)["revealed_image"].numpy()
    o2 = robust.training_model(batch, training=True)["revealed_image"].numpy()
    assert not np.array_equal(o1, o2)
    with tf.GradientTape() as tape:
        o = robust.training_model(batch, training=True)
        loss = tf.reduce_mean(per_example_losses(o, batch["cover_audio"], m.stages, cfg.lambdas())["total"])
    grads = tape.gradient(loss, robust.training_model.trainable_variables)
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)


def test_modification_gain_moves_only_the_modification(blocks):
    from ditas_tf.layers import ModificationGain

    rng = np.random.default_rng(1)
    container = blocks + 0.01 * rng.standard_normal(blocks.shape).astype(np.float32)
    layer = ModificationGain((-6.0, -6.0))
    assert np.array_equal(layer([blocks, container], training=False).numpy(), container)
    y = layer([blocks, container], training=True).numpy()
    np.testing.assert_allclose(y - blocks, (container - blocks) * 10 ** (-6 / 20), atol=1e-6)
    # Drawn per example within the range: every example's modification is 0-4 dB quieter.
    y = ModificationGain((-4.0, 0.0))([blocks, container], training=True).numpy()
    drop = _snr(blocks, y) - _snr(blocks, container)
    assert np.all((drop > -1e-3) & (drop < 4.0 + 1e-3)) and np.ptp(drop) > 0, drop


def test_a_level_jittered_system_trains_and_keeps_its_views():
    cfg = load_config(["smoke"], ["model.hiding_output=residual_masked", "channel.modification_gain_db=[-4, 0]"])
    system = build_system(cfg.model, channel=cfg.channel)
    names = {layer.name for layer in system.training_model.layers}
    assert {f"channel_{i}_level" for i in range(1, cfg.model.stages + 1)} <= names
    assert not any("level" in layer.name for layer in system.hider().layers + system.revealer().layers)
    rng = np.random.default_rng(0)
    m = cfg.model
    batch = {
        "secret_image": rng.random((2, m.image_size, m.image_size, 3), dtype=np.float32),
        "cover_audio": (0.1 * rng.standard_normal((2, m.cover_samples))).astype(np.float32),
    }
    with tf.GradientTape() as tape:
        o = system.training_model(batch, training=True)
        loss = tf.reduce_mean(per_example_losses(o, batch["cover_audio"], m.stages, cfg.lambdas())["total"])
    grads = tape.gradient(loss, system.training_model.trainable_variables)
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    with pytest.raises(Exception, match="modification_gain_db needs a DITAS variant"):
        load_config(["smoke"], ["model.variant=deep-steg", "channel.modification_gain_db=[-4, 0]"])
