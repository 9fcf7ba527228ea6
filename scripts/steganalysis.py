"""How detectable are the containers? A CNN and a linear detector, trained and tested on real pairs.

    python scripts/steganalysis.py --model default --model checkpoints/default \
        --out docs/results/steganalysis.json --md docs/STEGANALYSIS.md

For each model, balanced cover / container examples are made by ``ditas hide``'s
own code (Steganographer.hide_array, 16-bit rounding): training pairs from
LJ001 covers with BSDS200 / T91 secrets, test pairs from LJ002 covers and the
TIMIT sample with set14 / live1 / celeba / imagenet_val secrets. Each example is
the carrying run (t * w * h samples at 16 kHz) of a cover or of its container:
the detector is told where to look, the most favourable case for it.

* linear: logistic regression on band-energy statistics (mean and standard
  deviation over time of the log energy in 32 bands of a 256-point STFT);
* cnn: a small Keras CNN on the log-magnitude STFT.

AUC on the test pairs (rank statistic), per model, to JSON; Markdown from the JSON.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import os
import tempfile

import numpy as np
from shared_data import model_with

from ditas_tf import masking
from ditas_tf.audio import pcm16_roundtrip, read_audio, resample, to_mono
from ditas_tf.errors import InputError
from ditas_tf.fileio import atomic_write_text
from ditas_tf.images import eval_tile, load_image

log = logging.getLogger("steganalysis")


def examples(steg, clips, images, count, quality=None):
    """(covers, containers) [count, k*w*h] at 16 kHz: the carrying run of each pair (k: hide's default).

    With a ``quality`` dict, each pair's revealed PSNR (uint8, from the 16-bit container) and the
    run's PESQ-WB are appended to its lists ``psnr`` and ``span_pesq_wb``: what the hider pays for
    being as detectable as it is.
    """
    from ditas_tf.metrics import psnr
    from ditas_tf.span import pesq_wb

    covers, conts = [], []
    i = 0
    while len(covers) < count and i < 4 * count:
        clip, img = clips[i % len(clips)], images[(i * 7) % len(images)]
        i += 1
        x, rate = read_audio(clip)
        # The stages hide takes on its own where the cover has room (examples of one length).
        k = steg.cfg.model.hide_stages or steg.cfg.model.stages
        tile = eval_tile(load_image(img), steg.tile)
        try:
            res = steg.hide_array(tile, x, rate, stages=k, copies=1)  # one run per example
        except InputError:
            continue
        length = k * steg.block
        s = int(res.starts[0])
        container = pcm16_roundtrip(res.container)
        c16 = resample(to_mono(x), rate, steg.rate)[s : s + length]
        x16 = resample(to_mono(container), rate, steg.rate)[s : s + length]
        covers.append(c16)
        conts.append(x16)
        if quality is not None:
            revealed = np.round(np.clip(steg.reveal_array(container, rate), 0, 1) * 255) / 255
            quality["psnr"].append(float(psnr(np.round(tile * 255) / 255, revealed)))
            quality["span_pesq_wb"].append(pesq_wb(c16, x16))
    return np.stack(covers), np.stack(conts)


def log_spectrogram(x: np.ndarray) -> np.ndarray:
    """[N, samples] -> [N, frames, 129] log magnitude (sqrt-Hann STFT, 256 / 128)."""
    fwd, _ = masking.dft_matrices(256)
    s = masking.frames(np.asarray(x, np.float64), 256) @ fwd
    mag2 = s[..., :129] ** 2 + s[..., 129:] ** 2
    lm = 0.5 * np.log(mag2 + 1e-12)
    return (lm - lm.mean(axis=(1, 2), keepdims=True)).astype(np.float32)


def band_features(spec: np.ndarray) -> np.ndarray:
    bands = np.array_split(np.arange(spec.shape[-1]), 32)
    e = np.stack([spec[..., b].mean(-1) for b in bands], -1)  # [N, frames, 32]
    return np.concatenate([e.mean(1), e.std(1)], -1)


def band_names(bins: int = 129, rate: int = 16000, n_fft: int = 256) -> list[str]:
    """Names of band_features' columns: the statistic and the centres of the band's STFT bins."""
    hz = rate / n_fft
    spans = [f"{b[0] * hz:.0f}-{b[-1] * hz:.0f} Hz" for b in np.array_split(np.arange(bins), 32)]
    return [f"mean log energy {s}" for s in spans] + [f"std over time of log energy {s}" for s in spans]


def telling_features(features: np.ndarray, labels: np.ndarray, count: int = 5) -> list[dict]:
    """The band statistics that differ most between containers and covers (Cohen's d, pooled std).

    Log energies are relative to each example's mean (log_spectrogram), so "mean" is a band's level
    against the whole spectrum's.
    """
    x1, x0 = features[labels == 1], features[labels == 0]
    d = (x1.mean(0) - x0.mean(0)) / np.sqrt(0.5 * (x1.var(0) + x0.var(0)) + 1e-12)
    names = band_names()
    return [{"feature": names[i], "cohens_d": round(float(d[i]), 3)} for i in np.argsort(-np.abs(d))[:count]]


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks)."""
    from scipy.stats import rankdata

    r = rankdata(scores)
    pos = labels == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def train_and_score(kind: str, train_x, train_y, test_x, seed: int = 0):
    import keras

    keras.utils.set_random_seed(seed)
    if kind == "linear":
        mu, sd = train_x.mean(0), train_x.std(0) + 1e-6
        train_x, test_x = (train_x - mu) / sd, (test_x - mu) / sd
        model = keras.Sequential([keras.Input(train_x.shape[1:]), keras.layers.Dense(1, activation="sigmoid")])
        epochs = 200
    else:
        model = keras.Sequential(
            [
                keras.Input((*train_x.shape[1:], 1)),
                keras.layers.Conv2D(16, 3, activation="relu", padding="same"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Conv2D(64, 3, activation="relu", padding="same"),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        train_x, test_x = train_x[..., None], test_x[..., None]
        epochs = 30
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    model.fit(train_x, train_y, epochs=epochs, batch_size=32, verbose=0, shuffle=True)
    return model.predict(test_x, verbose=0)[:, 0]


def main() -> None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = os.environ.get("DITAS_DATA", os.path.join(here, "..", "shared", "data"))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", required=True)
    p.add_argument("--train-pairs", type=int, default=240)
    p.add_argument("--test-pairs", type=int, default=100)
    p.add_argument("--out", required=True)
    p.add_argument("--md", default="")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="hide with the models' configs changed so (for example model.target_snr_db=27.5; through Keras)",
    )
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    from ditas_tf.stego import Steganographer, resolve_model_dir

    wavs = os.path.join(data, "audio", "LJSpeech-1.1", "wavs")
    train_clips = sorted(glob.glob(os.path.join(wavs, "LJ001-*.wav")))
    # The TIMIT sample first, so that every test set holds it.
    test_clips = [os.path.join(data, "audio", "timit", "LDC93S1.wav")] + sorted(
        glob.glob(os.path.join(wavs, "LJ002-*.wav"))
    )
    img = os.path.join(data, "images")
    train_images = sorted(glob.glob(os.path.join(img, "train", "bsd200", "*"))) + sorted(
        glob.glob(os.path.join(img, "train", "t91", "*"))
    )
    test_images = []
    for s in ("set14", "live1", "celeba", "imagenet_val"):
        test_images += sorted(glob.glob(os.path.join(img, "test", s, "*")))
    result = {
        "command": "python scripts/steganalysis.py "
        + " ".join([*(f"--model {m}" for m in a.model), *(f"--set {x}" for x in a.set), f"--out {a.out}"])
        + (f" --md {a.md}" if a.md else ""),
        "train": f"{a.train_pairs} LJ001 covers x BSDS200/T91 secrets (one cover and one container each)",
        "test": f"{a.test_pairs} LJ002/TIMIT covers x set14/live1/celeba/imagenet_val secrets",
        "models": {},
    }
    tmp = tempfile.TemporaryDirectory()  # the --set model folders (config and a link to the weights)
    for n, model in enumerate(a.model):
        folder = model_with(resolve_model_dir(model), a.set, os.path.join(tmp.name, str(n))) if a.set else model
        steg = Steganographer.load(folder)
        quality = {"psnr": [], "span_pesq_wb": []}
        tr_c, tr_x = examples(steg, train_clips, train_images, a.train_pairs)
        te_c, te_x = examples(steg, test_clips, test_images, a.test_pairs, quality)
        train = log_spectrogram(np.concatenate([tr_c, tr_x]))
        test = log_spectrogram(np.concatenate([te_c, te_x]))
        y_tr = np.r_[np.zeros(len(tr_c)), np.ones(len(tr_x))].astype(np.float32)
        y_te = np.r_[np.zeros(len(te_c)), np.ones(len(te_x))]
        row = {
            "train_examples": len(train),
            "test_examples": len(test),
            "psnr": float(np.mean(quality["psnr"])),
            "span_pesq_wb": float(np.nanmean(quality["span_pesq_wb"])),
        }
        f_tr, f_te = band_features(train), band_features(test)
        row["linear_auc"] = auc(train_and_score("linear", f_tr, y_tr, f_te), y_te)
        row["telling_features"] = telling_features(f_te, y_te)
        row["cnn_auc"] = auc(train_and_score("cnn", train, y_tr, test), y_te)
        name = model + "".join(f" {x}" for x in a.set)  # as given: a shipped name or a run folder path
        result["models"][name] = row
        print(name, json.dumps(row), flush=True)
    tmp.cleanup()
    atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")
    if a.md:
        atomic_write_text(a.md, render(result))


def render(result: dict) -> str:
    """docs/STEGANALYSIS.md from the JSON this script writes."""
    out = [
        "# Steganalysis: can a detector tell containers from covers?\n",
        f"Written by `{result['command']}`. "
        f"Training: {result['train']}. Test: {result['test']}. Every example is the carrying run of a cover "
        "or of its 16-bit container (the detector is told where to look). AUC 0.5 is chance, 1.0 is a "
        "perfect detector.\n",
        "The last two columns say what each model's test containers cost: the mean revealed PSNR (uint8, "
        "from the 16-bit file) and PESQ-WB over the carrying run.\n",
        "| model | linear band-energy AUC | CNN AUC | train / test examples | revealed PSNR (dB) | span PESQ-WB |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in result["models"].items():
        cost = f"{r['psnr']:.2f} | {r['span_pesq_wb']:.2f}" if "psnr" in r else " | "
        out.append(
            f"| `{name}` | {r['linear_auc']:.3f} | {r['cnn_auc']:.3f} | {r['train_examples']} / "
            f"{r['test_examples']} | {cost} |"
        )
    out.append(
        "\n## What gives the containers away\n\nThe band statistics that differ most between the test "
        "containers and their covers (Cohen's d: the difference of the means over their pooled standard "
        "deviation; positive where the containers' is higher):\n"
    )
    for name, r in result["models"].items():
        if "telling_features" in r:
            out.append(
                f"* `{name}`: "
                + "; ".join(f"{f['feature']} ({f['cohens_d']:+.2f})" for f in r["telling_features"])
                + "."
            )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
