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

import numpy as np

from ditas_tf import masking
from ditas_tf.audio import pcm16_roundtrip, read_audio, resample, to_mono
from ditas_tf.errors import InputError
from ditas_tf.fileio import atomic_write_text
from ditas_tf.images import eval_tile, load_image

log = logging.getLogger("steganalysis")


def examples(steg, clips, images, count):
    """(covers, containers) [count, k*w*h] at 16 kHz: the carrying run of each pair (k: hide's default)."""
    covers, conts = [], []
    i = 0
    while len(covers) < count and i < 4 * count:
        clip, img = clips[i % len(clips)], images[(i * 7) % len(images)]
        i += 1
        x, rate = read_audio(clip)
        # The stages hide takes on its own where the cover has room (examples of one length).
        k = steg.cfg.model.hide_stages or steg.cfg.model.stages
        try:
            res = steg.hide_array(eval_tile(load_image(img), steg.tile), x, rate, stages=k)
        except InputError:
            continue
        length = k * steg.block
        s = int(res.starts[0])
        c16 = resample(to_mono(x), rate, steg.rate)[s : s + length]
        x16 = resample(to_mono(pcm16_roundtrip(res.container)), rate, steg.rate)[s : s + length]
        covers.append(c16)
        conts.append(x16)
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
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    from ditas_tf.stego import Steganographer

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
        "command": "python scripts/steganalysis.py " + " ".join(f"--model {m}" for m in a.model),
        "train": f"{a.train_pairs} LJ001 covers x BSDS200/T91 secrets (one cover and one container each)",
        "test": f"{a.test_pairs} LJ002/TIMIT covers x set14/live1/celeba/imagenet_val secrets",
        "models": {},
    }
    for model in a.model:
        steg = Steganographer.load(model)
        tr_c, tr_x = examples(steg, train_clips, train_images, a.train_pairs)
        te_c, te_x = examples(steg, test_clips, test_images, a.test_pairs)
        train = log_spectrogram(np.concatenate([tr_c, tr_x]))
        test = log_spectrogram(np.concatenate([te_c, te_x]))
        y_tr = np.r_[np.zeros(len(tr_c)), np.ones(len(tr_x))].astype(np.float32)
        y_te = np.r_[np.zeros(len(te_c)), np.ones(len(te_x))]
        row = {"train_examples": len(train), "test_examples": len(test)}
        row["linear_auc"] = auc(train_and_score("linear", band_features(train), y_tr, band_features(test)), y_te)
        row["cnn_auc"] = auc(train_and_score("cnn", train, y_tr, test), y_te)
        name = model  # as given: a shipped name or a run folder path
        result["models"][name] = row
        print(name, json.dumps(row), flush=True)
    atomic_write_text(a.out, json.dumps(result, indent=1) + "\n")
    if a.md:
        atomic_write_text(a.md, render(result))


def render(result: dict) -> str:
    """docs/STEGANALYSIS.md from the JSON this script writes."""
    out = [
        "# Steganalysis: can a detector tell containers from covers?\n",
        f"Written by `{result['command']} --out docs/results/steganalysis.json --md docs/STEGANALYSIS.md`. "
        f"Training: {result['train']}. Test: {result['test']}. Every example is the carrying run of a cover "
        "or of its 16-bit container (the detector is told where to look). AUC 0.5 is chance, 1.0 is a "
        "perfect detector.\n",
        "| model | linear band-energy AUC | CNN AUC | train / test examples |",
        "|---|---|---|---|",
    ]
    for name, r in result["models"].items():
        out.append(
            f"| `{name}` | {r['linear_auc']:.3f} | {r['cnn_auc']:.3f} | {r['train_examples']} / {r['test_examples']} |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
