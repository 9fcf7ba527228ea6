"""``ditas demo``: a bundled image hidden in a bundled public-domain speech clip.

Image: the "astronaut" photo (Eileen Collins, NASA, public domain) from
scikit-image's sample data, resized to 64x64. Clip: LJ Speech LJ002-0105
(public domain). Runs on the model's LiteRT graphs when it has them, so no
TensorFlow import.
"""

from __future__ import annotations

import os
from importlib import resources

from ditas_tf.audio import read_audio, resample, to_mono
from ditas_tf.images import load_image, psnr_uint8, save_png
from ditas_tf.span import span_metrics


def sample_paths() -> tuple[str, str]:
    """The bundled sample image and speech clip."""
    root = resources.files("ditas_tf") / "samples"
    return str(root / "astronaut_64.png"), str(root / "LJ002-0105.wav")


def run_demo(out_dir: str, model: str = "default", key: str | None = None) -> dict:
    """Hide, write the 16-bit container, read it back, reveal; return metrics (span and whole file)."""
    from skimage.metrics import structural_similarity

    from ditas_tf.stego import Steganographer

    os.makedirs(out_dir, exist_ok=True)
    image_path, cover_path = sample_paths()
    steg = Steganographer.load(model)
    secret_out = os.path.join(out_dir, "secret.png")
    container_out = os.path.join(out_dir, "container.wav")
    revealed_out = os.path.join(out_dir, "revealed.png")
    secret = load_image(image_path)
    save_png(secret_out, secret)
    res = steg.hide(image_path, cover_path, container_out, key=key)
    steg.reveal(container_out, revealed_out, key=key)
    revealed = load_image(revealed_out)
    cover, rate = read_audio(cover_path)
    container, _ = read_audio(container_out)
    c16 = resample(to_mono(cover), rate, steg.rate)
    x16 = resample(to_mono(container), rate, steg.rate)[: len(c16)]
    aud = span_metrics(c16, x16, steg.rate, gain=res.gain)
    return {
        "secret": secret_out,
        "container": container_out,
        "revealed": revealed_out,
        "backend": steg.backend,
        "stages": res.stages,
        "copies": res.copies,
        "revealed_psnr_db": round(psnr_uint8(secret, revealed), 2),
        "revealed_ssim": round(float(structural_similarity(secret, revealed, channel_axis=-1, data_range=255)), 4),
        "span_seconds": round(aud["span_seconds"], 3),
        "span_snr_db": round(aud["span_snr_db"], 2),
        "span_pesq_wb": round(aud["span_pesq_wb"], 3),
        "file_snr_db": round(aud["file_snr_db"], 2),
        "file_pesq_wb": round(aud["file_pesq_wb"], 3),
    }
