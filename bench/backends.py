"""Evaluation matches on each backend: serial, local process pool, Ray (games/s).

    python bench/backends.py [--games 2000] [--matches 6] [--workers 2]

The same list of matches (tic-tac-toe, two MLP policies and the random
reference, every pair, ``--games`` games each, in chunks of
``arena.backends.CHUNK_GAMES``) is played on every backend: once cold
(workers start, import torch, rebuild the policies) and once warm. Rates are
wall-clock games per second (the only fair clock across processes; the
machine's load average is printed with them). Every backend must return the
very same games as the serial one; the table says so.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_matches(games_per_match: int, n_matches: int):
    """``(game, matches)``: pairs of (MLP a, MLP b, random) cycled up to ``n_matches``, seeds 0.."""
    import games
    from agents.registry import make_learner
    from arena.backends import RANDOM, Match, policy_spec

    game = games.load("tic_tac_toe")
    specs = [
        policy_spec("mappo", {}, make_learner("mappo", game.info, seed=s)) for s in range(2)
    ] + [RANDOM]
    pairs = [(0, 1), (0, 2), (1, 2)]
    matches = [
        Match((specs[pairs[k % 3][0]], specs[pairs[k % 3][1]]), games_per_match, seed=k)
        for k in range(n_matches)
    ]
    return game, matches


def measure(
    games_per_match: int = 2000, n_matches: int = 6, workers: int = 2, ray: bool = True
) -> list[dict]:
    """Rows ``{backend, cold_s, warm_s, games_per_s, driver_cpu_s, identical, total}`` (or ``{backend, note}``).

    ``driver_cpu_s`` is this process's CPU time in the warm run: for the serial
    backend all the work (``total / driver_cpu_s`` is one core's rate, what an
    unloaded machine shows, and ``workers`` times it a pool's ideal); for the
    others the cost of sending chunks and merging results.
    """
    from arena.backends import ProcessBackend, RayBackend, SerialBackend

    game, matches = make_matches(games_per_match, n_matches)
    total = games_per_match * n_matches
    backends = [
        ("serial", lambda: SerialBackend()),
        (f"process ({workers})", lambda: ProcessBackend(workers)),
    ]
    skipped = None
    if ray:
        try:
            import ray as _ray  # noqa: F401

            os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a throwaway local cluster
            backends.append((f"ray ({workers} cpus)", lambda: RayBackend(workers=workers)))
        except ImportError:
            skipped = "skipped: ray is not installed (pip install 'arena[ray]')"
    rows, reference = [], None
    for name, make in backends:
        t = time.perf_counter()
        backend = make()
        try:
            backend.play(game, "tic_tac_toe", matches)
            cold = time.perf_counter() - t
            t, c = time.perf_counter(), time.process_time()
            results = backend.play(game, "tic_tac_toe", matches)
            warm, cpu = time.perf_counter() - t, time.process_time() - c
        finally:
            backend.close()
        returns = np.concatenate([r.returns for r in results])
        if reference is None:
            reference = returns
        rows.append(
            dict(
                backend=name,
                cold_s=cold,
                warm_s=warm,
                games_per_s=total / warm,
                driver_cpu_s=cpu,
                identical=bool(np.array_equal(returns, reference)),
                total=total,
            )
        )
    if skipped:
        rows.append(dict(backend="ray", note=skipped))
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=2000, help="games per match")
    ap.add_argument("--matches", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    rows = measure(args.games, args.matches, args.workers)
    print(
        f"{args.matches} matches x {args.games} games; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"{'backend':16s} {'cold s':>7s} {'warm s':>7s} {'games/s':>9s} {'driver CPU s':>12s} {'same games':>10s}"
    )
    for r in rows:
        if "note" in r:
            print(f"{r['backend']:16s} {r['note']}")
            continue
        print(
            f"{r['backend']:16s} {r['cold_s']:7.2f} {r['warm_s']:7.2f} {r['games_per_s']:9,.0f} {r['driver_cpu_s']:12.2f} {str(r['identical']):>10s}"
        )


if __name__ == "__main__":
    main()
