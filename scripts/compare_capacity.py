"""Is the release-5 default short of capacity? Deeper stage networks at equal budget (docs/hiding_output.md).

    python scripts/compare_capacity.py [--steps 3000] [--arms deeper_4] [--train-only | --skip-training]

The release-5 default's validation PSNR is flat at its learning rate (+0.05 dB over
its last 2,000 steps), and a third of that rate gained 0.16 dB and then nothing
(docs/hiding_output.md). Either the recipe has converged for this size of network,
or the optimizer has. This comparison grows the network instead:

* ``deeper_4``: every hiding and revealing network gets 4 residual blocks instead
  of 2 (``model.res_blocks=4``; 1.75 times the parameters). The grown weights are
  made by ``scripts/clone_stages.py --res-blocks 4`` from the release-5 weights:
  the new blocks start as the identity, so the arm starts exactly where the
  release-5 default stopped, and every dB it gains is the extra capacity's.

Each arm trains --steps more with the release-5 recipe (the ``cpu10`` preset,
learning rate 1.67e-4 constant) and is evaluated beside the release-5 default
(the control) on the pairs of the other comparisons: set14 and live1 secrets in
LJ002 and TIMIT covers, 16-bit WAV round trip, all 10 stages, into
docs/results/experiments/capacity.json. Run folders live under
checkpoints/exp_cmp/ and resume.
"""

from __future__ import annotations

import os
import subprocess
import sys

from shared_data import HERE, arm_arguments, compare_to_control, warm_start_cmd

CONTROL = os.path.join("checkpoints", "default_r5")
LR = 5e-4 / 3  # the release-5 run's constant learning rate
ARMS = {
    "deeper_4": (os.path.join("checkpoints", "exp_cmp", "deeper_4"), 4),
}


def main() -> None:
    a, names = arm_arguments(__doc__.splitlines()[0], ARMS, "compare_capacity")
    os.chdir(HERE)  # run folders and init paths are relative to the repository
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if not a.skip_training:
        for n in names:
            run, blocks = ARMS[n]
            start = os.path.join(run, "grown.weights.h5")
            if not os.path.exists(start):
                os.makedirs(run, exist_ok=True)
                grow = [sys.executable, os.path.join("scripts", "clone_stages.py"), CONTROL, start]
                subprocess.run([*grow, "--res-blocks", str(blocks)], check=True, env=env)
            sets = [f"model.res_blocks={blocks}"]
            subprocess.run(warm_start_cmd("cpu10", run, a.steps, start, LR, sets), check=True, env=env)
    if a.train_only:
        return
    command = f"python scripts/compare_capacity.py --skip-training --arms {','.join(names)} --max-images {a.max_images}"
    compare_to_control(CONTROL, {n: ARMS[n][0] for n in names}, command, a.max_images, "capacity.json")


if __name__ == "__main__":
    main()
