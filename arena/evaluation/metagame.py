"""The empirical meta-game of a population, and what it says about the members.

A league plays its members against each other. For members ``i`` and ``j``,
``payoffs[i, j]`` is ``i``'s mean return against ``j``, averaged over seats so
that each seat counts equally (a first-mover advantage cancels even when the
two seatings were not played equally often). This ``K x K`` table is the
*empirical meta-game* (Wellman 2006, "Methods for empirical game-theoretic
analysis"; Lanctot et al. 2017, "A unified game-theoretic approach to
multiagent reinforcement learning", the meta-game of PSRO): a symmetric
two-player normal-form game whose pure strategies are the members.

What is computed here, all pure functions on the table:

* :func:`empirical_metagame`: the table, its standard errors, and the
  advantage table ``mean(return_i - return_j)`` with its own standard errors.
  Deterministic policies in a game without chance replay the same game at
  every seating, so repeating it adds no information: a pair whose games
  were all deterministic is computed exactly from one game per seating
  (standard error 0), and the table counts the distinct episodes behind
  each entry (:func:`sampling_summary` says so in one line).
* :func:`meta_nash`: the meta-strategy. Zero-sum (and constant-sum) games:
  a Nash equilibrium of the antisymmetric part by linear programming
  (:func:`games.solvers.solve_zero_sum`). General-sum and cooperative games:
  alpha-rank (Omidshafiei et al. 2019) through OpenSpiel
  (:func:`games.solvers.alpharank`), single population.
* :func:`maxent_nash` and :func:`nash_averaging`: Nash averaging (Balduzzi et
  al. 2018, "Re-evaluating evaluation", Sec. 4): the maximum-entropy Nash
  equilibrium ``p*`` of the antisymmetric meta-game ``A`` and the ratings
  ``A p*``. Ratings are 0 on the equilibrium's support and negative off it;
  adding copies of a member does not change them.
* :func:`dominance_graph`: an edge ``i -> j`` when ``i`` beats ``j``
  significantly (mean advantage above ``z`` standard errors); strongly
  connected components with more than one member, and the cycles inside them,
  are the population's intransitivities (Balduzzi et al. 2019, "Open-ended
  learning in symmetric zero-sum games": the cyclic part of a game).
* :func:`cross_play`: for cooperative games, self-play (diagonal) against
  cross-play (off-diagonal) returns (Hu et al. 2020, "Other-Play": a gap means
  conventions that do not transfer).
* :class:`MixturePolicy`: a Policy for the meta-Nash mixture of members, so
  that the exact NashConv of the mixture in the full game (PSRO's measure) can
  be computed by :mod:`arena.evaluation`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Sequence

import numpy as np

from agents.base import Act, Policy, sample_from_probs
from games.core import CONSTANT_SUM, COOPERATIVE, ZERO_SUM, GameError
from games.metastrategy import MetaStrategy, antisymmetric, meta_strategy
from games.metastrategy import clean as _clean
from games.metastrategy import failure as _failure
from games.metastrategy import finite_table as _finite_table
from games.metastrategy import join_notes as _join

# ---------------------------------------------------------------------------
# The empirical meta-game


@dataclasses.dataclass(frozen=True)
class PairRecord:
    """One game between members ``a`` and ``b`` of a population.

    Attributes:
        a: index of the first member.
        b: index of the second member (``a == b`` for self-play).
        seat_a: the seat ``a`` held (seats are balanced per seat index).
        return_a: ``a``'s return.
        return_b: ``b``'s return.
        episode: the game's trajectory hash (:attr:`arena.rollout.MatchResult.episode`);
            0 when unknown (every such game then counts as distinct).
        deterministic: the game had no chance event and every decision in it
            was taken with probability 1 (:attr:`arena.rollout.MatchResult.deterministic`).
    """

    a: int
    b: int
    seat_a: int
    return_a: float
    return_b: float
    episode: int = 0
    deterministic: bool = False


def records_from_match(a: int, b: int, result) -> list[PairRecord]:
    """:class:`PairRecord` rows from :func:`arena.rollout.play` of ``[policy_a, policy_b]``.

    ``result.seats [G, P]`` holds policy index 0 (member ``a``) or 1 (member
    ``b``) per seat; a member holding several seats gets its mean return over
    them, and the seat recorded is the lowest one it held. The episode hash
    and determinism flag come from ``result.episode`` and
    ``result.deterministic`` where present (0 and False otherwise).
    """
    out = []
    per_policy = result.policy_returns()  # [G, 2]
    episode = getattr(result, "episode", None)
    deterministic = getattr(result, "deterministic", None)
    for g in range(len(result.seats)):
        seats_a = np.flatnonzero(result.seats[g] == 0)
        if seats_a.size == 0 or per_policy.shape[1] < 2 or np.isnan(per_policy[g, 1]):
            continue
        out.append(
            PairRecord(
                int(a),
                int(b),
                int(seats_a[0]),
                float(per_policy[g, 0]),
                float(per_policy[g, 1]),
                0 if episode is None else int(episode[g]),
                False if deterministic is None else bool(deterministic[g]),
            )
        )
    return out


@dataclasses.dataclass(frozen=True)
class MetaGame:
    """A symmetric empirical meta-game over ``K`` members.

    Attributes:
        names: the members' names, ``[K]``.
        payoffs: ``[K, K]`` row member's seat-balanced mean return against the
            column member (NaN where the pair never played).
        stderr: ``[K, K]`` standard errors of ``payoffs``.
        advantage: ``[K, K]`` seat-balanced mean of ``return_row -
            return_col`` (antisymmetric; 0 on the diagonal).
        advantage_stderr: ``[K, K]`` its standard errors.
        counts: ``[K, K]`` games played by each pair (symmetric).
        kind: the game's kind (``zero_sum``, ``constant_sum``, ``cooperative``,
            ``general_sum``).
        distinct: ``[K, K]`` int, distinct episodes among each pair's games
            (symmetric): games differ by their trajectory hash or, between two
            members, by the seat the first one held; a game of unknown hash
            counts as distinct. 0 where no game was sampled (unplayed pairs,
            and tables given ready, see :func:`metagame_from_table`). Default:
            ``counts`` (every game distinct).
        deterministic: ``[K, K]`` bool, the entry is exact (symmetric): every
            game of the pair was deterministic and each seating gave one
            episode, so the payoff is that episode's return per seating,
            seat-balanced, with standard error 0 (the repeats are not samples);
            or the table was given exact. Default: all False.
    """

    names: tuple[str, ...]
    payoffs: np.ndarray
    stderr: np.ndarray
    advantage: np.ndarray
    advantage_stderr: np.ndarray
    counts: np.ndarray
    kind: str
    distinct: np.ndarray | None = None
    deterministic: np.ndarray | None = None

    def __post_init__(self):
        if self.distinct is None:
            object.__setattr__(self, "distinct", np.array(self.counts, dtype=np.int64))
        if self.deterministic is None:
            k = len(self.names)
            object.__setattr__(self, "deterministic", np.zeros((k, k), dtype=bool))

    @property
    def size(self) -> int:
        return len(self.names)

    @property
    def played(self) -> np.ndarray:
        """``[K, K]`` bool: the pair has at least one game."""
        return self.counts > 0

    def restricted(self, idx: Sequence[int]) -> MetaGame:
        """The meta-game of the members ``idx`` alone (every ``[K, K]`` table cut alike)."""
        ix = np.ix_(list(idx), list(idx))
        return MetaGame(
            tuple(self.names[i] for i in idx),
            self.payoffs[ix],
            self.stderr[ix],
            self.advantage[ix],
            self.advantage_stderr[ix],
            self.counts[ix],
            self.kind,
            self.distinct[ix],
            self.deterministic[ix],
        )


def _balanced_mean(values: np.ndarray, seats: np.ndarray) -> tuple[float, float]:
    """Mean over seats of the per-seat means, and its standard error.

    ``se = sqrt(sum_s var_s / n_s) / S``; a seat with a single game contributes
    no variance estimate (its variance is taken as 0).
    """
    means, variances = [], []
    for s in np.unique(seats):
        v = values[seats == s]
        means.append(v.mean())
        variances.append(v.var(ddof=1) / len(v) if len(v) > 1 else 0.0)
    n = len(means)
    return float(np.mean(means)), float(np.sqrt(np.sum(variances)) / n)


def empirical_metagame(names: Sequence[str], records: Iterable[PairRecord], kind: str) -> MetaGame:
    """The meta-game table from per-game records (see :class:`MetaGame`).

    Records of ``(a, b)`` also fill ``(b, a)`` with the roles swapped. For
    zero-sum and constant-sum games an unplayed diagonal is the game's
    symmetric value: 0 for zero-sum, half the constant sum (estimated from the
    records) for constant-sum; other unplayed entries are NaN.

    A pair is *deterministic* when every one of its games is (no chance, every
    decision taken with probability 1) and each seating gave a single
    episode: then its entries are computed from one game per seating and
    their standard errors are exactly 0. Any other pair keeps the standard
    errors of all its games (i.i.d. draws of a random game, repeats
    included); a pair flagged deterministic whose seating gave several
    episodes (a policy that changes between games) is treated as sampled.
    """
    k = len(names)
    rows: dict[tuple[int, int], list[tuple[int, float, float, int, bool]]] = {}
    for r in records:
        if not (0 <= r.a < k and 0 <= r.b < k):
            raise GameError(f"record names member {r.a} or {r.b}, but the population has {k}")
        # The seating (the seat of the pair's first member) groups the games in
        # both directions, so each seating counts equally whichever way round.
        game = (r.seat_a, r.return_a, r.return_b, int(r.episode), bool(r.deterministic))
        rows.setdefault((r.a, r.b), []).append(game)
        if r.a != r.b:
            rows.setdefault((r.b, r.a), []).append((game[0], game[2], game[1], *game[3:]))
    payoffs = np.full((k, k), np.nan)
    stderr = np.full((k, k), np.nan)
    adv = np.zeros((k, k))
    adv_se = np.zeros((k, k))
    counts = np.zeros((k, k), dtype=np.int64)
    distinct = np.zeros((k, k), dtype=np.int64)
    exact = np.zeros((k, k), dtype=bool)
    sums = []
    for (i, j), games in rows.items():
        arr = np.array([g[:3] for g in games], dtype=np.float64)
        seats = arr[:, 0].astype(np.int64)
        episodes = np.array([g[3] for g in games], dtype=np.uint64)
        keep, exact[i, j] = _one_per_episode(seats, episodes, i == j)
        distinct[i, j] = len(keep)
        exact[i, j] &= all(g[4] for g in games)
        if exact[i, j]:  # one game per seating is the whole truth; the rest are repeats
            arr, seats = arr[keep], seats[keep]
        if i == j:  # self-play: both returns are the member's own, one group
            both = np.concatenate([arr[:, 1], arr[:, 2]])
            payoffs[i, i], stderr[i, i] = _balanced_mean(both, np.zeros(len(both), np.int64))
        else:
            payoffs[i, j], stderr[i, j] = _balanced_mean(arr[:, 1], seats)
            adv[i, j], adv_se[i, j] = _balanced_mean(arr[:, 1] - arr[:, 2], seats)
        if exact[i, j]:
            stderr[i, j] = adv_se[i, j] = 0.0
        counts[i, j] = len(games)
        sums.append(arr[:, 1] + arr[:, 2])
    if kind in (ZERO_SUM, CONSTANT_SUM):
        half = 0.0 if kind == ZERO_SUM or not sums else float(np.concatenate(sums).mean()) / 2
        diag = np.isnan(np.diag(payoffs))
        payoffs[np.flatnonzero(diag), np.flatnonzero(diag)] = half
        stderr[np.flatnonzero(diag), np.flatnonzero(diag)] = 0.0
    return MetaGame(tuple(names), payoffs, stderr, adv, adv_se, counts, kind, distinct, exact)


def _one_per_episode(
    seats: np.ndarray, episodes: np.ndarray, self_play: bool
) -> tuple[np.ndarray, bool]:
    """Indices of the first game of each distinct episode, and whether each seating gave one.

    Games differ by their hash and, between two members, by the seating (in
    self-play both seats hold the same member, so the seating alone makes no
    new game). A hash of 0 is unknown: such a game is always distinct, and its
    seating is not known to have given a single episode.
    """
    key = np.zeros(len(seats), np.int64) if self_play else seats
    known = episodes != 0
    pairs = np.stack([key, episodes.view(np.int64)], 1)[known]
    _, first = np.unique(pairs, axis=0, return_index=True)
    keep = np.sort(np.concatenate([np.flatnonzero(known)[first], np.flatnonzero(~known)]))
    one_each = bool(known.all()) and len(first) == len(np.unique(key))
    return keep, one_each


def metagame_from_table(
    names: Sequence[str],
    payoffs: np.ndarray,
    kind: str,
    stderr: np.ndarray | None = None,
    counts: np.ndarray | None = None,
) -> MetaGame:
    """A :class:`MetaGame` from a ready table (e.g. an exact one, or read back from a store).

    The advantage is ``payoffs - payoffs.T`` with standard error
    ``sqrt(se_ij^2 + se_ji^2)`` (conservative: the two are measured on the
    same games and usually correlate positively in zero-sum games).

    No episodes stand behind a ready table: ``distinct`` is 0 everywhere, and
    ``deterministic`` (exact) holds for every played entry whose standard
    error, and its mirror's, is 0 (all of them when ``stderr`` is None: a
    table given without standard errors is taken as exact, as the dominance
    graph already takes it).
    """
    payoffs = np.asarray(payoffs, dtype=np.float64)
    k = len(names)
    if payoffs.shape != (k, k):
        raise GameError(f"payoff table has shape {list(payoffs.shape)}, expected [{k}, {k}]")
    se = np.zeros((k, k)) if stderr is None else np.asarray(stderr, dtype=np.float64)
    n = np.where(np.isnan(payoffs), 0, 1) if counts is None else np.asarray(counts)
    with np.errstate(over="ignore", invalid="ignore"):  # 1e308 - (-1e308): clipped below
        adv = np.nan_to_num(payoffs - payoffs.T)
    adv_se = np.nan_to_num(np.sqrt(se**2 + se.T**2))
    np.fill_diagonal(adv, 0.0)
    np.fill_diagonal(adv_se, 0.0)
    exact = (n > 0) & (n.T > 0) & (se == 0) & (se.T == 0)
    return MetaGame(
        tuple(names), payoffs, se, adv, adv_se, n, kind, np.zeros((k, k), np.int64), exact
    )


def sampling_summary(meta: MetaGame) -> str:
    """One line on how the table was measured, for a report to print as it is.

    The pairs are the played unordered pairs, self-play included. Wording:

    * sampled tables: ``"sampled: 64 games per pair, 5 of 6 pairs
      deterministic (computed exactly from one game per seating), 17 distinct
      episodes in all"``; the games part reads ``"50 to 64 games per pair"``
      when pairs played different numbers, and the middle part ``"no pair
      deterministic"`` or ``"all 6 pairs deterministic (computed exactly from
      one game per seating)"`` at the extremes;
    * ready tables (no sampled episode, :func:`metagame_from_table`):
      ``"exact: 6 pairs computed without sampling"`` when every entry is
      exact, otherwise ``"given table: 2 of 6 pairs exact, 4 with standard
      errors as given"``;
    * ``"no pair played"`` when nothing was.
    """
    played = np.triu(meta.counts > 0)
    n = int(played.sum())
    if n == 0:
        return "no pair played"
    pairs = _plural(n, "pair")
    exact = int((played & meta.deterministic).sum())
    episodes = int(meta.distinct[played].sum())
    if episodes == 0:
        if exact == n:
            return f"exact: {pairs} computed without sampling"
        return f"given table: {exact} of {pairs} exact, {n - exact} with standard errors as given"
    games = meta.counts[played]
    lo, hi = int(games.min()), int(games.max())
    per_pair = f"{lo:,} games per pair" if lo == hi else f"{lo:,} to {hi:,} games per pair"
    how = "(computed exactly from one game per seating)"
    if exact == 0:
        det = "no pair deterministic"
    elif exact == n and n > 1:
        det = f"all {pairs} deterministic {how}"
    else:
        det = f"{exact} of {pairs} deterministic {how}"
    return f"sampled: {per_pair}, {det}, {_plural(episodes, 'distinct episode')} in all"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def antisymmetric_part(meta: MetaGame) -> np.ndarray:
    """``A = (M - M^T) / 2`` with unplayed pairs as 0: the zero-sum part of the meta-game.

    For a zero-sum game ``M`` is already antisymmetric up to noise; for a
    constant-sum game it differs from ``A`` by a constant.
    """
    return antisymmetric(_finite_table(meta.payoffs)[0])


# ---------------------------------------------------------------------------
# Meta-strategies


MetaNash = MetaStrategy
"""The meta-strategy record (:class:`games.metastrategy.MetaStrategy`)."""


def meta_nash(meta: MetaGame) -> MetaStrategy:
    """The meta-strategy of :class:`MetaGame`: :func:`games.metastrategy.meta_strategy`
    of its seat-balanced return table (LP for zero/constant-sum, alpha-rank otherwise),
    the one rule ``nash`` matchmaking uses too.

    Raises:
        GameError: the population is empty.
    """
    return meta_strategy(meta.payoffs, meta.kind)


def maxent_nash(a: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """The maximum-entropy Nash equilibrium of the symmetric zero-sum game ``a`` (antisymmetric).

    The equilibria of an antisymmetric game (value 0) are the polytope
    ``{p in simplex : A p <= 0}``; its maximum-entropy point is unique
    (Balduzzi et al. 2018, Sec. 4.1). Two steps:

    1. the *largest support* ``S`` (the union of all equilibrium supports) by
       one LP on the cone ``{q >= 0 : A q <= 0}``: maximise ``sum_j y_j`` with
       ``q_j >= y_j``, ``0 <= y <= 1``; ``y_j = 1`` exactly on ``S`` (a cone
       point can be scaled up, so every member that some equilibrium plays
       reaches 1);
    2. maximise the entropy over ``p`` supported on ``S`` subject to
       ``A_SS p = 0`` (every support member earns the value 0) and
       ``A_{rest,S} p <= 0`` with SLSQP over the solutions ``p_S + Z z`` of
       the (rank-deficient) equalities, started from the LP's point; if it
       fails to converge the normalised LP point (an equilibrium with the
       same support) is returned.

    Fallbacks (see :func:`maxent_nash_noted`, which also says which was used):
    an LP that fails under HiGHS' dual simplex is retried with its interior
    point method, then replaced by the equilibrium of :mod:`games.metanash`,
    then by uniform weights.
    """
    return maxent_nash_noted(a, tol)[0]


def maxent_nash_noted(a: np.ndarray, tol: float = 1e-9) -> tuple[np.ndarray, str | None]:
    """:func:`maxent_nash` and a note: None, or which step failed and what was used instead."""
    from scipy.optimize import linprog, minimize

    a = np.array(a, dtype=np.float64)
    k = a.shape[0]
    if k == 1:
        return np.ones(1), None
    note = None
    if not np.all(np.isfinite(a)):
        bad = ~np.isfinite(a)
        note = f"{int(bad.sum())} non-finite entries of the antisymmetric meta-game set to 0"
        a[bad] = 0.0
    scale = float(np.abs(a).max()) or 1.0
    a = a / scale
    # Variables [q (k), y (k)]; maximise sum y.
    c = np.concatenate([np.zeros(k), -np.ones(k)])
    a_ub = np.block([[a, np.zeros((k, k))], [-np.eye(k), np.eye(k)]])
    b_ub = np.concatenate([np.zeros(k), np.zeros(k)])
    bounds = [(0.0, None)] * k + [(0.0, 1.0)] * k
    failures = []
    res = None
    for method in ("highs", "highs-ipm"):
        try:
            res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method=method)
            if res.status == 0 and res.x is not None and np.all(np.isfinite(res.x)):
                break
            failures.append(f"{method}: {res.message}")
        except Exception as e:  # noqa: BLE001
            failures.append(f"{method}: {_failure(e)}")
        res = None
    if failures:
        failed = f"the maximal-support LP of Nash averaging failed ({'; '.join(failures)})"
        if res is not None:
            note = _join(note, failed, "HiGHS' interior-point method solved it instead")
    if res is None:
        return _maxent_fallback(a, _join(note, failed))
    q, y = res.x[:k], res.x[k:]
    support = np.flatnonzero(y > 0.5)
    p0 = np.zeros(k)
    p0[support] = np.clip(q[support], 0.0, None)
    if len(support) == 0 or p0.sum() <= 0:
        return _maxent_fallback(a, _join(note, "the maximal-support LP returned an empty support"))
    p0 /= p0.sum()
    if len(support) == 1:
        return p0, note
    rest = np.setdiff1d(np.arange(k), support)
    a_ss = a[np.ix_(support, support)]
    a_rs = a[np.ix_(rest, support)]

    # Every equilibrium solves A_SS p = 0, 1^T p = 1 (all of S earns the value 0 against any
    # equilibrium), a rank-deficient system: optimise over its solution set p0_S + Z z.
    from scipy.linalg import null_space

    base = p0[support]
    z_basis = null_space(np.vstack([a_ss, np.ones((1, len(support)))]), rcond=1e-9)
    if z_basis.shape[1] == 0:  # one equilibrium on S: the LP's
        return p0, note

    def neg_entropy(z):
        p = np.clip(base + z_basis @ z, 1e-300, None)
        return float(np.sum(p * np.log(p)))

    def grad(z):
        return z_basis.T @ (np.log(np.clip(base + z_basis @ z, 1e-300, None)) + 1.0)

    cons = [
        {
            "type": "ineq",
            "fun": lambda z: base + z_basis @ z - 1e-12,
            "jac": lambda z: z_basis,
        }
    ]
    if len(rest):
        cons.append(
            {
                "type": "ineq",
                "fun": lambda z: -(a_rs @ (base + z_basis @ z)),
                "jac": lambda z: -(a_rs @ z_basis),
            }
        )
    out = p0
    try:
        opt = minimize(
            neg_entropy,
            np.zeros(z_basis.shape[1]),
            jac=grad,
            constraints=cons,
            method="SLSQP",
            options={"maxiter": 500, "ftol": 1e-12},
        )
        if opt.success and np.all(np.isfinite(opt.x)):
            p = np.clip(base + z_basis @ opt.x, 0.0, None)
            p /= p.sum()
            feasible = np.all(a[:, support] @ p <= 1e-7)
            if feasible:
                out = np.zeros(k)
                out[support] = p
        if out is p0:
            why = "infeasible result" if opt.success else str(opt.message).strip().splitlines()[0]
            note = _join(
                note,
                f"the max-entropy step did not converge ({why}); the LP's equilibrium "
                "(same support) used instead",
            )
    except Exception as e:  # noqa: BLE001 - the LP's point is an equilibrium with the same support
        note = _join(
            note, f"the max-entropy step failed ({_failure(e)}); the LP's equilibrium used instead"
        )
    out = np.where(out > tol, out, 0.0)
    return out / out.sum(), note


def _maxent_fallback(a: np.ndarray, failed: str | None) -> tuple[np.ndarray, str | None]:
    """An equilibrium of ``a`` without HiGHS (games.metanash), else uniform weights."""
    from games.metanash import solve_symmetric_zero_sum_large

    k = a.shape[0]
    try:
        p = _clean(solve_symmetric_zero_sum_large(a).strategy)
        return p, _join(failed, "the interior-point equilibrium of games.metanash used instead")
    except Exception as e:  # noqa: BLE001
        failed = _join(failed, f"interior-point solver failed too ({_failure(e)})")
    return np.full(k, 1.0 / k), _join(failed, "uniform weights used")


@dataclasses.dataclass(frozen=True)
class NashAveraging:
    """Nash averaging (Balduzzi et al. 2018).

    Attributes:
        weights: ``[K]`` the maximum-entropy Nash of the antisymmetric meta-game.
        ratings: ``[K]`` ``A @ weights``: each member's payoff against the
            Nash mixture (0 on the support, negative off it).
        fallback: None, or which solver step failed and what was used instead
            (see :func:`maxent_nash_noted`).
    """

    weights: np.ndarray
    ratings: np.ndarray
    fallback: str | None = None

    def ranking(self) -> np.ndarray:
        """Member indices, best first (rating, then Nash weight)."""
        return np.lexsort((-self.weights, -self.ratings))


def nash_averaging(meta: MetaGame) -> NashAveraging:
    """Nash averaging of the meta-game's antisymmetric part (see :func:`maxent_nash`)."""
    a = antisymmetric_part(meta)
    if meta.size == 0:
        return NashAveraging(np.zeros(0), np.zeros(0))
    p, note = maxent_nash_noted(a)
    return NashAveraging(p, a @ p, _join(_finite_table(meta.payoffs)[1], note))


