"""Which mask shape hides from a detector? Shaped noise, no network (docs/hiding_output.md).

    python scripts/mask_detectability.py [--snrs 16,19,22.5,26,30] [--out docs/results/experiments/mask_detectability.json]

docs/STEGANALYSIS.md's linear detector finds the shipped model's containers (AUC 0.999) by the
time variation of each band's log energy: a modification shaped by ``|C| ** 0.5`` fills the gaps
between the speech's bursts. This asks, before any training, which shape of noise a detector finds
least, and what each leaves a revealer to read, at each level. Each mask shapes white Gaussian
noise (:func:`ditas_tf.masking.masked_modification`, mode ``gain``, in the shipped model's band:
the STFT bins from 150 Hz to 6 kHz) each of ``--snrs`` dB under every 4096-sample block of the
run of 10 blocks ``ditas hide`` would use in each clip; the container is rounded to 16 bits. Train: LJ001 clips; test: LJ002 clips and the TIMIT sample (as scripts/steganalysis.py).
Per mask: the linear detector's AUC (scripts/steganalysis.py's band statistics and logistic
regression) and its most telling statistic, the bits per bin a cover-blind revealer could read
(:func:`ditas_tf.masking.cover_limited_bits`) and span PESQ-WB on the first 24 test runs.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
from shared_data import DATA, HERE
from steganalysis import auc, band_features, log_spectrogram, telling_features, train_and_score

from ditas_tf import data as data_lib
from ditas_tf import masking, sync
from ditas_tf.audio import load_mono, pcm16_roundtrip
from ditas_tf.fileio import atomic_write_text
from ditas_tf.span import pesq_wb

BLOCK, STAGES = 4096, 10
BAND = {"low_bin": 3, "high_bin": 96}  # 150 Hz (model.highpass_hz) to 6 kHz (the cells' 96 bins)
# name -> masking.masked_modification keywords (mode "gain" on white noise).
MASKS = {
    "|C|^0.5 (the shipped mask's shape)": {"exponent": 0.5},
    "|C|^0.75": {"exponent": 0.75},
    "|C|^1 (follows the cover)": {"exponent": 1.0},
    "|C|^0.5 x band envelope^0.5 (9 bins)": {"exponent": 0.5, "envelope_exponent": 0.5, "envelope_bins": 9},
    "|C|^0.5 x band envelope^0.5 (33 bins)": {"exponent": 0.5, "envelope_exponent": 0.5, "envelope_bins": 33},
    "|C|^0.25 x band envelope^0.75 (9 bins)": {"exponent": 0.25, "envelope_exponent": 0.75, "envelope_bins": 9},
}
PESQ_RUNS = 24


def runs_of(files: list, count: int) -> np.ndarray:
    """The first run of STAGES eligible blocks of each clip (16 kHz), as ``ditas hide`` picks it."""
    out = []
    for f in files:
        x = load_mono(f, 16000).astype(np.float64)
        found = sync.runs(x, BLOCK, STAGES, -45.0, None)
        if len(found):
            s = int(found[0]) * BLOCK
            out.append(x[s : s + STAGES * BLOCK])
        if len(out) == count:
            break
    return np.stack(out)


def containers(covers: np.ndarray, mask: dict, snr_db: float, seed: int) -> np.ndarray:
    """Each run plus white noise shaped by ``mask``, ``snr_db`` under every block, in 16-bit PCM."""
    blocks = covers.reshape(len(covers), STAGES, BLOCK)
    noise = np.random.default_rng(seed).standard_normal(blocks.shape)
    m = masking.masked_modification(noise, blocks, snr_db=snr_db, **mask, **BAND).reshape(covers.shape)
    return pcm16_roundtrip((covers + m).astype(np.float32)).astype(np.float64)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--snrs", default="16,19,22.5,26,30")
    p.add_argument("--train-runs", type=int, default=240)
    p.add_argument("--out", default=os.path.join(HERE, "docs", "results", "experiments", "mask_detectability.json"))
    a = p.parse_args()
    lj = os.path.join(DATA, "audio", "LJSpeech-1.1")
    train = runs_of(data_lib.list_audio([lj], ["LJ001"]), a.train_runs)
    test = runs_of(data_lib.list_audio([lj], ["LJ002"]), 99)
    test = np.concatenate([test, runs_of([os.path.join(DATA, "audio", "timit", "LDC93S1.wav")], 1)])
    train = pcm16_roundtrip(train.astype(np.float32)).astype(np.float64)
    test = pcm16_roundtrip(test.astype(np.float32)).astype(np.float64)
    snrs = [float(v) for v in a.snrs.split(",") if v]
    result = {
        "command": f"python scripts/mask_detectability.py --snrs {a.snrs} --train-runs {a.train_runs}",
        "band": "STFT bins 3-95 (150 Hz - 6 kHz), as the shipped model's modification",
        "train_runs": len(train),
        "test_runs": len(test),
        "masks": {name: {"mask": mask, "levels": {}} for name, mask in MASKS.items()},
    }
    for i, (name, mask) in enumerate(MASKS.items()):
        for snr in snrs:
            row = measure(train, test, mask, snr, 2 * i)
            result["masks"][name]["levels"][f"{snr:g}"] = row
            top = row["telling_features"][0]
            print(
                f"{name} at {snr:g} dB: AUC {row['linear_auc']:.3f}, {row['bits_per_bin']:.3f} bits/bin, "
                f"PESQ-WB {row['span_pesq_wb']:.2f}; {top['feature']} (d {top['cohens_d']})",
                flush=True,
            )
    atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")


def measure(train: np.ndarray, test: np.ndarray, mask: dict, snr: float, seed: int) -> dict:
    """The detector's AUC, bits per bin and span PESQ-WB of ``mask`` at ``snr`` dB."""
    y_train = np.r_[np.zeros(len(train)), np.ones(len(train))]
    y_test = np.r_[np.zeros(len(test)), np.ones(len(test))]
    tr, te = containers(train, mask, snr, seed), containers(test, mask, snr, seed + 1)
    f_train = band_features(log_spectrogram(np.concatenate([train, tr])))
    f_test = band_features(log_spectrogram(np.concatenate([test, te])))
    scores = train_and_score("linear", f_train, y_train, f_test)
    blocks = (test.reshape(-1, BLOCK), (te - test).reshape(-1, BLOCK))
    return {
        "linear_auc": round(auc(scores, y_test), 4),
        "telling_features": telling_features(f_test, y_test, 3),
        "bits_per_bin": masking.cover_limited_bits(*blocks),
        "span_pesq_wb": float(np.nanmean([pesq_wb(c, x) for c, x in zip(test[:PESQ_RUNS], te[:PESQ_RUNS])])),
    }


if __name__ == "__main__":
    main()
