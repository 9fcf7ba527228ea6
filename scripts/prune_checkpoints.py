"""Keep only the latest checkpoint of each run folder given (before committing it).

python scripts/prune_checkpoints.py checkpoints/default_r3
"""

from __future__ import annotations

import glob
import os
import sys

from ditas_tf.run_dir import latest_checkpoint


def prune(run: str) -> None:
    keep = latest_checkpoint(run)
    if keep is None:
        print(f"{run}: no checkpoint")
        return
    ckpt_dir = os.path.join(run, "ckpt")
    for path in glob.glob(os.path.join(ckpt_dir, "ckpt-*")):
        if not os.path.basename(path).startswith(keep + "."):
            os.remove(path)
    # The CheckpointManager's state file, with relative names so that the folder can move.
    with open(os.path.join(ckpt_dir, "checkpoint"), "w") as f:
        f.write(f'model_checkpoint_path: "{keep}"\nall_model_checkpoint_paths: "{keep}"\n')
    print(f"{run}: kept {keep}")


if __name__ == "__main__":
    for run in sys.argv[1:]:
        prune(run)
