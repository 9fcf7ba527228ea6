import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_config

from ditas_tf.layers import BlocksToCover, CoverToBlocks, stft_roundtrip_error
from ditas_tf.losses import per_example_losses
from ditas_tf.networks import build_system, count_flops, count_params

VARIANTS = [
    dict(variant="M"),
    dict(variant="M-E"),
    dict(variant="M-D"),
    dict(variant="M-ED"),
    dict(variant="S"),
    dict(variant="deep-steg"),
    dict(variant="kreuk", domain="stft", stft_frame_length=32, stft_frame_step=16),
    dict(variant="M", hiding_output="residual"),
    dict(variant="M-ED", hiding_output="residual_fixed_snr", normalize_audio=True, lowpass_hz=6500.0),
    dict(variant="M", domain="stft", hiding_output="residual", stft_frame_length=32, stft_frame_step=16),
]


def _batch(cfg, n=2, seed=0):
    rng = np.random.default_rng(seed)
    m = cfg.model
    return {
        "secret_image": rng.random((n, m.image_size, m.image_size, 3), dtype=np.float32),
        "cover_audio": (0.1 * rng.standard_normal((n, m.cover_samples))).astype(np.float32),
    }


def _ids(v):
    return "-".join(str(x) for x in v.values())


@pytest.mark.parametrize("model", VARIANTS, ids=_ids)
def test_shapes_names_and_gradient_step(model):
    cfg = tiny_config(**model)
    system = build_system(cfg.model)
    m = cfg.model
    batch = _batch(cfg)
    out = system.training_model(batch, training=True)
    t = m.stages
    r = 1 if system.is_baseline else t
    assert out["container_audio"].shape == (2, m.cover_samples)
    assert out["revealed_image"].shape == (2, m.image_size, m.image_size, 3)
    assert out["revealed_stages"].shape == (2, r, m.image_size, m.image_size, 3)
    names = {s.name for s in system.sub_networks}
    if model["variant"] in ("M", "M-E", "M-D", "M-ED"):
        assert {f"hiding_stage_{i + 1}" for i in range(t)} <= names
        assert {f"revealing_stage_{i + 1}" for i in range(t)} <= names
    elif model["variant"] == "S":
        assert names == {"hiding_stage_shared", "revealing_stage_shared"}
    else:
        assert names == {"preparation_network", "hiding_network", "revealing_network"}
    # One gradient step changes the weights of every sub-network.
    before = {s.name: [w.numpy().copy() for w in s.trainable_weights] for s in system.sub_networks}
    opt = tf.keras.optimizers.Adam(1e-2)
    with tf.GradientTape() as tape:
        o = system.training_model(batch, training=True)
        loss = tf.reduce_mean(per_example_losses(o, batch["cover_audio"], t, cfg.lambdas())["total"])
    variables = system.training_model.trainable_variables
    opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
    for s in system.sub_networks:
        changed = any(not np.array_equal(a, w.numpy()) for a, w in zip(before[s.name], s.trainable_weights))
        assert changed, f"{s.name} did not change"
    assert np.isfinite(float(loss))


@pytest.mark.parametrize("variant", ["M", "M-ED", "S"])
def test_residual_definition_and_reveal_from_first_k(variant):
    cfg = tiny_config(variant=variant, stages=3)
    system = build_system(cfg.model, quantization_noise=False)
    batch = _batch(cfg)
    out = system.training_model(batch, training=False)
    s0 = batch["secret_image"]
    R = out["stage_outputs"].numpy()
    S = out["residuals"].numpy()
    C = out["revealed_stages"].numpy()
    np.testing.assert_allclose(S[:, 0], s0, atol=1e-6)
    for i in range(1, 3):
        np.testing.assert_allclose(S[:, i], s0 - R[:, :i].sum(axis=1), atol=1e-5)
    np.testing.assert_allclose(C, np.cumsum(R, axis=1), atol=1e-5)
    # The stand-alone hider gives the training model's container; revealer(k) gives C_k.
    container = system.hider()(batch)["container_audio"].numpy()
    np.testing.assert_allclose(container, out["container_audio"].numpy(), atol=1e-6)
    n = cfg.model.block_samples
    for k in (1, 2, 3):
        rk = system.revealer(k)(container[:, : k * n])["revealed_image"].numpy()
        np.testing.assert_allclose(rk, np.cumsum(R[:, :k], axis=1)[:, -1], atol=1e-5)
    # Hiding with k < t stages uses the same weights: its container is the prefix.
    c2 = system.hider(2)({"secret_image": s0, "cover_audio": batch["cover_audio"][:, : 2 * n]})
    np.testing.assert_allclose(c2["container_audio"].numpy(), container[:, : 2 * n], atol=1e-6)


def test_fixed_snr_container_has_exact_snr():
    cfg = tiny_config(variant="M", hiding_output="residual_fixed_snr", target_snr_db=12.0, normalize_audio=True)
    system = build_system(cfg.model)
    batch = _batch(cfg)
    c = system.hider()(batch)["container_audio"].numpy()
    cov = batch["cover_audio"]
    snr = 10 * np.log10(np.sum(cov**2, axis=1) / np.sum((c - cov) ** 2, axis=1))
    np.testing.assert_allclose(snr, 12.0, atol=1e-3)


@pytest.mark.parametrize("model", [VARIANTS[3], VARIANTS[5], VARIANTS[8]], ids=_ids)
def test_save_reload_weights_and_keras_file(tmp_path, model):
    import keras

    cfg = tiny_config(**model)
    system = build_system(cfg.model, quantization_noise=False)
    batch = _batch(cfg)
    ref = system.training_model(batch)["revealed_stages"].numpy()
    wpath = str(tmp_path / "m.weights.h5")
    system.save_weights(wpath)
    other = build_system(cfg.model, quantization_noise=False)
    other.load_weights(wpath)
    np.testing.assert_allclose(other.training_model(batch)["revealed_stages"].numpy(), ref, atol=1e-6)
    kpath = str(tmp_path / "m.keras")
    system.training_model.save(kpath)
    loaded = keras.saving.load_model(kpath)
    np.testing.assert_allclose(loaded(batch)["revealed_stages"].numpy(), ref, atol=1e-6)
    assert loaded.get_layer(system.sub_networks[0].name) is not None


def test_layout_roundtrip_exact():
    x = np.random.default_rng(1).standard_normal((3, 4 * 16 * 16)).astype(np.float32)
    blocks = CoverToBlocks(4, 16)(x)
    assert blocks[0].shape == (3, 16, 16, 1)
    np.testing.assert_array_equal(blocks[1].numpy().reshape(3, -1), x[:, 256:512])
    np.testing.assert_array_equal(BlocksToCover()(blocks).numpy(), x)


def test_stft_roundtrip_below_1e5():
    assert stft_roundtrip_error(4096, 128) < 1e-5
    assert stft_roundtrip_error(256, 32) < 1e-5


def test_params_and_flops_are_counted():
    cfg = tiny_config(variant="M")
    system = build_system(cfg.model)
    p = count_params(system)
    assert p["total"] > p["revealing"] > 0
    f_hide, f_rev = count_flops(system.hider()), count_flops(system.revealer())
    # Every conv is counted: a 3x3 conv at 8x8 with 8->8 channels alone is 2*8*8*9*8*8 flops.
    assert f_rev > 2 * 8 * 8 * 9 * 8 * 8 and f_hide > f_rev
