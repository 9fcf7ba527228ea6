"""Custom training loop under tf.distribute: resumable, validated, observable.

The Trainer owns the strategy, the model and the optimizer, all created inside
``strategy.scope()``; ``train_step(iterator)`` is a tf.function that calls
``strategy.run``; per-replica losses are scaled to the global batch with
``tf.nn.compute_average_loss``; checkpoints hold the model, the optimizer and
the step, and are restored inside the scope.

Run folder layout::

    MODEL_DIR/config.yaml        resolved config (written once, reused on resume)
    MODEL_DIR/ckpt/              latest checkpoints (CheckpointManager)
    MODEL_DIR/best/              best checkpoint by train.best_metric + best.json
    MODEL_DIR/model.weights.h5   weights of the latest checkpoint (for hide/reveal/export)
    MODEL_DIR/summaries/{train,validation}/   TensorBoard
    MODEL_DIR/validation.jsonl   one line per validation
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from ditas_tf import data as data_lib
from ditas_tf.audio import pcm16_roundtrip
from ditas_tf.config import Config, read_config, save_config
from ditas_tf.errors import ConfigError, DataError, DitasError
from ditas_tf.fileio import atomic_path, atomic_write_text
from ditas_tf.losses import batch_losses, per_example_losses
from ditas_tf.metrics import psnr, snr_db, ssim
from ditas_tf.networks import build_system

log = logging.getLogger(__name__)


class TrainingDiverged(DitasError):
    """The loss became NaN or infinite."""


def make_strategy(name: str) -> tf.distribute.Strategy:
    """``auto`` (all GPUs mirrored, else one device), ``one_device``, ``mirrored``, ``multi_worker``."""
    gpus = tf.config.list_logical_devices("GPU")
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError("--strategy multi_worker needs the TF_CONFIG environment variable")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    device = gpus[0].name if gpus else "/cpu:0"
    return tf.distribute.OneDeviceStrategy(device)


def distributed_step(strategy: tf.distribute.Strategy, step_fn, step: tf.Variable):
    """A tf.function ``train_step(iterator)``: ``step_fn`` on every replica's next batch, ``step`` + 1,
    and each returned value summed over the replicas (each is already divided by the global batch)."""

    @tf.function
    def train_step(iterator):
        per_replica = strategy.run(step_fn, args=(next(iterator),))
        step.assign_add(1)
        return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for k, v in per_replica.items()}

    return train_step


def _is_chief(strategy) -> bool:
    """Whether this process writes checkpoints and the run folder (worker 0 of a cluster)."""
    return bool(strategy.extended.should_checkpoint)


class LearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """lr_0 divided by ``factor`` every ``every`` steps (the paper: 1e-4, /3 every 20 epochs)."""

    def __init__(self, initial: float, factor: float, every: int):
        self.initial, self.factor, self.every = float(initial), float(factor), int(every)

    def __call__(self, step):
        if self.every <= 0:
            return tf.constant(self.initial, tf.float32)
        k = tf.floor(tf.cast(step, tf.float32) / float(self.every))
        return self.initial * tf.pow(1.0 / self.factor, k)

    def get_config(self):
        return {"initial": self.initial, "factor": self.factor, "every": self.every}


# Keys a resumed run may change: how long to train, where the data lives, what it runs on.
RESUMABLE_CHANGES = (
    "train.steps",
    "train.strategy",
    "data.train_images",
    "data.train_audio",
    "data.val_images",
    "data.val_audio",
)


def prepare_model_dir(model_dir: str, cfg: Config | None) -> Config:
    """Write config.yaml on the first run; on resume, return the saved config.

    A config given on resume may change only train.steps and the data folders
    (so that a run continues on another machine); other differences are
    reported and the saved config is used.
    """
    path = os.path.join(model_dir, "config.yaml")
    if os.path.isfile(path):
        saved = read_config(path)
        if cfg is not None:
            diffs = _diff(saved.to_dict(), cfg.to_dict())
            ignored = [d for d in diffs if d not in RESUMABLE_CHANGES]
            if ignored:
                log.warning("resuming %s with its saved config; ignoring changes to %s", model_dir, ", ".join(ignored))
            applied = [d for d in diffs if d in RESUMABLE_CHANGES]
            for key in applied:
                section, name = key.split(".")
                setattr(getattr(saved, section), name, getattr(getattr(cfg, section), name))
            if applied:
                save_config(saved, path)
        return saved
    if cfg is None:
        raise ConfigError(f"{model_dir} has no config.yaml: give --config")
    os.makedirs(model_dir, exist_ok=True)
    save_config(cfg, path)
    return cfg


def _diff(a: dict, b: dict, prefix: str = "") -> list:
    out = []
    for k in a:
        if isinstance(a[k], dict):
            out += _diff(a[k], b.get(k, {}), f"{prefix}{k}.")
        elif a[k] != b.get(k):
            out.append(f"{prefix}{k}")
    return out


class Trainer:
    """Binds the strategy, the DITAS system and the optimizer; runs the loop."""

    def __init__(self, cfg: Config, model_dir: str, strategy: tf.distribute.Strategy | None = None):
        self.cfg = cfg
        self.model_dir = model_dir
        self.strategy = strategy or make_strategy(cfg.train.strategy)
        self.is_chief = _is_chief(self.strategy)
        t = cfg.train
        with self.strategy.scope():
            self.system = build_system(cfg.model, quantization_noise=t.quantization_noise, channel=cfg.channel)
            self.model = self.system.training_model
            self.lr = LearningRate(t.learning_rate, t.lr_decay_factor, t.lr_decay_steps)
            self.optimizer = keras.optimizers.Adam(self.lr, global_clipnorm=t.clip_norm if t.clip_norm > 0 else None)
            self.optimizer.build(self.model.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self.checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer, step=self.step)
        ckpt_dir = os.path.join(model_dir, "ckpt")
        if not self.is_chief:
            # Non-chief workers write to a scratch folder (they must still save: it is collective).
            ckpt_dir = os.path.join(model_dir, f".worker_{self.strategy.cluster_resolver.task_id}")
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, ckpt_dir, max_to_keep=t.max_to_keep, step_counter=self.step
        )
        self.lambdas = cfg.lambdas()
        self.global_batch = t.batch_size
        self._train_step = None

    # ----------------------------------------------------------------- state

    def restore(self) -> int:
        """Restore the latest checkpoint (inside the scope, so optimizer slots are mirrored)."""
        latest = self.manager.latest_checkpoint
        if latest:
            with self.strategy.scope():
                self.checkpoint.restore(latest).assert_existing_objects_matched()
            log.info("resumed from %s at step %d", latest, int(self.step.numpy()))
        elif self.cfg.train.init_weights:
            path = self.cfg.train.init_weights
            if not os.path.isfile(path):
                raise ConfigError(f"train.init_weights: file not found: {path}")
            with self.strategy.scope():
                self.system.load_weights(path)
            log.info("warm start from %s", path)
        return int(self.step.numpy())

    def save(self) -> str:
        """Save a checkpoint and export the weights for hide/reveal/export."""
        path = self.manager.save(checkpoint_number=self.step)
        if self.is_chief:
            with atomic_path(os.path.join(self.model_dir, "model.weights.h5"), ".weights.h5") as tmp:
                self.system.save_weights(tmp)
        else:
            shutil.rmtree(self.manager.directory, ignore_errors=True)
        return path

    # ------------------------------------------------------------------ step

    def _step_fn(self, batch):
        cover = batch["cover_audio"]
        with tf.GradientTape() as tape:
            out = self.model(batch, training=True)
            terms = per_example_losses(
                out,
                cover,
                self.cfg.model.stages,
                self.lambdas,
                self.cfg.train.hiding_loss,
                self.cfg.train.hiding_weight,
                self.cfg.train.nmr_offset_db,
            )
            terms["psnr"] = psnr(batch["secret_image"], out["revealed_image"])
            terms["snr_db"] = snr_db(cover, out["container_audio"])
            losses = batch_losses(terms, self.global_batch)
        grads = tape.gradient(losses["total"], self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return losses

    def make_train_step(self):
        """The tf.function ``train_step(iterator)`` running one step on every replica."""
        return distributed_step(self.strategy, self._step_fn, self.step)

    def distributed_dataset(self):
        """Per-replica input pipelines (distribute_datasets_from_function)."""
        return self.strategy.distribute_datasets_from_function(lambda ctx: data_lib.train_dataset(self.cfg, ctx))

    # ------------------------------------------------------------ validation

    def validate(self, val: dict, batch: int = 16) -> dict:
        """Per-stage metrics on the fixed validation set, after 16-bit rounding."""
        hider, revealer = self.system.hider(), self.system.revealer()
        containers, revealed = [], []
        for i in range(0, len(val["secret_image"]), batch):
            sl = {k: v[i : i + batch] for k, v in val.items()}
            c = hider(sl, training=False)["container_audio"].numpy()
            c = pcm16_roundtrip(c)
            containers.append(c)
            revealed.append(revealer(c, training=False)["revealed_stages"].numpy())
        container = np.concatenate(containers)
        stages = np.concatenate(revealed)  # [N, k, h, w, 3]
        cover, secret = val["cover_audio"], val["secret_image"]
        t = self.cfg.model.stages
        res = {}
        blk_cover = cover.reshape(len(cover), t, -1)
        blk_cont = container.reshape(len(cover), t, -1)
        for i in range(t):
            res[f"container_mse_{i + 1}"] = float(np.mean((blk_cont[:, i] - blk_cover[:, i]) ** 2))
            res[f"snr_db_{i + 1}"] = float(np.mean(snr_db(blk_cover[:, i], blk_cont[:, i])))
        for i in range(stages.shape[1]):
            res[f"psnr_C{i + 1}"] = float(np.mean(psnr(secret, stages[:, i])))
            res[f"ssim_C{i + 1}"] = float(np.mean(ssim(secret, stages[:, i])))
        res["container_mse"] = float(np.mean((container - cover) ** 2))
        res["snr_db"] = float(np.mean(snr_db(cover, container)))
        res["psnr"] = res[f"psnr_C{stages.shape[1]}"]
        res["ssim"] = res[f"ssim_C{stages.shape[1]}"]
        res["_example"] = (secret[:4], stages[:4], cover[:2], container[:2])
        return res

    def _keep_best(self, metrics: dict) -> None:
        key = self.cfg.train.best_metric
        value = metrics.get(key)
        if value is None or not self.is_chief:
            return
        best_dir = os.path.join(self.model_dir, "best")
        info_path = os.path.join(best_dir, "best.json")
        higher = key != "loss"
        if os.path.isfile(info_path):
            with open(info_path) as f:
                prev = json.load(f)["value"]
            if (value <= prev) if higher else (value >= prev):
                return
        os.makedirs(best_dir, exist_ok=True)
        with atomic_path(os.path.join(best_dir, "model.weights.h5"), ".weights.h5") as tmp:
            self.system.save_weights(tmp)
        atomic_write_text(info_path, json.dumps({"metric": key, "value": value, "step": int(self.step.numpy())}))
        log.info("new best %s=%.4f at step %d", key, value, int(self.step.numpy()))

    # ------------------------------------------------------------- the loop

    def train(self, steps: int | None = None, progress: bool = True) -> dict:
        """Train until ``steps`` (default train.steps); returns the last logged values."""
        t = self.cfg.train
        total = steps or t.steps
        start = self.restore()
        if start >= total:
            log.info("already at step %d >= %d: nothing to do", start, total)
            return {}
        val = data_lib.validation_set(self.cfg) if self.is_chief else None
        dataset = self.distributed_dataset()
        iterator = iter(dataset)
        train_step = self.make_train_step()
        writer_t = writer_v = None
        if self.is_chief:
            sdir = os.path.join(self.model_dir, "summaries")
            writer_t = tf.summary.create_file_writer(os.path.join(sdir, "train"))
            writer_v = tf.summary.create_file_writer(os.path.join(sdir, "validation"))
        bar = _progress(start, total, progress and self.is_chief)
        last, t0, n0 = {}, time.perf_counter(), start
        step = start
        while step < total:
            values = train_step(iterator)
            step = int(self.step.numpy())
            loss = float(values["total"])
            if not math.isfinite(loss):
                raise TrainingDiverged(
                    f"non-finite loss ({loss}) at step {step}; the last good checkpoint "
                    f"{self.manager.latest_checkpoint or '(none)'} is intact"
                )
            last = {k: float(v) for k, v in values.items()}
            if step % t.summary_every == 0 or step == total:
                dt = time.perf_counter() - t0
                sps = (step - n0) * self.global_batch / dt if dt > 0 else 0.0
                last["samples_per_sec"] = sps
                t0, n0 = time.perf_counter(), step
                if writer_t is not None:
                    with writer_t.as_default(step=step):
                        for k, v in last.items():
                            tf.summary.scalar(f"losses/{k}" if k.startswith(("hid", "rev", "tot")) else k, v)
                        tf.summary.scalar("learning_rate", float(self.lr(step)))
                        tf.summary.scalar("steps_per_sec", sps / self.global_batch)
                bar.set_postfix_str(
                    f"loss={loss:.4g} psnr={last['psnr']:.2f} snr={last['snr_db']:.1f} {sps:.1f} samples/s"
                )
            bar.update(step - bar.n)
            if step % t.checkpoint_every == 0 or step == total:
                self.save()
            if val is not None and (step % t.validate_every == 0 or step == total):
                self._validation(val, step, writer_v)
        bar.close()
        return last

    def _validation(self, val, step, writer):
        metrics = self.validate(val)
        secret, stages, cover, container = metrics.pop("_example")
        log.info(
            "validation step %d: psnr=%.2f dB ssim=%.4f snr=%.2f dB container_mse=%.3g",
            step,
            metrics["psnr"],
            metrics["ssim"],
            metrics["snr_db"],
            metrics["container_mse"],
        )
        with open(os.path.join(self.model_dir, "validation.jsonl"), "a") as f:
            f.write(json.dumps({"step": step, **metrics}) + "\n")
        self._keep_best(metrics)
        with writer.as_default(step=step):
            for k, v in metrics.items():
                tf.summary.scalar(k, v)
            if step % self.cfg.train.image_summary_every == 0 or step == self.cfg.train.steps:
                tf.summary.image("secret_image", secret, max_outputs=4)
                for i in range(stages.shape[1]):
                    tf.summary.image(f"revealed_C{i + 1}", np.clip(stages[:, i], 0, 1), max_outputs=4)
                    prev = stages[:, i - 1] if i else 0.0
                    tf.summary.image(f"residual_S{i + 1}", np.clip(0.5 + (secret - prev), 0, 1), max_outputs=4)
                rate = self.cfg.data.sample_rate
                tf.summary.audio("cover_audio", cover[..., None], rate, max_outputs=2)
                tf.summary.audio("container_audio", np.clip(container, -1, 1)[..., None], rate, max_outputs=2)


def _progress(start, total, enabled):
    from tqdm import tqdm

    tty = sys.stderr.isatty()
    return tqdm(
        total=total,
        initial=start,
        disable=not enabled,
        unit="step",
        dynamic_ncols=True,
        mininterval=0.5 if tty else 30.0,
        file=sys.stderr,
    )


def run_training(cfg: Config | None, model_dir: str, steps: int | None = None, progress: bool = True) -> dict:
    """Resolve the run folder's config, check data, and train (the ditas-train body)."""
    saved = os.path.join(model_dir, "config.yaml")
    if cfg is not None and not os.path.isfile(saved):
        # Derived values are resolved once, on the first run, and saved: a resume never recomputes them.
        _check_data(cfg)
        _epochs_to_steps(cfg)
    if cfg is None and not os.path.isfile(saved):
        raise ConfigError(f"{model_dir} has no config.yaml: give --config")
    strategy = make_strategy((cfg or read_config(saved)).train.strategy)
    # Only the chief writes the run folder; other workers read what it wrote.
    cfg = prepare_model_dir(model_dir, cfg) if _is_chief(strategy) else (cfg or read_config(saved))
    _check_data(cfg)
    if steps is not None:
        cfg.train.steps = steps
    trainer = Trainer(cfg, model_dir, strategy=strategy)
    return trainer.train(progress=progress)


