"""`pip install .` (not editable) must carry the models, graphs, presets and samples."""

import os
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.large
def test_built_wheel_contains_package_data(tmp_path):
    cmd = [sys.executable, "-m", "pip", "wheel", REPO, "--no-deps", "-q", "-w", str(tmp_path)]
    try:
        import setuptools  # noqa: F401

        cmd.append("--no-build-isolation")  # no download when the venv has setuptools
    except ImportError:
        pass
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    (wheel,) = [f for f in os.listdir(tmp_path) if f.endswith(".whl")]
    names = set(zipfile.ZipFile(tmp_path / wheel).namelist())
    for f in (
        "ditas_tf/models/default/config.yaml",
        "ditas_tf/models/default/model.weights.h5",
        "ditas_tf/models/default/hide_float32.tflite",
        "ditas_tf/models/default/reveal_float32.tflite",
        "ditas_tf/models/default/graphs.json",
        "ditas_tf/presets/cpu.yaml",
        "ditas_tf/presets/smoke.yaml",
        "ditas_tf/samples/astronaut_64.png",
        "ditas_tf/samples/LJ002-0105.wav",
    ):
        assert f in names, f
    assert not any(n.startswith(("tests/", "scripts/", "checkpoints/")) for n in names)
