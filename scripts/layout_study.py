"""Where the revealed image's error sits, and what more cover buys by repetition (docs/hiding_output.md).

    python scripts/layout_study.py [--model default] [--images 20]

Two measurements on the shipped model, through the library's own hide and
reveal with synchronisation (arrays in memory, no WAV file):

* tiles: for 64x64 secrets, PSNR of the 4-pixel tile border against the
  interior; for 128x128 secrets (2x2 tiles), PSNR of the 4-pixel band around
  the seams against the rest, the share of the four worst 16x16 blocks that
  touch a seam (chance: 7 of 16 block rows/columns), and the squared error of
  the jump across a seam against the jump across an interior column;
* repetition: the same 64x64 secret hidden in R different LJ002 covers and the
  R revealed images averaged, R = 1..4: an upper bound of what spending R
  times the cover on repeated copies could buy.

Secrets: live1 and set14; covers: LJ002 clips in order. Writes
docs/results/layout_study.json.
"""

from __future__ import annotations

import argparse
import glob
import json
import os

import numpy as np
from shared_data import DATA, HERE

from ditas_tf.audio import load_mono
from ditas_tf.errors import InputError
from ditas_tf.fileio import atomic_write_text
from ditas_tf.images import eval_tile, load_image
from ditas_tf.stego import Steganographer


def _psnr(err2: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / max(float(np.mean(err2)), 1e-12)))


class Covers:
    """LJ002 clips in order; a clip that cannot carry the image is skipped."""

    def __init__(self):
        self.files = sorted(glob.glob(os.path.join(DATA, "audio", "LJSpeech-1.1", "wavs", "LJ002-*.wav")))
        self.i = 0

    def hide_reveal(self, steg, img: np.ndarray) -> np.ndarray:
        size = (img.shape[1], img.shape[0])
        for _ in range(20):
            cover = load_mono(self.files[self.i % len(self.files)], steg.rate)
            self.i += 1
            try:
                res = steg.hide_array(img, cover, steg.rate)
            except InputError:
                continue
            return steg.reveal_array(res.container, steg.rate, size=size)
        raise RuntimeError("no cover could carry the image")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="default")
    p.add_argument("--images", type=int, default=20)
    a = p.parse_args()
    steg = Steganographer.load(a.model)
    paths = sorted(glob.glob(os.path.join(DATA, "images", "test", "live1", "*")))[: a.images // 2 + a.images % 2]
    paths += sorted(glob.glob(os.path.join(DATA, "images", "test", "set14", "*")))[: a.images // 2]
    covers = Covers()
    u8 = lambda x: np.round(np.clip(x, 0, 1) * 255.0)  # noqa: E731

    # Single tiles: border against interior.
    err64 = []
    for path in paths:
        img = eval_tile(load_image(path), 64)
        err64.append(((u8(covers.hide_reveal(steg, img)) - u8(img)) ** 2).mean(-1))
    err64 = np.mean(err64, 0)
    border = np.zeros((64, 64), bool)
    border[:4] = border[-4:] = border[:, :4] = border[:, -4:] = True

    # 2x2 tiles: the seams.
    seam = np.zeros((128, 128), bool)
    seam[62:66] = seam[:, 62:66] = True
    band, rest, worst_on_seam, jump_seam, jump_inner = [], [], 0, [], []
    for path in paths:
        img = eval_tile(load_image(path), 128)
        out, ref = u8(covers.hide_reveal(steg, img)), u8(img)
        e2 = ((out - ref) ** 2).mean(-1)
        band.append(e2[seam].mean())
        rest.append(e2[~seam].mean())
        blocks = e2.reshape(8, 16, 8, 16).mean((1, 3))
        for i in np.argsort(blocks.ravel())[-4:]:
            r, c = divmod(int(i), 8)
            worst_on_seam += r in (3, 4) or c in (3, 4)
        jump = lambda x, c: x[:, c] - x[:, c - 1]  # noqa: E731
        jump_seam.append(np.mean((jump(out, 64) - jump(ref, 64)) ** 2))
        jump_inner.append(np.mean((jump(out, 32) - jump(ref, 32)) ** 2))

    # Repetition: R covers, one secret, the revealed images averaged.
    rep = {r: [] for r in (1, 2, 3, 4)}
    for path in paths:
        img = eval_tile(load_image(path), 64)
        outs = [covers.hide_reveal(steg, img) for _ in range(4)]
        for r in rep:
            rep[r].append(_psnr((u8(np.mean(outs[:r], 0)) - u8(img)) ** 2))

    result = {
        "command": f"python scripts/layout_study.py --model {a.model} --images {a.images}",
        "secrets": len(paths),
        "tile_64": {"border_4px_psnr": _psnr(err64[border]), "interior_psnr": _psnr(err64[~border])},
        "tiles_2x2_128": {
            "seam_band_4px_psnr": _psnr(np.array(band)),
            "rest_psnr": _psnr(np.array(rest)),
            "worst_blocks_touching_a_seam": worst_on_seam / (4 * len(paths)),
            "worst_blocks_touching_a_seam_by_chance": 1 - (6 / 8) ** 2,
            "seam_jump_error_over_interior_jump_error": float(np.mean(jump_seam) / np.mean(jump_inner)),
        },
        "repetition_psnr": {str(r): float(np.mean(v)) for r, v in rep.items()},
    }
    atomic_write_text(os.path.join(HERE, "docs", "results", "layout_study.json"), json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
