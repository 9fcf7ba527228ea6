"""How audible is a modification shaped by the cover, before any training?

White noise, low-passed at 6.5 kHz like the model's modification, is shaped by
``ditas_tf.masking`` with several exponents and added at a fixed SNR to the
run of subsequences that ``ditas hide`` would use (no key, 5 consecutive slots of 4096 samples),
then written as 16-bit PCM; span SNR and span PESQ-WB are measured with
``ditas_tf.span``. Writes JSON (docs/results/mask_calibration.json).

    python scripts/mask_calibration.py --clips 8 --out docs/results/mask_calibration.json
"""

from __future__ import annotations

import argparse
import glob
import json
import os

import numpy as np

from ditas_tf.audio import load_mono, pcm16_roundtrip
from ditas_tf.masking import lowpass, masked_modification
from ditas_tf.span import span_metrics
from ditas_tf.sync import runs

BLOCK = 4096


def main() -> None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("DITAS_DATA", os.path.join(here, "..", "shared", "data")))
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--exponents", default="0,0.5,1.0")
    p.add_argument("--snrs", default="18,22,26,30")
    p.add_argument("--out", default="")
    a = p.parse_args()
    paths = sorted(glob.glob(os.path.join(a.data, "audio", "LJSpeech-1.1", "wavs", "LJ002-*.wav")))[: a.clips]
    rng = np.random.default_rng(0)
    rows = []
    for e in (float(v) for v in a.exponents.split(",")):
        for s in (float(v) for v in a.snrs.split(",")):
            snr, pq = [], []
            for path in paths:
                x = load_mono(path, 16000)
                first = int(runs(x, BLOCK, 5, -45.0, None)[0])
                slots = list(range(first, first + 5))
                cover = np.stack([x[k * BLOCK : (k + 1) * BLOCK] for k in slots]).astype(np.float64)
                delta = lowpass(rng.standard_normal(cover.shape), 6500.0, 16000)
                m = masked_modification(delta, cover, e, s)
                y = x.astype(np.float64).copy()
                for j, k in enumerate(slots):
                    y[k * BLOCK : (k + 1) * BLOCK] += m[j]
                r = span_metrics(pcm16_roundtrip(x), pcm16_roundtrip(y))
                snr.append(r["span_snr_db"])
                pq.append(r["span_pesq_wb"])
            rows.append(
                {
                    "exponent": e,
                    "target_snr_db": s,
                    "span_snr_db": float(np.mean(snr)),
                    "span_pesq_wb": float(np.nanmean(pq)),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(
                {
                    "command": "python scripts/mask_calibration.py",
                    "clips": [os.path.basename(q) for q in paths],
                    "rows": rows,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
