#!/usr/bin/env python3
"""Reference client: reveal an image from a container with a TFLite revealer.

It uses only ai_edge_litert, numpy, soundfile and Pillow, and never imports
TensorFlow: this is the code a mobile developer ports. Every parameter comes
from the export's metadata.json (rate, image size, stages, energy floor and the
position/key scheme).

    python export/reveal_tflite.py CONTAINER_AUDIO --model export/default/tflite/reveal_float32.tflite \\
        --metadata export/default/metadata.json -o revealed.png [--key TEXT] [--size WxH]

Steps (mirroring ``ditas reveal``):
1. decode, mix to the mid signal (mean of the channels), resample to the model
   rate (FFT resampling here; ditas uses soxr: the difference is far below what
   changes the result);
2. cut into slots of w*h samples, keep those with RMS >= energy_floor_db;
3. order them: time order, or with a key a Fisher-Yates shuffle driven by
   HMAC-SHA256(key, b"ditas-slots/v1" || 8-byte big-endian counter);
4. tile k takes the next t slots; the revealer maps their samples to the tile;
5. tiles are assembled row-major and cropped to --size.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np
import soundfile as sf
from PIL import Image


class RevealError(Exception):
    """Bad input for the client."""


def resample_fft(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling by zero-padding / truncating the spectrum.

    The input is zero-padded to a length whose duration is a whole number of
    output samples (and by a margin against wrap-around), so that the output
    grid is exactly 1 / rate_out apart.
    """
    if rate_in == rate_out:
        return x.astype(np.float32)
    g = math.gcd(rate_in, rate_out)
    step_in, step_out = rate_in // g, rate_out // g
    n = len(x)
    n_pad = -(-(n + 2048) // step_in) * step_in
    m_pad = n_pad // step_in * step_out
    spec = np.fft.rfft(np.pad(x.astype(np.float64), (0, n_pad - n)))
    keep = min(len(spec), m_pad // 2 + 1)
    out = np.zeros(m_pad // 2 + 1, np.complex128)
    out[:keep] = spec[:keep]
    if keep == m_pad // 2 + 1 and m_pad % 2 == 0 and m_pad < n_pad:
        out[-1] *= 0.5  # the new Nyquist bin holds both halves of a real signal
    y = np.fft.irfft(out, m_pad) * (m_pad / n_pad)
    return y[: n * rate_out // rate_in].astype(np.float32)


def eligible_slots(audio: np.ndarray, block: int, floor_db: float) -> np.ndarray:
    n = len(audio) // block
    x = audio[: n * block].astype(np.float64).reshape(n, block)
    db = 10.0 * np.log10(np.mean(x * x, axis=1) + 1e-20)
    return np.flatnonzero(db >= floor_db)


def keyed_order(slots: np.ndarray, key: str) -> np.ndarray:
    """Fisher-Yates shuffle with uniform integers from an HMAC-SHA256 stream."""
    slots = slots.copy()
    k, counter, buf = key.encode("utf-8"), 0, b""

    def u64():
        nonlocal counter, buf
        if len(buf) < 8:
            buf += hmac.new(k, b"ditas-slots/v1" + struct.pack(">Q", counter), hashlib.sha256).digest()
            counter += 1
        v, buf = struct.unpack(">Q", buf[:8])[0], buf[8:]
        return v

    for i in range(len(slots) - 1, 0, -1):
        bound = i + 1
        limit = (1 << 64) - ((1 << 64) % bound)
        while True:
            v = u64()
            if v < limit:
                j = v % bound
                break
        slots[i], slots[j] = slots[j], slots[i]
    return slots


def reveal(container_path, model_path, meta, key=None, size=None, threads=2) -> np.ndarray:
    """Revealed image [h, w, 3] in [0, 1]."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        data, rate = sf.read(container_path, dtype="float32", always_2d=True)
    except Exception as exc:
        raise RevealError(f"not a readable audio file: {container_path} ({exc})") from None
    if len(data) == 0:
        raise RevealError(f"audio file has no samples: {container_path}")
    rate_model, n, t = meta["sample_rate"], meta["image_size"], meta["stages"]
    block, floor = meta["block_samples"], meta["energy_floor_db"]
    mid = resample_fft(data.mean(axis=1), rate, rate_model)
    w, h = size or (n, n)
    rows, cols = math.ceil(h / n), math.ceil(w / n)
    needed = rows * cols * t
    slots = eligible_slots(mid, block, floor)
    if key:
        slots = keyed_order(slots, key)
    if len(slots) < needed:
        raise RevealError(f"container too short: needs {needed} non-silent subsequences, has {len(slots)}")
    windows = [
        np.concatenate([mid[s * block : (s + 1) * block] for s in slots[i * t : (i + 1) * t]])
        for i in range(rows * cols)
    ]
    interp = Interpreter(model_path=model_path, num_threads=threads)
    run = interp.get_signature_runner("reveal")
    try:
        first = run(container_audio=windows[0][None])["revealed_image"][0]
    except RuntimeError:
        # XNNPACK refuses some int8 graphs (metadata.json: "xnnpack_delegate": false):
        # run them on the builtin kernels.
        interp = Interpreter(
            model_path=model_path,
            num_threads=threads,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        run = interp.get_signature_runner("reveal")
        first = run(container_audio=windows[0][None])["revealed_image"][0]
    tiles = [first] + [run(container_audio=x[None])["revealed_image"][0] for x in windows[1:]]
    tiles = np.clip(np.stack(tiles), 0.0, 1.0).reshape(rows, cols, n, n, 3)
    return tiles.transpose(0, 2, 1, 3, 4).reshape(rows * n, cols * n, 3)[:h, :w]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("container")
    p.add_argument("--model", required=True, help="reveal_*.tflite")
    p.add_argument("--metadata", required=True, help="metadata.json of the export")
    p.add_argument("-o", "--output", required=True, help="PNG to write")
    p.add_argument("--key", default=None)
    p.add_argument("--size", default=None, help="WxH")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    try:
        for path in (a.container, a.model, a.metadata):
            if not os.path.isfile(path):
                raise RevealError(f"file not found: {path}")
        with open(a.metadata, encoding="utf-8") as f:
            meta = json.load(f)
        size = None
        if a.size:
            try:
                size = tuple(int(v) for v in a.size.lower().split("x"))
            except ValueError:
                raise RevealError(f"--size must look like WxH, got {a.size!r}") from None
            if len(size) != 2 or not all(1 <= v <= 16384 for v in size):
                raise RevealError(f"--size {a.size} is out of range")
        image = reveal(a.container, a.model, meta, a.key, size, a.threads)
        out = np.round(image * 255.0).astype(np.uint8)
        folder = os.path.dirname(os.path.abspath(a.output))
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=folder)
        os.close(fd)
        try:
            Image.fromarray(out).save(tmp, format="PNG")
            os.replace(tmp, a.output)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    except (RevealError, OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
