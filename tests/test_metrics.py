import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ditas_tf.images import eval_tile
from ditas_tf.metrics import ms_ssim, pesq_wb, psnr, snr_db, ssim


def _pairs(real_images):
    rng = np.random.default_rng(0)
    for img in real_images:
        a = eval_tile(img, 64).astype(np.float64)
        b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1)
        yield a, b


def test_psnr_and_ssim_match_scikit_image(real_images):
    for a, b in _pairs(real_images):
        ours = float(psnr(a[None], b[None])[0])
        ref = peak_signal_noise_ratio(a, b, data_range=1.0)
        assert abs(ours - ref) < 1e-3
        s_ours = float(ssim(a[None], b[None])[0])
        s_ref = structural_similarity(
            a, b, data_range=1.0, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        )
        assert abs(s_ours - s_ref) < 1e-3


def test_ms_ssim_fits_64x64(real_images):
    a, b = next(_pairs(real_images))
    v = float(ms_ssim(a[None], b[None])[0])
    assert 0.0 < v < 1.0
    assert float(ms_ssim(a[None], a[None])[0]) == pytest.approx(1.0, abs=1e-5)


def test_snr_definition():
    rng = np.random.default_rng(0)
    c = rng.standard_normal(1000).astype(np.float32)
    x = c + 0.1 * rng.standard_normal(1000).astype(np.float32)
    ref = 10 * np.log10(np.sum(c**2) / np.sum((x - c) ** 2))
    assert float(snr_db(c, x)) == pytest.approx(ref, abs=1e-3)


def test_pesq_of_real_clip_against_itself_is_maximal(speech_16k):
    assert pesq_wb(speech_16k, speech_16k) == pytest.approx(4.64, abs=0.01)
    noisy = speech_16k + 0.01 * np.random.default_rng(0).standard_normal(len(speech_16k)).astype(np.float32)
    assert pesq_wb(speech_16k, noisy) < 4.0
