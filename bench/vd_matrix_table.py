"""Where IQL, VDN and QMIX settle on cooperative matrix games (the README table).

Run: ``python bench/vd_matrix_table.py [--seeds 5]``. For every game,
algorithm, exploration protocol and seed it trains by self-play (the learner
holds both seats) and reports the return of the greedy joint policy and its
joint action. Protocols: ``uniform`` keeps epsilon at 1 (the data the
literature's matrix-game tables are computed from), ``annealed`` decays it
from 1 to 0.05 over the first 75% of training.
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np
import torch

import games
from agents.registry import make_learner
from arena.rollout import play
from arena.train import train

GAMES = [
    "matrix:positive_control",
    "matrix:two_step",
    "matrix:penalty(k=0)",
    "matrix:climbing",
    "matrix:nonmonotonic",
]
ALGORITHMS = ["iql", "vdn", "qmix"]
# The settings tests/test_value_decomposition.py uses (MATRIX, EPISODES, exploration()).
MATRIX = dict(hidden=(32, 32), lr=2e-3, target_period=20, steps_per_update=4.0, batch_size=128)
BATCH, STEPS = 64, 1000  # copies; env steps of training (1000 one-shot games, 500 two-step games)


def protocol(name: str, steps: int) -> dict:
    if name == "uniform":
        return dict(eps_start=1.0, eps_end=1.0)
    return dict(eps_start=1.0, eps_end=0.05, eps_decay_steps=int(0.75 * steps))


def settle(
    algorithm: str, spec: str, seed: int, proto: str, steps: int = STEPS
) -> tuple[float, str]:
    """Train for ``steps`` env steps; return the greedy joint policy's return and its first joint action's names."""
    game = games.load(spec)
    learner = make_learner(algorithm, game.info, seed, **MATRIX, **protocol(proto, steps))
    train(learner, game, steps, seed, batch=BATCH, rollout_len=game.info.max_episode_length)
    ret = float(play(game, [learner], 1, seed, batch=1).returns[0, 0])
    ts = game.vector(1, seed).reset()
    act = learner.act(ts.obs[0], ts.legal[0], np.arange(2), np.random.default_rng(0)).actions
    return ret, ",".join(game.action_name(p, int(a)) for p, a in enumerate(act))


def main() -> None:
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--protocols", default="uniform,annealed")
    args = ap.parse_args()
    t0 = time.time()
    for proto in args.protocols.split(","):
        print(f"\n### exploration: {proto} (seeds 0-{args.seeds - 1})\n")
        print("| game | " + " | ".join(ALGORITHMS) + " |")
        print("|---|" + "---|" * len(ALGORITHMS))
        for spec in GAMES:
            cells = []
            for alg in ALGORITHMS:
                outcomes = [settle(alg, spec, s, proto) for s in range(args.seeds)]
                # One-shot games: the joint action; two_step: the return (8 = B, then (B,B)).
                labels = [f"{v:g}" if "two_step" in spec else f"({a}) {v:g}" for v, a in outcomes]
                count = collections.Counter(labels)
                cells.append(", ".join(f"{k} x{n}" for k, n in count.most_common()))
            print(f"| {spec.removeprefix('matrix:')} | " + " | ".join(cells) + " |", flush=True)
    print(f"\n{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
