"""Stepping speed: the batched OpenSpiel adapter against a plain pyspiel loop.

    python bench/stepping.py [--seconds S] [--games tic_tac_toe,kuhn_poker]

For each game, random legal actions are played through ``game.vector(B)`` at
several batch sizes (actions from ``games.random_legal_actions`` with a seeded
Generator, ``reset(mask=ts.done)`` after each step), and through two plain
pyspiel loops doing the same work per decision: apply a random legal action,
sample chance nodes, read each acting player's observation tensor (the same
tensor the adapter uses: information state where the game has one) into
numpy, start a new game at a terminal.

* ``plain``: ``np.asarray(state.observation_tensor(p), np.float32)``, the
  usual way;
* ``plain/set_from``: ``make_observation`` + ``set_from`` into a numpy
  buffer and a copy, the fastest plain way we know.

A "step" is one decision applied in one copy (a joint decision in a
simultaneous game). The adapter does more per step than either loop: every
player's observation (not only the acting player's), the global state, the
legal masks of the acting players and a fresh set of arrays per time step.
Goal: ratio >= 0.8 at B = 256.

Measuring on a shared machine: rates are per CPU second of this process
(``time.process_time``), and the adapter and the loops run in short
alternating windows (``--windows`` of ``--seconds / --windows`` each); the
table shows medians, and each ratio is the median of the per-window ratios,
so load from other work cancels out of the ratios far better than out of the
rates.

A last row steps the catalog's prisoner's dilemma (fully vectorized numpy) at
B = 65536 when ``games.catalog`` is importable.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pyspiel  # noqa: E402
from open_spiel.python import observation as os_observation  # noqa: E402

import games  # noqa: E402

GAMES = ("tic_tac_toe", "connect_four", "kuhn_poker", "leduc_poker", "goofspiel(num_cards=4)")
BATCHES = (1, 64, 256, 1024)


class EnvRunner:
    """Random legal play through ``game.vector(batch)``, resumable in windows."""

    def __init__(self, game: games.Game, batch: int, seed: int = 0):
        self.env = game.vector(batch, seed)
        self.rng = np.random.default_rng(seed)
        self.ts = self.env.reset()
        self.batch = batch

    def run(self, seconds: float) -> float:
        """Decisions per CPU second over about ``seconds``."""
        env, rng, ts, batch = self.env, self.rng, self.ts, self.batch
        steps = 0
        start = time.process_time()
        while True:
            for _ in range(4):
                steps += batch - int(ts.done.sum())
                ts = env.step(games.random_legal_actions(ts.legal, rng))
                if ts.done.any():
                    ts = env.reset(mask=ts.done)
            elapsed = time.process_time() - start
            if elapsed >= seconds:
                self.ts = ts
                return steps / elapsed


def _reader(game: pyspiel.Game, fast: bool):
    """A function ``(state, player) -> np.ndarray`` reading the adapter's tensor kind."""
    info_state = game.get_type().provides_information_state_tensor
    if fast:
        kind = os_observation.INFO_STATE_OBS_TYPE if info_state else None
        obs = os_observation.make_observation(game, kind)
        set_from, tensor = obs.set_from, obs.tensor
        out = np.empty_like(tensor)

        def read(state, player):
            set_from(state, player)
            out[:] = tensor
            return out

        return read
    if info_state:
        return lambda state, player: np.asarray(
            state.information_state_tensor(player), dtype=np.float32
        )
    return lambda state, player: np.asarray(state.observation_tensor(player), dtype=np.float32)


