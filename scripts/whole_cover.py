"""Revealed PSNR and span audibility against the seconds of cover a tile uses (docs/whole_cover.md).

    python scripts/whole_cover.py [--model default] [--stages 3,4,5,6,7,8,9,10] [--max-images 8]
    python scripts/whole_cover.py --copies 1,2,3,4,6,8 [--model default] [--max-images 8]

For each stage count k the model hides every test pair with ``--stages k`` (k blocks of
w*h samples per tile: k * 0.256 s at 16 kHz) and one copy, writes a real 16-bit WAV, and
reveals from the file. A cover too short for k is skipped by ``ditas eval``; the means here
are taken over the pairs that every k could use, so each point sees the same images and covers.

With ``--copies``, the same for each copy count c with as many stages as the cover has room
for (``ditas hide --copies c``): past the model's t stages, copies are how a longer cover is
used. The test clips are too short for several copies of 2.56 s, so each cover is five
consecutive LJ002 clips joined (about 30 s of one reader). This run only replaces the
``copies`` part of the JSON.

Writes docs/results/whole_cover.json (with the exact commands), docs/results/whole_cover.png and
docs/whole_cover.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(HERE, "scripts"))

from shared_data import DATA  # noqa: E402

from ditas_tf.evaluate import evaluate  # noqa: E402
from ditas_tf.fileio import atomic_write_text  # noqa: E402

KEYS = ("psnr", "ssim", "worst_block_psnr", "span_snr_db", "span_pesq_wb", "file_pesq_wb")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="default")
    p.add_argument("--stages", default="3,4,5,6,7,8,9,10")
    p.add_argument("--copies", default=None, help="copy counts to sweep on joined covers (replaces that part)")
    p.add_argument("--max-images", type=int, default=8)
    p.add_argument("--out", default=os.path.join(HERE, "docs", "results", "whole_cover.json"))
    p.add_argument("--render-only", action="store_true", help="re-render the Markdown and figure from --out")
    a = p.parse_args()
    if a.render_only:
        result = json.load(open(a.out))
        result["room"] = _room(result["model"])
        atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")
        _figure(result["points"], os.path.splitext(a.out)[0] + ".png", (result.get("copies") or {}).get("points"))
        atomic_write_text(os.path.join(HERE, "docs", "whole_cover.md"), _markdown(result))
        return
    logging.basicConfig(level=logging.WARNING)
    if a.copies:
        result = json.load(open(a.out))
        result["copies"] = _copies(a)
        atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")
        _figure(result["points"], os.path.splitext(a.out)[0] + ".png", result["copies"]["points"])
        atomic_write_text(os.path.join(HERE, "docs", "whole_cover.md"), _markdown(result))
        for pt in result["copies"]["points"]:
            print(
                f"copies={pt['copies']} {pt['cover_seconds']:.2f} s: PSNR {pt['psnr']:.2f} dB, "
                f"span PESQ-WB {pt['span_pesq_wb']:.2f}, span SNR {pt['span_snr_db']:.2f} dB"
            )
        return
    ks = [int(v) for v in a.stages.split(",") if v]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in ks:
            rep = evaluate(
                [a.model],
                [os.path.join(DATA, "images", "test", s) for s in ("set14", "live1")],
                [os.path.join(DATA, "audio", "LJSpeech-1.1"), os.path.join(DATA, "audio", "timit")],
                os.path.join(tmp, str(k)),
                stages=k,
                audio_select=["LJ002"],
                max_images=a.max_images,
                progress=False,
                figures=False,
                copies=1,
            )
            (m,) = rep["models"].values()
            rows[k] = {(r["image"], r["cover"]): r for g in m["groups"].values() for r in g["images"]}
    common = set.intersection(*(set(r) for r in rows.values()))
    if not common:
        sys.exit("whole_cover: no pair could be hidden at every stage count")
    points = []
    for k in ks:
        sel = [rows[k][pair] for pair in sorted(common)]
        point = {"stages": k, "cover_seconds": k * 4096 / 16000, "pairs": len(sel)}
        point.update({key: float(np.nanmean([r[key] for r in sel])) for key in KEYS})
        points.append(point)
    result = {
        "command": f"python scripts/whole_cover.py --model {a.model} --stages {a.stages} --max-images {a.max_images}",
        "model": a.model,
        "pairs_per_point": len(common),
        "pairs_skipped_by_some_k": len(set.union(*(set(r) for r in rows.values()))) - len(common),
        "points": points,
    }
    result["room"] = _room(a.model)
    if os.path.isfile(a.out):  # the copies sweep is its own run: keep it
        result["copies"] = json.load(open(a.out)).get("copies")
    atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")
    _figure(points, os.path.splitext(a.out)[0] + ".png", (result.get("copies") or {}).get("points"))
    atomic_write_text(os.path.join(HERE, "docs", "whole_cover.md"), _markdown(result))
    for pt in points:
        print(
            f"k={pt['stages']:2d} {pt['cover_seconds']:.2f} s: PSNR {pt['psnr']:.2f} dB, "
            f"span PESQ-WB {pt['span_pesq_wb']:.2f}, span SNR {pt['span_snr_db']:.2f} dB"
        )


JOINED_CLIPS = 5


def _copies(a) -> dict:
    """The copies sweep: every pair hidden with ``--copies c`` in covers of JOINED_CLIPS LJ002 clips."""
    from ditas_tf import data as data_lib
    from ditas_tf.audio import read_audio, write_audio

    cs = [int(v) for v in a.copies.split(",") if v]
    images = [os.path.join(DATA, "images", "test", s) for s in ("set14", "live1")]
    clips = data_lib.list_audio([os.path.join(DATA, "audio", "LJSpeech-1.1")], ["LJ002"])
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        covers = os.path.join(tmp, "covers")
        os.makedirs(covers)
        for i in range(a.max_images):  # image i of each set goes in cover i
            parts = [read_audio(f) for f in clips[JOINED_CLIPS * i : JOINED_CLIPS * (i + 1)]]
            write_audio(os.path.join(covers, f"joined_{i:02d}.wav"), np.concatenate([p[0] for p in parts]), parts[0][1])
        for c in cs:
            rep = evaluate(
                [a.model], images, [covers], os.path.join(tmp, str(c)), max_images=a.max_images,
                progress=False, figures=False, copies=c,
            )  # fmt: skip
            (m,) = rep["models"].values()
            rows[c] = {(r["image"], r["cover"]): r for g in m["groups"].values() for r in g["images"]}
        seconds = [len(read_audio(os.path.join(covers, f))[0]) for f in sorted(os.listdir(covers))]
    common = set.intersection(*(set(r) for r in rows.values()))
    if not common:
        sys.exit("whole_cover: no pair could be hidden with every copy count")
    points = []
    for c in cs:
        sel = [rows[c][pair] for pair in sorted(common)]
        point = {"copies": c, "pairs": len(sel)}
        point.update({key: float(np.nanmean([r[key] for r in sel])) for key in KEYS + ("hidden_stages",)})
        point["cover_seconds"] = float(np.mean([r["cover_seconds_used"] for r in sel]))
        points.append(point)
    return {
        "command": f"python scripts/whole_cover.py --copies {a.copies} --model {a.model} --max-images {a.max_images}",
        "covers": f"{a.max_images} covers of {JOINED_CLIPS} consecutive LJ002 clips joined "
        f"({min(seconds) / 22050:.1f}-{max(seconds) / 22050:.1f} s)",
        "pairs_per_point": len(common),
        "points": points,
    }


def _room(model: str) -> dict:
    """How many stages one 64x64 tile gets in each test cover (what ``ditas hide`` would choose)."""
    from ditas_tf import data as data_lib
    from ditas_tf.audio import load_mono
    from ditas_tf.config import read_config
    from ditas_tf.errors import InputError
    from ditas_tf.stego import MIN_AUTO_STAGES, Steganographer, resolve_model_dir

    cfg = read_config(os.path.join(resolve_model_dir(model), "config.yaml"))
    steg = Steganographer(cfg)
    out = {}
    for name, sel in (("LJ002", ["LJ002"]), ("timit", None)):
        sub = "LJSpeech-1.1" if name == "LJ002" else "timit"
        counts = {}
        for f in data_lib.list_audio([os.path.join(DATA, "audio", sub)], sel):
            mid16 = load_mono(f, steg.rate)
            try:
                k, _ = steg.choose_stages(mid16, 1, None, None)
            except InputError:  # too short even for MIN_AUTO_STAGES
                k = 0
            counts[k] = counts.get(k, 0) + 1
        out[name] = {str(k): v for k, v in sorted(counts.items())}
    out["max_auto_stages"] = cfg.model.hide_stages or cfg.model.stages
    out["min_auto_stages"] = min(out["max_auto_stages"], MIN_AUTO_STAGES)
    out["model_stages"] = cfg.model.stages
    return out


def cap_reason(r: dict) -> str:
    """Why hide stops where it does: the package's cap (model.hide_stages), or every stage."""
    if r["room"]["max_auto_stages"] < r["room"]["model_stages"]:
        return "`model.hide_stages`: past it the span's PESQ-WB falls under 3.5 in the table below"
    pts = r["points"]
    if max(p["span_pesq_wb"] for p in pts) == pts[-1]["span_pesq_wb"]:
        return "every stage: in the table below the span's PESQ-WB is highest with the most stages"
    return "every stage"


