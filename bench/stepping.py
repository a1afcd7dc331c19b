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

Rates are per CPU second of this process (``time.process_time``), and each
number is the best of ``--repeats`` interleaved runs, so other work on a
shared machine skews the ratios less. A "step" is one decision applied in one copy (a joint decision in a
simultaneous game). The adapter does more per step than either loop: every
player's observation (not only the acting player's), the global state and the
legal masks of the acting players. Goal: ratio >= 0.8 at B = 256.

A last row steps the catalog's prisoner's dilemma (fully vectorized numpy) at
B = 65536 when ``games.catalog`` is importable.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pyspiel  # noqa: E402
from open_spiel.python import observation as os_observation  # noqa: E402

import games  # noqa: E402

GAMES = ("tic_tac_toe", "connect_four", "kuhn_poker", "leduc_poker", "goofspiel(num_cards=4)")
BATCHES = (1, 64, 256, 1024)


def bench_env(game: games.Game, batch: int, seconds: float, seed: int = 0) -> float:
    """Decisions per second through ``game.vector(batch)``."""
    env = game.vector(batch, seed)
    rng = np.random.default_rng(seed)
    ts = env.reset()
    steps = 0
    start = time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(8):
            steps += batch - int(ts.done.sum())
            ts = env.step(games.random_legal_actions(ts.legal, rng))
            if ts.done.any():
                ts = env.reset(mask=ts.done)
        now = time.process_time()
        if now >= deadline:
            return steps / (now - start)


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


def bench_plain(game: pyspiel.Game, fast: bool, seconds: float, seed: int = 0) -> float:
    """Decisions per second of a plain pyspiel loop doing the same work."""
    rnd = random.Random(seed)
    read = _reader(game, fast)
    n_players = game.num_players()

    def new_state():
        s = game.new_initial_state()
        sample_chance(s)
        return s

    def sample_chance(s):
        while s.is_chance_node():
            u, c = rnd.random(), 0.0
            for a, prob in s.chance_outcomes():  # noqa: B007
                c += prob
                if u < c:
                    break
            s.apply_action(a)

    state = new_state()
    steps = 0
    start = time.process_time()
    deadline = start + seconds
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
            sample_chance(state)
            steps += 1
            if state.is_terminal():
                state = new_state()
            p = state.current_player()
            if p >= 0:
                read(state, p)
            else:
                for q in range(n_players):
                    read(state, q)
        now = time.process_time()
        if now >= deadline:
            return steps / (now - start)


def bench_matrix(seconds: float, batch: int = 65536) -> float | None:
    try:
        import games.catalog  # noqa: F401
    except ImportError:
        return None
    return bench_env(games.load("matrix:prisoners_dilemma"), batch, seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    parser.add_argument("--games", default=",".join(GAMES), help="comma-separated game specs")
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs; best is kept")
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    specs = _split_games(args.games)
    batches = [int(b) for b in args.batches.split(",")]
    header = (
        f"{'game':24s} {'B':>6s} {'env steps/s':>12s} {'plain':>10s} {'ratio':>6s}"
        f" {'plain/set_from':>15s} {'ratio':>6s}"
    )
    print(header)
    print("-" * len(header))
    for spec in specs:
        game = games.load(spec)
        # Other work shares these cores: interleave the repeats, keep the best.
        best: dict[object, float] = {}
        for _ in range(args.repeats):
            runs = {
                "plain": (bench_plain, game.pyspiel_game, False),
                "fast": (bench_plain, game.pyspiel_game, True),
            }
            runs.update({batch: (bench_env, game, batch) for batch in batches})
            for key, (run, target, arg) in runs.items():
                best[key] = max(best.get(key, 0.0), run(target, arg, args.seconds))
        plain, fast = best["plain"], best["fast"]
        for batch in batches:
            rate = best[batch]
            print(
                f"{spec:24s} {batch:6d} {rate:12,.0f} {plain:10,.0f} {rate / plain:6.2f}"
                f" {fast:15,.0f} {rate / fast:6.2f}",
                flush=True,
            )
    rate = bench_matrix(args.seconds)
    if rate is None:
        print("matrix:prisoners_dilemma  skipped: games.catalog is not importable yet")
    else:
        print(f"{'matrix:prisoners_dilemma':24s} {65536:6d} {rate:12,.0f} game-steps/s (goal 10M)")


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


if __name__ == "__main__":
    main()
