"""Would the tests notice a broken model? Zero every revealing_stage_i weight of the shipped
default, repackage it (weights and LiteRT graphs), run the test suite against it, restore.

    python scripts/check_broken_model.py [pytest args, default: tests -q -p no:cacheprovider -k 'promises or stego or litert or sync or copies']

Prints the failing tests. The shipped folder is restored from a backup in every case.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(HERE, "ditas_tf", "models", "default")


def main() -> None:
    from ditas_tf.config import read_config
    from ditas_tf.export_lib import package_graphs
    from ditas_tf.networks import build_system

    args = sys.argv[1:] or [
        "tests",
        "-q",
        "-p",
        "no:cacheprovider",
        "-k",
        "promises or stego or litert or sync or copies",
    ]
    backup = tempfile.mkdtemp(prefix="ditas-shipped-")
    shutil.copytree(SHIPPED, os.path.join(backup, "default"))
    try:
        cfg = read_config(os.path.join(SHIPPED, "config.yaml"))
        system = build_system(cfg.model, quantization_noise=False)
        system.load_weights(os.path.join(SHIPPED, "model.weights.h5"))
        for net in system.stage_networks.revealing:
            net.set_weights([w * 0 for w in net.get_weights()])
        system.save_weights(os.path.join(SHIPPED, "model.weights.h5"))
        data = os.path.join(HERE, "..", "shared", "data")
        package_graphs(
            SHIPPED, [os.path.join(data, "images", "train", "t91")], [os.path.join(data, "audio", "LJSpeech-1.1")]
        )
        p = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=HERE, capture_output=True, text=True)
        failed = [line for line in p.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        print("\n".join(failed))
        print(p.stdout.strip().splitlines()[-1] if p.stdout.strip() else p.stderr[-500:])
    finally:
        shutil.rmtree(SHIPPED)
        shutil.copytree(os.path.join(backup, "default"), SHIPPED)
        shutil.rmtree(backup)


if __name__ == "__main__":
    main()
