"""Readers for the real corpora and the tf.data pipelines built on them.

Images:
  * Pascal VOC2012 (``VOCdevkit/VOC2012`` or the ``VOC2012`` folder): JPEGImages
    listed by ``ImageSets/Main/<split>.txt`` (or ``Segmentation/<split>.txt``
    when the split is written ``Segmentation/<split>``).
  * Any folder, read recursively (PNG, JPEG, BMP). A sub-folder with
    ``JPEGImages`` is read as a VOC root, so label maps are never taken as photos.
Audio:
  * LJ Speech 1.1 (``metadata.csv`` + ``wavs/``): clips chosen by id prefix, or
    by the ids listed in a text file.
  * TIMIT (``TRAIN``/``TEST``/``DR*``/speaker/``*.WAV``), NIST SPHERE or RIFF.
  * Any folder: WAV, FLAC, OGG, MP3 (and SPHERE).

Audio is decoded to mono float32, resampled to the model rate with soxr and cut
into windows of t*w*h samples whose t subsequences all have an RMS at or above
``data.energy_floor_db``. Clips shorter than a window are joined with the next
ones (``data.short_clips=concat``, the default) or dropped (``skip``).

A file that cannot be decoded is skipped with one warning naming it, and
counted in :data:`SKIPPED`.
"""

from __future__ import annotations

import collections
import concurrent.futures
import csv
import glob
import logging
import os
import re
import threading

import numpy as np
import tensorflow as tf

from ditas_tf.audio import AUDIO_EXTENSIONS, load_mono
from ditas_tf.config import Config
from ditas_tf.errors import DataError, InputError
from ditas_tf.images import IMAGE_EXTENSIONS, eval_tile, load_image
from ditas_tf.positions import eligible_slots, gather

log = logging.getLogger(__name__)


