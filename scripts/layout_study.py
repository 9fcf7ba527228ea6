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
  times the cover on repeated copies could buy;
* bands: for 64x64 secrets, PSNR of each 4-pixel band of rows and of columns
  (in the ``spectral`` layout a band of rows is a row of time-frequency cells, two
  STFT frames, and a band of columns a column of cells, six bins);
* the edge profile: PSNR of the pixels at distance d = 0..7 from the nearest
  tile edge (d = 0 is a tile's outermost ring), against the tile's centre
  (d >= 8), for 64x64 secrets and, in 128x128 ones, separately for the edges
  that are image borders and those that are seams between tiles;
* alignment: the same content revealed twice, from two 128x128 crops of one
  192x192 secret offset by 32 pixels, so that what lies at a tile edge in one
  crop lies 32 pixels from it in the other: PSNR of the same pixels by their
  edge distance in each crop, which separates the tile's edge from the content
  that happens to be there;
* deblocking: a filter that removes the excess jump across each seam (the jump
  minus the mean of its neighbours' jumps, smoothed along the seam, spread as a
  linear ramp over ``width`` pixels each side), over a small grid of settings:
  the best setting's gain on these same secrets bounds what such a filter buys.

Secrets: live1 and set14; covers: LJ002 clips in order. Writes --out
(docs/results/layout_study.json by default).
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


def edge_distance(size: int, tile: int = 64) -> np.ndarray:
    """[size, size] distance of each pixel to the nearest edge of its tile (0: the outermost ring)."""
    i = np.arange(size) % tile
    d1 = np.minimum(i, tile - 1 - i)
    return np.minimum(d1[:, None], d1[None, :])


def profile(err2: np.ndarray, dist: np.ndarray, mask: np.ndarray | None = None) -> dict:
    """PSNR of the squared errors ``err2`` [N, H, W] by edge distance 0..7, and 'centre' (>= 8)."""
    mask = np.ones(dist.shape, bool) if mask is None else mask
    out = {str(d): _psnr(err2[:, (dist == d) & mask]) for d in range(8)}
    out["centre"] = _psnr(err2[:, (dist >= 8) & mask])
    return out


def deblock(img: np.ndarray, tile: int, width: int, sigma: float, alpha: float) -> np.ndarray:
    """Remove ``alpha`` of the excess jump across each tile seam of ``img`` [H, W, 3] (0..255 floats)."""
    from scipy.ndimage import gaussian_filter1d

    out = img.astype(np.float64).copy()
    for axis in (1, 0):
        a = np.moveaxis(out, axis, 0)  # a view: seams run along the first axis
        n = a.shape[0]
        for x0 in range(tile, n, tile):
            jump = a[x0] - a[x0 - 1]
            expected = 0.5 * ((a[x0 - 1] - a[x0 - 2]) + (a[x0 + 1] - a[x0]))
            excess = jump - expected
            if sigma > 0:
                excess = gaussian_filter1d(excess, sigma, axis=0, mode="nearest")
            w = min(width, x0, n - x0)
            for m in range(w):
                share = alpha * (1 - m / w) / 2
                a[x0 - 1 - m] += share * excess
                a[x0 + m] -= share * excess
    return out


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
                res = steg.hide_array(img, cover, steg.rate, placement="first", copies=1)  # as measured (release 6)
            except InputError:
                continue
            return steg.reveal_array(res.container, steg.rate, size=size)
        raise RuntimeError("no cover could carry the image")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="default")
    p.add_argument("--images", type=int, default=20)
    p.add_argument("--out", default=os.path.join(HERE, "docs", "results", "layout_study.json"))
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
    err64 = np.array(err64)
    profile_64 = profile(err64, edge_distance(64))
    # By 4-pixel band: in the spectral layout (b = 4) band r of rows is cell row r (frames 2r, 2r + 1:
    # time) and band c of columns is cell column c (bins 6c..6c + 5: frequency, 62.5 Hz each).
    bands = err64.reshape(len(paths), 16, 4, 16, 4)
    by_band = {
        "rows": [_psnr(bands[:, r]) for r in range(16)],
        "columns": [_psnr(bands[:, :, :, c]) for c in range(16)],
    }
    err64 = err64.mean(0)
    border = np.zeros((64, 64), bool)
    border[:4] = border[-4:] = border[:, :4] = border[:, -4:] = True

    # 2x2 tiles: the seams.
    seam = np.zeros((128, 128), bool)
    seam[62:66] = seam[:, 62:66] = True
    band, rest, worst_on_seam, jump_seam, jump_inner = [], [], 0, [], []
    pairs128, err128 = [], []
    for path in paths:
        img = eval_tile(load_image(path), 128)
        out, ref = u8(covers.hide_reveal(steg, img)), u8(img)
        pairs128.append((out, ref))
        e2 = ((out - ref) ** 2).mean(-1)
        err128.append(e2)
        band.append(e2[seam].mean())
        rest.append(e2[~seam].mean())
        blocks = e2.reshape(8, 16, 8, 16).mean((1, 3))
        for i in np.argsort(blocks.ravel())[-4:]:
            r, c = divmod(int(i), 8)
            worst_on_seam += r in (3, 4) or c in (3, 4)
        jump = lambda x, c: x[:, c] - x[:, c - 1]  # noqa: E731
        jump_seam.append(np.mean((jump(out, 64) - jump(ref, 64)) ** 2))
        jump_inner.append(np.mean((jump(out, 32) - jump(ref, 32)) ** 2))

    # The edge profile of 2x2 tiles: image borders against seams.
    dist = edge_distance(128)
    near_seam = np.zeros((128, 128), bool)
    near_seam[56:72] = near_seam[:, 56:72] = True
    on_border = np.zeros((128, 128), bool)
    on_border[:8] = on_border[-8:] = on_border[:, :8] = on_border[:, -8:] = True
    err128 = np.array(err128)
    profile_128 = {
        "all": profile(err128, dist),
        "image_borders": profile(err128, dist, on_border & ~near_seam),
        "seams": profile(err128, dist, near_seam & ~on_border),
    }

    # Deblocking across the seams, over a small grid; mean PSNR and the seam band's.
    seam8 = np.zeros((128, 128), bool)
    seam8[60:68] = seam8[:, 60:68] = True
    base = {"psnr": float(np.mean([_psnr(e) for e in err128])), "seam_band_8px_psnr": _psnr(err128[:, seam8])}
    grid = []
    for width in (2, 4, 8, 16):
        for sigma in (0.0, 2.0, 4.0, 8.0):
            for alpha in (0.5, 1.0):
                e = np.array([((np.round(np.clip(deblock(o, 64, width, sigma, alpha), 0, 255)) - r) ** 2).mean(-1)
                              for o, r in pairs128])  # fmt: skip
                grid.append({
                    "width": width, "sigma": sigma, "alpha": alpha,
                    "psnr": float(np.mean([_psnr(x) for x in e])), "seam_band_8px_psnr": _psnr(e[:, seam8]),
                })  # fmt: skip
    best = max(grid, key=lambda g: g["psnr"])

    # Alignment: the same pixels at a tile edge in one crop and at a tile centre in the other.
    at_edge, at_centre = {d: [] for d in range(4)}, {d: [] for d in range(4)}
    for path in paths:
        big = eval_tile(load_image(path), 192)
        errs = []
        for off in (0, 32):
            crop = big[off : off + 128, off : off + 128]
            e2 = np.zeros((192, 192))
            e2[off : off + 128, off : off + 128] = ((u8(covers.hide_reveal(steg, crop)) - u8(crop)) ** 2).mean(-1)
            errs.append(e2)
        common = (slice(32, 128), slice(32, 128))  # in both crops
        dist_a = np.pad(edge_distance(128), ((0, 64), (0, 64)))[common]
        dist_b = np.pad(edge_distance(128), ((32, 32), (32, 32)))[common]
        for d in range(4):
            for here, there, dist, other in ((errs[0], errs[1], dist_a, dist_b), (errs[1], errs[0], dist_b, dist_a)):
                sel = (dist == d) & (other >= 16)  # near an edge in this crop, well inside a tile in the other
                at_edge[d].append(here[common][sel])
                at_centre[d].append(there[common][sel])
    alignment = {
        str(d): {
            "at_tile_edge": _psnr(np.concatenate(at_edge[d])),
            "same_pixels_off_edge": _psnr(np.concatenate(at_centre[d])),
        }
        for d in range(4)
    }

    # Repetition: R covers, one secret, the revealed images averaged.
    rep = {r: [] for r in (1, 2, 3, 4)}
    for path in paths:
        img = eval_tile(load_image(path), 64)
        outs = [covers.hide_reveal(steg, img) for _ in range(4)]
        for r in rep:
            rep[r].append(_psnr((u8(np.mean(outs[:r], 0)) - u8(img)) ** 2))

    result = {
        "command": f"python scripts/layout_study.py --model {a.model} --images {a.images}"
        + ("" if a.out == p.get_default("out") else f" --out {os.path.relpath(a.out, HERE)}"),
        "secrets": len(paths),
        "tile_64": {
            "border_4px_psnr": _psnr(err64[border]),
            "interior_psnr": _psnr(err64[~border]),
            "by_4px_band_psnr": by_band,
        },
        "tiles_2x2_128": {
            "seam_band_4px_psnr": _psnr(np.array(band)),
            "rest_psnr": _psnr(np.array(rest)),
            "worst_blocks_touching_a_seam": worst_on_seam / (4 * len(paths)),
            "worst_blocks_touching_a_seam_by_chance": 1 - (6 / 8) ** 2,
            "seam_jump_error_over_interior_jump_error": float(np.mean(jump_seam) / np.mean(jump_inner)),
        },
        "repetition_psnr": {str(r): float(np.mean(v)) for r, v in rep.items()},
        "edge_profile_psnr": {"tile_64": profile_64, "tiles_2x2_128": profile_128},
        "alignment_128": alignment,
        "deblocking_128": {"none": base, "best": best, "grid": grid},
    }
    atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
