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


SPECTRAL = dict(
    variant="M-ED",
    hiding_output="residual_masked",
    mask_mode="bounded",
    normalize_audio=True,
    audio_layout="spectral",
    spectral_frame_length=64,
    spectral_bins=16,
    highpass_hz=300.0,  # the cells' bins 0-1 and the mask's 0-4 left out: every spectral test runs with it
)


def test_spectral_cells_are_the_stft_and_invert():
    """SpectralCells is the block's STFT, cell by cell; CellsToAudio inverts it to the band-limited block."""
    from ditas_tf import masking
    from ditas_tf.layers import CellsToAudio, SpectralCells

    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 64, 64, 1)).astype(np.float32)
    L, bins, g = 256, 96, 16
    fwd, inv = masking.dft_matrices(L)
    spec = masking.frames(x.reshape(2, -1).astype(np.float64), L)[:, 1:] @ fwd  # [2, 32, 258]
    re, im = spec[..., :bins], spec[..., L // 2 + 1 : L // 2 + 1 + bins]
    rms = np.sqrt(np.mean(re**2 + im**2, axis=(1, 2)))
    cells = SpectralCells(g, L, bins, exponent=1.0)(x).numpy()
    assert cells.shape == (2, g, g, 2 * 2 * 6)
    # Cell (r, c), channel ((f * 6) + b) * 2 + part: frame 2r + f, bin 6c + b.
    got = cells.reshape(2, g, g, 2, 6, 2).transpose(0, 1, 3, 2, 4, 5).reshape(2, 32, bins, 2)
    np.testing.assert_allclose(got[..., 0], re / rms[:, None, None], atol=2e-4)
    np.testing.assert_allclose(got[..., 1], im / rms[:, None, None], atol=2e-4)
    # Compression keeps the phase and maps |X| / rms to (|X| / rms) ** 0.5.
    half = SpectralCells(g, L, bins, exponent=0.5)(x).numpy().reshape(2, g, g, 2, 6, 2)
    mag = np.hypot(half[..., 0], half[..., 1])
    full = np.hypot(cells.reshape(2, g, g, 2, 6, 2)[..., 0], cells.reshape(2, g, g, 2, 6, 2)[..., 1])
    np.testing.assert_allclose(mag, np.sqrt(full + 1e-3) * full / (full + 1e-3), rtol=2e-3, atol=2e-3)
    # The inverse: the block with every bin past `bins` removed (the first hop has only half a window).
    back = CellsToAudio(64, L, bins)(cells * rms[:, None, None, None].astype(np.float32)).numpy().reshape(2, -1)
    full_spec = spec.copy()
    full_spec[..., bins : L // 2 + 1] = 0
    full_spec[..., L // 2 + 1 + bins :] = 0
    frames = np.concatenate([np.zeros((2, 1, L)), full_spec @ inv], axis=1)
    hop = L // 2
    ola = np.zeros((2, (frames.shape[1] + 1) * hop))
    for j in range(frames.shape[1]):
        ola[:, j * hop : j * hop + L] += frames[:, j]
    np.testing.assert_allclose(back, ola[:, hop:-hop], atol=1e-4)


def test_spectral_cells_leave_out_the_bins_under_the_highpass():
    """With low_bin, SpectralCells reads those bins as zero and CellsToAudio drops them; the rest is unchanged."""
    from ditas_tf.layers import CellsToAudio, SpectralCells

    x = np.random.default_rng(4).standard_normal((2, 64, 64, 1)).astype(np.float32)
    full = SpectralCells(16, 256, 96, exponent=1.0)(x).numpy().reshape(2, 16, 16, 2, 6, 2)
    cut = SpectralCells(16, 256, 96, exponent=1.0, low_bin=3)(x).numpy().reshape(2, 16, 16, 2, 6, 2)
    assert np.all(cut[:, :, 0, :, :3] == 0)  # column 0 holds bins 0..5
    # The kept bins are the same up to the block's RMS, which no longer counts the dropped ones.
    ratio = full[:, :, :, :, :, :][..., 0][:, :, 1:] / cut[..., 0][:, :, 1:]
    np.testing.assert_allclose(ratio / ratio.reshape(2, -1)[:, :1, None, None, None], 1.0, rtol=1e-3)
    cells = np.random.default_rng(5).standard_normal((2, 16, 16, 24)).astype(np.float32)
    zeroed = cells.reshape(2, 16, 16, 2, 6, 2).copy()
    zeroed[:, :, 0, :, :3] = 0
    np.testing.assert_allclose(
        CellsToAudio(64, 256, 96, low_bin=3)(cells).numpy(),
        CellsToAudio(64, 256, 96)(zeroed.reshape(2, 16, 16, 24)).numpy(),
        atol=1e-5,
    )


def test_spectral_layout_keeps_the_level_and_trains():
    cfg = tiny_config(**SPECTRAL)
    system = build_system(cfg.model)
    h = system.stage_networks.hiding[0]
    assert h.get_layer("cover_cells") is not None and h.get_layer("cells_to_audio") is not None
    assert system.stage_networks.revealing[0].get_layer("container_cells") is not None
    batch = _batch(cfg)
    out = system.training_model(batch, training=False)
    cov = batch["cover_audio"].reshape(2, cfg.model.stages, -1)
    mod = out["container_audio"].numpy().reshape(2, cfg.model.stages, -1) - cov
    snr = 10 * np.log10(np.sum(cov**2, axis=-1) / np.sum(mod**2, axis=-1))
    np.testing.assert_allclose(snr, cfg.model.target_snr_db, atol=1e-3)  # the mask and level are unchanged
    test_shapes_names_and_gradient_step(SPECTRAL)


@pytest.mark.parametrize(
    "sets",
    [
        dict(spectral_bins=15),  # 15 bins do not split into 8 columns
        dict(spectral_frame_length=48),  # the hop (24) does not divide the 256-sample block
        dict(spectral_bins=40),  # more bins than the frame has
        dict(spectral_exponent=0.0),
        dict(audio_layout="stft"),
        dict(lowpass_hz=3000.0),  # the 16 bins reach 4 kHz, past the cut-off the revealer relies on
    ],
)
def test_spectral_layout_bad_settings_are_named(sets):
    from ditas_tf.errors import ConfigError

    with pytest.raises(ConfigError, match="audio_layout|spectral"):
        tiny_config(**(SPECTRAL | sets)).validate()
