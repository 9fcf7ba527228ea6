"""Where hide puts a tile: the first stretch of cover that fits, or where it is least audible (docs/placement.md).

    python scripts/placement.py [--model default] [--stages 8,9,10] [--max-images 8]

``ditas hide`` scores every cover slot a run could use by the noise-to-mask
excess of the hiding network's modification there
(:meth:`ditas_tf.stego.Steganographer.place_runs`) and puts each tile where the
sum is least. This measures what that buys and costs against the first stretch
that fits (``--placement first``, the behaviour up to release 6), on the pairs
of the other comparisons: set14 and live1 secrets in LJ002 clips and the TIMIT
sample, 16-bit WAV round trip, span PESQ-WB, for each stage count k of
--stages and for hide's own choice of k. Writes docs/results/placement.json and
docs/placement.md.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
from shared_data import ARM_KEYS, HERE, evaluate_arms

from ditas_tf.fileio import atomic_write_text
from ditas_tf.stego import PLACEMENTS

# hide's placements (one list, ditas_tf.stego.PLACEMENTS), the first-fit baseline first in each table.
ROWS = tuple(sorted(PLACEMENTS, key=lambda p: p != "first"))
PROSE = [
    "What the tables say. The TIMIT sample is one 2.9 s clip, with few places for a run of 8 to 10 slots; "
    "LJ002 clips are 1.5 to 10 s long. The score is the noise-to-mask measure, not PESQ, and where the two "
    "disagree placement can cost PESQ-WB. On release 5's model, whose modification rose well above the "
    "mask in bins where the speech is weak, the score found much better places; the shipped model is trained "
    "with that measure as its hiding loss, so most places already score alike: placement moves the mean "
    "by less than a tenth of a point, for about a tenth of a decibel of PSNR, and lifts the least audible "
    "pairs most. It needs no training and works for any model; "
    "`--placement first` is there for whoever prefers the PSNR.",
]


def by_cover(model_report: dict, cover: str, key: str) -> float:
    """Mean of ``key`` over the pairs of the groups whose covers are ``cover``."""
    groups = [g for name, g in model_report["groups"].items() if name.endswith(cover)]
    n = sum(g["mean"]["count"] for g in groups)
    return sum(g["mean"][key] * g["mean"]["count"] for g in groups) / n


def _row(row: dict) -> str:
    p10 = f"{row['span_pesq_wb_p10']:.2f} | {row['span_pesq_wb_min']:.2f}" if "span_pesq_wb_p10" in row else "- | -"
    psnr_p10 = f"{row['psnr_p10']:.2f}" if "psnr_p10" in row else "-"
    return (
        f"| {row['stages']} | {row['placement']} | {row['pairs']} | {row['span_pesq_wb']:.2f} | "
        f"{row['span_pesq_wb_LJ002']:.2f} | {row['span_pesq_wb_timit']:.2f} | {p10} | {row['span_snr_db']:.2f} | "
        f"{row['psnr']:.2f} | {row['psnr_LJ002']:.2f} | {row['psnr_timit']:.2f} | {psnr_p10} | {row['ssim']:.3f} | "
        f"{row['worst_block_psnr']:.2f} |"
    )


def _table(result: dict) -> list:
    """The rows of one model, then what least-audible placement changed at each k."""
    lines = [
        "| stages k | placement | pairs | span PESQ-WB | LJ002 | TIMIT | 10th percentile | worst pair | span SNR (dB) "
        "| PSNR (dB) | LJ002 | TIMIT | 10th percentile | SSIM | worst 16x16 block (dB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *[_row(r) for r in result["rows"]],
        "",
    ]
    rows = {(r["stages"], r["placement"]): r for r in result["rows"]}
    for k in dict.fromkeys(r["stages"] for r in result["rows"]):
        first, least = rows.get((k, "first")), rows.get((k, "least-audible"))
        if not (first and least):
            continue
        what = "hide's own choice of k" if k == "auto" else f"k = {k}"
        tail = ""
        if "span_pesq_wb_min" in first:
            tail = (
                f"; the 10th percentile of span PESQ-WB by {least['span_pesq_wb_p10'] - first['span_pesq_wb_p10']:+.2f} "
                f"and the worst pair's by {least['span_pesq_wb_min'] - first['span_pesq_wb_min']:+.2f}"
            )
        lines.append(
            f"* {what}: least-audible placement moves span PESQ-WB by {least['span_pesq_wb'] - first['span_pesq_wb']:+.2f} "
            f"({least['span_pesq_wb_LJ002'] - first['span_pesq_wb_LJ002']:+.2f} in LJ002 clips, "
            f"{least['span_pesq_wb_timit'] - first['span_pesq_wb_timit']:+.2f} in the TIMIT sample) and revealed PSNR by "
            f"{least['psnr'] - first['psnr']:+.2f} dB ({least['psnr_LJ002'] - first['psnr_LJ002']:+.2f} / "
            f"{least['psnr_timit'] - first['psnr_timit']:+.2f}){tail}."
        )
    return lines


def render(result: dict, earlier: dict | None = None) -> str:
    """docs/placement.md from the JSON (and, when given, the release-5 measurement beside it)."""
    lines = [
        "# Where hide puts a tile: least audible, or first",
        "",
        f"Produced by `{result['command']}` (`scripts/placement.py`); raw numbers in `docs/results/placement.json`.",
        "",
        "`ditas hide` gives each tile a run of k consecutive cover slots of 4096 samples. Up to release 6 it took "
        "the first runs that fit. Now it scores every slot a run could use by how far the hiding network's "
        "modification there rises above the speech's own spectrum (the noise-to-mask excess, "
        "`ditas_tf.masking.nmr_excess_db`, 10 dB offset; the slots go through the hiding graph with the first "
        "tile as the secret) and takes the runs of least total score (`ditas_tf.sync.pick_runs`, exact). The "
        "receiver finds each run by its pilot wherever it is, so it needs no flag; `--placement first` keeps "
        "the old behaviour. Covers of more than "
        f"{result['max_scored_slots']} slots are placed in time order (the scoring would cost more than it buys "
        "in time).",
        "",
        "Each row hides the same pairs (8 set14 and 8 live1 secrets at 64x64 in LJ002 clips and in the TIMIT "
        "sample), writes a real 16-bit WAV and reveals from it. Span figures are over the run each tile used; "
        "'auto' is hide's own choice of k.",
        "",
        f"## The shipped model (`{result['model']}`)" if "model" in result else "## The shipped model",
        "",
        *_table(result),
    ]
    if earlier:
        lines += [
            "",
            "## Release 5's default, before the noise-to-mask loss (`docs/results/placement_r5.json`)",
            "",
            earlier.get("note", ""),
            "",
            *_table(earlier),
        ]
    lines += ["", *PROSE]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="default")
    p.add_argument("--stages", default="8,9,10", help="stage counts to force, besides hide's own choice")
    p.add_argument("--max-images", type=int, default=8)
    p.add_argument("--out", default=os.path.join(HERE, "docs", "results", "placement.json"))
    p.add_argument("--md", default=os.path.join(HERE, "docs", "placement.md"))
    p.add_argument("--render-only", action="store_true", help="re-render --md from --out")
    a = p.parse_args()
    md = a.md
    earlier_path = os.path.join(HERE, "docs", "results", "placement_r5.json")
    earlier = json.load(open(earlier_path)) if os.path.isfile(earlier_path) else None
    if a.render_only:
        with open(a.out) as f:
            atomic_write_text(md, render(json.load(f), earlier))
        return
    from ditas_tf.stego import MAX_SCORED_SLOTS

    result = {
        "command": f"python scripts/placement.py --model {a.model} --stages {a.stages} --max-images {a.max_images}",
        "model": a.model,
        "max_scored_slots": MAX_SCORED_SLOTS,
        "rows": [],
    }
    ks = [None] + [int(k) for k in a.stages.split(",") if k]
    for k in ks:
        for placement in ROWS:
            rep = evaluate_arms([a.model], a.max_images, stages=k, placement=placement)
            m = next(iter(rep["models"].values()))
            o = m["overall"]
            row = {"stages": "auto" if k is None else k, "placement": placement, "pairs": o["count"]}
            row |= {key: o[key] for key in ARM_KEYS}
            row["hidden_stages"] = o.get("hidden_stages")
            pairs = [r for g in m["groups"].values() for r in g["images"]]
            for key in ("span_pesq_wb", "psnr"):
                values = np.array([r[key] for r in pairs], np.float64)
                row[f"{key}_p10"], row[f"{key}_min"] = float(np.percentile(values, 10)), float(values.min())
            for cover in ("LJ002", "timit"):
                for key in ("span_pesq_wb", "psnr"):
                    row[f"{key}_{cover}"] = by_cover(m, cover, key)
            result["rows"].append(row)
            result["protocol"] = rep["protocol"] | {"placement": list(ROWS)}
            print(json.dumps(row))
    atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")
    atomic_write_text(md, render(result, earlier))


if __name__ == "__main__":
    main()
