"""Render docs/RESULTS.md from the metrics.json of scripts/eval_shipped.sh.

python scripts/results_md.py docs/results/shipped/metrics.json > docs/RESULTS.md
"""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    path = sys.argv[1]
    rep = json.load(open(path))
    out = []
    w = out.append
    w("# Results of the shipped models\n")
    w(
        "Produced by `scripts/eval_shipped.sh` (which runs `ditas eval` and this renderer); raw numbers in "
        "`docs/results/shipped/metrics.json`, figures next to it.\n"
    )
    p = rep["protocol"]
    w(f"* Secrets: {', '.join(f'{k} ({v})' for k, v in p['image_sets'].items())}; {p['image_protocol']}.")
    w(f"* Covers: {', '.join(f'{k} ({v} clips)' for k, v in p['audio_sets'].items())}; {p['pairing']}.")
    w(f"* 16-bit WAV write and read before revealing: {p['wav_roundtrip_16bit']}. {p['audio_metrics']}.")
    w(
        "* The VOC samples were part of the training images for the first 1,400 steps of the default "
        "model and the first 800 of the quiet model (before the training set was reduced to BSDS200 and "
        "T91): the voc rows are not fully held out.\n"
    )
    for name, m in rep["models"].items():
        steps = _steps(name)
        w(f"## `{name}` (target SNR {m['config']['target_snr_db']} dB{steps})\n")
        w("| secrets x covers | n | container MSE | SNR (dB) | PESQ | PSNR (dB) | SSIM | MS-SSIM |")
        w("|---|---|---|---|---|---|---|---|")
        for g, x in m["groups"].items():
            x = x["mean"]
            w(
                f"| {g} | {x['count']} | {x['container_mse']:.3E} | {x['snr_db']:.2f} | {x['pesq']:.3f} | "
                f"{x['psnr']:.2f} | {x['ssim']:.4f} | {x['ms_ssim']:.4f} |"
            )
        o = m["overall"]
        means = {
            k: sum(g["mean"][k] for g in m["groups"].values()) / len(m["groups"]) for k in ("snr_db", "psnr", "pesq")
        }
        w(
            f"| **all pairs** | {o['count']} | {o['container_mse']:.3E} | {o['snr_db']:.2f} | {o['pesq']:.3f} | "
            f"{o['psnr']:.2f} | {o['ssim']:.4f} | {o['ms_ssim']:.4f} |"
        )
        w(
            f"\nMean over the test sets (each set x cover group weighted equally): PSNR {means['psnr']:.2f} dB, "
            f"SNR {means['snr_db']:.2f} dB, PESQ {means['pesq']:.3f}.\n"
        )
        ps = o["per_stage"]
        w(
            "PSNR by number of stages revealed: "
            + ", ".join(f"C{i + 1} {ps[f'C{i + 1}']['psnr']:.2f}" for i in range(len(ps)))
            + " dB.\n"
        )
        lost = o.get("lost_subsequence_psnr")
        if lost:
            w(
                "Revealed PSNR with subsequence j lost (zeroed / replaced by the cover): "
                + ", ".join(
                    f"S{j} {v['zeroed']:.2f} / {v['cover']:.2f}" for j, v in ((k[1:], v) for k, v in lost.items())
                )
                + " dB.\n"
            )
    w(
        "Floors of the hide/reveal issue: default PSNR >= 30 dB at SNR >= 8 dB; quiet SNR >= 20 dB. "
        "See the closing note of the session for whether they are met; the models keep training from "
        "`checkpoints/` in later sessions (`scripts/train_default.sh`).\n"
    )
    print("\n".join(out))


def _steps(name: str) -> str:
    v = os.path.join(HERE, "checkpoints", name, "validation.jsonl")
    if not os.path.isfile(v):
        return ""
    lines = open(v).read().splitlines()
    return f", {json.loads(lines[-1])['step']} training steps" if lines else ""


if __name__ == "__main__":
    main()
