"""The ``ditas`` command group and the ``ditas-train`` command (thin over the library).

Errors caused by bad input print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import functools
import logging
import os
import sys

import click

from ditas_tf.errors import DitasError, InputError

log = logging.getLogger("ditas_tf")

EXIT_BAD_INPUT = 2


def _setup_logging(verbose: bool) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1" if verbose else "3")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("absl").setLevel(logging.ERROR)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def user_errors(fn):
    """Turn DitasError (bad input) into a one-line message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DitasError as exc:
            _fail(str(exc).splitlines()[0])
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.exceptions.UsageError as exc:
            exc.exit_code = EXIT_BAD_INPUT
            raise


@click.group(cls=_Group)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.version_option(package_name="ditas-tf")
def main(verbose: bool):
    """DITAS: hide an image in speech audio and reveal it (TensorFlow / Keras 3)."""
    _setup_logging(verbose)


TRAIN_EXAMPLE = """
\b
Example (the shipped CPU recipe, on the repository's shared data):
  ditas-train --config cpu --model-dir runs/mine \\
    --images ../shared/data/images/train/bsd200 --images ../shared/data/images/train/t91 \\
    --audio ../shared/data/audio/LJSpeech-1.1 \\
    --val-images ../shared/data/images/test/set5 --val-audio ../shared/data/audio/LJSpeech-1.1 \\
    --set 'data.ljspeech_train_prefixes=[LJ001]' --set 'data.ljspeech_val_prefixes=[LJ002-00]' \\
    --steps 24000
Run the same command again to resume from the last checkpoint.
"""