# ---------------------------------------------------------------------------
# Dominance and intransitivity


@dataclasses.dataclass(frozen=True)
class Dominance:
    """Who beats whom, significantly.

    Attributes:
        edges: ``(i, j)`` pairs: ``i`` beats ``j`` (mean advantage above ``z``
            standard errors).
        components: strongly connected components with more than one member
            (sorted lists of indices): groups with a cycle of wins.
        cycles: up to ``max_cycles`` elementary cycles, each a list of indices
            ``[i, j, ..., ]`` with ``i`` beating ``j`` and the last beating ``i``.
        order: for a transitive population, a topological order (best first);
            empty when there is a cycle.
    """

    edges: list[tuple[int, int]]
    components: list[list[int]]
    cycles: list[list[int]]
    order: list[int]

    @property
    def transitive(self) -> bool:
        return not self.components


def dominance_graph(meta: MetaGame, z: float = 2.0, max_cycles: int = 20):
    """The dominance graph (a ``networkx.DiGraph``) and its :class:`Dominance` summary.

    Edge ``i -> j`` (attribute ``advantage``) when ``advantage[i, j] > z *
    advantage_stderr[i, j]`` and the pair has been played. An exact entry
    (``meta.deterministic``: deterministic play, or an exact table) has zero
    standard error, so any positive advantage above 1e-12 counts: it is certain.
    """
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(range(meta.size))
    adv, se = meta.advantage, meta.advantage_stderr
    for i, j in itertools.permutations(range(meta.size), 2):
        threshold = 0.0 if meta.deterministic[i, j] else z * se[i, j]
        if meta.counts[i, j] > 0 and adv[i, j] > max(threshold, 1e-12):
            g.add_edge(i, j, advantage=float(adv[i, j]))
    comps = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    comps.sort(key=lambda c: (-len(c), c))
    cycles = []
    if comps:
        for cyc in itertools.islice(nx.simple_cycles(g), max_cycles):
            start = cyc.index(min(cyc))
            cycles.append(cyc[start:] + cyc[:start])
        cycles.sort(key=lambda c: (len(c), c))
    order = list(nx.topological_sort(g)) if not comps else []
    edges = sorted((int(i), int(j)) for i, j in g.edges)
    return g, Dominance(edges, comps, cycles, order)


