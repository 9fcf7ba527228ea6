"""The fast revealer: one small network trained to reveal a frozen DITAS hider's containers.

A shipped ``spectral`` model reveals with t revealing stages, each a 64-wide network; under full
int8 on a phone-class CPU that costs about 2.4 ms per 64x64 image. The fast revealer
(:func:`ditas_tf.networks.build_fast_revealer`) reads every stage's STFT cells at once and writes the
revealed image with one network. It changes nothing on the hiding side: it is trained on the
containers of the frozen hider (after a 16-bit rounding, as a WAV file stores them), against the
secret image itself.

Run folder layout::

    RUN_DIR/fast_revealer.yaml          resolved spec (written once, reused on resume)
    RUN_DIR/ckpt/                       latest checkpoints (student, optimizer, step)
    RUN_DIR/fast_revealer.weights.h5    weights of the latest checkpoint
    RUN_DIR/best/                       best validation PSNR: fast_revealer.weights.h5 + best.json
    RUN_DIR/validation.jsonl            one line per validation (student and hider's own revealer)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
import time

import keras
import numpy as np
import tensorflow as tf
import yaml

from ditas_tf import data as data_lib
from ditas_tf.audio import pcm16_roundtrip
from ditas_tf.config import Config, DataConfig, read_config
from ditas_tf.errors import ConfigError, DitasError
from ditas_tf.fileio import atomic_path, atomic_write_text, sha256_file
from ditas_tf.layers import SpaceToDepth, StageConv2D
from ditas_tf.metrics import psnr
from ditas_tf.networks import FAST_LAYOUTS, build_fast_revealer, build_system
from ditas_tf.trainer import LearningRate, TrainingDiverged, distributed_step, make_strategy

log = logging.getLogger(__name__)

SPEC_FILE = "fast_revealer.yaml"
WEIGHTS_FILE = "fast_revealer.weights.h5"


@dataclasses.dataclass
class FastRevealerConfig:
    """What a fast revealer is and how it is trained (resolved once, saved in the run folder)."""

    hider: str = ""  # model folder whose hiding stages make the containers (frozen)
    hider_sha256: str = ""  # its model.weights.h5: a fast revealer reveals this hider's containers only
    layout: str = "per_stage"  # networks.FAST_LAYOUTS
    width: int = 16  # per stage (per_stage) or in all (joint)
    res_blocks: int = 2
    stage_weight: float = 1.0  # per_stage: weight of sum_i MSE(R_i, the hider's own R_i)
    init_weights: str = ""  # warm start: a fast revealer's weights of the same shape
    batch_size: int = 16
    steps: int = 20000
    learning_rate: float = 1e-3
    lr_decay_factor: float = 3.0
    lr_decay_steps: int = 0
    clip_norm: float = 1.0
    checkpoint_every: int = 200
    validate_every: int = 500
    max_to_keep: int = 3
    data: DataConfig = dataclasses.field(default_factory=DataConfig)

    def validate(self) -> FastRevealerConfig:
        """Check values; raise ConfigError naming the bad key."""
        for key, upper in (("width", 1024), ("batch_size", 4096), ("steps", 10**8)):
            value = getattr(self, key)
            if not 1 <= value <= upper:
                raise ConfigError(f"fast_revealer.{key} must be in 1..{upper}, got {value}")
        if not 0 <= self.res_blocks <= 32:
            raise ConfigError(f"fast_revealer.res_blocks must be in 0..32, got {self.res_blocks}")
        if self.layout not in FAST_LAYOUTS:
            raise ConfigError(f"fast_revealer.layout must be one of {', '.join(FAST_LAYOUTS)}, got {self.layout!r}")
        if self.stage_weight < 0:
            raise ConfigError(f"fast_revealer.stage_weight must be >= 0, got {self.stage_weight}")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"fast_revealer.learning_rate must be in (0, 1), got {self.learning_rate}")
        if not os.path.isfile(os.path.join(self.hider, "config.yaml")):
            raise ConfigError(f"fast_revealer.hider: no model folder (config.yaml) at {self.hider!r}")
        return self


def save_spec(fcfg: FastRevealerConfig, path: str) -> None:
    """Write the spec as YAML, atomically."""
    atomic_write_text(path, yaml.safe_dump(dataclasses.asdict(fcfg), sort_keys=False))


def read_spec(path: str) -> FastRevealerConfig:
    """Read a spec written by :func:`save_spec`; unknown keys are an error."""
    with open(path) as f:
        tree = yaml.safe_load(f) or {}
    data = DataConfig(**tree.pop("data", {}))
    try:
        return FastRevealerConfig(**tree, data=data)
    except TypeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def prepare_run_dir(run_dir: str, fcfg: FastRevealerConfig | None) -> FastRevealerConfig:
    """The run's spec: the saved one when the folder has one (resume), else ``fcfg``, saved now."""
    path = os.path.join(run_dir, SPEC_FILE)
    if os.path.isfile(path):
        saved = read_spec(path)
        if fcfg is not None and fcfg != saved:
            log.warning("%s exists: resuming with the saved spec, not the one given", path)
        return saved.validate()
    if fcfg is None:
        raise ConfigError(f"{run_dir} has no {SPEC_FILE}: give a spec to start a run")
    fcfg.validate()
    if not fcfg.hider_sha256:
        fcfg = dataclasses.replace(fcfg, hider_sha256=sha256_file(os.path.join(fcfg.hider, "model.weights.h5")))
    os.makedirs(run_dir, exist_ok=True)
    save_spec(fcfg, path)
    return fcfg