class SkipCounter:
    """Thread-safe count of skipped files (each warned about once)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.files: collections.OrderedDict = collections.OrderedDict()

    def skip(self, path: str, reason: str) -> None:
        with self._lock:
            if path not in self.files:
                self.files[path] = reason
                log.warning("skipping %s: %s", path, reason)

    @property
    def count(self) -> int:
        return len(self.files)

    def reset(self) -> None:
        with self._lock:
            self.files.clear()


SKIPPED = SkipCounter()


# ------------------------------- readers ---------------------------------


def _require_dir(root: str, what: str) -> None:
    if not os.path.isdir(root):
        raise DataError(f"{what} folder not found: {root}")


def _voc_root(root: str) -> str | None:
    """The VOC year folder under ``root`` (root itself, or VOCdevkit/VOC20xx)."""
    if os.path.isdir(os.path.join(root, "JPEGImages")):
        return root
    # VOCdevkit holds VOC2007, VOC2012, ...: exactly those names (a "VOC2012_samples" folder is
    # an ordinary sub-folder, walked like any other).
    years = sorted(
        p for p in glob.glob(os.path.join(root, "VOC20*")) if re.fullmatch(r"VOC20\d\d", os.path.basename(p))
    )
    for y in reversed(years):
        if os.path.isdir(os.path.join(y, "JPEGImages")):
            return y
    return None


def list_voc(root: str, split: str) -> list[str]:
    """JPEGImages of a VOC root for ``split`` (``train``, ``val``, ``Segmentation/val``...)."""
    voc = _voc_root(root)
    if voc is None:
        raise DataError(f"not a Pascal VOC folder (no JPEGImages): {root}")
    sets = os.path.join(voc, "ImageSets")
    if not os.path.isdir(sets):
        log.info("%s has no ImageSets: using every image in JPEGImages", voc)
        return sorted(glob.glob(os.path.join(voc, "JPEGImages", "*.jpg")))
    sub, name = ("Main", split) if "/" not in split else split.split("/", 1)
    listing = os.path.join(sets, sub, f"{name}.txt")
    if not os.path.isfile(listing):
        have = sorted(os.path.relpath(p, sets)[:-4] for p in glob.glob(os.path.join(sets, "*", "*.txt")))
        raise DataError(f"VOC split {split!r} not found in {sets}; available: {', '.join(have[:12])}")
    with open(listing, encoding="utf-8") as f:
        ids = [line.split()[0] for line in f if line.strip()]
    return [os.path.join(voc, "JPEGImages", f"{i}.jpg") for i in ids]


def list_image_folder(root: str, voc_split: str = "train") -> list[str]:
    """Every image below ``root``; sub-folders that are VOC roots give their split."""
    _require_dir(root, "image")
    if _voc_root(root) is not None:
        return list_voc(root, voc_split)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if "JPEGImages" in dirnames:
            out.extend(list_voc(dirpath, voc_split))
            dirnames[:] = []
            continue
        out.extend(os.path.join(dirpath, f) for f in sorted(filenames) if f.lower().endswith(IMAGE_EXTENSIONS))
    return out


def list_images(roots, voc_split: str = "train") -> list[str]:
    """Images of several roots (VOC or folders), in a deterministic order."""
    files = []
    for root in roots:
        found = list_image_folder(root, voc_split)
        if not found:
            raise DataError(f"no images (PNG, JPEG, BMP) found in {root}")
        files.extend(found)
    return files


def _ljspeech_ids(selectors) -> tuple[set, list]:
    ids, prefixes = set(), []
    for s in selectors or []:
        if os.path.isfile(s):
            with open(s, encoding="utf-8") as f:
                ids.update(line.strip() for line in f if line.strip())
        else:
            prefixes.append(s)
    return ids, prefixes


def list_ljspeech(root: str, selectors=None) -> list[str]:
    """LJ Speech clips from metadata.csv whose id matches a prefix or a listed id.

    ``selectors`` holds clip-id prefixes (``LJ001``) and/or paths of text files
    with one id per line; empty means every clip.
    """
    meta = os.path.join(root, "metadata.csv")
    with open(meta, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f, delimiter="|", quoting=csv.QUOTE_NONE) if r]
    ids, prefixes = _ljspeech_ids(selectors)
    keep = [r[0] for r in rows if not (ids or prefixes) or r[0] in ids or any(r[0].startswith(p) for p in prefixes)]
    return [os.path.join(root, "wavs", f"{i}.wav") for i in keep]


def _timit_split_dir(root: str, split: str) -> str | None:
    for name in os.listdir(root):
        if name.lower() == split.lower() and os.path.isdir(os.path.join(root, name)):
            return os.path.join(root, name)
    return None


def is_timit(root: str) -> bool:
    """A TIMIT root has TRAIN and/or TEST folders holding DR* dialect folders."""
    for split in ("TRAIN", "TEST"):
        d = _timit_split_dir(root, split)
        if d and any(n.upper().startswith("DR") for n in os.listdir(d)):
            return True
    return False


def list_timit(root: str, split: str | None = None) -> list[str]:
    """TIMIT utterances (``*.WAV``: NIST SPHERE or RIFF) of ``split`` (TRAIN/TEST) or both."""
    splits = [split] if split else ["TRAIN", "TEST"]
    out = []
    for s in splits:
        d = _timit_split_dir(root, s)
        if d is None:
            continue
        for dirpath, dirnames, filenames in os.walk(d):
            dirnames.sort()
            out.extend(os.path.join(dirpath, f) for f in sorted(filenames) if f.lower().endswith(".wav"))
    return out


def list_audio_folder(root: str, selectors=None, timit_split: str | None = None) -> list[str]:
    """Audio files of a root in its layout: LJ Speech, TIMIT or any folder."""
    _require_dir(root, "audio")
    if os.path.isfile(os.path.join(root, "metadata.csv")) and os.path.isdir(os.path.join(root, "wavs")):
        return list_ljspeech(root, selectors)
    if is_timit(root):
        return list_timit(root, timit_split)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        out.extend(os.path.join(dirpath, f) for f in sorted(filenames) if f.lower().endswith(AUDIO_EXTENSIONS))
    return out


def list_audio(roots, selectors=None, timit_split: str | None = None) -> list[str]:
    """Audio files of several roots, in a deterministic order."""
    files = []
    for root in roots:
        found = list_audio_folder(root, selectors, timit_split)
        if not found:
            raise DataError(f"no audio files found in {root} (after the clip selection)")
        files.extend(found)
    return files


# ------------------------------ decoding ----------------------------------


def decode_image_or_skip(path: str):
    """uint8 RGB image, or None (warned and counted) if it cannot be decoded."""
    try:
        return load_image(path)
    except InputError as exc:
        SKIPPED.skip(path, str(exc))
        return None


def decode_audio_or_skip(path: str, rate: int):
    """Mono float32 audio at ``rate``, or None (warned and counted)."""
    try:
        return load_mono(path, rate)
    except InputError as exc:
        SKIPPED.skip(path, str(exc))
        return None


def _parallel(fn, items, workers: int = 4):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        yield from pool.map(fn, items)


def join_short_clips(clips, length: int, policy: str):
    """Yield clips of at least ``length`` samples: short ones joined or skipped."""
    buf, have = [], 0
    for clip in clips:
        if clip is None:
            continue
        if len(clip) >= length and not buf:
            yield clip
            continue
        if policy == "skip":
            continue
        buf.append(clip)
        have += len(clip)
        if have >= length:
            yield np.concatenate(buf)
            buf, have = [], 0


# ------------------------------ pipelines ---------------------------------


def _shard(files: list, input_context):
    if input_context is None or input_context.num_input_pipelines <= 1:
        return files
    n, i = input_context.num_input_pipelines, input_context.input_pipeline_id
    if len(files) < n:
        return files
    return files[i::n]


def _cache(ds, cache: str):
    if cache == "memory":
        return ds.cache()
    if cache and cache != "none":
        return ds.cache(cache)
    return ds


def image_dataset(
    files: list,
    size: int,
    seed: int,
    cache: str,
    shuffle_buffer: int,
    training: bool,
    random_scale: bool = False,
    deterministic: bool = False,
):
    """Random ``size`` crops with flips (training) from decoded, cached images.

    With ``random_scale`` the crop is a square of random side in [size, short
    side], resized (antialiased) to ``size``.
    """
    if not files:
        raise DataError("no image files to read")

    def gen():
        for img in _parallel(decode_image_or_skip, files):
            if img is not None:
                yield img

    ds = tf.data.Dataset.from_generator(gen, output_signature=tf.TensorSpec([None, None, 3], tf.uint8))
    ds = _cache(ds, cache)
    if training:
        ds = ds.repeat().shuffle(min(shuffle_buffer, max(len(files), 1)), seed=seed)

    def crop(img):
        shape = tf.shape(img)
        short = tf.minimum(shape[0], shape[1])

        def upscale():
            # Images smaller than the crop are enlarged so that every image can be used.
            scale = tf.cast(size, tf.float32) / tf.cast(short, tf.float32)
            new = tf.cast(tf.math.ceil(tf.cast(shape[:2], tf.float32) * scale), tf.int32)
            return tf.image.resize(tf.cast(img, tf.float32), new, antialias=True)

        img = tf.cond(short < size, upscale, lambda: tf.cast(img, tf.float32))
        if random_scale:
            short = tf.minimum(tf.shape(img)[0], tf.shape(img)[1])
            side = tf.random.uniform([], size, short + 1, dtype=tf.int32, seed=seed)
            img = tf.image.random_crop(img, [side, side, 3], seed=seed)
            img = tf.image.resize(img, [size, size], antialias=True)
        img = tf.image.random_crop(img, [size, size, 3], seed=seed)
        img = tf.image.random_flip_left_right(img, seed=seed)
        img = tf.image.random_flip_up_down(img, seed=seed + 1)
        return tf.clip_by_value(img / 255.0, 0.0, 1.0)

    return ds.map(crop, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic or not training)


def audio_dataset(
    files: list,
    rate: int,
    window: int,
    block: int,
    floor_db: float,
    short_clips: str,
    seed: int,
    cache: str,
    shuffle_buffer: int,
    tries: int = 8,
    deterministic: bool = False,
):
    """Random cover windows of ``window`` samples whose subsequences are all above the floor."""
    if not files:
        raise DataError("no audio files to read")

    def gen():
        clips = _parallel(lambda p: decode_audio_or_skip(p, rate), files)
        yield from join_short_clips(clips, window, short_clips)

    ds = tf.data.Dataset.from_generator(gen, output_signature=tf.TensorSpec([None], tf.float32))
    ds = _cache(ds, cache)
    ds = ds.repeat().shuffle(min(shuffle_buffer, max(len(files), 1)), seed=seed)
    stages = window // block
    floor = 10.0 ** (floor_db / 10.0)

    def pick(clip):
        n = tf.shape(clip)[0]
        # Block energies of every candidate from one cumulative sum, then one slice.
        cs = tf.concat([[0.0], tf.cumsum(tf.square(clip))], axis=0)
        starts = tf.random.uniform([tries], 0, n - window + 1, dtype=tf.int32, seed=seed)
        edges = starts[:, None] + block * tf.range(stages + 1)[None, :]
        sums = tf.gather(cs, edges)
        power = (sums[:, 1:] - sums[:, :-1]) / float(block)
        ok = tf.reduce_all(power >= floor, axis=-1)
        first = tf.argmax(tf.cast(ok, tf.int32))
        return tf.slice(clip, [starts[first]], [window]), tf.reduce_any(ok)

    def usable(window, ok):
        return ok

    def drop_flag(window, ok):
        return window

    ds = ds.map(pick, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    return ds.filter(usable).map(drop_flag)


def train_dataset(cfg: Config, input_context: tf.distribute.InputContext | None = None, deterministic: bool = False):
    """Per-replica batches of {secret_image, cover_audio} for training.

    ``deterministic`` keeps the element order fixed (with a fixed global seed the
    pairs are then the same on every run: used for export calibration).

    Used with ``strategy.distribute_datasets_from_function``: each input
    pipeline reads its own shard of the files and batches its replica's part
    of the global batch.
    """
    d, m = cfg.data, cfg.model
    if not d.train_images:
        raise DataError("no training image folders: pass --images or set data.train_images")
    if not d.train_audio:
        raise DataError("no training audio folders: pass --audio or set data.train_audio")
    batch = cfg.train.batch_size
    seed = d.seed
    if input_context is not None:
        batch = input_context.get_per_replica_batch_size(batch)
        seed += input_context.input_pipeline_id
    images = _shard(list_images(d.train_images, d.voc_train_split), input_context)
    audio = _shard(list_audio(d.train_audio, d.ljspeech_train_prefixes, "TRAIN"), input_context)
    img = image_dataset(
        images, m.image_size, seed, d.cache, d.shuffle_buffer, training=True, random_scale=d.random_scale
    )
    aud = audio_dataset(
        audio,
        d.sample_rate,
        m.cover_samples,
        m.block_samples,
        d.energy_floor_db,
        d.short_clips,
        seed,
        d.cache,
        d.shuffle_buffer,
        deterministic=deterministic,
    )
    ds = tf.data.Dataset.zip(img, aud).map(
        lambda s, c: {"secret_image": s, "cover_audio": c}, num_parallel_calls=tf.data.AUTOTUNE
    )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options).batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def eval_images(files: list, size: int) -> tuple[np.ndarray, list[str]]:
    """Deterministic evaluation tiles (see images.EVAL_PROTOCOL) and their files."""
    tiles, kept = [], []
    for path, img in zip(files, _parallel(decode_image_or_skip, files)):
        if img is not None:
            tiles.append(eval_tile(img, size))
            kept.append(path)
    if not tiles:
        raise DataError("every evaluation image failed to decode")
    return np.stack(tiles), kept


def eval_covers(files: list, cfg: Config, count: int) -> tuple[np.ndarray, list[str]]:
    """Deterministic cover windows: the first t eligible slots of each clip, in file order.

    These are the subsequences ``ditas hide`` uses without a key. Clips are
    taken in order and reused cyclically until ``count`` windows exist.
    """
    m, d = cfg.model, cfg.data
    windows, names = [], []
    for path, clip in zip(files, _parallel(lambda p: decode_audio_or_skip(p, d.sample_rate), files)):
        if clip is None:
            continue
        slots = eligible_slots(clip, m.block_samples, d.energy_floor_db)
        for k in range(len(slots) // m.stages):
            windows.append(gather(clip, slots[k * m.stages : (k + 1) * m.stages], m.block_samples))
            names.append(f"{path}#{k}")
    if not windows:
        raise DataError("no evaluation audio has enough non-silent subsequences")
    idx = [i % len(windows) for i in range(count)]
    return np.stack([windows[i] for i in idx]), [names[i] for i in idx]


def validation_set(cfg: Config) -> dict | None:
    """Fixed validation pairs {secret_image, cover_audio} (numpy), or None if unset."""
    d, m = cfg.data, cfg.model
    if not d.val_images or not d.val_audio:
        return None
    img_files = list_images(d.val_images, d.voc_val_split)
    aud_files = list_audio(d.val_audio, d.ljspeech_val_prefixes, "TEST")
    n = d.val_examples
    # Spread the picks over the folder so that every test set is represented.
    step = max(1, len(img_files) // n)
    images, _ = eval_images(img_files[::step][:n], m.image_size)
    covers, _ = eval_covers(aud_files, cfg, len(images))
    return {"secret_image": images, "cover_audio": covers}