# ---------------------------------------------------------------------------
# Cooperative games: self-play against cross-play


@dataclasses.dataclass(frozen=True)
class CrossPlay:
    """Self-play against cross-play returns of a cooperative population.

    Attributes:
        table: ``[K, K]`` mean common return of row with column (NaN unplayed).
        self_play: mean of the played diagonal.
        cross_play: mean of the played off-diagonal entries.
        gap: ``self_play - cross_play``.
    """

    table: np.ndarray
    self_play: float
    cross_play: float
    gap: float


def cross_play(meta: MetaGame) -> CrossPlay:
    """Diagonal against off-diagonal means of the table (NaN where nothing was played)."""
    t = meta.payoffs
    k = meta.size
    diag = np.diag(t)[np.diag(meta.counts) > 0] if k else np.zeros(0)
    off = ~np.eye(k, dtype=bool) & (meta.counts > 0)
    sp = float(np.mean(diag)) if diag.size else float("nan")
    xp = float(np.mean(t[off])) if off.any() else float("nan")
    return CrossPlay(t, sp, xp, sp - xp)


# ---------------------------------------------------------------------------
# Everything at once


@dataclasses.dataclass(frozen=True)
class MetaAnalysis:
    """Everything the report shows about a meta-game."""

    meta: MetaGame
    nash: MetaNash
    averaging: NashAveraging
    dominance: Dominance
    cross_play: CrossPlay | None

    @property
    def fallbacks(self) -> list[str]:
        """One line per solver that failed and what was used instead (empty: none failed)."""
        return [
            f"{what}: {note}"
            for what, note in (
                ("meta-Nash", self.nash.fallback),
                ("Nash averaging", self.averaging.fallback),
            )
            if note
        ]


