"""How audible is a modification shaped by the cover, before any training?

White noise, low-passed at 6.5 kHz like the model's modification, is shaped by
``ditas_tf.masking`` with several exponents and added at a fixed SNR to the
run of subsequences that ``ditas hide`` would use (no key, 5 consecutive slots of 4096 samples),
then written as 16-bit PCM; span SNR and span PESQ-WB are measured with
``ditas_tf.span``. Each row also gives ``masking.cover_limited_bits``: how much of the
modification stands above the cover bin by bin (bits per bin), a rough measure of what a
revealer could read there. Writes JSON.

    python scripts/mask_calibration.py --clips 8 --out docs/results/mask_calibration.json
    python scripts/mask_calibration.py --clips 8 --blocks 10 --exponents 0.25,0.375,0.5,0.625,0.75,1 \
      --spread 1x1,5x1,9x1,1x3,9x3 --snrs 10,14,18,22,26,30 --out docs/results/mask_frontier.json

``--spread FxT`` smooths the cover's power over F bins and T frames before the exponent
(``masking.mask_gain``'s ``spread_bins`` / ``spread_frames``), a crude spreading of masking.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import numpy as np

from ditas_tf.audio import load_mono, pcm16_roundtrip
from ditas_tf.masking import cover_limited_bits, lowpass, masked_modification
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
    p.add_argument("--blocks", type=int, default=5, help="subsequences of 4096 samples in the run")
    p.add_argument(
        "--spread", default="1x1", help="comma-separated FxT: smooth the cover's power over F bins, T frames"
    )
    p.add_argument("--out", default="")
    a = p.parse_args()
    paths = sorted(glob.glob(os.path.join(a.data, "audio", "LJSpeech-1.1", "wavs", "LJ002-*.wav")))[: a.clips]
    rng = np.random.default_rng(0)
    covers = []
    for path in paths:
        x = load_mono(path, 16000)
        first = int(runs(x, BLOCK, a.blocks, -45.0, None)[0])
        slots = list(range(first, first + a.blocks))
        covers.append((x, slots, np.stack([x[k * BLOCK : (k + 1) * BLOCK] for k in slots]).astype(np.float64)))
    rows = []
    for spread in a.spread.split(","):
        fb, ft = (int(v) for v in spread.lower().split("x"))
        for e in (float(v) for v in a.exponents.split(",")):
            for s in (float(v) for v in a.snrs.split(",")):
                snr, pq, bits = [], [], []
                for x, slots, cover in covers:
                    delta = lowpass(rng.standard_normal(cover.shape), 6500.0, 16000)
                    m = masked_modification(delta, cover, e, s, spread_bins=fb, spread_frames=ft)
                    y = x.astype(np.float64).copy()
                    for j, k in enumerate(slots):
                        y[k * BLOCK : (k + 1) * BLOCK] += m[j]
                    r = span_metrics(pcm16_roundtrip(x), pcm16_roundtrip(y))
                    snr.append(r["span_snr_db"])
                    pq.append(r["span_pesq_wb"])
                    bits.append(cover_limited_bits(cover, m))
                row = {"exponent": e, "target_snr_db": s}
                if spread != "1x1":
                    row.update(spread_bins=fb, spread_frames=ft)
                row.update(
                    span_snr_db=float(np.mean(snr)),
                    span_pesq_wb=float(np.nanmean(pq)),
                    cover_limited_bits=float(np.mean(bits)),
                )
                rows.append(row)
                print(json.dumps(rows[-1]), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(
                {
                    "command": "python scripts/mask_calibration.py " + " ".join(sys.argv[1:]),
                    "blocks": a.blocks,
                    "clips": [os.path.basename(q) for q in paths],
                    "rows": rows,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
