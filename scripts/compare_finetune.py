"""Changes to the shipped default measured at equal budget (docs/hiding_output.md).

    python scripts/compare_finetune.py [--steps 2000] [--arms phase,bounded_6db,stages_10]

Every arm starts from the release-3 default (checkpoints/default_r3: phase
mode at 22 dB, 10,800 steps) and trains --steps more steps with the same data,
seed and learning rate (scripts/shared_data.py, finetune_cmd). The arms:

* ``phase``: release 3's own recipe (the control; it is also the `cpu` arm
  of scripts/compare_robust.py and shares its run folder);
* ``bounded_6db``: ``model.mask_mode=bounded``: the network sets the phases
  and may move each STFT magnitude within +-6 dB of the cover's mask
  (``bounded_3db`` and ``bounded_10db``: +-3 and +-10 dB);
* ``stages_10``: ten stages instead of five (stages 6-10 start as copies of
  stage 5, scripts/clone_stages.py --stages 10), so a tile uses 2.56 s of
  cover instead of 1.28 s at the same level.

Run folders live under checkpoints/ and resume. Each arm is then evaluated on
set14 and live1 secrets in LJ002 and TIMIT covers after a 16-bit WAV round
trip, with span PESQ-WB, into docs/results/experiments/finetune.json (the arms'
validation curves beside it, as <arm>.validation.jsonl).
"""

from __future__ import annotations

import os
import subprocess
import sys

from shared_data import HERE, arm_arguments, arm_summary, evaluate_arms, finetune_cmd, write_comparison

GROWN = os.path.join("checkpoints", "grow", "default_10_stages.weights.h5")
ARMS = {
    "phase": (os.path.join("checkpoints", "robust_cmp", "cpu"), []),
    "bounded_6db": (
        os.path.join("checkpoints", "mask_cmp", "bounded_6db"),
        ["model.mask_mode=bounded", "model.mask_bound_db=6.0"],
    ),
    "bounded_3db": (
        os.path.join("checkpoints", "mask_cmp", "bounded_3db"),
        ["model.mask_mode=bounded", "model.mask_bound_db=3.0"],
    ),
    "bounded_10db": (
        os.path.join("checkpoints", "mask_cmp", "bounded_10db"),
        ["model.mask_mode=bounded", "model.mask_bound_db=10.0"],
    ),
    "stages_10": (
        os.path.join("checkpoints", "stages_cmp", "stages_10"),
        ["model.stages=10", f"train.init_weights={GROWN}"],
    ),
}


def main() -> None:
    a, names = arm_arguments(__doc__.splitlines()[0], ARMS, "compare_finetune")
    os.chdir(HERE)  # run folders and init paths are relative to the repository
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if not a.skip_training:
        for n in names:
            run, sets = ARMS[n]
            if n == "stages_10" and not os.path.exists(GROWN) and not os.path.isdir(os.path.join(run, "ckpt")):
                os.makedirs(os.path.dirname(GROWN), exist_ok=True)
                subprocess.run(
                    [sys.executable, os.path.join("scripts", "clone_stages.py"), os.path.join("checkpoints", "default_r3"),
                     GROWN, "--stages", "10", "--source", "5", "--targets", "6", "7", "8", "9", "10"],
                    check=True, env=env,
                )  # fmt: skip
            subprocess.run(finetune_cmd("cpu", run, a.steps, sets), check=True, env=env)
    if a.train_only:
        return
    result = {
        "command": f"python scripts/compare_finetune.py --steps {a.steps} --arms {','.join(names)} "
        f"--max-images {a.max_images}",
        "steps": a.steps,
        "arms": {},
    }
    rep = evaluate_arms([ARMS[n][0] for n in names], a.max_images, placement="first")  # as measured (release 4)
    for n, m in zip(names, rep["models"].values()):
        result["arms"][n] = {"run": ARMS[n][0]} | arm_summary(m)
    # The control's curve keeps the name it had before the other comparisons existed.
    curves = {("phase_control" if n == "phase" else n): ARMS[n][0] for n in names}
    write_comparison(result, rep["protocol"], curves, "finetune.json")


if __name__ == "__main__":
    main()