def _markdown(r: dict) -> str:
    pts = r["points"]
    lines = [
        "# The whole cover: more stages for a longer cover\n",
        f"Produced by `{r['command']}` (`scripts/whole_cover.py`); raw numbers in `docs/results/whole_cover.json`.\n",
        "A tile of the secret image takes k consecutive cover subsequences of 4096 samples, one per stage: "
        "k x 0.256 s of speech at 16 kHz. `ditas hide` gives every tile the most stages the cover has room "
        f"for, from {r['room']['min_auto_stages']} up to {r['room']['max_auto_stages']} of the model's "
        f"t = {r['room']['model_stages']} ({cap_reason(r)}; `--stages K` asks for any K), puts each tile "
        "where it is least audible (docs/placement.md), and says "
        "what it chose; the tile's pilot is keyed with the run's length, so `ditas reveal` learns k from the "
        "file and needs no flag. Stage i of DITAS depends only on stages 1..i, so a k-stage container is the "
        "t-stage model's C_k, and each stage hides the residual the stages before it left.\n",
        "Each point hides the same pairs (set14 and live1 secrets at 64x64, LJ002 and TIMIT covers; "
        f"{r['pairs_per_point']} pairs that every k could use) with `--stages k`, writes a real 16-bit WAV "
        "and reveals from it. Span figures are taken over the k blocks the tile used.\n",
        "| stages k | cover used per tile (s) | revealed PSNR (dB) | SSIM | worst 16x16 block (dB) | "
        "span SNR (dB) | span PESQ-WB | file PESQ-WB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in pts:
        lines.append(
            f"| {p['stages']} | {p['cover_seconds']:.2f} | {p['psnr']:.2f} | {p['ssim']:.3f} | "
            f"{p['worst_block_psnr']:.2f} | {p['span_snr_db']:.2f} | {p['span_pesq_wb']:.2f} | "
            f"{p['file_pesq_wb']:.2f} |"
        )
    cp = r.get("copies")
    if cp:
        lines += [
            "",
            "## Copies: the rest of a long cover\n",
            f"Produced by `{cp['command']}`.\n",
            "Past the model's t stages a tile cannot use more cover, so `ditas hide` gives a cover with room "
            "to spare *copies* of the image: every tile again, in runs of its own, with pilots of their own "
            "(`ditas_tf/sync.py`). The receiver finds the copies without a flag and averages them "
            "(`ditas_tf.stego.average_copies`). Each point hides the same pairs (set14 and live1 secrets at "
            f"64x64) with `--copies c`, in {cp['covers']}: {cp['pairs_per_point']} pairs. Span figures are "
            "taken over the runs themselves, joined: the untouched speech between the copies is left out "
            "(`ditas_tf/span.py`).\n",
            "| copies | stages | cover used per 64x64 image (s) | revealed PSNR (dB) | SSIM | worst 16x16 block (dB) | "
            "span SNR (dB) | span PESQ-WB | file PESQ-WB |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for p in cp["points"]:
            lines.append(
                f"| {p['copies']} | {p['hidden_stages']:.1f} | {p['cover_seconds']:.2f} | {p['psnr']:.2f} | "
                f"{p['ssim']:.3f} | {p['worst_block_psnr']:.2f} | {p['span_snr_db']:.2f} | "
                f"{p['span_pesq_wb']:.2f} | {p['file_pesq_wb']:.2f} |"
            )
        from ditas_tf import sync
        from ditas_tf.stego import MAX_COPIES

        one = next((p for p in cp["points"] if p["copies"] == 1), None)
        cap = next((p for p in cp["points"] if p["copies"] == MAX_COPIES), None)
        if one and cap:
            more = [p for p in cp["points"] if p["copies"] > MAX_COPIES]
            beyond = ", ".join(f"{p['copies']} copies {p['psnr'] - cap['psnr']:+.2f} dB" for p in more)
            flattens = (
                f": {beyond} over {MAX_COPIES}. `ditas hide` stops at {MAX_COPIES} (`stego.MAX_COPIES`) on its "
                f"own; `--copies` asks for up to {sync.MAX_COPIES}, as many as a receiver looks for."
                if more
                else "."
            )
            lines += [
                "",
                f"* {MAX_COPIES} copies reveal {cap['psnr'] - one['psnr']:+.2f} dB over one "
                f"({one['psnr']:.2f} -> {cap['psnr']:.2f} dB) and lift the worst block by "
                f"{cap['worst_block_psnr'] - one['worst_block_psnr']:+.2f} dB, at the same span SNR; the span's "
                f"PESQ-WB moves by {cap['span_pesq_wb'] - one['span_pesq_wb']:+.2f} (`ditas hide` places every "
                "copy where its modification is least audible, in covers of up to 41 s: `stego.MAX_SCORED_SLOTS`).",
                "* The copies' errors are only partly independent (the same network hides the same image), so "
                "the gain flattens" + flattens,
            ]
    lines += ["", "![revealed PSNR and span PESQ-WB against the cover used](results/whole_cover.png)\n"]
    lines.append("How many stages one 64x64 tile gets in the test covers (what `ditas hide` chooses; 0: too short):\n")
    for name in ("LJ002", "timit"):
        counts = ", ".join(f"{k} stages: {v}" for k, v in r["room"][name].items())
        lines.append(f"* {name}: {counts}.")
    lines.append("")
    return "\n".join(lines)


def _figure(points, path, copies=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sec = [pt["cover_seconds"] for pt in points]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    ax[0].plot(sec, [pt["psnr"] for pt in points], "o-")
    ax[0].set(xlabel="cover used per 64x64 tile (s)", ylabel="revealed PSNR (dB)")
    ax[1].plot(sec, [pt["span_pesq_wb"] for pt in points], "o-", color="C1")
    if copies:  # a second line: copies on the joined covers, after the stages
        csec = [pt["cover_seconds"] for pt in copies]
        ax[0].plot(csec, [pt["psnr"] for pt in copies], "s--", color="C2", label="copies (joined covers)")
        ax[1].plot(csec, [pt["span_pesq_wb"] for pt in copies], "s--", color="C2", label="copies (joined covers)")
        ax[0].plot([], [], "o-", color="C0", label="stages (test covers)")
        ax[0].legend(fontsize=8)
    ax[1].set(xlabel="cover used per 64x64 tile (s)", ylabel="span PESQ-WB")
    for x in ax:
        x.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
