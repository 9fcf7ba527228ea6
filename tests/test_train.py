import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from ditas_tf.cli import main as ditas_main
from ditas_tf.cli import train_main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _args(model_dir, lj_tree, voc_tree, *extra):
    return [
        "--config",
        "smoke",
        "--model-dir",
        str(model_dir),
        "--images",
        voc_tree,
        "--audio",
        lj_tree,
        "--val-images",
        voc_tree,
        "--val-audio",
        lj_tree,
        "--set",
        "data.voc_val_split=val",
        "--no-progress",
        *extra,
    ]


def _env():
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _events(path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(path, size_guidance={"tensors": 0})
    acc.Reload()
    return set(acc.Tags()["tensors"])


def _event_steps(path, tag):
    """Steps at which ``tag`` was written, over every event file in ``path`` (one per process start)."""
    import glob

    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    steps = []
    for f in sorted(glob.glob(os.path.join(path, "events.out.tfevents.*"))):
        for ev in EventFileLoader(f).Load():
            if any(v.tag == tag for v in ev.summary.value):
                steps.append(ev.step)
    return steps


def test_train_writes_checkpoints_config_summaries_and_resumes(tmp_path, lj_tree, voc_tree):
    run = tmp_path / "run"
    r = CliRunner().invoke(train_main, _args(run, lj_tree, voc_tree, "--steps", "2"))
    assert r.exit_code == 0, r.output
    assert (run / "config.yaml").is_file() and (run / "model.weights.h5").is_file()
    lines = [json.loads(x) for x in (run / "validation.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [2]
    for key in ("psnr", "ssim", "snr_db", "container_mse", "psnr_C1", "psnr_C2", "snr_db_1", "snr_db_2"):
        assert np.isfinite(lines[0][key])
    assert json.loads((run / "best" / "best.json").read_text())["metric"] == "psnr"
    train_tags = _events(str(run / "summaries" / "train"))
    assert {"losses/total", "losses/hiding_1", "losses/revealing_2", "learning_rate", "steps_per_sec"} <= train_tags
    val_tags = _events(str(run / "summaries" / "validation"))
    assert {"psnr", "secret_image", "revealed_C2", "residual_S2", "cover_audio", "container_audio"} <= val_tags
    # Resume: same folder, more steps; the saved config is reused and the optimizer continues.
    r = CliRunner().invoke(ditas_main, ["train", "--model-dir", str(run), "--steps", "4", "--no-progress"])
    assert r.exit_code == 0, r.output
    import tensorflow as tf

    ckpt = tf.train.latest_checkpoint(str(run / "ckpt"))
    assert ckpt.endswith("ckpt-4")
    reader = tf.train.load_checkpoint(ckpt)
    names = [n for n, _ in tf.train.list_variables(ckpt)]
    iters = [n for n in names if n.startswith("optimizer/") and "iteration" in n]
    assert iters and int(reader.get_tensor(iters[0])) == 4
    assert int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")) == 4
    # Steps continued: a silent restart from step 0 would validate at step 2 again.
    steps = [json.loads(x)["step"] for x in (run / "validation.jsonl").read_text().splitlines()]
    assert steps == [2, 4]
    train_steps = sorted(_event_steps(str(run / "summaries" / "train"), "losses/total"))
    assert train_steps == sorted(set(train_steps)) and train_steps[-1] == 4


@pytest.mark.large
def test_sigkill_mid_run_then_resume(tmp_path, lj_tree, voc_tree):
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "ditas_tf",
        "train",
        *_args(
            run,
            lj_tree,
            voc_tree,
            "--steps",
            "100000",
            "--set",
            "train.checkpoint_every=3",
            "--set",
            "train.validate_every=100000",
        ),
    ]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import tensorflow as tf

    deadline = time.time() + 240
    saved = None
    while time.time() < deadline:
        saved = tf.train.latest_checkpoint(str(run / "ckpt"))
        if saved and int(saved.rsplit("-", 1)[1]) >= 6:
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert saved, "no checkpoint was written before the kill"
    at = int(tf.train.latest_checkpoint(str(run / "ckpt")).rsplit("-", 1)[1])
    r = CliRunner().invoke(ditas_main, ["train", "--model-dir", str(run), "--steps", str(at + 3), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert tf.train.latest_checkpoint(str(run / "ckpt")).endswith(f"ckpt-{at + 3}")


def test_non_finite_loss_stops_and_keeps_checkpoint(tmp_path, lj_tree, voc_tree):
    run = tmp_path / "run"
    args = _args(
        run,
        lj_tree,
        voc_tree,
        "--steps",
        "50",
        "--set",
        "train.learning_rate=1e30",
        "--set",
        "train.checkpoint_every=1",
        "--set",
        "train.validate_every=1000",
    )
    r = CliRunner().invoke(train_main, args)
    assert r.exit_code == 2
    assert "non-finite loss" in r.output and "is intact" in r.output
    import tensorflow as tf

    last = tf.train.latest_checkpoint(str(run / "ckpt"))
    assert last is not None
    reader = tf.train.load_checkpoint(last)
    assert int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")) >= 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--set", "model.widht=3"], "unknown key 'model.widht'"),
        (["--images", "/no/such/folder"], "image folder not found: /no/such/folder"),
    ],
)
def test_bad_config_and_data_fail_fast_in_one_line(tmp_path, lj_tree, voc_tree, extra, message):
    run = tmp_path / "run"
    r = subprocess.run(
        [sys.executable, "-m", "ditas_tf", "train", *_args(run, lj_tree, voc_tree, *extra)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]
    assert "Traceback" not in r.stderr
    assert not (run / "ckpt").exists()


def test_empty_audio_selection_fails_before_work(tmp_path, lj_tree, voc_tree):
    run = tmp_path / "run"
    r = CliRunner().invoke(train_main, _args(run, lj_tree, voc_tree, "--set", "data.ljspeech_train_prefixes=[LJ999]"))
    assert r.exit_code == 2 and "no audio files found" in r.output


MIRRORED = r"""
import os, sys, json
import numpy as np
import tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
sys.path.insert(0, os.path.join(sys.argv[1], "tests"))
from conftest import tiny_config
from ditas_tf.trainer import Trainer
cfg = tiny_config()
cfg.train.batch_size = 4
cfg.train.quantization_noise = False
rng = np.random.default_rng(0)
m = cfg.model
batches = [{"secret_image": rng.random((4, m.image_size, m.image_size, 3), dtype=np.float32),
            "cover_audio": (0.1 * rng.standard_normal((4, m.cover_samples))).astype(np.float32)} for _ in range(3)]
out = {}
for name, strategy in [("one", tf.distribute.OneDeviceStrategy("/cpu:0")),
                       ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))]:
    tf.keras.utils.set_random_seed(7)
    tr = Trainer(cfg, os.path.join(sys.argv[2], name), strategy)
    ds = tf.data.Dataset.from_tensor_slices({k: np.stack([b[k] for b in batches]) for k in batches[0]}).unbatch().batch(4)
    it = iter(strategy.experimental_distribute_dataset(ds))
    step = tr.make_train_step()
    out[name] = [float(step(it)["total"]) for _ in range(3)]
    out[name + "_replicas"] = strategy.num_replicas_in_sync
print(json.dumps(out))
"""


@pytest.mark.large
def test_mirrored_two_cpus_matches_one_device(tmp_path):
    r = subprocess.run(
        [sys.executable, "-c", MIRRORED, REPO, str(tmp_path)], env=_env(), capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["mirrored_replicas"] == 2
    np.testing.assert_allclose(out["mirrored"], out["one"], rtol=1e-4, atol=1e-6)


MULTI_WORKER = r"""
import os, sys, json
import numpy as np
sys.path.insert(0, os.path.join(sys.argv[1], "tests"))
import tensorflow as tf
from conftest import tiny_config
from ditas_tf.trainer import Trainer
cfg = tiny_config()
cfg.data.train_images = [sys.argv[3]]
cfg.data.train_audio = [sys.argv[4]]
cfg.train.batch_size = 4
cfg.train.checkpoint_every = 2
strategy = tf.distribute.MultiWorkerMirroredStrategy()
tr = Trainer(cfg, sys.argv[2], strategy)
tr.train(steps=3, progress=False)
w = np.concatenate([v.numpy().ravel() for v in tr.model.trainable_variables])
np.save(os.path.join(sys.argv[5], "weights_%s.npy" % json.loads(os.environ["TF_CONFIG"])["task"]["index"]), w)
"""


def _free_ports(n):
    import socket

    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.large
def test_multi_worker_two_local_processes_end_with_same_weights(tmp_path, lj_tree, voc_tree):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(2):
        env = _env()
        env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", MULTI_WORKER, REPO, str(tmp_path / "run"), voc_tree, lj_tree, str(tmp_path)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        _, err = p.communicate(timeout=400)
        assert p.returncode == 0, err[-2000:]
    w0, w1 = np.load(tmp_path / "weights_0.npy"), np.load(tmp_path / "weights_1.npy")
    assert w0.size > 0
    np.testing.assert_allclose(w0, w1, rtol=0, atol=1e-6)
    assert (tmp_path / "run" / "ckpt").is_dir()
    assert not (tmp_path / "run" / ".worker_1").exists()


def test_resume_accepts_new_data_folders_but_keeps_the_model(tmp_path):
    from ditas_tf.config import load_config, read_config
    from ditas_tf.trainer import prepare_model_dir

    run = str(tmp_path / "run")
    prepare_model_dir(run, load_config(["smoke"], ["data.train_images=['/a']"]))
    moved = load_config(["smoke"], ["data.train_images=['/b']", "model.width=99", "train.steps=77"])
    cfg = prepare_model_dir(run, moved)
    assert cfg.data.train_images == ["/b"] and cfg.train.steps == 77
    assert cfg.model.width == load_config(["smoke"]).model.width
    assert read_config(f"{run}/config.yaml") == cfg


def test_epochs_become_steps_from_the_image_count(tmp_path, lj_tree, voc_tree):
    run = tmp_path / "run"
    # 4 training images in the VOC tree, batch 4: one step per epoch.
    args = _args(run, lj_tree, voc_tree, "--set", "train.epochs=3", "--set", "train.lr_decay_epochs=2")
    r = CliRunner().invoke(train_main, args)
    assert r.exit_code == 0, r.output
    import tensorflow as tf

    assert tf.train.latest_checkpoint(str(run / "ckpt")).endswith("ckpt-3")
    # Resolved once and saved as steps: twice the images on resume change nothing.
    from ditas_tf.config import read_config

    saved = read_config(str(run / "config.yaml"))
    assert (saved.train.steps, saved.train.epochs, saved.train.lr_decay_steps, saved.train.lr_decay_epochs) == (
        3,
        0,
        2,
        0,
    )
