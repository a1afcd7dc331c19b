"""Neural play speed: ``arena.rollout.play`` with MLP policies against a plain pyspiel loop.

    python bench/neural_play.py [--seconds S] [--windows W] [--game tic_tac_toe]

Rows, each measured side by side with the plain loop of ``bench/stepping.py``
(random legal actions, each acting player's observation tensor read into
numpy, new game at a terminal) in alternating windows of CPU time:

* ``self-play``: one MLP policy (a frozen MAPPO actor, 64x64, player one-hot)
  on both seats, ``B`` copies: one forward pass per step for every copy;
* ``two MLPs``: two different MLP policies, seats rotating: two forward
  passes per step (each over the rows where that policy acts);
* ``unbatched``: the same two MLPs, one copy (``B = 1``): a forward pass per
  decision, the way a per-episode loop plays.

A step is one decision in one copy (as in ``bench/stepping.py``), counted from
``MatchResult.lengths``. Goal: self-play at ``B = 256`` reaches at least half
of the plain loop's steps/s (the plain loop picks random actions; play runs a
network for every decision and keeps every player's observation).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.stepping import PlainRunner, compare  # noqa: E402


class PlayRunner:
    """Repeated ``play(game, policies, n_games, seed, batch)`` calls, resumable in windows."""

    def __init__(self, game, policies, batch: int, games_per_call: int, seed: int = 0):
        self.game, self.policies, self.batch = game, list(policies), batch
        self.games_per_call = games_per_call
        self.seed = seed

    def run(self, seconds: float) -> float:
        """Decisions per CPU second over about ``seconds``."""
        from arena.rollout import play

        steps = 0
        start = time.process_time()
        while True:
            res = play(self.game, self.policies, self.games_per_call, self.seed, batch=self.batch)
            self.seed += 1
            steps += int(res.lengths.sum())
            elapsed = time.process_time() - start
            if elapsed >= seconds:
                return steps / elapsed


def mlp_policies(info, n: int = 2) -> list:
    """``n`` frozen MAPPO actors (different seeds): the benchmark's MLP policies."""
    from agents.registry import make_learner

    return [make_learner("mappo", info, seed=s).freeze() for s in range(n)]


def measure(
    spec: str = "tic_tac_toe", seconds: float = 2.0, windows: int = 6, batch: int = 256
) -> list[dict]:
    """Rows ``{name, B, play, plain, ratio}`` (steps per CPU second; ratio = median over windows)."""
    import games

    game = games.load(spec)
    a, b = mlp_policies(game.info)
    plain = PlainRunner(game.pyspiel_game, fast=False)
    setups = [
        ("self-play (1 MLP)", [a], batch, 8 * batch),
        ("two MLPs", [a, b], batch, 8 * batch),
        ("unbatched (2 MLPs)", [a, b], 1, 8),
    ]
    rows = []
    for name, pols, bsz, per_call in setups:
        runners = {"env": PlayRunner(game, pols, bsz, per_call), "plain": plain}
        rates, ratios = compare(runners, seconds, windows)
        rows.append(
            {
                "name": name,
                "B": bsz,
                "play": rates["env"],
                "plain": rates["plain"],
                "ratio": ratios["plain"],
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--seconds", type=float, default=3.0, help="CPU seconds per row (split into windows)"
    )
    ap.add_argument("--windows", type=int, default=6)
    ap.add_argument("--game", default="tic_tac_toe")
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    print(f"{'setting':22s} {'B':>5s} {'play steps/s':>13s} {'plain steps/s':>14s} {'ratio':>6s}")
    for r in measure(args.game, args.seconds, args.windows, args.batch):
        print(
            f"{r['name']:22s} {r['B']:5d} {r['play']:13,.0f} {r['plain']:14,.0f} {r['ratio']:6.2f}"
        )


if __name__ == "__main__":
    main()
