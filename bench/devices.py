"""Learner updates per second on the CPU and on CUDA, for every algorithm.

    python bench/devices.py [--seconds S] [--batch B] [--rollout-len T] [--hidden H ...]

For each registered algorithm: one rollout of ``B`` copies x ``T`` steps is
collected by self-play on the CPU (a league's actors), then the learner's
``learn()`` runs on it repeatedly for ``S`` seconds, once with the learner on
the CPU and once on ``cuda`` when torch sees a GPU (the CUDA timing
synchronises the device after the last update). Printed: updates per second
on each device and their ratio. Without a GPU the CUDA column says why it is
empty, so the script is ready to run as it is on a machine that has one.

Games: Kuhn poker for the discrete competitive learners (iql, mappo, ippo,
mmd), the catalog's climbing game for the cooperative ones (vdn, qmix), and
3-player volunteer's dilemma for maddpg. Widths default to the algorithms'
own; ``--hidden 256 256`` shows where a GPU starts to pay (small nets are
faster on the CPU: kernel launches cost more than the arithmetic).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

GAMES = {
    "iql": "kuhn_poker",
    "mappo": "kuhn_poker",
    "ippo": "kuhn_poker",
    "mmd": "kuhn_poker",
    "vdn": "matrix:climbing",
    "qmix": "matrix:climbing",
    "maddpg": "matrix:volunteers_dilemma(n=3)",
}


def updates_per_second(algo: str, spec: str, device: str, args) -> float:
    """``learn()`` calls per second of ``algo`` on ``device`` over one fixed rollout."""
    import torch

    import games
    from agents.registry import make_learner
    from arena.rollout import Collector
    from arena.train import self_play_matchup

    game = games.load(spec)
    overrides = {"hidden": tuple(args.hidden)} if args.hidden else {}
    if algo in ("iql", "vdn", "qmix"):
        overrides["learning_starts"] = 0  # updates from the first rollout on
    elif algo == "maddpg":
        overrides["warmup"] = 0
    learner = make_learner(algo, game.info, seed=0, device=device, **overrides)
    collector = Collector(
        game, [learner], self_play_matchup(game.info.num_players), args.batch, seed=0
    )
    rollout, _ = collector.collect(args.rollout_len)
    for _ in range(3):  # warm-up: allocations, cuDNN/cuBLAS handles, the replay buffer
        learner.learn(rollout)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < args.seconds:
        learner.learn(rollout)
        n += 1
    sync()
    return n / (time.perf_counter() - t0)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--seconds", type=float, default=3.0, help="timed seconds per algorithm and device"
    )
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rollout-len", type=int, default=16)
    ap.add_argument(
        "--hidden", type=int, nargs="*", default=None, help="hidden widths (all algorithms)"
    )
    ap.add_argument("--algorithms", nargs="*", default=list(GAMES))
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    cuda = torch.cuda.is_available()
    why = "" if cuda else f"no CUDA device (torch {torch.__version__})"
    print(
        f"torch {torch.__version__}, 1 CPU thread; CUDA: {torch.cuda.get_device_name(0) if cuda else why}"
    )
    print(
        f"one learn() = one update on a rollout of {args.batch} copies x {args.rollout_len} steps "
        f"(replay learners: their replay_ratio's gradient steps); {args.seconds:g} s per cell"
    )
    print("| algorithm | game | CPU learn()/s | CUDA learn()/s | CUDA / CPU |")
    print("|---|---|---|---|---|")
    for algo in args.algorithms:
        spec = GAMES[algo]
        cpu = updates_per_second(algo, spec, "cpu", args)
        if cuda:
            gpu = updates_per_second(algo, spec, "cuda", args)
            print(f"| {algo} | {spec} | {cpu:,.0f} | {gpu:,.0f} | {gpu / cpu:.2f}x |")
        else:
            print(f"| {algo} | {spec} | {cpu:,.0f} | ({why}) | - |")


if __name__ == "__main__":
    main()
