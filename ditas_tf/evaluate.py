"""``ditas eval``: models x image sets x audio sets, through real 16-bit WAV files.

Protocol (recorded in every metrics.json):
* secrets: every image of each image set, in sorted order, by
  :data:`ditas_tf.images.EVAL_PROTOCOL`;
* covers: the clips of each audio set in sorted order; image i of a set is
  hidden in clip i modulo the number of clips, with the product's default
  (unkeyed) positions, by the same code as ``ditas hide`` (its placement:
  where the modification is least audible, unless ``placement="first"``);
* each container is written as a 16-bit PCM WAV and read back before it is
  revealed (``--no-wav`` turns this off);
* audibility on the 16 kHz mid signal: SNR and wide-band PESQ over the
  carrying span (first to last modified sample), and over the whole file
  beside them (``file_``); container MSE and SNR over the carrying subsequences;
* PSNR / SSIM / MS-SSIM on the revealed tile rounded to uint8, for every C_i,
  and the PSNR of the worst 16x16 block;
* ``--channel NAME[:PARAM]`` (:mod:`ditas_tf.channels`) transforms the
  container file between the write and the reveal.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile

import numpy as np

from ditas_tf import channels as channels_lib
from ditas_tf import data as data_lib
from ditas_tf import span as span_lib
from ditas_tf.audio import read_audio, resample, to_mono, write_audio
from ditas_tf.errors import InputError
from ditas_tf.fileio import atomic_path, atomic_write_text
from ditas_tf.images import EVAL_PROTOCOL
from ditas_tf.metrics import image_metrics

log = logging.getLogger(__name__)

AUDIO_KEYS = ("container_mse", "subsequence_snr_db", "span_snr_db", "span_pesq_wb", "file_snr_db", "file_pesq_wb")
IMAGE_KEYS = ("psnr", "ssim", "ms_ssim")


def _label(model: str) -> str:
    return os.path.basename(os.path.normpath(model)) if os.path.isdir(model) else model


def _nanmean(values) -> float:
    arr = np.asarray([v for v in values if v is not None], np.float64)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else float("nan")


def evaluate_pair(
    steg,
    tile: np.ndarray,
    cover: np.ndarray,
    rate: int,
    stages: int | None,
    wav: bool,
    tmpdir: str,
    lost: bool,
    channels: tuple = (),
    placement: str = "least-audible",
    copies: int | None = None,
):
    """Hide one tile in one clip, (write/read 16-bit WAV), (apply a channel), reveal; metrics per stage.

    Audio metrics compare the 16 kHz mid signals of cover and container before
    any channel, over the carrying span and over the whole file
    (:func:`ditas_tf.span.span_metrics`). Image metrics are taken on the
    revealed tile rounded to uint8, for every C_i, with the worst 16x16 block; with copies of the
    tile in the cover (``copies``, as ``ditas hide``), on their average, as the receiver reveals it.
    """
    from ditas_tf.stego import average_copies

    res = steg.hide_array(tile, cover, rate, stages=stages, placement=placement, copies=copies)
    container = res.container
    if wav:
        path = os.path.join(tmpdir, "container.wav")
        write_audio(path, container, rate)
        container, _ = read_audio(path)
    cover16 = resample(to_mono(cover[:, None] if cover.ndim == 1 else cover), rate, steg.rate)
    cont16 = resample(to_mono(container), rate, steg.rate)[: len(cover16)]
    received, rrate = container, rate
    for spec in channels:
        received, rrate = channels_lib.apply(spec, received, rrate)
    windows, starts = steg.container_windows(received, rrate, 1, stages=stages)
    k = windows.shape[1] // steg.block  # what the receiver read from the pilot
    revealed = quantize_uint8(average_copies(steg.reveal_windows(windows, k), 1)[0])  # [k, n, n, 3]
    img = image_metrics(np.repeat(tile[None], len(revealed), 0), revealed)
    length = res.stages * steg.block
    s0 = int(res.starts[0])
    c_sub = cover16[s0 : s0 + length].astype(np.float64)
    x_sub = cont16[s0 : s0 + length].astype(np.float64) / res.gain
    out = {
        "container_mse": float(np.mean((x_sub - c_sub) ** 2)),
        "subsequence_snr_db": span_lib.snr_db(c_sub, x_sub),
        **{
            k: v
            for k, v in span_lib.span_metrics(cover16, cont16, steg.rate, with_pesq=not channels, gain=res.gain).items()
            if k in AUDIO_KEYS
        },
        "sync_offset_error": round(float(starts[0] - s0), 3) if not channels else None,
        "hidden_stages": res.stages,
        "copies": res.copies,
        "copies_found": len(windows),
        "cover_seconds_used": res.copies * res.stages * steg.block / steg.rate,
        "span_start_s": s0 / steg.rate,
        "stages": {f"C{i + 1}": {k: float(img[k][i]) for k in IMAGE_KEYS} for i in range(len(revealed))},
    }
    out.update(out["stages"][f"C{len(revealed)}"])
    out["worst_block_psnr"] = worst_block_psnr(tile, revealed[-1])
    if lost:
        out["lost_subsequence"] = _loss_of_subsequence(steg, tile, windows[0], c_sub.astype(np.float32), k)
    return out, {"revealed": revealed, "cover16": cover16, "container16": cont16, "window": c_sub.astype(np.float32)}


def quantize_uint8(images: np.ndarray) -> np.ndarray:
    """[0, 1] floats rounded to the 256 levels of a uint8 image (what a PNG stores)."""
    return np.round(np.clip(images, 0.0, 1.0) * 255.0) / 255.0


def worst_block_psnr(secret: np.ndarray, revealed: np.ndarray, block: int = 16) -> float:
    """PSNR of the worst ``block`` x ``block`` block of a revealed image (tile borders show here)."""
    h, w = secret.shape[:2]
    worst = float("inf")
    for y in range(0, h - block + 1, block):
        for x in range(0, w - block + 1, block):
            d = np.asarray(secret[y : y + block, x : x + block], np.float64) - revealed[y : y + block, x : x + block]
            worst = min(worst, 10 * math.log10(1.0 / max(float(np.mean(d * d)), 1e-12)))
    return worst


def _loss_of_subsequence(steg, tile, window, cover_window, stages):
    """PSNR when subsequence j is zeroed or replaced by the original cover."""
    b = steg.block
    k = len(window) // b
    variants = []
    for j in range(k):
        z = window.copy()
        z[j * b : (j + 1) * b] = 0.0
        r = window.copy()
        r[j * b : (j + 1) * b] = cover_window[j * b : (j + 1) * b]
        variants += [z, r]
    out = steg.reveal_windows(np.stack(variants), stages)[:, -1]
    p = image_metrics(np.repeat(tile[None], len(out), 0), out)["psnr"]
    return {f"S{j + 1}": {"zeroed": float(p[2 * j]), "cover": float(p[2 * j + 1])} for j in range(k)}


def evaluate(
    models,
    image_dirs,
    audio_dirs,
    out_dir: str,
    stages: int | None = None,
    wav: bool = True,
    audio_select=None,
    max_images: int | None = None,
    progress: bool = True,
    channels: tuple = (),
    figures: bool = True,
    placement: str = "least-audible",
    copies: int | None = None,
) -> dict:
    """Evaluate models on image sets x audio sets; write metrics.json, table.md, figures.

    ``placement`` is hide's (:data:`ditas_tf.stego.PLACEMENTS`): where each
    tile's run goes in its cover; ``copies`` is hide's too (None: as many as each cover has room for).
    """
    from tqdm import tqdm

    from ditas_tf.stego import Steganographer, check_placement

    check_placement(placement)
    for spec in channels:
        channels_lib.parse(spec)  # a bad name fails before any work
    if not models:
        raise InputError("give at least one --model")
    os.makedirs(out_dir, exist_ok=True)
    image_sets = {}
    for d in image_dirs:
        files = data_lib.list_images([d])[: max_images or None]
        image_sets[_label(d)] = files
    audio_sets = {}
    for d in audio_dirs:
        files = data_lib.list_audio([d], audio_select or None)
        clips = []
        for f in files:
            try:
                clips.append((f, *read_audio(f)))
            except InputError as exc:
                data_lib.SKIPPED.skip(f, str(exc))
        if not clips:
            raise InputError(f"no readable audio in {d}")
        is_lj = os.path.isfile(os.path.join(d, "metadata.csv"))
        audio_sets[f"{_label(d)}:{'+'.join(audio_select)}" if (audio_select and is_lj) else _label(d)] = clips
    report = {
        "protocol": {
            "image_protocol": EVAL_PROTOCOL,
            "pairing": "image i of a set in clip i mod (number of clips), sorted file order, no key",
            "wav_roundtrip_16bit": wav,
            "audio_metrics": "on the 16 kHz mid signal: SNR and wide-band PESQ over the carrying span "
            "(first to last modified sample) and over the whole file (file_); container MSE and "
            "subsequence SNR over the carrying subsequences",
            "image_metrics": "on the revealed tile rounded to uint8; worst_block_psnr over 16x16 blocks",
            "channels": list(channels),
            "placement": placement,
            "copies": "as many as each cover has room for" if copies is None else copies,
            "image_sets": {k: len(v) for k, v in image_sets.items()},
            "audio_sets": {k: len(v) for k, v in audio_sets.items()},
        },
        "models": {},
    }
    examples = {}
    total = len(models) * sum(len(v) for v in image_sets.values()) * len(audio_sets)
    bar = tqdm(total=total, disable=not progress, unit="pair")
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            steg = Steganographer.load(model, backend="keras", compiled=True)
            k = steg.stage_count(stages)
            name = _label(model)
            groups, skipped = {}, []
            for iname, ifiles in image_sets.items():
                tiles, kept = data_lib.eval_images(ifiles, steg.tile)
                for aname, clips in audio_sets.items():
                    rows = []
                    for i, (tile, path) in enumerate(zip(tiles, kept)):
                        cpath, cover, rate = clips[i % len(clips)]
                        bar.update(1)
                        try:
                            m, ex = evaluate_pair(
                                steg,
                                tile,
                                cover,
                                rate,
                                stages,
                                wav,
                                tmp,
                                lost=figures and i < 8,
                                channels=channels,
                                placement=placement,
                                copies=copies,
                            )
                        except InputError as exc:
                            # e.g. a clip with fewer usable subsequences than a t = 8 model needs
                            log.warning("skipping %s in %s: %s", os.path.basename(path), os.path.basename(cpath), exc)
                            skipped.append({"image": path, "cover": cpath, "reason": str(exc)})
                            continue
                        rows.append(
                            {
                                "image": os.path.relpath(path, os.path.dirname(path) + "/.."),
                                "cover": os.path.basename(cpath),
                                **m,
                            }
                        )
                        if (name, iname, aname) not in examples:
                            examples[(name, iname, aname)] = (tile, ex, steg)
                    if rows:
                        groups[f"{iname} x {aname}"] = {"mean": _means(rows, k), "images": rows}
            if not groups:
                raise InputError(f"{name}: no image/cover pair could be evaluated ({skipped[0]['reason']})")
            report["models"][name] = {
                "model": model,
                "stages": k,
                "config": steg.cfg.to_dict()["model"],
                "groups": groups,
                "skipped": skipped,
                "overall": _means([r for g in groups.values() for r in g["images"]], k),
            }
    bar.close()
    atomic_write_text(os.path.join(out_dir, "metrics.json"), json.dumps(report, indent=1) + "\n")
    atomic_write_text(os.path.join(out_dir, "table.md"), markdown_table(report))
    if figures:
        _figures(report, examples, out_dir)
    return report


def _means(rows, k) -> dict:
    # Rows carry as many stages as their cover had room for (baselines reveal in one):
    # C_i is averaged over the rows that have it, and says how many those are.
    k = min(k, max(len(r["stages"]) for r in rows))
    keys = AUDIO_KEYS + IMAGE_KEYS + ("worst_block_psnr", "hidden_stages", "copies", "cover_seconds_used")
    out = {key: _nanmean(r.get(key) for r in rows) for key in keys}
    out["per_stage"] = {}
    for i in range(k):
        have = [r["stages"][f"C{i + 1}"] for r in rows if f"C{i + 1}" in r["stages"]]
        out["per_stage"][f"C{i + 1}"] = {key: _nanmean(x[key] for x in have) for key in IMAGE_KEYS}
        out["per_stage"][f"C{i + 1}"]["count"] = len(have)
    lost = [r["lost_subsequence"] for r in rows if "lost_subsequence" in r]
    if lost:
        names = dict.fromkeys(s for x in lost for s in x)  # S1..S_k, k the most any row carries
        out["lost_subsequence_psnr"] = {
            s: {m: _nanmean(x[s][m] for x in lost if s in x) for m in ("zeroed", "cover")} for s in names
        }
    out["count"] = len(rows)
    return out


def markdown_table(report: dict) -> str:
    """Table 1 layout (container MSE; revealed PSNR / SSIM / MS-SSIM) plus span and file SNR / PESQ."""
    groups = list(dict.fromkeys(g for m in report["models"].values() for g in m["groups"]))
    lines = []
    for g in groups:
        lines.append(f"### {g}\n")
        lines.append(
            "| Method | Container MSE | span SNR (dB) | span PESQ-WB | file SNR (dB) | file PESQ-WB "
            "| PSNR (dB) | SSIM | MS-SSIM | worst block PSNR (dB) |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        for name, m in report["models"].items():
            if g not in m["groups"]:
                lines.append(f"| {name} | (every pair skipped: cover too short) | | | | | | | | |")
                continue
            x = m["groups"][g]["mean"]
            lines.append(
                f"| {name} | {x['container_mse']:.4E} | {x['span_snr_db']:.2f} | {x['span_pesq_wb']:.3f} | "
                f"{x['file_snr_db']:.2f} | {x['file_pesq_wb']:.3f} | "
                f"{x['psnr']:.2f} | {x['ssim']:.4f} | {x['ms_ssim']:.4f} | {x['worst_block_psnr']:.2f} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def _figures(report, examples, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def save(fig, name):
        with atomic_path(os.path.join(out_dir, name), ".png") as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
        plt.close(fig)

    # Fig. 4: metrics against the number of stages.
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, m in report["models"].items():
        ps = m["overall"]["per_stage"]
        xs = list(range(1, len(ps) + 1))
        axes[0].plot(xs, [ps[f"C{i}"]["psnr"] for i in xs], marker="o", label=name)
        axes[1].plot(xs, [ps[f"C{i}"]["ssim"] for i in xs], marker="o", label=name)
    axes[0].set(xlabel="stages revealed (i)", ylabel="PSNR of C_i (dB)")
    axes[1].set(xlabel="stages revealed (i)", ylabel="SSIM of C_i")
    axes[0].legend(fontsize=7)
    save(fig, "stages.png")
    # Loss of subsequence j.
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, m in report["models"].items():
        lost = m["overall"].get("lost_subsequence_psnr")
        if lost:
            js = list(range(1, len(lost) + 1))
            ax.plot(js, [lost[f"S{j}"]["zeroed"] for j in js], marker="o", label=f"{name}: zeroed")
            ax.plot(js, [lost[f"S{j}"]["cover"] for j in js], marker="x", ls="--", label=f"{name}: cover")
    ax.set(xlabel="lost subsequence j", ylabel="revealed PSNR (dB)")
    ax.legend(fontsize=7)
    save(fig, "lost_subsequence.png")
    # Fig. 5 and 6 for the first example of each model.
    for (name, iname, aname), (tile, ex, steg) in examples.items():
        if (iname, aname) != next(iter(examples))[1:]:
            continue
        _intermediate(steg, tile, ex, save, plt, name)
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), gridspec_kw={"width_ratios": [3, 3, 1]})
        for ax, sig, title in ((axes[0], ex["cover16"], "cover"), (axes[1], ex["container16"], "container")):
            ax.specgram(sig, NFFT=512, Fs=steg.rate, noverlap=384, cmap="magma", vmin=-140, vmax=-20)
            ax.set(title=f"{name}: {title}", xlabel="s", ylabel="Hz")
        axes[2].imshow(np.clip(ex["revealed"][-1], 0, 1))
        axes[2].set(title="revealed")
        axes[2].axis("off")
        save(fig, f"spectrograms_{name}.png")


def _intermediate(steg, tile, ex, save, plt, name):
    """Fig. 5: residuals S_i, stage outputs R_i and cumulative C_i for one example."""
    system = steg.system
    k = ex["revealed"].shape[0]
    if system.is_baseline:
        return
    model = system.training_model
    t = steg.cfg.model.stages
    cover = np.zeros((1, t * steg.block), np.float32)
    cover[0, : k * steg.block] = ex["window"]
    out = model({"secret_image": tile[None], "cover_audio": cover}, training=False)
    S, R, C = (np.asarray(out[key])[0] for key in ("residuals", "stage_outputs", "revealed_stages"))
    fig, axes = plt.subplots(3, t, figsize=(2 * t, 6.2), squeeze=False)  # t = 1 too
    for i in range(t):
        for row, (arr, lab, off) in enumerate(((S, "S", 0.5), (R, "R", 0.5), (C, "C", 0.0))):
            img = arr[i] + (off if i or lab != "S" else 0.0)
            axes[row, i].imshow(np.clip(img, 0, 1))
            axes[row, i].set_title(f"{lab}_{i + 1}", fontsize=8)
            axes[row, i].axis("off")
    save(fig, f"intermediate_{name}.png")
