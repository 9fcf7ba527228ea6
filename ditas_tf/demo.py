"""``ditas demo``: a bundled image hidden in a bundled public-domain speech clip.

Image: the "astronaut" photo (Eileen Collins, NASA, public domain) from
scikit-image's sample data, resized to 64x64. Clip: LJ Speech LJ002-0105
(public domain).
"""

from __future__ import annotations

import os
from importlib import resources

import numpy as np

from ditas_tf.audio import read_audio, resample, to_mono
from ditas_tf.images import load_image, save_png
from ditas_tf.metrics import audio_metrics, image_metrics, pesq_wb


def sample_paths() -> tuple[str, str]:
    """The bundled sample image and speech clip."""
    root = resources.files("ditas_tf") / "samples"
    return str(root / "astronaut_64.png"), str(root / "LJ002-0105.wav")


def run_demo(out_dir: str, model: str = "default") -> dict:
    """Hide, write the 16-bit container, read it back, reveal; return metrics."""
    from ditas_tf.stego import Steganographer

    os.makedirs(out_dir, exist_ok=True)
    image_path, cover_path = sample_paths()
    steg = Steganographer.load(model)
    secret_out = os.path.join(out_dir, "secret.png")
    container_out = os.path.join(out_dir, "container.wav")
    revealed_out = os.path.join(out_dir, "revealed.png")
    secret = load_image(image_path)
    save_png(secret_out, secret)
    res = steg.hide(image_path, cover_path, container_out)
    revealed = steg.reveal(container_out, revealed_out)
    img = image_metrics(secret[None].astype(np.float32) / 255.0, revealed[None])
    cover, rate = read_audio(cover_path)
    container, _ = read_audio(container_out)
    c16 = resample(to_mono(cover), rate, steg.rate)
    x16 = resample(to_mono(container), rate, steg.rate)
    aud = audio_metrics(cover[None, :, 0] if cover.shape[1] == 1 else to_mono(cover)[None], to_mono(container)[None])
    return {
        "secret": secret_out,
        "container": container_out,
        "revealed": revealed_out,
        "revealed_psnr_db": round(float(img["psnr"][0]), 2),
        "revealed_ssim": round(float(img["ssim"][0]), 4),
        "container_snr_db_subsequences": round(res.snr_db, 2),
        "container_snr_db_file": round(float(aud["snr_db"][0]), 2),
        "pesq_wb": round(pesq_wb(c16, x16, steg.rate), 3),
    }
