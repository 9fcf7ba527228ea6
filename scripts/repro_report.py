"""Tables and verdicts for docs/REPRODUCTION.md from ``ditas eval`` results (used by reproduce.py report)."""

from __future__ import annotations

import math

AUDIO = {"LJSpeech-1.1:LJ002": "LJ002", "timit": "TIMIT", "lj002_16k": "LJ002 at 16 kHz"}
KEYS = ("container_mse", "span_snr_db", "span_pesq_wb", "psnr", "ssim", "ms_ssim")
DITAS = ["DITAS-S", "DITAS-M", "DITAS-M-E", "DITAS-M-D", "DITAS-M-ED"]
MULTI = ["DITAS-M", "DITAS-M-E", "DITAS-M-D", "DITAS-M-ED"]


def groups(natural: list) -> dict:
    return {"natural": natural, "faces": ["celeba"]}


def cells(natural: list, models: dict | None = None) -> list:
    """(group name, sets, audio key) for the evaluation cells that every model in ``models`` has."""

    def has(m, a):
        return any(k.endswith(f" x {a}") for k in m["groups"])

    audios = [a for a in AUDIO if models is None or all(has(m, a) for m in models.values())]
    return [(g, sets, a) for a in audios for g, sets in groups(natural).items()]


def cell_name(group: str, audio: str) -> str:
    return f"{group} x {AUDIO[audio]}"


def _rows(model: dict, sets: list, audio: str) -> dict:
    gs = [model["groups"].get(f"{s} x {audio}") for s in sets]
    return {(r["image"], r["cover"]): r for g in gs if g for r in g["images"]}


def cell_means(model: dict, sets: list, audio: str) -> dict:
    """Image-weighted means of every metric over the sets of a group."""
    rows = list(_rows(model, sets, audio).values())
    out = {}
    for k in KEYS:
        vals = [r[k] for r in rows if r.get(k) is not None and math.isfinite(r[k])]
        out[k] = sum(vals) / len(vals) if vals else float("nan")
    out["count"] = len(rows)
    return out


def paired(a: dict, b: dict, sets: list, audio: str, key: str = "psnr") -> tuple:
    """Mean and standard error of a - b over the images both saw (same image, same cover)."""
    ra, rb = _rows(a, sets, audio), _rows(b, sets, audio)
    d = [ra[k][key] - rb[k][key] for k in ra if k in rb]
    n = len(d)
    mean = sum(d) / n
    var = sum((x - mean) ** 2 for x in d) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(var / n), n


def fmt_diff(m: float, se: float) -> str:
    return f"{m:+.2f} ± {2 * se:.2f}"


# ------------------------------------------------------------------ claims


def claim_a(models: dict, natural: list) -> dict:
    """(a) Each multi-stage variant beats Deep-Steg by >= 3 dB PSNR, in every cell."""
    if "Deep-Steg" not in models:
        return {"verdict": "inconclusive", "evidence": "Deep-Steg not evaluated"}
    lines, ok, bad = [], 0, 0
    for name in [m for m in MULTI if m in models]:
        parts = []
        for g, sets, a in cells(natural, models):
            m, se, _ = paired(models[name], models["Deep-Steg"], sets, a)
            parts.append(f"{cell_name(g, a)} {fmt_diff(m, se)}")
            ok += m >= 3.0 and m - 2 * se > 0
            bad += m + 2 * se < 3.0
        lines.append(f"{name} - Deep-Steg (dB PSNR, ±2 SE): " + "; ".join(parts))
    total = len(cells(natural, models)) * len([m for m in MULTI if m in models])
    verdict = "held" if ok == total else ("did not hold" if bad > total / 2 else "inconclusive")
    lines.append(f"{ok} of {total} comparisons reach +3 dB; {bad} are significantly below +3 dB.")
    return {"verdict": verdict, "evidence": lines}


