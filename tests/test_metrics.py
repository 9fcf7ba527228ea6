import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ditas_tf.images import eval_tile
from ditas_tf.metrics import ms_ssim, psnr, snr_db, ssim
from ditas_tf.span import pesq_wb


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


def _ms_ssim_reference(a, b, weights=(0.0448, 0.2856, 0.3001), size=7, sigma=1.5):
    """MS-SSIM written from Wang et al. (2003): Gaussian window, 'valid' filtering, 2x2 mean pooling."""
    from scipy.signal import correlate2d

    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
    g /= g.sum()
    c1, c2 = 0.01**2, 0.03**2
    w = np.asarray(weights) / np.sum(weights)

    def filt(img):
        return correlate2d(img, g, mode="valid")

    per_channel = []
    for ch in range(a.shape[-1]):
        x_, y_ = a[..., ch].astype(np.float64), b[..., ch].astype(np.float64)
        terms = []
        for scale in range(len(w)):
            mx, my = filt(x_), filt(y_)
            sxx, syy, sxy = filt(x_ * x_) - mx**2, filt(y_ * y_) - my**2, filt(x_ * y_) - mx * my
            cs = (2 * sxy + c2) / (sxx + syy + c2)
            lum = (2 * mx * my + c1) / (mx**2 + my**2 + c1)
            terms.append(np.mean(cs) if scale < len(w) - 1 else np.mean(lum * cs))
            x_ = x_.reshape(x_.shape[0] // 2, 2, x_.shape[1] // 2, 2).mean(axis=(1, 3))
            y_ = y_.reshape(y_.shape[0] // 2, 2, y_.shape[1] // 2, 2).mean(axis=(1, 3))
        per_channel.append(np.prod(np.maximum(terms, 0) ** w))
    return float(np.mean(per_channel))


def test_ms_ssim_equals_an_independent_implementation(real_images):
    for a, b in _pairs(real_images):
        ours = float(ms_ssim(a[None], b[None])[0])
        assert abs(ours - _ms_ssim_reference(a, b)) < 1e-4, (ours, _ms_ssim_reference(a, b))
