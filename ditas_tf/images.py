"""Image decoding and the deterministic evaluation protocol."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from ditas_tf.errors import InputError
from ditas_tf.fileio import atomic_path

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
MAX_PIXELS = 100_000_000

EVAL_PROTOCOL = (
    "resize the short side to the tile size with Pillow's bicubic filter "
    "(antialiased), then centre-crop to a square tile; RGB in [0, 1]"
)


def load_image(path: str) -> np.ndarray:
    """Decode any Pillow-readable image to uint8 RGB [h, w, 3] (grey/RGBA -> RGB).

    Raises:
      InputError: missing path, a folder, or a file that is not a decodable image.
    """
    if not os.path.exists(path):
        raise InputError(f"image file not found: {path}")
    if os.path.isdir(path):
        raise InputError(f"expected an image file, got a directory: {path}")
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                raise InputError(f"image too large ({im.width}x{im.height}): {path}")
            im.load()
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, im)
            rgb = im.convert("RGB")
            return np.asarray(rgb, np.uint8).copy()
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        msg = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise InputError(f"not a readable image: {path} ({msg})") from None


def eval_tile(image: np.ndarray, size: int) -> np.ndarray:
    """The evaluation protocol: short side -> ``size`` (bicubic), centre crop; float [0, 1]."""
    h, w = image.shape[:2]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    im = Image.fromarray(image).resize((nw, nh), Image.BICUBIC)
    top, left = (nh - size) // 2, (nw - size) // 2
    arr = np.asarray(im, np.float32)[top : top + size, left : left + size] / 255.0
    return arr


def save_png(path: str, image: np.ndarray) -> None:
    """Write a [0, 1] float or uint8 RGB image as PNG atomically."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)
    with atomic_path(path, suffix=".png") as tmp:
        Image.fromarray(arr).save(tmp, format="PNG")


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images of the same shape (peak 255)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)