def claim_b(models: dict, natural: list) -> dict:
    """(b) M-ED has the best PSNR of the DITAS variants and S the worst, in every cell."""
    present = [m for m in DITAS if m in models]
    if "DITAS-M-ED" not in present or "DITAS-S" not in present:
        return {"verdict": "inconclusive", "evidence": ["M-ED or S not evaluated"]}
    lines, best_ok, best_bad, worst_ok, worst_bad = [], 0, 0, 0, 0
    n_cells = len(cells(natural, models))
    for g, sets, a in cells(natural, models):
        ps = {m: cell_means(models[m], sets, a)["psnr"] for m in present}
        order = sorted(ps, key=ps.get, reverse=True)
        lines.append(f"{cell_name(g, a)}: " + " > ".join(f"{m} {ps[m]:.2f}" for m in order))
        top = order[0]
        if top == "DITAS-M-ED":
            best_ok += 1
        else:
            m, se, _ = paired(models[top], models["DITAS-M-ED"], sets, a)
            best_bad += m - 2 * se > 0
        low = order[-1]
        if low == "DITAS-S":
            worst_ok += 1
        else:
            m, se, _ = paired(models["DITAS-S"], models[low], sets, a)
            worst_bad += m - 2 * se > 0
    lines.append(
        f"M-ED best in {best_ok} of {n_cells} cells (significantly beaten in {best_bad}); "
        f"S worst in {worst_ok} of {n_cells} (significantly above the worst in {worst_bad})."
    )
    if best_ok == n_cells and worst_ok == n_cells:
        verdict = "held"
    elif best_bad > n_cells / 2 or worst_bad > n_cells / 2:
        verdict = "did not hold"
    else:
        verdict = "inconclusive"
    return {"verdict": verdict, "evidence": lines}


def claim_c(tsweep: dict, natural: list) -> dict:
    """(c) PSNR rises with t, with diminishing returns (DITAS-M trained at t = 1..8), per cover set."""
    if len(tsweep) < 4:
        return {"verdict": "inconclusive", "evidence": ["t-sweep not run"]}
    lines, verdicts = [], []
    for a, label in AUDIO.items():
        have = {t: m for t, m in tsweep.items() if any(k.endswith(f" x {a}") for k in m["groups"])}
        if len(have) < 4:
            continue
        ts = sorted(have)
        p, snr, n = _common_means(have, natural, a)
        gains = [p[ts[i + 1]] - p[ts[i]] for i in range(len(ts) - 1)]
        half = len(gains) // 2
        early, late = sum(gains[:half]) / half, sum(gains[half:]) / (len(gains) - half)
        rises = p[ts[-1]] > p[ts[0]]
        if rises and early > late and sum(g < 0 for g in gains) <= 1:
            v = "held"
        elif not rises:
            v = "did not hold"
        else:
            v = "inconclusive"
        verdicts.append(v)
        lines += [
            f"{label} covers ({n} image/cover pairs every t = {ts[0]}..{ts[-1]} could use): PSNR by t "
            + ", ".join(f"{t}: {p[t]:.2f}" for t in ts)
            + "; container SNR "
            + ", ".join(f"{snr[t]:.1f}" for t in ts)
            + " dB; gain per added stage "
            + ", ".join(f"{g:+.2f}" for g in gains)
            + f"; mean gain first half {early:+.2f} dB, second half {late:+.2f} dB: {v}",
        ]
    lines.append(
        "rule: held when PSNR(t_max) > PSNR(1), the first half of the gains is larger than the second, and at most one gain is negative"
    )
    if verdicts and all(v == "held" for v in verdicts):
        verdict = "held"
    elif verdicts and all(v == "did not hold" for v in verdicts):
        verdict = "did not hold"
    else:
        verdict = "inconclusive"
    return {"verdict": verdict, "evidence": lines}


def _common_means(models: dict, natural: list, audio: str | None = None) -> tuple:
    """Mean PSNR and SNR of each model over the (image, cover) pairs that all of them evaluated."""
    rows = {}
    for key, m in models.items():
        rows[key] = {}
        for _, sets, a in cells(natural):
            if audio and a != audio:
                continue
            for s in sets:
                g = m["groups"].get(f"{s} x {a}")
                for r in g["images"] if g else []:
                    rows[key][(a, r["image"], r["cover"])] = r
    common = set.intersection(*(set(r) for r in rows.values()))
    psnr = {k: sum(rows[k][c]["psnr"] for c in common) / len(common) for k in models}
    snr = {k: sum(rows[k][c]["span_snr_db"] for c in common) / len(common) for k in models}
    return psnr, snr, len(common)


