#!/usr/bin/env python3
"""Reference client: hide an image in a speech recording with an exported TFLite hider.

The counterpart of reveal_tflite.py, for apps that hide on the phone: it runs
``tflite/hide_float32.tflite`` (or float16) with ai_edge_litert and never
imports TensorFlow. Around the graph it uses ditas-tf's plain-numpy signal
code (``ditas_tf/sync.py``, ``ditas_tf/masking.py``, ``ditas_tf/stego.py``):
tiles, runs of the cover (and copies of the image where the cover has room
for them), the keyed pilot, the modification resampled to the
cover's rate and added to every channel, no clipping. The container is 16-bit
PCM WAV and reveals with ``ditas reveal`` or reveal_tflite.py.

    python export/hide_tflite.py SECRET_IMAGE COVER_AUDIO --model export/default/tflite/hide_float32.tflite \\
        --metadata export/default/metadata.json -o container.wav [--key TEXT]
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("secret")
    p.add_argument("cover")
    p.add_argument("--model", required=True, help="hide_*.tflite")
    p.add_argument("--metadata", required=True, help="metadata.json of the export")
    p.add_argument("-o", "--output", required=True, help="container WAV to write")
    p.add_argument("--key", default=None)
    a = p.parse_args(argv)
    from ditas_tf.errors import DitasError
    from ditas_tf.stego import Steganographer

    try:
        res = Steganographer.from_export(a.metadata, hide_path=a.model).hide(a.secret, a.cover, a.output, key=a.key)
    except (DitasError, OSError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    if res.reveal_hint:
        print(f"reveal with: {res.reveal_hint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
