"""The one meta-strategy rule of a league: which mixture of members a meta-game recommends.

A league's *meta-game* over ``K`` members is the symmetric two-player game
whose pure strategies are the members and whose payoff ``R[i, j]`` is member
``i``'s mean return against member ``j`` (PSRO's empirical game, Lanctot et
al. 2017, "A unified game-theoretic approach to multiagent reinforcement
learning"). Both ``nash`` matchmaking (which opponents a learner meets) and
the population evaluation (what the report shows) call
:func:`meta_strategy` on such a table, so for the same members and numbers
they give the same mixture. The rule, by the game's kind:

* **zero-sum and constant-sum**: a Nash equilibrium of the antisymmetric
  part ``A = (R - R^T) / 2`` (a constant sum cancels), found by linear
  programming (:func:`games.solvers.solve_zero_sum`, HiGHS). Every
  equilibrium of a symmetric zero-sum game has value 0, so the mixture is
  unexploitable *within the meta-game*.
* **general-sum and cooperative** (any number of players; the meta-game is
  still two-player symmetric, a member against a member): single-population
  alpha-rank (Omidshafiei et al. 2019, "alpha-Rank: Multi-Agent Evaluation by
  Evolution") through OpenSpiel, with its suggested selection intensity and
  the global selection model (a mutant's fitness counts its games against
  the whole population, its own kind included, so a convention that pays
  among its own kind can take over, as in coordination games).
  Nash equilibria of general-sum games are many and hard to select among;
  alpha-rank's stationary distribution is unique and is the standard
  meta-strategy of PSRO beyond two-player zero-sum games (Muller et al. 2020,
  "A generalized training approach for multiagent learning").

Unplayed pairs (NaN) count as draws (0) in ``A``; for alpha-rank they are
filled with the row member's mean over its played pairs. Infinite payoffs are
clipped to the largest finite magnitude.

Never fails on a degenerate table (a league must not stop over one solve):
when a solver fails the next is used and :attr:`MetaStrategy.fallback` says
which failed, why, and what was used. Zero/constant-sum: HiGHS LP, then the
interior-point solver of :mod:`games.metanash`, then uniform. Otherwise:
alpha-rank, infinite-alpha alpha-rank, symmetric replicator dynamics from
uniform, then uniform.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from games.core import CONSTANT_SUM, ZERO_SUM, GameError

COMPETITIVE = (ZERO_SUM, CONSTANT_SUM)


@dataclasses.dataclass(frozen=True)
class MetaStrategy:
    """A meta-strategy over ``K`` members.

    Attributes:
        weights: ``[K]`` probabilities.
        method: ``"lp"`` (zero-sum Nash), ``"alpharank"`` or ``"trivial"``
            (one member); after a solver failure the method used instead:
            ``"interior_point"`` (:mod:`games.metanash`), ``"replicator"`` or
            ``"uniform"``.
        value: the meta-game value ``w^T A w`` for the LP (0 up to round-off);
            the expected return ``w^T R w`` of the mixture against itself
            otherwise.
        fallback: None when the first-choice solver worked; otherwise one line
            saying which solver failed, why, and what was used instead.
    """

    weights: np.ndarray
    method: str
    value: float
    fallback: str | None = None


def meta_strategy(returns: np.ndarray, kind: str) -> MetaStrategy:
    """The meta-strategy of the meta-game ``returns [K, K]`` under the rule above.

    Args:
        returns: ``[K, K]`` row member's mean return against the column member
            (NaN: not played).
        kind: the game's kind (``zero_sum``, ``constant_sum``, ``cooperative``,
            ``general_sum``).

    Raises:
        GameError: an empty or non-square table.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] != r.shape[1]:
        raise GameError(f"a meta-game table is square, got shape {list(r.shape)}")
    k = r.shape[0]
    if k == 0:
        raise GameError("the population is empty: there is no meta-game to solve")
    if k == 1:
        return MetaStrategy(np.ones(1), "trivial", float(np.nan_to_num(r[0, 0])))
    m, clipped = finite_table(r)
    if kind in COMPETITIVE:
        return _zero_sum(antisymmetric(m), clipped)
    return _general(_filled(m), clipped)


def antisymmetric(returns: np.ndarray) -> np.ndarray:
    """``A = (R - R^T) / 2`` with unplayed pairs (NaN) as 0 and a zero diagonal."""
    m = np.nan_to_num(np.asarray(returns, dtype=np.float64))
    a = m / 2.0 - m.T / 2.0  # halves first: entries near 1.8e308 do not overflow
    np.fill_diagonal(a, 0.0)
    return a