def lost_table(model: dict, natural: list) -> dict:
    """Mean over the cells of the PSNR when subsequence j is zeroed / replaced by the cover."""
    out = {}
    for _, sets, a in cells(natural, {"m": model}):
        for r in _rows(model, sets, a).values():
            for j, v in r.get("lost_subsequence", {}).items():
                acc = out.setdefault(j, {"zeroed": [], "cover": []})
                acc["zeroed"].append(v["zeroed"])
                acc["cover"].append(v["cover"])
    return {j: {k: sum(v) / len(v) for k, v in d.items()} for j, d in out.items()}


def stage_psnr(model: dict, natural: list) -> dict:
    """Mean over the cells' images of PSNR(C_i)."""
    acc = {}
    for _, sets, a in cells(natural, {"m": model}):
        for r in _rows(model, sets, a).values():
            for c, v in r["stages"].items():
                acc.setdefault(c, []).append(v["psnr"])
    return {c: sum(v) / len(v) for c, v in acc.items()}


def claim_d(models: dict, natural: list) -> dict:
    """(d) Losing a later subsequence costs less, and losing any S_j (j >= 2) keeps at least C_1's quality."""
    lines, ok, checked = [], 0, 0
    for name in [m for m in MULTI if m in models]:
        lost = lost_table(models[name], natural)
        st = stage_psnr(models[name], natural)
        js = sorted(lost, key=lambda s: int(s[1:]))
        z = [lost[j]["zeroed"] for j in js]
        monotone = all(z[i + 1] >= z[i] - 0.5 for i in range(len(z) - 1))
        floor = all(v >= st["C1"] - 0.5 for v in z[1:])
        checked += 1
        ok += monotone and floor
        full = st[f"C{len(js)}"]
        lines.append(
            f"{name}: intact {full:.2f} dB, C_1 {st['C1']:.2f} dB; lost S_j zeroed: "
            + ", ".join(f"{j} {lost[j]['zeroed']:.2f}" for j in js)
            + "; replaced by cover: "
            + ", ".join(f"{j} {lost[j]['cover']:.2f}" for j in js)
        )
    for name in ("Deep-Steg", "Kreuk"):
        if name in models:
            lost = lost_table(models[name], natural)
            js = sorted(lost, key=lambda s: int(s[1:]))
            lines.append(
                f"{name} (one stacked tensor): lost S_j zeroed: "
                + ", ".join(f"{j} {lost[j]['zeroed']:.2f}" for j in js)
            )
    verdict = "held" if checked and ok == checked else ("did not hold" if checked and ok == 0 else "inconclusive")
    lines.append(
        f"graceful (costs fall with j within 0.5 dB, and every S_j, j >= 2, lost keeps >= C_1 - 0.5 dB) for {ok} of {checked} variants"
    )
    return {"verdict": verdict, "evidence": lines}


def claim_e(models: dict, natural: list) -> dict:
    """(e) Hiding in the STFT domain is slightly better than in the raw reshaped waveform."""
    pairs = [("Kreuk", "Deep-Steg"), ("DITAS-M-STFT", "DITAS-M")]
    lines, better, worse, n = [], 0, 0, 0
    for stft, raw in pairs:
        if stft not in models or raw not in models:
            continue
        parts = []
        for g, sets, a in cells(natural, {stft: models[stft], raw: models[raw]}):
            m, se, _ = paired(models[stft], models[raw], sets, a)
            ms, _, _ = paired(models[stft], models[raw], sets, a, "span_snr_db")
            parts.append(f"{cell_name(g, a)} PSNR {fmt_diff(m, se)}, SNR {ms:+.1f}")
            n += 1
            better += m - 2 * se > 0
            worse += m + 2 * se < 0
        lines.append(f"{stft} (STFT) - {raw} (raw): " + "; ".join(parts))
    if not n:
        return {"verdict": "inconclusive", "evidence": ["no STFT/raw pair evaluated"]}
    verdict = "held" if better > n / 2 else ("did not hold" if worse > n / 2 else "inconclusive")
    lines.append(f"STFT significantly better in {better} of {n} cells, significantly worse in {worse}")
    return {"verdict": verdict, "evidence": lines}
