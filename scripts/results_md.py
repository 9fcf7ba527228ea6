"""Render docs/RESULTS.md (and the rate-distortion figure) from scripts/eval_shipped.sh's metrics.json.

python scripts/results_md.py docs/results/shipped/metrics.json --figure docs/results/shipped/rate_distortion.png
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("DITAS_DATA", os.path.join(HERE, "..", "shared", "data"))
FLOORS = {"default": {"span_pesq_wb": 3.5, "psnr": 32.0}}
# The paper's DITAS-M-ED on TIMIT (Table 1): container MSE and revealed PSNR.
PAPER_MSE, PAPER_PSNR = 9.85e-4, 38.39
EXPERIMENTS = os.path.join(HERE, "docs", "results", "experiments")


def group_mean(m: dict, key: str) -> float:
    """Mean over the set x cover groups, each weighted equally."""
    vals = [g["mean"][key] for g in m["groups"].values()]
    return float(np.nanmean(vals))


def paper_snr_on_timit() -> float:
    """SNR of the paper's container MSE on our TIMIT sample's carrying run (the run ditas hide uses)."""
    from ditas_tf.audio import load_mono
    from ditas_tf.sync import runs

    x = load_mono(os.path.join(DATA, "audio", "timit", "LDC93S1.wav"), 16000).astype(np.float64)
    s = int(runs(x, 4096, 5, -45.0, None)[0]) * 4096
    return float(10 * np.log10(np.mean(x[s : s + 5 * 4096] ** 2) / PAPER_MSE))


def figure(rep: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, m in rep["models"].items():
        for ax, key in zip(axes, ("span_pesq_wb", "span_snr_db")):
            ax.scatter(group_mean(m, key), group_mean(m, "psnr"), s=60, label=name)
    for f in sorted(os.listdir(EXPERIMENTS)) if os.path.isdir(EXPERIMENTS) else []:
        if f.endswith(".eval.json"):
            e = json.load(open(os.path.join(EXPERIMENTS, f)))
            for m in e["models"].values():
                label = f.replace(".eval.json", "") + " (8 pairs, early)"
                for ax, key in zip(axes, ("span_pesq_wb", "span_snr_db")):
                    ax.scatter(group_mean(m, key), group_mean(m, "psnr"), marker="x", label=label)
    for study in ("finetune.json", "audibility.json", "highpass.json"):  # equal-budget arms (docs/hiding_output.md)
        study_path = os.path.join(EXPERIMENTS, study)
        if not os.path.isfile(study_path):
            continue
        e = json.load(open(study_path))
        for name, arm in e["arms"].items():
            label = f"fine-tune {name} ({arm['pairs']} pairs, {arm.get('trained_steps', e.get('steps'))} steps)"
            if name.startswith("control"):
                continue  # a shipped model, drawn above on all pairs
            for ax, key in zip(axes, ("span_pesq_wb", "span_snr_db")):
                ax.scatter(arm[key], arm["psnr"], marker="+", s=80, label=label)
    levels = os.path.join(EXPERIMENTS, "level.json")  # one model hiding at several levels (docs/hiding_output.md)
    if os.path.isfile(levels):
        e = json.load(open(levels))
        for name, arm in e["arms"].items():
            pts = [arm[f"{lv:g}db"] for lv in e["levels_db"]]
            label = f"{name} hiding at {' / '.join(f'{lv:g}' for lv in e['levels_db'])} dB ({pts[0]['pairs']} pairs)"
            for ax, key in zip(axes, ("span_pesq_wb", "span_snr_db")):
                ax.plot([q[key] for q in pts], [q["psnr"] for q in pts], "+--", ms=9, label=label)
    shipped_levels = os.path.join(EXPERIMENTS, "level_shipped.json")
    if os.path.isfile(shipped_levels):
        e = json.load(open(shipped_levels))
        pts = [e["arms"]["default"][f"{lv:g}db"] for lv in e["levels_db"]]
        label = f"default hiding at {' / '.join(f'{lv:g}' for lv in e['levels_db'])} dB ({pts[0]['pairs']} pairs)"
        for ax, key in zip(axes, ("span_pesq_wb", "span_snr_db")):
            ax.plot([q[key] for q in pts], [q["psnr"] for q in pts], "o:", c="C0", ms=4, label=label)
    whole = os.path.join(HERE, "docs", "results", "whole_cover.json")
    if os.path.isfile(whole):
        e = json.load(open(whole))
        pts = e["points"]
        label = f"{e['model']}, k = {pts[0]['stages']}..{pts[-1]['stages']} stages ({e['pairs_per_point']} pairs)"
        for ax, key in zip(axes, ("span_pesq_wb", "span_snr_db")):
            ax.plot([p[key] for p in pts], [p["psnr"] for p in pts], ".-", c="C0", alpha=0.5, label=label)
        cp = (e.get("copies") or {}).get("points")
        if cp:  # the same model with copies in long covers (docs/whole_cover.md)
            label = f"{e['model']}, {cp[0]['copies']}..{cp[-1]['copies']} copies ({e['copies']['pairs_per_point']} pairs, joined covers)"
            for ax, key in zip(axes, ("span_pesq_wb", "span_snr_db")):
                ax.plot([p[key] for p in cp], [p["psnr"] for p in cp], "s--", c="C0", ms=3, alpha=0.5, label=label)
    axes[1].scatter(paper_snr_on_timit(), PAPER_PSNR, marker="*", s=150, c="k", label="paper DITAS-M-ED (TIMIT)")
    axes[0].axvline(3.5, ls=":", c="grey")
    axes[0].set(xlabel="span PESQ-WB", ylabel="revealed PSNR (dB)", title="PSNR against audibility")
    axes[1].set(xlabel="span SNR (dB)", ylabel="revealed PSNR (dB)", title="PSNR against SNR")
    axes[1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # beside the plots, not over them
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("metrics")
    p.add_argument("--figure", default="")
    a = p.parse_args()
    rep = json.load(open(a.metrics))
    if a.figure:
        figure(rep, a.figure)
    out = []
    w = out.append
    w("# Results of the shipped model\n")
    w(
        "Produced by `scripts/eval_shipped.sh` (`ditas eval`, then this renderer); raw numbers in "
        "`docs/results/shipped/metrics.json`, figures next to it. The release-9 default (`release9_default`, "
        "`checkpoints/spectral_r8`: the same network before its high-pass fine-tuning), the release-7 default (`release7_default`, "
        "`checkpoints/default_r7`: 10 stages, the paper's block layout, the noise-to-mask loss), the release-5 default (`release5_default`, "
        "`checkpoints/default_r5`: 10 stages, up to 8 per tile as it shipped, no noise-to-mask loss), the "
        "release-4 default (`release4_default`, "
        "`checkpoints/default_r4`: 5 stages, bound +-6 dB), the release-3 default (`phase_default`, "
        "`checkpoints/default_r3`) and the retired white models of release 2 "
        "(`checkpoints/default`, `checkpoints/quiet`) are measured beside it by the same command, through "
        "the current hider and receiver (least-audible placement, pilot search).\n"
    )
    pr = rep["protocol"]
    w(f"* Secrets: {', '.join(f'{k} ({v})' for k, v in pr['image_sets'].items())}; {pr['image_protocol']}.")
    w(f"* Covers: {', '.join(f'{k} ({v} clips)' for k, v in pr['audio_sets'].items())}; {pr['pairing']}.")
    w(f"* 16-bit WAV write and read before revealing: {pr['wav_roundtrip_16bit']}.")
    w(f"* Audio: {pr['audio_metrics']}. Image: {pr['image_metrics']}.")
    w(
        "* **Span** figures are taken from the first modified sample to the last (the run of k x 4096 samples "
        "that carries the image, pilot included; k is the number of stages, as many as the cover has room "
        "for; where copies of the image sit in runs apart, the runs joined, without the untouched speech "
        "between them); **file** figures over the whole clip, where untouched audio "
        "dilutes them. Only the span figures say whether the image can be heard.\n"
    )
    w("## Summary (mean over the set x cover groups)\n")
    w(
        "| model | span SNR (dB) | span PESQ-WB | file SNR (dB) | file PESQ-WB | PSNR (dB) | SSIM | MS-SSIM | worst 16x16 block (dB) | stages used (mean) | copies (mean) | pairs (skipped) |"
    )
    w("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, m in rep["models"].items():
        g = {
            k: group_mean(m, k)
            for k in (
                "span_snr_db",
                "span_pesq_wb",
                "file_snr_db",
                "file_pesq_wb",
                "psnr",
                "ssim",
                "ms_ssim",
                "worst_block_psnr",
                "hidden_stages",
                "copies",
            )
        }
        w(
            f"| `{name}` | {g['span_snr_db']:.2f} | {g['span_pesq_wb']:.2f} | {g['file_snr_db']:.2f} | "
            f"{g['file_pesq_wb']:.2f} | {g['psnr']:.2f} | {g['ssim']:.3f} | {g['ms_ssim']:.3f} | "
            f"{g['worst_block_psnr']:.2f} | {g['hidden_stages']:.2f} of {m['stages']} | {g['copies']:.2f} | "
            f"{m['overall']['count']} ({len(m['skipped'])}) |"
        )
    w("")
    w("## Floors\n")
    for name, floor in FLOORS.items():
        if name not in rep["models"]:
            continue
        m = rep["models"][name]
        parts = []
        for key, lim in floor.items():
            v = group_mean(m, key)
            parts.append(f"{key} {v:.2f} (floor {lim}: **{'met' if v >= lim else 'not met'}**)")
        w(f"* `{name}`: " + "; ".join(parts) + ".")
    w("")
    if a.figure:
        w(
            f"## Rate and distortion\n\n![revealed PSNR against span PESQ-WB and span SNR]({os.path.relpath(a.figure, os.path.join(HERE, 'docs'))})\n"
        )
        w(
            f"Circles: the models above, measured on all pairs. Crosses: the short exploratory runs of "
            f"docs/hiding_output.md (8 pairs each, a few hundred steps: early points of their curves); plus signs: "
            f"its equal-budget fine-tuning arms (set14 and live1 secrets only, mean over pairs). The line is the "
            f"shipped model hiding with k = 3..10 stages (docs/whole_cover.md: the same 32 kinds of pair), the dashed "
            f"one with 1..8 copies of each image in covers of five LJ002 clips joined. The star is the "
            f"paper's DITAS-M-ED on TIMIT (container MSE {PAPER_MSE:g}, {PAPER_PSNR} dB), its SNR computed on our "
            f"TIMIT sample's carrying run: {paper_snr_on_timit():.1f} dB, a container louder than the cover; the "
            f"paper gives no PESQ.\n"
        )
    for name, m in rep["models"].items():
        w(f"## `{name}` by group\n")
        w(
            "| secrets x covers | n | span SNR | span PESQ-WB | file SNR | file PESQ-WB | PSNR | SSIM | MS-SSIM | worst block |"
        )
        w("|---|---|---|---|---|---|---|---|---|---|")
        for gname, x in m["groups"].items():
            x = x["mean"]
            w(
                f"| {gname} | {x['count']} | {x['span_snr_db']:.2f} | {x['span_pesq_wb']:.3f} | {x['file_snr_db']:.2f} | "
                f"{x['file_pesq_wb']:.3f} | {x['psnr']:.2f} | {x['ssim']:.4f} | {x['ms_ssim']:.4f} | {x['worst_block_psnr']:.2f} |"
            )
        ps = m["overall"]["per_stage"]
        n = m["overall"]["count"]
        w(
            "\nPSNR by number of stages revealed (C_i over the pairs whose cover carries at least i stages): "
            + ", ".join(
                f"C{i + 1} {ps[f'C{i + 1}']['psnr']:.2f}"
                + ("" if ps[f"C{i + 1}"].get("count", n) == n else f" ({ps[f'C{i + 1}']['count']} pairs)")
                for i in range(len(ps))
            )
            + " dB."
        )
        lost = m["overall"].get("lost_subsequence_psnr")
        if lost:
            w(
                "Revealed PSNR with subsequence j lost (zeroed / replaced by the cover): "
                + ", ".join(f"{k} {v['zeroed']:.2f} / {v['cover']:.2f}" for k, v in lost.items())
                + " dB."
            )
        if m["skipped"]:
            w(f"Skipped pairs: {len(m['skipped'])} (first reason: {m['skipped'][0]['reason']}).")
        w("")
    w(open(os.path.join(HERE, "docs", "history.md")).read())
    print("\n".join(out))


if __name__ == "__main__":
    main()
