"""The maintenance scripts the shipped model depends on, run on tiny real runs."""

import os
import subprocess
import sys

import numpy as np
from click.testing import CliRunner

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_clone_stages_copies_one_stage_into_later_ones(tmp_path, lj_tree, voc_tree):
    from ditas_tf.cli import train_main
    from ditas_tf.config import read_config
    from ditas_tf.networks import build_system

    run = tmp_path / "med"
    args = ["--config", "smoke", "--model-dir", str(run), "--images", voc_tree, "--audio", lj_tree]
    args += ["--set", "model.variant=M-ED", "--set", "model.stages=4", "--steps", "2", "--no-progress"]
    r = CliRunner().invoke(train_main, args)
    assert r.exit_code == 0, r.output
    out = tmp_path / "cloned.weights.h5"
    script = os.path.join(REPO, "scripts", "clone_stages.py")
    cmd = [sys.executable, script, str(run), str(out), "--source", "2", "--targets", "3", "4"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    system = build_system(read_config(str(run / "config.yaml")).model)
    system.load_weights(str(out))
    nets = system.stage_networks
    for kind in ("hiding", "revealing"):
        src = getattr(nets, kind)[1].get_weights()
        for t in (2, 3):
            for a, b in zip(src, getattr(nets, kind)[t].get_weights()):
                np.testing.assert_array_equal(a, b)
    # Stage 1 has no bridge from a previous stage: a different shape, so it cannot be a target.
    bad = subprocess.run(cmd[:-2] + ["1"], capture_output=True, text=True)
    assert bad.returncode != 0 and "differ in shape" in bad.stderr
    # Growing the run to six stages keeps stages 1-4 and fills 5-6 from stage 4.
    grown = tmp_path / "grown.weights.h5"
    p = subprocess.run(
        [sys.executable, script, str(run), str(grown), "--stages", "6", "--source", "4", "--targets", "5", "6"],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    cfg = read_config(str(run / "config.yaml"))
    trained = build_system(cfg.model)
    trained.load_weights(str(run / "model.weights.h5"))
    cfg.model.stages = 6
    six = build_system(cfg.model)
    six.load_weights(str(grown))
    for kind in ("hiding", "revealing"):
        old, new = getattr(trained.stage_networks, kind), getattr(six.stage_networks, kind)
        for i, j in [(0, 0), (1, 1), (2, 2), (3, 3), (3, 4), (3, 5)]:
            for a, b in zip(old[i].get_weights(), new[j].get_weights()):
                np.testing.assert_array_equal(a, b)


def test_clone_stages_grows_residual_blocks_as_the_identity(tmp_path, lj_tree, voc_tree):
    """--res-blocks adds residual blocks that start as the identity: the deeper model hides and reveals
    exactly as the run did, and the new blocks' first convolutions are free to learn."""
    from ditas_tf.cli import train_main
    from ditas_tf.config import read_config
    from ditas_tf.networks import build_system

    run = tmp_path / "med"
    args = ["--config", "smoke", "--model-dir", str(run), "--images", voc_tree, "--audio", lj_tree]
    args += ["--set", "model.variant=M-ED", "--set", "model.stages=2", "--steps", "2", "--no-progress"]
    r = CliRunner().invoke(train_main, args)
    assert r.exit_code == 0, r.output
    script = os.path.join(REPO, "scripts", "clone_stages.py")
    deep = tmp_path / "deep.weights.h5"
    p = subprocess.run(
        [sys.executable, script, str(run), str(deep), "--res-blocks", "3"], capture_output=True, text=True
    )
    assert p.returncode == 0, p.stderr
    cfg = read_config(str(run / "config.yaml"))
    assert cfg.model.res_blocks == 1
    old = build_system(cfg.model)
    old.load_weights(str(run / "model.weights.h5"))
    cfg.model.res_blocks = 3
    new = build_system(cfg.model)
    new.load_weights(str(deep))
    assert new.hider().count_params() > old.hider().count_params()
    m = cfg.model
    rng = np.random.default_rng(0)
    secret = rng.random((2, m.image_size, m.image_size, 3)).astype(np.float32)
    cover = (0.1 * rng.standard_normal((2, m.cover_samples))).astype(np.float32)
    inputs = {"secret_image": secret, "cover_audio": cover}
    a, b = old.hider()(inputs), new.hider()(inputs)
    np.testing.assert_array_equal(np.asarray(a["container_audio"]), np.asarray(b["container_audio"]))
    c = np.asarray(a["container_audio"])
    np.testing.assert_array_equal(
        np.asarray(old.revealer()(c)["revealed_image"]), np.asarray(new.revealer()(c)["revealed_image"])
    )
    grown = [layer for n in new.sub_networks for layer in n.layers if "_res3_" in layer.name]
    assert grown and any(np.abs(layer.get_weights()[0]).sum() > 0 for layer in grown if layer.name.endswith("_conv1"))
    # Nothing to grow or copy is refused.
    p = subprocess.run(
        [sys.executable, script, str(run), str(deep), "--res-blocks", "0"], capture_output=True, text=True
    )
    assert p.returncode != 0 and "give --source" in p.stderr
