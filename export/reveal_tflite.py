#!/usr/bin/env python3
"""Reference client: reveal an image from a container with an exported TFLite revealer.

It runs the graph with ai_edge_litert and never imports TensorFlow. Every
parameter comes from the export's metadata.json. The signal handling around
the graph is ditas-tf's own plain-numpy code, which is what a phone port
translates:

* ``ditas_tf/sync.py``: mid signal at 16 kHz, GCC-PHAT search for each tile's
  keyed pilot (scheme ``pilot-run/v2``: the pilot also tells how many stages the
  tile carries), sub-sample alignment;
* ``ditas_tf/masking.py``: the STFT framing and mask that shape the pilot;
* ``ditas_tf/stego.py`` (``reveal_array``): copies of the image, when the hider had room for them,
  averaged tile by tile (``average_copies``); tiles assembled row-major, cropped to --size.

    python export/reveal_tflite.py CONTAINER_AUDIO --model export/default/tflite/reveal_float32.tflite \\
        --metadata export/default/metadata.json -o revealed.png [--key TEXT] [--size WxH]

Any ``reveal_*.tflite`` of the export works as --model. ``reveal_fast_*.tflite`` (written when the
model ships a fast revealer: ditas_tf/fast_revealer.py) is the quickest on a phone, reads only tiles
that carry all the model's stages, and gives the final image without the per-stage outputs.
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("container")
    p.add_argument("--model", required=True, help="reveal_*.tflite")
    p.add_argument("--metadata", required=True, help="metadata.json of the export")
    p.add_argument("-o", "--output", required=True, help="PNG to write")
    p.add_argument("--key", default=None)
    p.add_argument("--size", default=None, help="WxH")
    p.add_argument("--stages", type=int, default=None)
    a = p.parse_args(argv)
    from ditas_tf.errors import DitasError
    from ditas_tf.stego import Steganographer, parse_size

    try:
        steg = Steganographer.from_export(a.metadata, reveal_path=a.model)
        steg.reveal(a.container, a.output, key=a.key, size=parse_size(a.size), stages=a.stages)
    except (DitasError, OSError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
