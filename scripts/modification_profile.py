"""Where a model puts its modification, against the mask and against the cover (docs/hiding_output.md).

    python scripts/modification_profile.py [--model default] [--pairs 6] \
        [--out docs/results/experiments/modification_profile.json]

Hides set14 secrets in LJ002-00* clips with the model's own hide (no key, the
stages hide picks), takes each container's modification over its run, and
measures per 256-point STFT bin (bins 2-103, up to 6.5 kHz):

* the modification's magnitude over the mask ``|C| ** 0.5``, in dB relative to
  its RMS over the run, averaged in classes of the cover bin's level (dB under
  the block's RMS bin): how far the network moved its energy from the mask;
* :func:`ditas_tf.losses.nmr_excess_db` (offset 10 dB) of the container, beside
  the same for noise shaped by the mask at the same SNR (exponent 0.5) and for
  white noise at that SNR.
"""

from __future__ import annotations

import argparse
import glob
import json
import os

import numpy as np
from shared_data import DATA, HERE

from ditas_tf import masking
from ditas_tf.audio import load_mono
from ditas_tf.fileio import atomic_write_text
from ditas_tf.images import eval_tile, load_image
from ditas_tf.stego import Steganographer

CLASSES = ((-200, -40), (-40, -30), (-30, -20), (-20, -10), (-10, 0), (0, 40))


def _mag(x: np.ndarray, fwd: np.ndarray) -> np.ndarray:
    s = masking.frames(x, 256) @ fwd
    return np.sqrt(s[..., :129] ** 2 + s[..., 129:] ** 2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="default")
    p.add_argument("--pairs", type=int, default=6)
    p.add_argument("--out", default=os.path.join(HERE, "docs", "results", "experiments", "modification_profile.json"))
    a = p.parse_args()
    import tensorflow as tf

    from ditas_tf.losses import nmr_excess_db

    steg = Steganographer.load(a.model)
    snr = steg.cfg.model.target_snr_db
    images = sorted(glob.glob(os.path.join(DATA, "images", "test", "set14", "*")))[: a.pairs]
    clips = sorted(glob.glob(os.path.join(DATA, "audio", "LJSpeech-1.1", "wavs", "LJ002-00*.wav")))[: a.pairs]
    fwd, _ = masking.dft_matrices(256)
    rng = np.random.default_rng(0)
    boost, level, nmr = [], [], {"model": [], "shaped_noise": [], "white_noise": []}
    for img, clip in zip(images, clips):
        x = load_mono(clip, steg.rate).astype(np.float64)
        res = steg.hide_array(
            eval_tile(load_image(img), steg.tile), x, steg.rate, placement="first", copies=1
        )  # as measured
        s, k = int(res.starts[0]), res.stages
        cover = x[s : s + k * steg.block].reshape(k, steg.block)
        cont = res.container.reshape(-1)[s : s + k * steg.block].astype(np.float64).reshape(k, steg.block)
        mod = cont - cover
        ratio = _mag(mod, fwd) / masking.mask_gain(cover, 0.5)
        ratio /= np.sqrt(np.mean(ratio[..., :104] ** 2, axis=(-2, -1), keepdims=True))
        cm = _mag(cover, fwd)
        rel = cm / np.sqrt(np.mean(cm**2, axis=(-2, -1), keepdims=True))
        boost.append(20 * np.log10(ratio[..., 2:104] + 1e-9).ravel())
        level.append(20 * np.log10(rel[..., 2:104] + 1e-9).ravel())
        shaped = masking.masked_modification(
            masking.lowpass(rng.standard_normal(cover.shape), 6500.0, steg.rate), cover, 0.5, snr
        )
        white = masking.masked_modification(rng.standard_normal(cover.shape), cover, 0.0, snr)
        for name, c in (("model", cont), ("shaped_noise", cover + shaped), ("white_noise", cover + white)):
            v = nmr_excess_db(tf.constant(cover, tf.float32), tf.constant(c, tf.float32), 10.0)
            nmr[name].append(float(np.mean(v.numpy())))
    b, lv = np.concatenate(boost), np.concatenate(level)
    result = {
        "command": f"python scripts/modification_profile.py --model {a.model} --pairs {a.pairs}",
        "pairs": len(nmr["model"]),
        "target_snr_db": snr,
        "modification_over_mask_db_by_cover_level": {
            f"{lo}..{hi}": float(b[(lv >= lo) & (lv < hi)].mean()) for lo, hi in CLASSES
        },
        "nmr_excess_db": {k: float(np.mean(v)) for k, v in nmr.items()},
    }
    atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