def analyze(meta: MetaGame, z: float = 2.0) -> MetaAnalysis:
    """Meta-Nash, Nash averaging, dominance and (cooperative games) cross-play."""
    _, dom = dominance_graph(meta, z=z)
    return MetaAnalysis(
        meta=meta,
        nash=meta_nash(meta),
        averaging=nash_averaging(meta),
        dominance=dom,
        cross_play=cross_play(meta) if meta.kind == COOPERATIVE else None,
    )


# ---------------------------------------------------------------------------
# The mixture as a policy


def behaviour_mixture(
    member_probs: np.ndarray, reach: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Behaviour strategy equivalent to playing member ``k`` with probability ``weights[k]``.

    By Kuhn's theorem (Kuhn 1953) a mixture of behaviour strategies of a
    player with perfect recall equals the behaviour strategy

        sigma(a | s) = sum_k w_k rho_k(s) pi_k(a | s) / sum_k w_k rho_k(s)

    where ``rho_k(s)`` is the probability that member ``k``'s own actions lead
    to information state ``s`` (its own reach; chance and opponents cancel).
    Where no member reaches ``s`` the plain mixture is used (any choice is
    behaviour-equivalent there).

    Args:
        member_probs: ``[K, N, A]`` each member's probabilities at ``N`` states.
        reach: ``[K, N]`` each member's own reach of each state.
        weights: ``[K]``.

    Returns:
        ``[N, A]``.
    """
    w = np.asarray(weights, dtype=np.float64)[:, None] * np.asarray(reach, dtype=np.float64)
    total = w.sum(0)  # [N]
    plain = np.einsum("k,kna->na", np.asarray(weights, dtype=np.float64), member_probs)
    mixed = np.einsum("kn,kna->na", w, member_probs) / np.where(total > 0, total, 1.0)[:, None]
    return np.where((total > 0)[:, None], mixed, plain)


class MixturePolicy:
    """The mixture ``sum_k weights[k] * policies[k]`` of a population, as a Policy.

    ``act`` returns the per-decision mixture ``sum_k w_k pi_k(a | obs)``. In a
    one-shot game that *is* the mixed strategy. In a sequential game the
    behaviour-equivalent strategy also weights each member by its own reach
    probability of the information state (:func:`behaviour_mixture`), which
    ``act`` cannot know from one observation; :func:`arena.evaluation.exact_nash_conv`
    recognises a ``MixturePolicy`` and evaluates the behaviour-equivalent
    strategy exactly (so the exact NashConv of a meta-Nash mixture, PSRO's
    measure, is right in sequential games too). For play, sample one member
    per episode from ``weights`` instead of using ``act``.

    Members with zero weight are dropped.
    """

    name = "mixture"

    def __init__(self, policies: Sequence[Policy], weights: Sequence[float] | np.ndarray):
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if len(policies) != len(w):
            raise GameError(
                f"mixture of {len(policies)} policies needs {len(policies)} weights, got {len(w)}"
            )
        if len(w) == 0 or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
            raise GameError(
                f"mixture weights must be non-negative with a positive sum, got {w.tolist()}"
            )
        keep = np.flatnonzero(w > 0)
        self.policies = [policies[i] for i in keep]
        self.weights = w[keep] / w[keep].sum()

    def member_probs(self, obs, legal, player, rng) -> np.ndarray:
        """``[K, N, A]`` every member's probabilities (one batched call per member)."""
        out = []
        for pol in self.policies:
            act = pol.act(obs, legal, player, rng, explore=False)
            if act.probs is None:
                raise GameError(f"mixture member {pol!r} gives no action probabilities")
            out.append(np.asarray(act.probs, dtype=np.float64))
        return np.stack(out)

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        probs = np.einsum("k,kna->na", self.weights, self.member_probs(obs, legal, player, rng))
        probs[~np.asarray(legal, dtype=bool)] = 0.0
        probs /= np.maximum(probs.sum(-1, keepdims=True), 1e-300)
        actions = sample_from_probs(probs, rng)
        logp = np.log(np.maximum(probs[np.arange(len(actions)), actions], 1e-300))
        return Act(actions, probs, logp.astype(np.float32))


def mixture_policy(policies: Sequence[Policy], weights) -> MixturePolicy:
    """A :class:`MixturePolicy` of ``policies`` with ``weights`` (e.g. ``meta_nash(...).weights``)."""
    return MixturePolicy(policies, weights)
