"""Copy one stage's hiding and revealing sub-networks into later stages.

    python scripts/clone_stages.py RUN_DIR OUT.weights.h5 --source 3 --targets 4 5
    python scripts/clone_stages.py RUN_DIR OUT.weights.h5 --stages 10 --source 5 --targets 6 7 8 9 10
    python scripts/clone_stages.py RUN_DIR OUT.weights.h5 --res-blocks 4

A stage whose revealing network has collapsed to a zero output (R_i ~ 0, so
C_i = C_{i-1}) gets no useful gradient back: its revealed residual stays at
zero however long it trains. Stage ``source`` already hides and reveals a
residual of nearly the same scale, so its weights are a working start for the
dead stages. The result is a weights file for ``--set train.init_weights=...``
(a warm start of a new run). Only stages with the same input signature can be
copied (in M-E/M-D/M-ED, stage 1 has no bridge from a previous stage).

With ``--stages N`` (more than the run has), the result is for a model of N
stages: stages 1..t keep the run's weights and the new ones are filled by
``--source`` (for ``--set model.stages=N``), so a trained model can grow.

With ``--res-blocks N`` (more than the run has), every stage network gets
residual blocks up to N (for ``--set model.res_blocks=N``). The new blocks come
after the old ones, and their second convolution starts at zero, so each is the
identity and the deeper model computes exactly what the run did: training
starts where the run stopped, with more capacity to use.
"""

from __future__ import annotations

import argparse
import os
import sys

from ditas_tf.config import read_config
from ditas_tf.networks import build_system


def deepen(system, cfg, res_blocks: int):
    """``system`` rebuilt with ``res_blocks`` residual blocks per stage network, computing the same function."""
    if res_blocks < cfg.model.res_blocks:
        sys.exit(f"clone_stages: --res-blocks {res_blocks} is fewer than the run's {cfg.model.res_blocks}")
    old = {n.name: {layer.name: layer for layer in n.layers} for n in system.sub_networks}
    cfg.model.res_blocks = res_blocks
    grown = build_system(cfg.model)
    for net in grown.sub_networks:
        for layer in net.layers:
            if not layer.weights:
                continue
            if layer.name in old[net.name]:
                layer.set_weights(old[net.name][layer.name].get_weights())
            elif layer.name.endswith("_conv2"):
                # A new block's last convolution at zero: the block adds nothing, it is the identity.
                layer.set_weights([0.0 * w for w in layer.get_weights()])
    return grown


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="run folder with config.yaml and model.weights.h5")
    p.add_argument("out", help="weights file to write")
    p.add_argument("--source", type=int, default=0)
    p.add_argument("--targets", type=int, nargs="+", default=[])
    p.add_argument("--stages", type=int, default=0, help="grow the model to this many stages")
    p.add_argument("--res-blocks", type=int, default=0, help="grow every stage network to this many residual blocks")
    args = p.parse_args()
    if bool(args.source) != bool(args.targets) or not (args.source or args.stages or args.res_blocks):
        sys.exit("clone_stages: give --source with --targets, --stages or --res-blocks")
    cfg = read_config(os.path.join(args.run, "config.yaml"))
    system = build_system(cfg.model)
    system.load_weights(os.path.join(args.run, "model.weights.h5"))
    if system.is_baseline or cfg.model.variant == "S":
        sys.exit(f"clone_stages: variant {cfg.model.variant} has no separate stages")
    if args.stages:
        if args.stages < cfg.model.stages:
            sys.exit(f"clone_stages: --stages {args.stages} is fewer than the run's {cfg.model.stages}")
        old = system.stage_networks
        cfg.model.stages = args.stages
        system = build_system(cfg.model)
        for kind in ("hiding", "revealing"):
            for src, dst in zip(getattr(old, kind), getattr(system.stage_networks, kind)):
                dst.set_weights(src.get_weights())
    if args.res_blocks:
        system = deepen(system, cfg, args.res_blocks)
    nets = system.stage_networks
    s = args.source - 1
    for t in args.targets:
        if not 1 <= t <= cfg.model.stages or t == args.source:
            sys.exit(f"clone_stages: target stage {t} is not in 1..{cfg.model.stages} or is the source")
        for kind in ("hiding", "revealing"):
            src, dst = getattr(nets, kind)[s], getattr(nets, kind)[t - 1]
            if [w.shape for w in src.weights] != [w.shape for w in dst.weights]:
                sys.exit(f"clone_stages: {src.name} and {dst.name} differ in shape")
            dst.set_weights(src.get_weights())
            print(f"{src.name} -> {dst.name}")
    tmp = args.out + ".tmp.weights.h5"
    system.save_weights(tmp)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
