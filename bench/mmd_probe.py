"""Self-play exploitability over wall-clock time: MMD against plain MAPPO, in one run.

    python bench/mmd_probe.py [--game kuhn_poker] [--seconds 90] [--seed 0]
        [--batch 256] [--rollout-len 8] [--evals 10] [--only mmd,mappo]
        [--set magnet=uniform --set alpha=0.1 ...]

Not a test: it prints one line per checkpoint, ``algorithm seconds env_steps
exploitability``, where exploitability is the exact NashConv / 2 of the
learner's last iterate (:func:`arena.evaluation.tabular.exact_nash_conv` on
``learner.freeze()``). The training clock is paused while evaluating.
Checkpoints are spaced geometrically up to ``--seconds``. ``--set`` overrides
MMD's defaults (``key=value``, Python literals); MAPPO runs with its defaults.
One torch thread, so that the timings are per core.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def probe(
    algo: str,
    spec: str,
    seconds: float,
    seed: int,
    batch: int,
    rollout_len: int,
    evals: int,
    overrides: dict,
) -> list[tuple[float, int, float]]:
    """Train ``algo`` by self-play on ``spec`` for ``seconds``; ``(seconds, env_steps,
    exploitability)`` at each checkpoint (printed as they come)."""
    import numpy as np

    import games
    from agents.registry import make_learner
    from arena.evaluation.tabular import exact_nash_conv
    from arena.rollout import Collector
    from arena.train import self_play_matchup

    game = games.load(spec)
    learner = make_learner(algo, game.info, seed=seed, **overrides)
    collector = Collector(game, [learner], self_play_matchup(game.info.num_players), batch, seed)
    marks = (
        list(np.geomspace(seconds / 2 ** (evals - 1), seconds, evals)) if evals > 1 else [seconds]
    )
    rows = []
    train_s = 0.0
    expl = exact_nash_conv(game, learner.freeze()).exploitability
    rows.append((0.0, 0, expl))
    print(f"{algo:6s} {0.0:8.1f} s {0:>11,d} steps  exploitability {expl:.4f}", flush=True)
    for mark in marks:
        t0 = time.perf_counter()
        while train_s + (time.perf_counter() - t0) < mark:
            rollout, _ = collector.collect(rollout_len, explore=True)
            learner.learn(rollout)
        train_s += time.perf_counter() - t0
        expl = exact_nash_conv(game, learner.freeze()).exploitability
        rows.append((train_s, collector.total_steps, expl))
        print(
            f"{algo:6s} {train_s:8.1f} s {collector.total_steps:>11,d} steps  exploitability {expl:.4f}",
            flush=True,
        )
    return rows


def _overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set {item!r}: write key=value, e.g. --set alpha=0.1")
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = value.strip()
    return out


def main(argv: list[str] | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--game", default="kuhn_poker")
    ap.add_argument("--seconds", type=float, default=90.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rollout-len", type=int, default=8)
    ap.add_argument("--evals", type=int, default=8, help="checkpoints, spaced geometrically")
    ap.add_argument("--only", default="mmd,mappo", help="algorithms, comma-separated")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an MMD hyperparameter (repeatable)",
    )
    args = ap.parse_args(argv)
    overrides = _overrides(args.set)
    print(
        f"# {args.game}, seed {args.seed}, batch {args.batch} x rollout_len {args.rollout_len}, "
        f"mmd overrides {overrides or 'none'}",
        flush=True,
    )
    for algo in args.only.split(","):
        probe(
            algo,
            args.game,
            args.seconds,
            args.seed,
            args.batch,
            args.rollout_len,
            args.evals,
            overrides if algo == "mmd" else {},
        )


if __name__ == "__main__":
    main()