def _epochs_to_steps(cfg: Config) -> None:
    """Turn train.epochs / train.lr_decay_epochs into steps (one epoch = one pass over the images)."""
    t = cfg.train
    if t.epochs <= 0 and t.lr_decay_epochs <= 0:
        return
    images = len(data_lib.list_images(cfg.data.train_images, cfg.data.voc_train_split))
    per_epoch = max(1, math.ceil(images / t.batch_size))
    if t.epochs > 0:
        t.steps = max(1, round(t.epochs * per_epoch))
    if t.lr_decay_epochs > 0:
        t.lr_decay_steps = max(1, round(t.lr_decay_epochs * per_epoch))
    log.info(
        "%d images, %d steps per epoch: %d steps, lr decay every %d steps (saved as steps in config.yaml)",
        images,
        per_epoch,
        t.steps,
        t.lr_decay_steps,
    )
    t.epochs = 0.0
    t.lr_decay_epochs = 0.0


def _check_data(cfg: Config) -> None:
    """Fail before any work when a data folder is missing or empty."""
    d = cfg.data
    if not d.train_images:
        raise DataError("no training image folders: pass --images or set data.train_images")
    if not d.train_audio:
        raise DataError("no training audio folders: pass --audio or set data.train_audio")
    data_lib.list_images(d.train_images, d.voc_train_split)
    data_lib.list_audio(d.train_audio, d.ljspeech_train_prefixes, "TRAIN")
    if d.val_images or d.val_audio:
        data_lib.list_images(d.val_images, d.voc_val_split)
        data_lib.list_audio(d.val_audio, d.ljspeech_val_prefixes, "TEST")
