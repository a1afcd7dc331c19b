"""Rating fits on a million matches: Elo, Bradley-Terry and mElo (time and accuracy).

    python bench/ratings_fit.py [--matches 1000000] [--members 100] [--raw]

Matches are drawn from a known mElo2k population (Balduzzi et al. 2018):
``N`` members with Elo-scale ratings ``r ~ N(0, 300^2)`` and 2-d cyclic
vectors (about 100 Elo points of rock-paper-scissors between members), each
match a uniformly drawn ordered pair ``i != j`` and a win with probability
``melo_expected``. Rows:

* ``elo online``: :class:`leagues.ratings.Elo` over every match in order;
* ``melo online``: :class:`leagues.ratings.MElo` over every match in order;
* ``bt batch``: the matches summed into a win matrix, then
  :func:`leagues.ratings.bradley_terry` (Newton), side by side with
  OpenSpiel's C++ ``compute_ratings_from_matrices`` (Hunter's MM) on the same
  matrix, and the largest difference between the two fits;
* ``melo batch``: :func:`leagues.ratings.melo_fit` on the summed pair table
  (weights = games) and, with ``--raw``, on the million rows themselves.

Times are CPU seconds of this process (``time.process_time``: steady on a
shared machine). Accuracy: Pearson correlation of the fitted ratings with the true ones, and
the mean log-loss of the fitted model's predictions on the matches against
the true model's (the best any model can do).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def population(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """True ratings ``[N]`` and cyclic vectors ``[N, 2]`` (Elo points)."""
    return rng.normal(0.0, 300.0, n), rng.normal(0.0, 10.0, (n, 2))


def draw_matches(r, c, m: int, rng: np.random.Generator):
    """``m`` matches ``(i, j, score_i)`` from the mElo model."""
    from leagues.ratings import melo_expected

    n = len(r)
    i = rng.integers(0, n, m)
    j = (i + rng.integers(1, n, m)) % n
    p = melo_expected(r[i], r[j], c[i], c[j])
    return i, j, (rng.random(m) < p).astype(np.float64), p


def _loss(p: np.ndarray, y: np.ndarray) -> float:
    from leagues.ratings import log_loss

    return log_loss(p, y)


def measure(
    matches: int = 1_000_000, members: int = 100, raw: bool = False, seed: int = 0
) -> list[dict]:
    """Rows ``{name, seconds, per_s, corr, loss, note}``; ``loss_true`` in the first row."""
    from open_spiel.python.algorithms import elo as os_elo

    from leagues.ratings import ALPHA, Elo, MElo, bradley_terry, melo_expected, melo_fit

    rng = np.random.default_rng(seed)
    r, c = population(members, rng)
    i, j, y, p_true = draw_matches(r, c, matches, rng)
    loss_true = _loss(p_true, y)
    rows = []

    def corr(x):
        return float(np.corrcoef(x, r)[0, 1])

    def elo_p(ratings):
        return 1.0 / (1.0 + np.exp(-ALPHA * (ratings[i] - ratings[j])))

    ii, jj, yy = i.tolist(), j.tolist(), y.tolist()
    elo = Elo()
    t = time.process_time()
    for a, b, s in zip(ii, jj, yy):
        elo.update(a, b, s)
    el = time.process_time() - t
    er = np.array([elo.rating(k) for k in range(members)])
    rows.append(
        dict(
            name="elo online",
            seconds=el,
            per_s=matches / el,
            corr=corr(er),
            loss=_loss(elo_p(er), y),
            loss_true=loss_true,
            note="sequential updates, k=16",
        )
    )

    melo = MElo(seed=seed)
    t = time.process_time()
    for a, b, s in zip(ii, jj, yy):
        melo.update(a, b, s)
    el = time.process_time() - t
    mr = np.array([melo.ratings[k] for k in range(members)])
    mc = np.stack([melo.cycles[k] for k in range(members)])
    rows.append(
        dict(
            name="melo online",
            seconds=el,
            per_s=matches / el,
            corr=corr(mr),
            loss=_loss(melo_expected(mr[i], mr[j], mc[i], mc[j]), y),
            note="sequential updates",
        )
    )

    t = time.process_time()
    nn = members * members
    wins = (
        np.bincount(i * members + j, y, nn) + np.bincount(j * members + i, 1.0 - y, nn)
    ).reshape(members, members)
    t_sum = time.process_time() - t
    bt = bradley_terry(wins)
    el = time.process_time() - t
    t = time.process_time()
    theirs = os_elo.compute_ratings_from_matrices(np.rint(wins).astype(np.int64))
    el_os = time.process_time() - t
    diff = float(np.abs((theirs - theirs.mean()) - bt).max())
    rows.append(
        dict(
            name="bt batch (Newton)",
            seconds=el,
            per_s=matches / el,
            corr=corr(bt),
            loss=_loss(elo_p(bt), y),
            note=f"sum {t_sum:.3f} s + Newton; OpenSpiel C++ MM: {el_os:.3f} s on the same matrix, max diff {diff:.2g} Elo",
        )
    )

    t = time.process_time()
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    counts = (
        np.bincount(lo * members + hi, minlength=nn).reshape(members, members).astype(np.float64)
    )
    won = np.bincount(lo * members + hi, np.where(i < j, y, 1.0 - y), nn).reshape(members, members)
    pi, pj = np.nonzero(counts)
    fr, fc = melo_fit(
        pi,
        pj,
        won[pi, pj] / counts[pi, pj],
        members,
        weight=counts[pi, pj],
        rng=np.random.default_rng(seed),
    )
    el = time.process_time() - t
    rows.append(
        dict(
            name="melo batch (pairs)",
            seconds=el,
            per_s=matches / el,
            corr=corr(fr),
            loss=_loss(melo_expected(fr[i], fr[j], fc[i], fc[j]), y),
            note=f"{len(pi):,} pair rows, L-BFGS",
        )
    )
    if raw:
        t = time.process_time()
        fr, fc = melo_fit(i, j, y, members, rng=np.random.default_rng(seed))
        el = time.process_time() - t
        rows.append(
            dict(
                name="melo batch (rows)",
                seconds=el,
                per_s=matches / el,
                corr=corr(fr),
                loss=_loss(melo_expected(fr[i], fr[j], fc[i], fc[j]), y),
                note=f"{matches:,} rows, L-BFGS",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--matches", type=int, default=1_000_000)
    ap.add_argument("--members", type=int, default=100)
    ap.add_argument("--raw", action="store_true", help="also fit mElo on the raw rows (slow)")
    args = ap.parse_args(argv)
    rows = measure(args.matches, args.members, args.raw)
    print(
        f"{args.matches:,} matches among {args.members} members; true model's log-loss {rows[0]['loss_true']:.4f}"
    )
    print(f"{'fit':20s} {'seconds':>8s} {'matches/s':>12s} {'corr':>6s} {'log-loss':>9s}  note")
    for x in rows:
        print(
            f"{x['name']:20s} {x['seconds']:8.3f} {x['per_s']:12,.0f} {x['corr']:6.3f} {x['loss']:9.4f}  {x['note']}"
        )


if __name__ == "__main__":
    main()