def finite_table(returns: np.ndarray) -> tuple[np.ndarray, str | None]:
    """``returns`` with ``+-inf`` replaced by ``+-`` the largest finite magnitude (NaN kept:
    unplayed), and a note when anything was replaced."""
    m = np.array(returns, dtype=np.float64)
    inf = np.isinf(m)
    if not inf.any():
        return m, None
    finite = m[np.isfinite(m)]
    big = float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 1.0
    m[inf] = np.sign(m[inf]) * big
    return m, (
        f"{int(inf.sum())} infinite payoff(s) in the table; +-{big:.3g} "
        "(the largest finite magnitude) used instead"
    )


def _zero_sum(a: np.ndarray, note: str | None = None) -> MetaStrategy:
    from games.metanash import solve_symmetric_zero_sum_large
    from games.solvers import solve_zero_sum

    k = a.shape[0]
    try:
        x, _, value = solve_zero_sum(a)
        return MetaStrategy(clean(x), "lp", _finite_value(value), note)
    except Exception as e:  # noqa: BLE001 - any solver failure falls back, recorded
        failed = f"meta-Nash LP failed ({failure(e)})"
    try:
        w = clean(solve_symmetric_zero_sum_large(a).strategy)
        used = "the interior-point equilibrium of games.metanash used instead"
        return MetaStrategy(
            w, "interior_point", _finite_value(w @ a @ w), join_notes(note, failed, used)
        )
    except Exception as e:  # noqa: BLE001
        failed += f"; interior-point solver failed too ({failure(e)})"
    return MetaStrategy(
        np.full(k, 1.0 / k), "uniform", 0.0, join_notes(note, failed, "uniform weights used")
    )


def _general(m: np.ndarray, note: str | None = None) -> MetaStrategy:
    from games.solvers import alpharank, symmetric_replicator_dynamics

    k = m.shape[0]
    failed = []
    for inf_alpha in (False, True):
        try:
            ar = alpharank(
                np.stack([m, m.T]), symmetric=True, use_inf_alpha=inf_alpha, local_selection=False
            )
            w = clean(ar.marginals[0])
            used = "infinite-alpha alpha-rank used instead" if failed else None
            return MetaStrategy(
                w, "alpharank", _finite_value(w @ m @ w), join_notes(note, *failed, used)
            )
        except Exception as e:  # noqa: BLE001
            failed.append(
                f"{'infinite-alpha ' if inf_alpha else ''}alpha-rank failed ({failure(e)})"
            )
    try:
        scale = float(np.abs(m).max()) or 1.0
        w = clean(symmetric_replicator_dynamics(m / scale, steps=2000, dt=0.1)[-1])
        used = "replicator dynamics' rest point used instead"
        return MetaStrategy(
            w, "replicator", _finite_value(w @ m @ w), join_notes(note, *failed, used)
        )
    except Exception as e:  # noqa: BLE001
        failed.append(f"replicator dynamics failed ({failure(e)})")
    w = np.full(k, 1.0 / k)
    value = float(np.nan_to_num(w @ np.nan_to_num(m) @ w))
    return MetaStrategy(w, "uniform", value, join_notes(note, *failed, "uniform weights used"))


def clean(x: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Zero out solver round-off below ``tol`` and renormalise.

    Raises:
        FloatingPointError: ``x`` is not a finite nonnegative vector with a
            positive sum (a solver's garbage), so that a fallback takes over.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise FloatingPointError("the solver returned non-finite weights")
    x = np.where(x > tol, x, 0.0)
    if x.sum() <= 0:
        raise FloatingPointError("the solver returned weights that sum to 0")
    return x / x.sum()


def failure(e: BaseException) -> str:
    """``"TypeName: first line"`` of an exception, for a one-line fallback note."""
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__


def join_notes(*notes: str | None) -> str | None:
    """The non-empty notes joined by "; " (None: none)."""
    kept = [n for n in notes if n]
    return "; ".join(kept) if kept else None


def _finite_value(v) -> float:
    v = float(v)
    if not np.isfinite(v):
        raise FloatingPointError(f"the solver's value is {v}")
    return v


def _filled(returns: np.ndarray) -> np.ndarray:
    m = np.array(returns, dtype=np.float64)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row with no played pair
        row_mean = np.nanmean(m, axis=1)
    row_mean = np.nan_to_num(row_mean)
    return np.where(np.isnan(m), row_mean[:, None], m)
