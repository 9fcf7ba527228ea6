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