class PlainRunner:
    """A plain pyspiel loop doing the adapter's work for one copy, resumable."""

    def __init__(self, game: pyspiel.Game, fast: bool, seed: int = 0):
        self.game, self.rnd = game, random.Random(seed)
        self.read = _reader(game, fast)
        self.state = self.new_state()

    def sample_chance(self, s: pyspiel.State) -> None:
        rnd = self.rnd
        while s.is_chance_node():
            u, c = rnd.random(), 0.0
            for a, prob in s.chance_outcomes():  # noqa: B007
                c += prob
                if u < c:
                    break
            s.apply_action(a)

    def new_state(self) -> pyspiel.State:
        s = self.game.new_initial_state()
        self.sample_chance(s)
        return s

    def run(self, seconds: float) -> float:
        """Decisions per CPU second over about ``seconds``."""
        rnd, read, state = self.rnd, self.read, self.state
        n_players = self.game.num_players()
        steps = 0
        start = time.process_time()
        while True:
            for _ in range(256):
                if state.is_simultaneous_node():
                    joint = []
                    for p in range(n_players):
                        la = state.legal_actions(p)
                        joint.append(la[rnd.randrange(len(la))] if la else 0)
                    state.apply_actions(joint)
                else:
                    la = state.legal_actions()
                    state.apply_action(la[rnd.randrange(len(la))])
                self.sample_chance(state)
                steps += 1
                if state.is_terminal():
                    state = self.new_state()
                p = state.current_player()
                if p >= 0:
                    read(state, p)
                else:
                    for q in range(n_players):
                        read(state, q)
            elapsed = time.process_time() - start
            if elapsed >= seconds:
                self.state = state
                return steps / elapsed


def compare(runners: dict, seconds: float, windows: int) -> tuple[dict, dict]:
    """Alternate the runners in short windows: median rates and median ratios to ``"env"``."""
    rates: dict[str, list[float]] = {k: [] for k in runners}
    for _ in range(windows):
        for key, runner in runners.items():
            rates[key].append(runner.run(seconds / windows))
    medians = {k: statistics.median(v) for k, v in rates.items()}
    ratios = {
        k: statistics.median(e / r for e, r in zip(rates["env"], v))
        for k, v in rates.items()
        if k != "env"
    }
    return medians, ratios


def bench_matrix(seconds: float, batch: int = 65536) -> float | None:
    try:
        import games.catalog  # noqa: F401
    except ImportError:
        return None
    return EnvRunner(games.load("matrix:prisoners_dilemma"), batch).run(seconds)


def _split_games(text: str) -> list[str]:
    """Split on commas outside parentheses: 'a,goofspiel(x=1,y=2)' -> 2 specs."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    return [s.strip() for s in out + [cur] if s.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="CPU time per measurement")
    parser.add_argument("--windows", type=int, default=10, help="alternating windows per row")
    parser.add_argument("--games", default=",".join(GAMES), help="comma-separated game specs")
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    batches = [int(b) for b in args.batches.split(",")]
    header = (
        f"{'game':24s} {'B':>6s} {'env steps/s':>12s} {'plain':>10s} {'ratio':>6s}"
        f" {'plain/set_from':>15s} {'ratio':>6s}"
    )
    print(header)
    print("-" * len(header))
    for spec in _split_games(args.games):
        game = games.load(spec)
        plain = PlainRunner(game.pyspiel_game, fast=False)
        fast = PlainRunner(game.pyspiel_game, fast=True)
        for batch in batches:
            runners = {"env": EnvRunner(game, batch), "plain": plain, "fast": fast}
            rate, ratio = compare(runners, args.seconds, args.windows)
            print(
                f"{spec:24s} {batch:6d} {rate['env']:12,.0f} {rate['plain']:10,.0f}"
                f" {ratio['plain']:6.2f} {rate['fast']:15,.0f} {ratio['fast']:6.2f}",
                flush=True,
            )
    rate = bench_matrix(args.seconds)
    if rate is None:
        print("matrix:prisoners_dilemma  skipped: games.catalog is not importable yet")
    else:
        print(f"{'matrix:prisoners_dilemma':24s} {65536:6d} {rate:12,.0f} game-steps/s (goal 10M)")


if __name__ == "__main__":
    main()