def hider_config(fcfg: FastRevealerConfig) -> Config:
    """The hider's config with the run's data and batch size (what the containers are made of)."""
    cfg = read_config(os.path.join(fcfg.hider, "config.yaml"))
    return dataclasses.replace(
        cfg, data=fcfg.data, train=dataclasses.replace(cfg.train, batch_size=fcfg.batch_size)
    ).validate()


def _round16(x):
    """tf twin of :func:`ditas_tf.audio.pcm16_roundtrip` (a 16-bit WAV write and read)."""
    return tf.clip_by_value(tf.round(x * 32768.0), -32768.0, 32767.0) / 32768.0


class FastRevealerTrainer:
    """Owns the strategy, the frozen hider, the student and its optimizer; runs the loop."""

    def __init__(self, fcfg: FastRevealerConfig, run_dir: str, strategy: tf.distribute.Strategy | None = None):
        weights = os.path.join(fcfg.hider, "model.weights.h5")
        if fcfg.hider_sha256 and sha256_file(weights) != fcfg.hider_sha256:
            raise ConfigError(f"{weights} changed since this fast revealer run started (fast_revealer.hider_sha256)")
        self.fcfg = fcfg
        self.run_dir = run_dir
        self.cfg = hider_config(fcfg)
        self.strategy = strategy or make_strategy("auto")
        with self.strategy.scope():
            self.system = build_system(self.cfg.model, quantization_noise=False)
            self.system.load_weights(os.path.join(fcfg.hider, "model.weights.h5"))
            self.hider = self.system.hider()
            self.teacher = self.system.training_model  # quantization noise off: the hider's own R_i too
            self.teacher.trainable = False
            self.student = build_fast_revealer(self.cfg.model, fcfg.width, fcfg.res_blocks, layout=fcfg.layout)
            outputs = [self.student.output]
            if fcfg.layout == "per_stage":
                outputs.append(self.student.get_layer("stage_tails").output)
            self._view = keras.Model(self.student.input, outputs)
            self._to_cells = SpaceToDepth(self.cfg.model.space_to_depth)
            self.lr = LearningRate(fcfg.learning_rate, fcfg.lr_decay_factor, fcfg.lr_decay_steps)
            clip = fcfg.clip_norm if fcfg.clip_norm > 0 else None
            self.optimizer = keras.optimizers.Adam(self.lr, global_clipnorm=clip)
            self.optimizer.build(self.student.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self.checkpoint = tf.train.Checkpoint(model=self.student, optimizer=self.optimizer, step=self.step)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(run_dir, "ckpt"), max_to_keep=fcfg.max_to_keep, step_counter=self.step
        )

    def restore(self) -> int:
        """Restore the latest checkpoint, if any; returns the step."""
        latest = self.manager.latest_checkpoint
        if latest:
            with self.strategy.scope():
                self.checkpoint.restore(latest).assert_existing_objects_matched()
            log.info("resumed from %s at step %d", latest, int(self.step.numpy()))
        elif self.fcfg.init_weights:
            if not os.path.isfile(self.fcfg.init_weights):
                raise ConfigError(f"fast_revealer.init_weights: file not found: {self.fcfg.init_weights}")
            self.student.load_weights(self.fcfg.init_weights)
            log.info("warm start from %s", self.fcfg.init_weights)
        return int(self.step.numpy())

    def save(self) -> None:
        """Checkpoint, and export the student's weights."""
        self.manager.save(checkpoint_number=self.step)
        with atomic_path(os.path.join(self.run_dir, WEIGHTS_FILE), ".weights.h5") as tmp:
            self.student.save_weights(tmp)

    def _stage_targets(self, stage_outputs):
        """The hider's own R_1..R_t [B, t, h, w, 3] as the student's stage_tails cells [B, h/b, w/b, t*3b^2]."""
        t = self.cfg.model.stages
        return tf.concat([self._to_cells(stage_outputs[:, i]) for i in range(t)], axis=-1)

    def _step_fn(self, batch):
        # The frozen hider's containers, as a 16-bit WAV stores them; no gradient reaches the hider.
        out = self.teacher(batch, training=False)
        container = tf.stop_gradient(_round16(out["container_audio"]))
        secret = batch["secret_image"]
        gb = self.fcfg.batch_size
        with tf.GradientTape() as tape:
            preds = self._view(container, training=True)
            revealed = preds[0] if isinstance(preds, (list, tuple)) else preds
            per_example = tf.reduce_mean(tf.square(revealed - secret), axis=[1, 2, 3])
            terms = {"image": tf.nn.compute_average_loss(per_example, global_batch_size=gb)}
            if self.fcfg.layout == "per_stage" and self.fcfg.stage_weight > 0:
                # Each stage's decoder learns the hider's own R_i: a target it can reach from its block.
                target = tf.stop_gradient(self._stage_targets(out["stage_outputs"]))
                t = self.cfg.model.stages
                per_stage = tf.reduce_mean(tf.square(preds[1] - target), axis=[1, 2, 3]) * t  # sum over stages
                terms["stages"] = tf.nn.compute_average_loss(per_stage, global_batch_size=gb)
                loss = terms["image"] + self.fcfg.stage_weight * terms["stages"]
            else:
                loss = terms["image"]
        grads = tape.gradient(loss, self.student.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.student.trainable_variables))
        return {"loss": loss, **terms, "psnr": tf.nn.compute_average_loss(psnr(secret, revealed), global_batch_size=gb)}

    def make_train_step(self):
        """The tf.function ``train_step(iterator)`` running one step on every replica."""
        return distributed_step(self.strategy, self._step_fn, self.step)

    def validate(self, val: dict, batch: int = 16) -> dict:
        """PSNR of the student and of the hider's own revealer on the fixed validation pairs."""
        revealer = self.system.revealer()
        student, teacher = [], []
        for i in range(0, len(val["secret_image"]), batch):
            sl = {k: v[i : i + batch] for k, v in val.items()}
            c = pcm16_roundtrip(self.hider(sl, training=False)["container_audio"].numpy())
            student.append(self.student(c, training=False).numpy())
            teacher.append(revealer(c, training=False)["revealed_image"].numpy())
        secret = val["secret_image"]
        return {
            "psnr": float(np.mean(psnr(secret, np.concatenate(student)))),
            "hider_revealer_psnr": float(np.mean(psnr(secret, np.concatenate(teacher)))),
        }

    def _keep_best(self, metrics: dict) -> None:
        best_dir = os.path.join(self.run_dir, "best")
        info_path = os.path.join(best_dir, "best.json")
        if os.path.isfile(info_path):
            with open(info_path) as f:
                if metrics["psnr"] <= json.load(f)["value"]:
                    return
        os.makedirs(best_dir, exist_ok=True)
        with atomic_path(os.path.join(best_dir, WEIGHTS_FILE), ".weights.h5") as tmp:
            self.student.save_weights(tmp)
        info = {"metric": "psnr", "value": metrics["psnr"], "step": int(self.step.numpy())}
        atomic_write_text(info_path, json.dumps(info))

    def train(self, steps: int | None = None) -> dict:
        """Train until ``steps`` (default the spec's); returns the last logged values."""
        total = steps or self.fcfg.steps
        start = self.restore()
        if start >= total:
            log.info("already at step %d >= %d: nothing to do", start, total)
            return {}
        val = data_lib.validation_set(self.cfg)
        iterator = iter(
            self.strategy.distribute_datasets_from_function(lambda ctx: data_lib.train_dataset(self.cfg, ctx))
        )
        train_step = self.make_train_step()
        last, t0, n0, step = {}, time.perf_counter(), start, start
        while step < total:
            values = train_step(iterator)
            step = int(self.step.numpy())
            loss = float(values["loss"])
            if not math.isfinite(loss):
                raise TrainingDiverged(f"non-finite loss ({loss}) at step {step}")
            last = {k: float(v) for k, v in values.items()}
            if step % 50 == 0:
                dt = time.perf_counter() - t0
                last["samples_per_sec"] = (step - n0) * self.fcfg.batch_size / dt if dt > 0 else 0.0
                t0, n0 = time.perf_counter(), step
                log.info("step %d: loss %.4g, psnr %.2f dB, %.1f samples/s", step, loss, last["psnr"],
                         last["samples_per_sec"])  # fmt: skip
            if step % self.fcfg.checkpoint_every == 0 or step == total:
                self.save()
            if val is not None and (step % self.fcfg.validate_every == 0 or step == total):
                metrics = self.validate(val)
                log.info("validation step %d: psnr %.2f dB (the hider's own revealer: %.2f dB)", step,
                         metrics["psnr"], metrics["hider_revealer_psnr"])  # fmt: skip
                with open(os.path.join(self.run_dir, "validation.jsonl"), "a") as f:
                    f.write(json.dumps({"step": step, **metrics}) + "\n")
                self._keep_best(metrics)
        return last


