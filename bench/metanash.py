"""Meta-Nash of large meta-games: games.metanash against a plain scipy linprog.

    python bench/metanash.py [--sizes 100,300,1000] [--baseline-max 1000]

For each size ``N`` two antisymmetric meta-games:

* ``random``: ``A = U - U^T`` with ``U`` uniform on [-1, 1] (the hard case:
  the equilibrium plays about half of the members);
* ``league``: win probabilities minus 1/2 of an mElo population (ratings
  ``N(0, 1)`` in logits plus a 2-d cycle), mostly transitive like a real
  league's meta-game (small support).

``ours`` is :func:`games.metanash.solve_symmetric_zero_sum_large`; the
baseline is the plain maximin LP of :func:`games.solvers.maximin` (one HiGHS
``linprog`` on the whole matrix, as ``solve_zero_sum`` does per player).
Both are checked the same way: the certified gap
``max_i (A p)_i - p^T A p`` of the returned strategy. Goal: 1000 members in
under 5 s with a gap below 1e-6 (the lead measured the LP at 0.03 s, 0.6 s
and 31 s for 100, 300 and 1000 members).

Times are CPU seconds of this process. Dense LU speed depends on BLAS
threads: the suite sets ``OPENBLAS_NUM_THREADS=1`` (on a loaded 2-core
machine one thread is ten times faster than two).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault(
    "OPENBLAS_NUM_THREADS", "1"
)  # before numpy loads OpenBLAS (see the docstring)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def random_game(n: int, seed: int = 0) -> np.ndarray:
    a = np.random.default_rng(seed).uniform(-1.0, 1.0, (n, n))
    return np.triu(a, 1) - np.triu(a, 1).T


def league_game(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, 1.0, n)
    c = rng.normal(0.0, 0.7, (n, 2))
    z = r[:, None] - r[None, :] + np.outer(c[:, 0], c[:, 1]) - np.outer(c[:, 1], c[:, 0])
    return 1.0 / (1.0 + np.exp(-z)) - 0.5


GAMES = {"random": random_game, "league": league_game}


def measure(sizes=(100, 300, 1000), baseline_max: int = 1000, seed: int = 0) -> list[dict]:
    """Rows ``{game, n, ours_s, ours_gap, support, restricted, base_s, base_gap}`` (base None when skipped)."""
    from games.metanash import solve_symmetric_zero_sum_large, symmetric_gap
    from games.solvers import maximin

    solve_symmetric_zero_sum_large(
        random_game(20)
    )  # imports and first-call costs out of the timings
    rows = []
    for n in sizes:
        for name, make in GAMES.items():
            a = make(n, seed)
            t = time.process_time()
            res = solve_symmetric_zero_sum_large(a)
            ours = time.process_time() - t
            row = dict(
                game=name,
                n=n,
                ours_s=ours,
                ours_gap=res.gap,
                support=int((res.strategy > 0).sum()),
                restricted=res.restricted,
                base_s=None,
                base_gap=None,
            )
            if n <= baseline_max:
                t = time.process_time()
                x, _ = maximin(a)
                row["base_s"] = time.process_time() - t
                row["base_gap"] = symmetric_gap(a, x)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,300,1000")
    ap.add_argument(
        "--baseline-max", type=int, default=1000, help="largest N for the linprog baseline"
    )
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{'game':7s} {'N':>5s} {'ours s':>8s} {'gap':>9s} {'support':>8s} {'|S|':>5s} {'linprog s':>10s} {'gap':>9s}"
    )
    for r in measure(sizes, args.baseline_max):
        base = (
            f"{r['base_s']:10.3f} {r['base_gap']:9.1e}"
            if r["base_s"] is not None
            else f"{'skipped':>10s}"
        )
        print(
            f"{r['game']:7s} {r['n']:5d} {r['ours_s']:8.3f} {r['ours_gap']:9.1e} {r['support']:8d} {r['restricted']:5d} {base}"
        )


if __name__ == "__main__":
    main()
