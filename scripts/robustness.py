"""The channel suite on the shipped models: revealed PSNR / SSIM and failures per channel.

    python scripts/robustness.py --model default --model checkpoints/default \
        --out docs/results/robustness.json --md docs/ROBUSTNESS.md

Each channel of ditas_tf.channels is applied to the 16-bit container file
between ``ditas hide`` and ``ditas reveal`` (library: ditas_tf.evaluate with
``channels=``), on test secrets (set14, live1) hidden in LJ002 clips and the
TIMIT sample. A failure is a pair whose reveal refused the file (no pilot
found). Numbers go to JSON; the Markdown is rendered from that JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile

from ditas_tf.evaluate import evaluate
from ditas_tf.fileio import atomic_write_text

TITLE = "Robustness: what files go through"
SUITE = [
    None,
    "pcm8",
    "resample:44100",
    "resample:8000",
    "gain:-20",
    "gain:-6",
    "gain:6",
    "noise:40",
    "noise:30",
    "noise:20",
    "babble:20",
    "lowpass:5000",
    "highpass:50",
    "highpass:100",
    "highpass:200",
    "mp3:128",
    "mp3:64",
    "aac:128",
    "opus:64",
    "pad_start:0.31",
    "pad_end:1",
    "cut_start:100",
    "cut_end:100",
    "stereo",
    "mono",
]


def main() -> None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = os.environ.get("DITAS_DATA", os.path.join(here, "..", "shared", "data"))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", required=True)
    p.add_argument("--images-per-set", type=int, default=6)
    p.add_argument("--channels", default="", help="comma-separated subset of the suite (default: all)")
    p.add_argument("--out", required=True)
    p.add_argument("--md", default="")
    p.add_argument("--title", default=TITLE)
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    images = [os.path.join(data, "images", "test", s) for s in ("set14", "live1")]
    result = {
        "command": "python scripts/robustness.py "
        + " ".join(f"--model {m}" for m in a.model)
        + f" --images-per-set {a.images_per_set}"
        + (f" --channels {a.channels}" if a.channels else "")
        + (f' --title "{a.title}"' if a.title != TITLE else ""),
        "protocol": {},
        "models": {},
        "title": a.title,
        "out": a.out,
        "md": a.md,
    }
    suite = [None] + [c for c in a.channels.split(",") if c] if a.channels else SUITE
    for model in a.model:
        rows = {}
        for ch in suite:
            with tempfile.TemporaryDirectory() as tmp:
                rep = evaluate(
                    [model],
                    images,
                    [os.path.join(data, "audio", "LJSpeech-1.1"), os.path.join(data, "audio", "timit")],
                    tmp,
                    audio_select=["LJ002"],
                    max_images=a.images_per_set,
                    progress=False,
                    channels=(ch,) if ch else (),
                    figures=False,
                )
            ((_, m),) = rep["models"].items()
            pairs = [r for g in m["groups"].values() for r in g["images"]]
            rows[ch or "none"] = {
                "psnr": m["overall"]["psnr"],
                "ssim": m["overall"]["ssim"],
                "span_pesq_wb": m["overall"].get("span_pesq_wb"),
                "pairs": len(pairs) + len(m["skipped"]),
                "failures": len(m["skipped"]),
                "failure_reasons": sorted({s["reason"][:80] for s in m["skipped"]}),
            }
            result["protocol"] = rep["protocol"] | {"channels": "one per row, see ditas_tf/channels.py"}
            print(model, ch, json.dumps(rows[ch or "none"]), flush=True)
        base = rows["none"]["psnr"]
        for r in rows.values():
            r["loss_db"] = base - r["psnr"] if r["psnr"] == r["psnr"] else None
        result["models"][model] = rows  # as given: a shipped name or a run folder path
    atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")
    if a.md:
        atomic_write_text(a.md, render(result))


def render(result: dict) -> str:
    """docs/ROBUSTNESS.md from the JSON this script writes."""
    out_json = result.get("out", "docs/results/robustness.json")
    md = result.get("md", "docs/ROBUSTNESS.md")
    out = [
        f"# {result.get('title', 'Robustness: what files go through')}\n",
        f"Written by `{result['command']} --out {out_json} --md {md}` "
        f"(numbers in {out_json}). Each container is hidden without a key, written as a "
        "16-bit WAV, read back, passed through one channel of `ditas_tf/channels.py` (real ffmpeg for the "
        "codecs, soxr for resampling), then revealed by the receiver's own synchronisation; nothing is "
        "re-aligned by hand. Secrets: the first images of set14 and live1; covers: LJ002 clips and the "
        "TIMIT sample. PSNR on uint8, mean over the pairs that revealed; a failure is a reveal that found "
        "no hidden image.\n",
    ]
    for name, rows in result["models"].items():
        out.append(f"## `{name}`\n")
        if rows["none"].get("span_pesq_wb") is not None:
            out.append(f"Span PESQ-WB of its containers (no channel): {rows['none']['span_pesq_wb']:.2f}.\n")
        out.append("| channel | PSNR (dB) | loss (dB) | SSIM | failures |")
        out.append("|---|---|---|---|---|")
        for ch, r in rows.items():
            loss = "" if r["loss_db"] is None else f"{r['loss_db']:.2f}"
            out.append(f"| {ch} | {r['psnr']:.2f} | {loss} | {r['ssim']:.4f} | {r['failures']} of {r['pairs']} |")
        out.append("")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