def run(fcfg: FastRevealerConfig | None, run_dir: str, steps: int | None = None) -> dict:
    """Resolve the run folder's spec (saved once) and train the fast revealer."""
    spec = prepare_run_dir(run_dir, fcfg)
    return FastRevealerTrainer(spec, run_dir).train(steps)


def install(run_dir: str, model_dir: str) -> dict:
    """Ship a run's best fast revealer beside the model it was trained against; returns best.json.

    ``model_dir`` gets the weights of the run's best validation and its spec without the run's
    machine paths (the hider is the folder itself; the data stay in the run). Refused when the
    folder's hiding weights are not the ones the run was trained against.
    """
    spec = read_spec(os.path.join(run_dir, SPEC_FILE))
    if spec.hider_sha256 != sha256_file(os.path.join(model_dir, "model.weights.h5")):
        raise DitasError(f"{run_dir} was trained against other hiding weights than those in {model_dir}")
    with open(os.path.join(run_dir, "best", "best.json")) as f:
        best = json.load(f)
    with atomic_path(os.path.join(model_dir, WEIGHTS_FILE), ".weights.h5") as tmp:
        shutil.copyfile(os.path.join(run_dir, "best", WEIGHTS_FILE), tmp)
    save_spec(dataclasses.replace(spec, hider=".", data=DataConfig()), os.path.join(model_dir, SPEC_FILE))
    return best


