"""Inference behind one small interface: Keras (TensorFlow) or LiteRT (no TensorFlow).

A runner maps numpy arrays to numpy arrays; everything around the networks
(tiling, positions, resampling, synchronisation) lives in
:mod:`ditas_tf.stego` and is shared by both, so the CLI and a phone port run
the same pre- and post-processing.

* ``hide(secret [N, n, n, 3], cover [N, k*b], k) -> container [N, k*b]``
* ``reveal(container [N, k*b], k) -> revealed_stages [N, k, n, n, 3]``

The LiteRT graphs are exported for all t stages. Stage i of DITAS depends only
on stages 1..i (S_i, the hiding and revealing features flow forward), so k < t
stages run the t-stage graph on the k real blocks followed by copies of them
and keep the first k outputs; this equals a k-stage Keras model (tested).

A model folder with ``hide_float32.tflite`` and ``reveal_float32.tflite``
(written and verified by :func:`ditas_tf.export_lib.package_graphs`) runs on
LiteRT; ``import tensorflow`` never happens on that path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

import numpy as np

from ditas_tf.errors import InputError

log = logging.getLogger(__name__)

HIDE_GRAPH = "hide_float32.tflite"
REVEAL_GRAPH = "reveal_float32.tflite"
BATCH = 64


def has_graphs(model_dir: str) -> bool:
    """Whether a model folder holds the LiteRT hide and reveal graphs."""
    return all(os.path.isfile(os.path.join(model_dir, f)) for f in (HIDE_GRAPH, REVEAL_GRAPH))


def pad_blocks(x: np.ndarray, k: int, t: int, block: int) -> np.ndarray:
    """[N, k*block] -> [N, t*block]: the k blocks, then copies of them (cyclic).

    Stage i depends only on stages 1..i, so a t-stage graph fed this way gives
    the k-stage outputs first (what a served or phone graph needs for a
    container that carries k < t stages).
    """
    if k == t:
        return x
    blocks = x.reshape(x.shape[0], k, block)
    idx = np.arange(t) % k
    return blocks[:, idx].reshape(x.shape[0], t * block)


class KerasRunner:
    """Runs the Keras hider and revealer of a :class:`ditas_tf.networks.DitasSystem`."""

    backend = "keras"

    def __init__(self, system, compiled: bool = False):
        self.system = system
        self.compiled = compiled
        self.stages = system.stages
        self._fns: dict = {}

    def _fn(self, kind: str, k: int):
        model = self.system.hider(k) if kind == "hide" else self.system.revealer(k)
        if not self.compiled:
            return lambda x: model(x, training=False)
        if (kind, k) not in self._fns:
            import tensorflow as tf

            n, b = self.system.cfg.image_size, k * self.system.cfg.block_samples
            window = tf.TensorSpec([None, b], tf.float32)
            if kind == "hide":
                spec = [{"secret_image": tf.TensorSpec([None, n, n, 3], tf.float32), "cover_audio": window}]
            else:
                spec = [window]
            self._fns[(kind, k)] = tf.function(lambda x: model(x, training=False), input_signature=spec)
        return self._fns[(kind, k)]

    def hide(self, secret: np.ndarray, cover: np.ndarray, k: int) -> np.ndarray:
        """Container windows [N, k*b] for secrets [N, n, n, 3] and cover windows [N, k*b]."""
        fn = self._fn("hide", k)
        out = [
            np.asarray(
                fn(
                    {
                        "secret_image": np.asarray(secret[i : i + BATCH], np.float32),
                        "cover_audio": np.asarray(cover[i : i + BATCH], np.float32),
                    }
                )["container_audio"]
            )
            for i in range(0, len(secret), BATCH)
        ]
        return np.concatenate(out)

    def reveal(self, windows: np.ndarray, k: int) -> np.ndarray:
        """Cumulative revealed images [N, k, n, n, 3] (unclipped)."""
        fn = self._fn("reveal", k)
        out = [
            np.asarray(fn(np.asarray(windows[i : i + BATCH], np.float32))["revealed_stages"])
            for i in range(0, len(windows), BATCH)
        ]
        return np.concatenate(out)


@contextlib.contextmanager
def quiet_stderr():
    """Silence file descriptor 2 (LiteRT's C++ logging prints an INFO line per delegate)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def litert_interpreter(path: str, threads: int = 2):
    """An ai_edge_litert Interpreter for ``path``; a one-line InputError when the runtime is missing."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise InputError("ai-edge-litert is not installed: pip install ai-edge-litert") from None
    try:
        with quiet_stderr():
            interp = Interpreter(model_path=path, num_threads=threads)
            interp.allocate_tensors()
        return interp
    except (ValueError, RuntimeError) as exc:
        raise InputError(f"not a readable TFLite graph: {path} ({str(exc).splitlines()[0][:120]})") from None


class LiteRTRunner:
    """Runs the exported TFLite hide and reveal graphs under ai_edge_litert."""

    backend = "litert"

    def __init__(
        self,
        model_dir: str | None,
        stages: int,
        image_size: int,
        block: int,
        threads: int = 2,
        hide_path: str | None = None,
        reveal_path: str | None = None,
    ):
        self.paths = {
            "hide": hide_path or (os.path.join(model_dir, HIDE_GRAPH) if model_dir else None),
            "reveal": reveal_path or (os.path.join(model_dir, REVEAL_GRAPH) if model_dir else None),
        }
        self.stages = stages
        self.image_size = image_size
        self.block = block
        self.threads = threads
        self._runners: dict = {}

    def _runner(self, kind: str):
        if kind not in self._runners:
            path = self.paths[kind]
            if not path:
                raise InputError(f"no TFLite {kind} graph was given")
            if not os.path.isfile(path):
                raise InputError(f"TFLite graph not found: {path}")
            self._runners[kind] = litert_interpreter(path, self.threads).get_signature_runner(kind)
        return self._runners[kind]

    def hide(self, secret: np.ndarray, cover: np.ndarray, k: int) -> np.ndarray:
        """Container windows [N, k*b] for secrets [N, n, n, 3] and cover windows [N, k*b]."""
        run = self._runner("hide")
        full = pad_blocks(np.asarray(cover, np.float32), k, self.stages, self.block)
        out = [
            run(cover_audio=full[i : i + BATCH], secret_image=np.asarray(secret[i : i + BATCH], np.float32))[
                "container_audio"
            ]
            for i in range(0, len(full), BATCH)
        ]
        return np.concatenate(out)[:, : k * self.block]

    def reveal(self, windows: np.ndarray, k: int) -> np.ndarray:
        """Cumulative revealed images [N, k, n, n, 3] (unclipped).

        A graph without per-stage outputs (the fast revealer, ``reveal_fast_*.tflite``) reads
        containers with all t stages only, and gives C_t alone: [N, 1, n, n, 3].
        """
        run = self._runner("reveal")
        windows = np.asarray(windows, np.float32)
        if "revealed_stages" not in run.get_output_details():
            if k != self.stages:
                raise InputError(
                    f"this revealer reads tiles that carry all {self.stages} stages; this one carries {k}: "
                    "reveal it with reveal_float32.tflite"
                )
            out = [run(container_audio=windows[i : i + BATCH])["revealed_image"] for i in range(0, len(windows), BATCH)]
            return np.concatenate(out)[:, None]
        full = pad_blocks(windows, k, self.stages, self.block)
        out = [run(container_audio=full[i : i + BATCH])["revealed_stages"] for i in range(0, len(full), BATCH)]
        return np.concatenate(out)[:, :k]