def _train_options(fn):
    opts = [
        click.option(
            "--config",
            "configs",
            multiple=True,
            help="Preset (paper, repro, cpu, cpu10, cpu10_spectral, robust, cpu_white, cpu_quiet, smoke) or YAML file; repeatable.",
        ),
        click.option("--set", "overrides", multiple=True, help="Override section.key=value; repeatable."),
        click.option(
            "--model-dir",
            required=True,
            type=click.Path(file_okay=False),
            help="Run folder (checkpoints, config.yaml, summaries).",
        ),
        click.option("--images", multiple=True, help="Training image root (VOC or folder); repeatable."),
        click.option("--audio", multiple=True, help="Training audio root (LJ Speech, TIMIT or folder); repeatable."),
        click.option("--val-images", multiple=True, help="Validation image root; repeatable."),
        click.option("--val-audio", multiple=True, help="Validation audio root; repeatable."),
        click.option("--steps", type=int, default=None, help="Train until this global step."),
        click.option("--strategy", type=click.Choice(["auto", "one_device", "mirrored", "multi_worker"]), default=None),
        click.option("--no-progress", is_flag=True, help="No progress bar."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _train(configs, overrides, model_dir, images, audio, val_images, val_audio, steps, strategy, no_progress):
    _quiet_tf_import()
    from ditas_tf.config import load_config
    from ditas_tf.trainer import run_training

    cfg = None
    sets = list(overrides)
    for key, values in (
        ("data.train_images", images),
        ("data.train_audio", audio),
        ("data.val_images", val_images),
        ("data.val_audio", val_audio),
    ):
        if values:
            sets.append(f"{key}={list(values)!r}")
    if strategy:
        sets.append(f"train.strategy={strategy}")
    if steps is not None and steps <= 0:
        raise click.BadParameter("must be positive", param_hint="--steps")
    has_config = os.path.isfile(os.path.join(model_dir, "config.yaml"))
    if configs or sets or not has_config:
        cfg = load_config(configs or ["cpu"], sets)
    run_training(cfg, model_dir, steps=steps, progress=not no_progress)


@main.command("train", epilog=TRAIN_EXAMPLE)
@_train_options
@user_errors
def train_cmd(**kwargs):
    """Train a DITAS model or baseline (same as ditas-train)."""
    _train(**kwargs)


@click.command("ditas-train", epilog=TRAIN_EXAMPLE)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@_train_options
@user_errors
def train_main(verbose, **kwargs):
    """Train a DITAS model or baseline with a custom loop under tf.distribute."""
    _setup_logging(verbose)
    _train(**kwargs)


# ------------------------------------------------------------ hide / reveal


def _load_steg(model: str):
    """Load a model after the inputs were checked.

    A folder with LiteRT graphs (every shipped model) never imports TensorFlow;
    one without them runs the Keras model, with TensorFlow's start-up chatter silenced.
    """
    from ditas_tf.runners import has_graphs
    from ditas_tf.stego import Steganographer, resolve_model_dir

    if not has_graphs(resolve_model_dir(model)):
        click.echo("note: this model folder has no TFLite graphs: using TensorFlow (slower start)", err=True)
        _quiet_tf_import()
    return Steganographer.load(model)


def _quiet_tf_import() -> None:
    """Import TensorFlow with its C++ start-up chatter on fd 2 silenced."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            try:
                import tensorflow  # noqa: F401
            except Exception:
                os.dup2(saved, 2)
                raise
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@main.command("hide")
@click.argument("secret_image", type=click.Path())
@click.argument("cover_audio", type=click.Path())
@click.option("-o", "--output", "output", required=True, type=click.Path(), help="Container WAV to write.")
@click.option("--key", default=None, help="Secret key: positions and order of the subsequences.")
@click.option("--model", default="default", show_default=True, help="Shipped model name (default) or model folder.")
@click.option(
    "--stages",
    type=int,
    default=None,
    help="Hide with the first K stages (default: as many as the cover has room for).",
)
@click.option("--float", "float32", is_flag=True, help="Write 32-bit float WAV instead of 16-bit PCM.")
@click.option(
    "--copies",
    type=int,
    default=None,
    help="Hide this many copies of the image, each in its own stretch of the cover (default: as many as "
    "the cover has room for after the stages, up to 4). The receiver finds and averages them; it needs no flag.",
)
@click.option("--resize", default=None, help="Resize the secret to WxH first (e.g. 64x64: one tile, 1.28 s of speech).")
@click.option("--pesq", is_flag=True, help="Also measure wide-band PESQ over the carrying span (slower).")
@click.option(
    "--placement",
    default="least-audible",
    show_default=True,
    help="Where each tile goes in the cover: least-audible (where the modification rises least above the "
    "speech) or first (the first stretches that fit). The receiver needs no flag for either.",
)
@user_errors
def hide_cmd(secret_image, cover_audio, output, key, model, stages, float32, copies, resize, pesq, placement):
    """Hide SECRET_IMAGE in COVER_AUDIO and write the container WAV."""
    import numpy as np

    if stages is not None and stages < 1:
        raise InputError(f"--stages must be at least 1, got {stages}")
    from ditas_tf.audio import read_audio, write_audio
    from ditas_tf.images import load_image
    from ditas_tf.stego import check_copies, check_paths, check_placement, parse_size

    check_placement(placement)
    check_copies(copies)
    new_size = parse_size(resize, "--resize")
    check_paths([secret_image, cover_audio], output)
    secret = load_image(secret_image)
    if new_size:
        from PIL import Image

        secret = np.asarray(Image.fromarray(secret).resize(new_size, Image.BICUBIC))
    cover, rate = read_audio(cover_audio)
    steg = _load_steg(model)
    res = steg.hide_array(
        secret, cover, rate, key=key, stages=stages, pcm16=not float32, placement=placement, copies=copies
    )
    write_audio(output, res.container, rate, float32=float32)
    w, h = res.size
    start = float(res.starts.min()) / steg.rate
    copied = f" x {res.copies} copies" if res.copies > 1 else ""
    click.echo(
        f"hid {w}x{h} image ({res.tiles[0] * res.tiles[1]} tile(s){copied}, {res.stages} of "
        f"{steg.cfg.model.stages} stages) in {output}: span SNR {res.snr_db:.1f} dB over {res.span_seconds:.2f} s "
        f"from {start:.2f} s (whole-file SNR {res.snr_db_file:.1f} dB)"
    )
    if res.placement == "least-audible":
        click.echo(
            f"placed where it is least audible: noise-to-mask {res.nmr_db:.2f} dB "
            f"(the first stretch that fits: {res.nmr_db_first:.2f} dB)"
        )
    if pesq:
        from ditas_tf.audio import pcm16_roundtrip, resample, to_mono
        from ditas_tf.span import span_metrics

        stored = res.container if float32 else pcm16_roundtrip(res.container)
        c16 = resample(to_mono(cover if cover.ndim == 2 else cover[:, None]), rate, steg.rate)
        x16 = resample(to_mono(stored), rate, steg.rate)[: len(c16)]
        m = span_metrics(c16, x16, steg.rate, gain=res.gain)
        click.echo(f"span PESQ-WB {m['span_pesq_wb']:.2f} (whole file {m['file_pesq_wb']:.2f})")
    if res.reveal_hint:
        click.echo(f"reveal with: ditas reveal {output} -o revealed.png {res.reveal_hint}")


@main.command("reveal")
@click.argument("container_audio", type=click.Path())
@click.option("-o", "--output", "output", required=True, type=click.Path(), help="PNG to write.")
@click.option("--key", default=None, help="The key used to hide.")
@click.option("--size", default=None, help="WxH of the hidden image (default: one tile, 64x64).")
@click.option("--model", default="default", show_default=True, help="Shipped model name (default) or model folder.")
@click.option(
    "--stages", type=int, default=None, help="Reveal from the first K stages (default: all the container carries)."
)
@user_errors
def reveal_cmd(container_audio, output, key, size, model, stages):
    """Reveal the image hidden in CONTAINER_AUDIO and write it as PNG."""
    from ditas_tf.stego import parse_size

    wh = parse_size(size)
    if stages is not None and stages < 1:
        raise InputError(f"--stages must be at least 1, got {stages}")
    from ditas_tf.audio import read_audio
    from ditas_tf.images import save_png
    from ditas_tf.stego import check_paths

    check_paths([container_audio], output)
    data, rate = read_audio(container_audio)
    steg = _load_steg(model)
    image = steg.reveal_array(data, rate, key=key, size=wh, stages=stages)
    save_png(output, image)
    click.echo(f"revealed {image.shape[1]}x{image.shape[0]} image to {output}")


@main.command("demo")
@click.option("--out", "out_dir", default="ditas-demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--model", default="default", show_default=True)
@click.option("--key", default=None, help="Hide and reveal with this key.")
@click.option(
    "--json", "json_path", default=None, type=click.Path(dir_okay=False), help="Also write the report as JSON."
)
@user_errors
def demo_cmd(out_dir, model, key, json_path):
    """Hide the bundled sample image in the bundled speech clip, reveal it, print metrics."""
    from ditas_tf.demo import run_demo
    from ditas_tf.runners import has_graphs
    from ditas_tf.stego import resolve_model_dir

    if not has_graphs(resolve_model_dir(model)):
        _quiet_tf_import()
    report = run_demo(out_dir, model, key=key)
    for k, v in report.items():
        click.echo(f"{k}: {v}")
    if json_path:
        import json

        from ditas_tf.fileio import atomic_write_text

        atomic_write_text(
            json_path,
            json.dumps({k: v for k, v in report.items() if not isinstance(v, str) or k == "backend"}, indent=1) + "\n",
        )


@main.command("export")
@click.option("--model", default="default", show_default=True, help="Shipped model name or model/run folder.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Export folder.")
@click.option("--version", "version", type=int, default=1, show_default=True, help="TF Serving model version.")
@click.option(
    "--images", multiple=True, help="Images for calibration/verification (default: the model's training images)."
)
@click.option(
    "--audio", multiple=True, help="Audio for calibration/verification (default: the model's training audio)."
)
@click.option(
    "--settings",
    default="float32,float16,dynamic_int8,full_int8",
    show_default=True,
    help="TFLite files to write (comma-separated).",
)
@user_errors
def export_cmd(model, out_dir, version, images, audio, settings):
    """Write a SavedModel (TF Serving layout) and verified TFLite revealers."""
    from ditas_tf.stego import resolve_model_dir

    resolve_model_dir(model)
    _quiet_tf_import()
    from ditas_tf.export_lib import SETTINGS, export

    chosen = tuple(x.strip() for x in settings.split(",") if x.strip())
    bad = [x for x in chosen if x not in SETTINGS]
    if bad or not chosen:
        raise InputError(f"--settings: unknown {', '.join(bad) or '(none)'}; choose from {', '.join(SETTINGS)}")
    meta = export(model, out_dir, version=version, settings=chosen, images=images or None, audio=audio or None)
    for setting, r in meta["verification"]["tflite"].items():
        click.echo(
            f"{setting}: {r['bytes']} bytes, PSNR loss {r['psnr_loss_db']:.4f} dB (limit {r['max_psnr_loss_db']})"
        )
    click.echo(f"wrote {out_dir}")


@main.command("eval")
@click.option(
    "--model", "models", multiple=True, required=True, help="Shipped model name or model/run folder; repeatable."
)
@click.option("--images", multiple=True, required=True, help="Image set folder; repeatable.")
@click.option("--audio", multiple=True, required=True, help="Audio set root (LJ Speech, TIMIT, folder); repeatable.")
@click.option("--audio-select", multiple=True, help="LJ Speech clip-id prefixes or id-list files (e.g. LJ002).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option(
    "--stages",
    type=int,
    default=None,
    help="Hide and reveal with K stages (default: as many as each cover has room for).",
)
@click.option("--no-wav", is_flag=True, help="Skip the 16-bit WAV write/read before revealing.")
@click.option("--max-images", type=int, default=None, help="At most this many images per set.")
@click.option(
    "--channel",
    "channels",
    multiple=True,
    help="Transform the container file before revealing, e.g. mp3:128, gain:-20, cut_start:100 "
    "(repeatable, applied in order; names in ditas_tf/channels.py).",
)
@click.option(
    "--placement",
    default="least-audible",
    show_default=True,
    help="Where hide puts each tile: least-audible or first (as ditas hide --placement).",
)
@click.option(
    "--copies",
    type=int,
    default=None,
    help="Hide this many copies of each image (default: as many as each cover has room for, as ditas hide).",
)
@user_errors
def eval_cmd(models, images, audio, audio_select, out_dir, stages, no_wav, max_images, channels, placement, copies):
    """Evaluate models on image sets x audio sets: metrics.json, table.md, figures."""
    from ditas_tf.channels import parse
    from ditas_tf.stego import check_copies, check_placement

    for spec in channels:
        parse(spec)
    check_placement(placement)
    check_copies(copies)
    _quiet_tf_import()
    from ditas_tf.evaluate import evaluate

    report = evaluate(
        list(models),
        list(images),
        list(audio),
        out_dir,
        stages=stages,
        wav=not no_wav,
        audio_select=list(audio_select),
        max_images=max_images,
        channels=tuple(channels),
        placement=placement,
        copies=copies,
    )
    for name, m in report["models"].items():
        o = m["overall"]
        click.echo(
            f"{name}: PSNR {o['psnr']:.2f} dB, SSIM {o['ssim']:.4f}, MS-SSIM {o['ms_ssim']:.4f}, "
            f"span SNR {o['span_snr_db']:.2f} dB, span PESQ-WB {o['span_pesq_wb']:.3f} "
            f"(whole file: {o['file_snr_db']:.2f} dB, {o['file_pesq_wb']:.3f}), copies {o['copies']:.2f}, "
            f"skipped {len(m['skipped'])}"
        )
    click.echo(f"wrote {out_dir}/metrics.json, table.md and figures")


@main.command("windows")
@click.argument("container_audio", type=click.Path())
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(),
    help=".npy (for saved_model_cli) or .json (TF Serving REST body).",
)
@click.option("--key", default=None, help="The key used to hide.")
@click.option("--size", default=None, help="WxH of the hidden image (default: one tile).")
@click.option("--model", default="default", show_default=True, help="Model whose geometry and floor to use.")
@user_errors
def windows_cmd(container_audio, output, key, size, model):
    """Extract the receiver's subsequences [tiles, t*w*h] for the SavedModel's reveal signature.

    A container that carries k < t stages gets its k blocks repeated up to t;
    its image is then the k-th revealed stage, which the command names.
    """
    import json

    import numpy as np

    from ditas_tf.audio import read_audio
    from ditas_tf.config import read_config
    from ditas_tf.fileio import atomic_path, atomic_write_text
    from ditas_tf.stego import Steganographer, check_paths, parse_size, resolve_model_dir

    wh = parse_size(size)
    check_paths([container_audio], output)
    if not output.endswith((".npy", ".json")):
        raise InputError(f"--output must end in .npy or .json, got {output}")
    data, rate = read_audio(container_audio)
    # Only the geometry is needed: no TensorFlow, no weights.
    cfg = read_config(os.path.join(resolve_model_dir(model), "config.yaml"))
    steg = Steganographer(cfg, runner=None, name=model)
    n = cfg.model.image_size
    w, h = wh or (n, n)
    rows, cols = steg.tile_grid(w, h)
    windows, _ = steg.container_windows(data, rate, rows * cols, key=key)
    copies = len(windows) // (rows * cols)
    k, t = windows.shape[1] // steg.block, cfg.model.stages
    if k < t:
        from ditas_tf.runners import pad_blocks

        # The signature takes t blocks; stage i depends only on stages 1..i, so C_k comes out exactly.
        windows = pad_blocks(windows, k, t, steg.block)
    if output.endswith(".npy"):
        with atomic_path(output, ".npy") as tmp:
            np.save(tmp, windows.astype(np.float32))
    else:
        body = {"signature_name": "reveal", "instances": [{"container_audio": w_.tolist()} for w_ in windows]}
        atomic_write_text(output, json.dumps(body))
    click.echo(f"wrote {windows.shape[0]} x {windows.shape[1]} samples to {output}")
    if copies > 1:
        click.echo(
            f"the container carries {copies} copies of the image: row r is tile r % {rows * cols} of copy "
            f"r // {rows * cols}; average each tile's revealed images"
        )
    if k < t:
        click.echo(f"the container carries {k} of {t} stages: the image is revealed_stages[:, {k - 1}]")