def equalize_stage_ranges(model: keras.Model, containers: np.ndarray) -> keras.Model:
    """Rescale a ``per_stage`` fast revealer's groups so that every stage spans the same range; the
    same function (ReLU is positively homogeneous), returned as a new model.

    Full int8 gives a tensor one scale, and a stage-grouped tensor holds ten stages side by side:
    the first stage's features and R_1 are far larger than the last stages' residuals, which one
    scale crushes. Each group's body stream (head and residual adds), each residual block's inner
    activation and each stage tail are scaled up to the largest group's range on ``containers``
    (the export's calibration containers), and the next layer's weights undo it.
    """
    k = model.get_layer("stage_tails").groups
    names = [layer.name for layer in model.layers if isinstance(layer, StageConv2D)]
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    acts = probe.predict(containers, verbose=0)

    def group_max(x):
        g = np.abs(x).reshape(-1, k, x.shape[-1] // k).max(axis=(0, 2))
        return np.maximum(g, 1e-8)

    # The body stream of group i shares one scale: the head's output and every residual add.
    stream = group_max(acts[0])
    blocks = (len(names) - 2) // 2
    for j in range(blocks):
        add = model.get_layer(f"body_res{j + 1}_add").output
        stream = np.maximum(stream, group_max(keras.Model(model.input, add).predict(containers, verbose=0)))
    a = stream.max() / stream
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())

    def rescale(name, in_scale, out_scale):
        layer = clone.get_layer(name)
        kernel, bias = (w.copy() for w in layer.get_weights())
        per = kernel.shape[-1] // k
        for i in range(k):
            kernel[..., i * per : (i + 1) * per] *= out_scale[i] / in_scale[i]
            bias[i * per : (i + 1) * per] *= out_scale[i]
        layer.set_weights([kernel, bias])

    ones = np.ones(k)
    rescale("body_head", ones, a)
    for j in range(blocks):
        inner = group_max(acts[1 + 2 * j])
        c = inner.max() / inner
        rescale(f"body_res{j + 1}_conv1", a, c)
        rescale(f"body_res{j + 1}_conv2", c, a)
    tails = group_max(acts[-1])
    t = tails.max() / tails
    rescale("stage_tails", a, t)
    mix = clone.get_layer("sum_stages")
    (kernel,) = mix.get_weights()
    per = kernel.shape[2] // k
    kernel = kernel.copy()
    for i in range(k):
        kernel[:, :, i * per : (i + 1) * per] /= t[i]
    mix.set_weights([kernel])
    return clone


def load_fast_revealer(model_dir: str, cfg: Config, grouped_op: bool = True) -> keras.Model | None:
    """The fast revealer shipped beside a model (``fast_revealer.yaml`` + weights), or None.

    ``grouped_op``: each grouped convolution as one op (what the export converts).
    """
    spec_path, weights = os.path.join(model_dir, SPEC_FILE), os.path.join(model_dir, WEIGHTS_FILE)
    if not (os.path.isfile(spec_path) and os.path.isfile(weights)):
        return None
    spec = read_spec(spec_path)
    if spec.hider_sha256 and spec.hider_sha256 != sha256_file(os.path.join(model_dir, "model.weights.h5")):
        raise DitasError(
            f"{os.path.join(model_dir, WEIGHTS_FILE)} was trained against other hiding weights than "
            f"{os.path.join(model_dir, 'model.weights.h5')}: train it again (scripts/train_fast_revealer.py)"
        )
    model = build_fast_revealer(cfg.model, spec.width, spec.res_blocks, layout=spec.layout, grouped_op=grouped_op)
    model.load_weights(weights)
    return model
