"""Solvers for normal-form games: pure functions, numpy in, plain results out.

Payoffs are tensors ``[P, A_1..A_P]`` (entry ``[i, a_1..a_P]`` is player
``i``'s payoff); a *profile* is a list of ``P`` mixed strategies, strategy
``i`` a probability vector of length ``A_i``.

* :func:`solve_zero_sum`: two-player zero-sum Nash equilibrium by linear
  programming (von Neumann 1928; the LP of Dantzig 1951), each player's
  maximin LP solved by HiGHS.
* :func:`expected_payoffs`, :func:`deviation_payoffs`,
  :func:`best_response_values`, :func:`player_gains`, :func:`nash_gap`:
  NashConv ``sum_i max_a u_i(a, x_-i) - u_i(x)`` (Lanctot et al. 2017, "A
  Unified Game-Theoretic Approach to Multiagent Reinforcement Learning", Sec.
  3), zero exactly at a Nash equilibrium.
* :func:`support_enumeration`: every equilibrium of a small nondegenerate
  bimatrix game (Nisan et al. 2007, Algorithmic Game Theory, Sec. 3.4;
  von Stengel 2002, Computing equilibria for two-person games).
* :func:`replicator_dynamics`, :func:`symmetric_replicator_dynamics`: the
  replicator equation (Taylor & Jonker 1978; Weibull 1995, Evolutionary Game
  Theory, ch. 3 and 5), integrated with RK4.
* :func:`alpharank`: OpenSpiel's alpha-rank (Omidshafiei et al. 2019,
  "alpha-Rank: Multi-Agent Evaluation by Evolution").
* :func:`solve`: the entry point of ``arena solve``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linprog

from games.core import CONSTANT_SUM, ZERO_SUM, GameError

# HiGHS defaults to 1e-7 feasibility; tighter tolerances give LP values that
# agree across the two players' programs to about 1e-10.
_HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}

METHODS = ("lp", "support", "replicator", "alpharank")


# ---------------------------------------------------------------------------
# Zero-sum LP


def maximin(A: np.ndarray) -> tuple[np.ndarray, float]:
    """The row player's maximin strategy and value of the matrix game ``A [m, n]``.

    Solves ``max_{x, v} v`` s.t. ``x^T A >= v`` column-wise, ``sum x = 1``,
    ``x >= 0`` (the row player's LP of the minimax theorem).
    """
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.size == 0:
        raise GameError(f"maximin needs a non-empty [m, n] matrix, got shape {list(A.shape)}")
    m, n = A.shape
    scale = float(np.abs(A).max()) or 1.0
    As = A / scale
    c = np.zeros(m + 1)
    c[-1] = -1.0  # maximize v
    a_ub = np.hstack([-As.T, np.ones((n, 1))])  # v - x^T A[:, j] <= 0
    a_eq = np.hstack([np.ones((1, m)), np.zeros((1, 1))])
    bounds = [(0.0, None)] * m + [(None, None)]
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=np.zeros(n),
        A_eq=a_eq,
        b_eq=[1.0],
        bounds=bounds,
        method="highs",
        options=_HIGHS_OPTIONS,
    )
    if res.status != 0:  # cannot happen for a finite matrix game; keep the message clear
        raise GameError(f"the zero-sum LP failed: {res.message}")
    x = np.clip(res.x[:m], 0.0, None)
    x /= x.sum()
    return x, float(res.x[-1]) * scale


def solve_zero_sum(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """A Nash equilibrium ``(x, y, value)`` of the zero-sum game with row payoffs ``A``.

    The row player's strategy and the value come from the row LP
    (:func:`maximin` of ``A``); the column player's from its own LP
    (:func:`maximin` of ``-A^T``), whose value is ``-value`` up to about 1e-10.
    """
    x, value = maximin(A)
    y, _ = maximin(-np.asarray(A, dtype=np.float64).T)
    return x, y, value


# ---------------------------------------------------------------------------
# Payoffs of profiles and NashConv


def _check_profile(payoffs: np.ndarray, profile: Sequence[np.ndarray]) -> list[np.ndarray]:
    payoffs = np.asarray(payoffs)
    num_players = payoffs.shape[0]
    if payoffs.ndim != num_players + 1:
        raise GameError(f"payoffs of shape {list(payoffs.shape)} are not [P, A_1..A_P]")
    if len(profile) != num_players:
        raise GameError(f"profile has {len(profile)} strategies for {num_players} players")
    out = []
    for i, s in enumerate(profile):
        s = np.asarray(s, dtype=np.float64)
        if s.shape != (payoffs.shape[1 + i],):
            raise GameError(
                f"strategy of player {i} has shape {list(s.shape)}, expected [{payoffs.shape[1 + i]}]"
            )
        out.append(s)
    return out


def _contract(payoffs: np.ndarray, profile: Sequence[np.ndarray], keep: int | None) -> np.ndarray:
    """Contract every player's action axis with its strategy, except ``keep``'s."""
    u = np.asarray(payoffs, dtype=np.float64)
    for i in reversed(range(len(profile))):  # last axis first: earlier axes keep their index
        if i != keep:
            u = np.tensordot(u, profile[i], axes=([1 + i], [0]))
    return u


def expected_payoffs(payoffs: np.ndarray, profile: Sequence[np.ndarray]) -> np.ndarray:
    """``[P]`` expected payoff of each player when everyone plays ``profile``."""
    profile = _check_profile(payoffs, profile)
    return _contract(payoffs, profile, None)


def deviation_payoffs(
    payoffs: np.ndarray, profile: Sequence[np.ndarray], player: int
) -> np.ndarray:
    """``[A_player]``: ``player``'s payoff of each pure action against the others' strategies."""
    profile = _check_profile(payoffs, profile)
    return _contract(payoffs, profile, player)[player]


def best_response_values(payoffs: np.ndarray, profile: Sequence[np.ndarray]) -> np.ndarray:
    """``[P]``: ``max_a u_i(a, x_-i)``, each player's best payoff against the others."""
    profile = _check_profile(payoffs, profile)
    return np.array([_contract(payoffs, profile, i)[i].max() for i in range(len(profile))])


def player_gains(payoffs: np.ndarray, profile: Sequence[np.ndarray]) -> np.ndarray:
    """``[P]``: what each player gains by best-responding, ``max_a u_i(a, x_-i) - u_i(x)``."""
    profile = _check_profile(payoffs, profile)
    return best_response_values(payoffs, profile) - _contract(payoffs, profile, None)


def nash_gap(payoffs: np.ndarray, profile: Sequence[np.ndarray]) -> float:
    """NashConv: the sum over players of :func:`player_gains` (0 at a Nash equilibrium)."""
    return float(player_gains(payoffs, profile).sum())


# ---------------------------------------------------------------------------
# Support enumeration


def _indifference(M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mixes ``p`` over the columns of every ``M [N, k, k]`` that make its rows indifferent.

    Solves ``M p = u 1``, ``sum p = 1`` for each of the ``N`` systems. Returns
    ``(p [N, k], u [N], ok [N])``; ``ok`` is False where the system is singular.
    """
    n_sys, k, _ = M.shape
    S = np.zeros((n_sys, k + 1, k + 1))
    S[:, :k, :k] = M
    S[:, :k, k] = -1.0
    S[:, k, :k] = 1.0
    rhs = np.zeros((n_sys, k + 1, 1))
    rhs[:, k, 0] = 1.0
    ok = np.ones(n_sys, dtype=bool)
    try:
        z = np.linalg.solve(S, rhs)[..., 0]
    except np.linalg.LinAlgError:  # some system is exactly singular: solve one by one
        z = np.zeros((n_sys, k + 1))
        for t in range(n_sys):
            try:
                z[t] = np.linalg.solve(S[t], rhs[t])[:, 0]
            except np.linalg.LinAlgError:
                ok[t] = False
    ok &= np.all(np.isfinite(z), axis=1)
    return z[:, :k], z[:, k], ok


_PAIRS_PER_CHUNK = 16384


def _support_pairs(A, B, sup_r, sup_c, tol):
    """The equilibria among support pairs ``(sup_r[t], sup_c[t])``, all of one size ``k``."""
    m, n = A.shape
    # y on J makes the rows I of A indifferent; x on I makes the columns J of B indifferent.
    y_sup, u, ok_y = _indifference(A[sup_r[:, :, None], sup_c[:, None, :]])
    x_sup, v, ok_x = _indifference(np.swapaxes(B[sup_r[:, :, None], sup_c[:, None, :]], 1, 2))
    ok = ok_y & ok_x & np.all(y_sup >= -tol, axis=1) & np.all(x_sup >= -tol, axis=1)
    idx = np.flatnonzero(ok)
    x = np.zeros((len(idx), m))
    y = np.zeros((len(idx), n))
    np.put_along_axis(x, sup_r[idx], np.clip(x_sup[idx], 0.0, None), axis=1)
    np.put_along_axis(y, sup_c[idx], np.clip(y_sup[idx], 0.0, None), axis=1)
    x /= x.sum(axis=1, keepdims=True)
    y /= y.sum(axis=1, keepdims=True)
    # no action outside the supports pays more than the indifference payoffs u, v
    best = ((y @ A.T).max(axis=1) <= u[idx] + tol) & ((x @ B).max(axis=1) <= v[idx] + tol)
    return [(x[t], y[t]) for t in np.flatnonzero(best)]


def support_enumeration(
    A: np.ndarray, B: np.ndarray, tol: float = 1e-9
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every Nash equilibrium ``(x, y)`` of the bimatrix game ``(A, B)`` by support enumeration.

    For each pair of supports ``I`` (rows) and ``J`` (columns) of equal size
    ``k``, ``y`` on ``J`` must make the row player indifferent over ``I`` and
    ``x`` on ``I`` the column player over ``J``; a pair is an equilibrium when
    both are probability vectors and no action outside the support pays more
    (Nisan et al. 2007, Algorithm 3.4 of Sec. 3.4).

    Limits: complete only for *nondegenerate* games (no mixed strategy with
    support ``k`` has more than ``k`` pure best responses), where every
    equilibrium has equal-size supports. In degenerate games (ties, e.g.
    equal payoffs in a column) it returns the equilibria whose systems are
    nonsingular and may miss others, including continua of equilibria. Cost
    grows like ``C(m + n, n)`` linear systems, batched in numpy: 10x10 takes
    about 0.7 s, 12x12 about 10 s; use it up to about 10x10.

    Args:
        A: row player's payoffs ``[m, n]``.
        B: column player's payoffs ``[m, n]``.
        tol: slack for nonnegativity and best-response checks, relative to
            the largest absolute payoff.

    Returns:
        Distinct equilibria, sorted by support size, then lexicographically
        by supports.
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if A.ndim != 2 or A.shape != B.shape or A.size == 0:
        raise GameError(
            f"support_enumeration needs two [m, n] matrices of one shape, got {list(A.shape)} and {list(B.shape)}"
        )
    m, n = A.shape
    scale = max(float(np.abs(A).max()), float(np.abs(B).max())) or 1.0
    A, B = A / scale, B / scale
    found: list[tuple[np.ndarray, np.ndarray]] = []
    for k in range(1, min(m, n) + 1):
        rows = np.array(list(itertools.combinations(range(m), k)))  # [nI, k]
        cols = np.array(list(itertools.combinations(range(n), k)))  # [nJ, k]
        num_pairs = len(rows) * len(cols)
        for lo in range(0, num_pairs, _PAIRS_PER_CHUNK):  # bounded memory
            pair = np.arange(lo, min(lo + _PAIRS_PER_CHUNK, num_pairs))
            sup_r, sup_c = rows[pair // len(cols)], cols[pair % len(cols)]  # [N, k]: I and J
            for x, y in _support_pairs(A, B, sup_r, sup_c, tol):
                if not any(
                    np.allclose(x, fx, atol=1e-7) and np.allclose(y, fy, atol=1e-7)
                    for fx, fy in found
                ):
                    found.append((x, y))
    return found


# ---------------------------------------------------------------------------
# Replicator dynamics


def _uniform(counts: Sequence[int]) -> list[np.ndarray]:
    return [np.full(c, 1.0 / c) for c in counts]


def _project(x: np.ndarray) -> np.ndarray:
    """Back onto the simplex after a numerical step (clip rounding negatives, renormalize)."""
    x = np.clip(x, 0.0, None)
    return x / x.sum()


def _check_start(x0, counts: Sequence[int]) -> list[np.ndarray]:
    if x0 is None:
        return _uniform(counts)
    if len(x0) != len(counts):
        raise GameError(f"x0 has {len(x0)} strategies for {len(counts)} players")
    out = []
    for i, (s, c) in enumerate(zip(x0, counts)):
        s = np.asarray(s, dtype=np.float64)
        if s.shape != (c,) or np.any(s < 0) or not math.isclose(s.sum(), 1.0, abs_tol=1e-6):
            raise GameError(f"x0[{i}] must be a probability vector of length {c}, got {s.tolist()}")
        out.append(s / s.sum())
    return out


def replicator_dynamics(
    payoffs: np.ndarray,
    x0: Sequence[np.ndarray] | None = None,
    steps: int = 1000,
    dt: float = 0.01,
) -> list[np.ndarray]:
    """Multi-population replicator dynamics of an ``n``-player game.

    ``dx_i(a)/dt = x_i(a) (u_i(a, x_-i) - u_i(x))`` for every player ``i``
    (Taylor & Jonker 1978; Weibull 1995, Sec. 5.1), integrated with RK4.

    Args:
        payoffs: ``[P, A_1..A_P]``.
        x0: start profile (default: uniform, which stays put when uniform is a
            rest point, e.g. in rock-paper-scissors).
        steps: integration steps.
        dt: step size (in units of payoff differences).

    Returns:
        Per player, the trajectory ``[steps + 1, A_i]`` (row 0 is ``x0``).
    """
    payoffs = np.asarray(payoffs, dtype=np.float64)
    counts = payoffs.shape[1:]
    x = _check_start(x0, counts)
    num_players = len(counts)

    def field(x: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for i in range(num_players):
            dev = _contract(payoffs, x, i)[i]
            out.append(x[i] * (dev - x[i] @ dev))
        return out

    traj = [np.empty((steps + 1, c)) for c in counts]
    for i in range(num_players):
        traj[i][0] = x[i]
    for t in range(1, steps + 1):
        k1 = field(x)
        k2 = field([xi + 0.5 * dt * ki for xi, ki in zip(x, k1)])
        k3 = field([xi + 0.5 * dt * ki for xi, ki in zip(x, k2)])
        k4 = field([xi + dt * ki for xi, ki in zip(x, k3)])
        x = [
            _project(xi + dt / 6.0 * (a + 2 * b + 2 * c + d))
            for xi, a, b, c, d in zip(x, k1, k2, k3, k4)
        ]
        for i in range(num_players):
            traj[i][t] = x[i]
    return traj


def symmetric_replicator_dynamics(
    A: np.ndarray, x0: np.ndarray | None = None, steps: int = 1000, dt: float = 0.01
) -> np.ndarray:
    """Single-population replicator dynamics of a symmetric game with payoff matrix ``A``.

    ``dx(a)/dt = x(a) ((A x)(a) - x^T A x)`` (Taylor & Jonker 1978), RK4.
    ``A[a, b]`` is the payoff of strategy ``a`` against ``b``. Returns
    ``[steps + 1, n]``.
    """
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise GameError(f"a symmetric game needs a square matrix, got shape {list(A.shape)}")
    x = _check_start(None if x0 is None else [x0], [A.shape[0]])[0]

    def field(x: np.ndarray) -> np.ndarray:
        fit = A @ x
        return x * (fit - x @ fit)

    traj = np.empty((steps + 1, A.shape[0]))
    traj[0] = x
    for t in range(1, steps + 1):
        k1 = field(x)
        k2 = field(x + 0.5 * dt * k1)
        k3 = field(x + 0.5 * dt * k2)
        k4 = field(x + dt * k3)
        x = _project(x + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4))
        traj[t] = x
    return traj


# ---------------------------------------------------------------------------
# Alpha-rank


@dataclasses.dataclass(frozen=True)
class AlphaRank:
    """Alpha-rank's stationary distribution over pure profiles."""

    pi: np.ndarray
    """``[A_1..A_P]`` mass of each pure joint profile (``[A]`` when symmetric)."""
    marginals: list[np.ndarray]
    """Per player, the mass of each of its pure strategies."""
    alpha: float
    """The selection intensity used (``inf`` for the infinite-alpha model)."""


def alpharank(
    payoffs: np.ndarray,
    alpha: float | None = None,
    population_size: int = 50,
    *,
    symmetric: bool = False,
    use_inf_alpha: bool = False,
    inf_alpha_eps: float = 0.01,
) -> AlphaRank:
    """Alpha-rank of a normal-form game through ``open_spiel.python.egt.alpharank``.

    OpenSpiel takes one payoff table per population (``payoffs[i]``, indexed
    by the full joint profile) and returns the stationary distribution over
    joint profiles numbered with the last player's strategy changing fastest
    (C order), which is reshaped to ``[A_1..A_P]`` here.

    Args:
        payoffs: ``[P, A_1..A_P]``.
        alpha: selection intensity; default OpenSpiel's ``suggest_alpha``.
        population_size: ``m`` of the paper.
        symmetric: one population playing a symmetric two-player game
            (``payoffs[1] == payoffs[0].T``), as for a league's meta-game.
        use_inf_alpha: the infinite-alpha limit with noise ``inf_alpha_eps``
            (always has a unique stationary distribution).

    OpenSpiel finds the stationary distribution as the eigenvector of
    eigenvalue 1, which fails when the chain is nearly reducible (e.g. two
    strict pure equilibria, whose escape probabilities are ~1e-50); then the
    same OpenSpiel transition matrix is solved with the GTH algorithm, which
    stays exact there.

    Raises:
        GameError: the chain is reducible even in float64 (fixation
            probabilities underflow to exactly 0 for very large ``alpha``
            times payoff gaps); use a smaller alpha or ``use_inf_alpha=True``.
    """
    from open_spiel.python.egt import alpharank as os_alpharank  # imports matplotlib: lazy

    payoffs = np.asarray(payoffs, dtype=np.float64)
    num_players = payoffs.shape[0]
    counts = payoffs.shape[1:]
    if symmetric:
        if num_players != 2 or counts[0] != counts[1] or not np.allclose(payoffs[1], payoffs[0].T):
            raise GameError(
                "symmetric alpha-rank needs a symmetric two-player game (payoffs[1] == payoffs[0].T); "
                "pass symmetric=False"
            )
        tables = [payoffs[0]]
    else:
        tables = [payoffs[i] for i in range(num_players)]
    if alpha is None and not use_inf_alpha:
        # suggest_alpha handles only multi-population tables; the gaps are the same
        with np.errstate(over="ignore", invalid="ignore"):  # gaps of payoffs near 1e308
            alpha = float(os_alpharank.suggest_alpha([payoffs[i] for i in range(num_players)]))
        if not math.isfinite(alpha):  # no payoff gap at all: every profile is equal
            alpha = 1.0
    alpha_used = alpha if alpha is not None else 1.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            _, _, pi, _, _ = os_alpharank.compute(
                tables,
                m=population_size,
                alpha=alpha_used,
                use_inf_alpha=use_inf_alpha,
                inf_alpha_eps=inf_alpha_eps,
            )
        except (ValueError, np.linalg.LinAlgError):
            pi = None
        if pi is None or not np.all(np.isfinite(pi)):
            # OpenSpiel's eigenvector step needs one eigenvalue within 1e-10 of 1,
            # which fails for nearly reducible chains (several strict pure
            # equilibria). Solve the same chain with the stable GTH elimination.
            pi = _stationary_gth(
                _alpharank_chain(os_alpharank, tables, population_size, alpha_used)
            )
    if pi is None:
        raise GameError(
            f"alpha-rank with alpha={alpha_used:g} gives a reducible Markov chain here "
            "(fixation probabilities underflow to 0); use a smaller alpha or use_inf_alpha=True"
        )
    pi = np.clip(pi, 0.0, None)
    pi /= pi.sum()
    if symmetric:
        marginals = [pi, pi.copy()]
    else:
        pi = pi.reshape(counts)
        marginals = [
            pi.sum(axis=tuple(j for j in range(num_players) if j != i)) for i in range(num_players)
        ]
    return AlphaRank(pi=pi, marginals=marginals, alpha=math.inf if use_inf_alpha else alpha_used)


def _alpharank_chain(os_alpharank, tables: list[np.ndarray], m: int, alpha: float) -> np.ndarray:
    """OpenSpiel's alpha-rank transition matrix (its private builders, open-spiel 2.0.2).

    A fixation probability that overflows to nan (``inf / inf`` for a very
    unfavourable mutant) is 0 in the limit, so nan becomes 0.
    """
    from open_spiel.python.egt import utils

    if len(tables) == 1:
        constant_sum, payoff_sum = utils.check_is_constant_sum(tables[0], False)
        c, _ = os_alpharank._get_singlepop_transition_matrix(
            tables[0], False, m, alpha, constant_sum, True, payoff_sum
        )
    else:
        c, _ = os_alpharank._get_multipop_transition_matrix(tables, False, m, alpha)
    return np.nan_to_num(c, nan=0.0)


def _stationary_gth(c: np.ndarray) -> np.ndarray | None:
    """Stationary distribution of the Markov matrix ``c`` by GTH elimination.

    Grassmann, Taksar & Heyman (1985), "Regenerative analysis and steady state
    distributions for Markov chains", Oper. Res. 33(5): Gaussian elimination
    on the off-diagonal entries with no subtractions, so transition
    probabilities of 1e-200 keep full relative precision. States outside the
    one closed communicating class get mass 0 (transient states); ``None`` if
    there are several closed classes (no unique stationary distribution).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    q = np.array(c, dtype=np.float64)
    np.fill_diagonal(q, 0.0)
    n = q.shape[0]
    _, labels = connected_components(csr_matrix(q > 0.0), directed=True, connection="strong")
    leaves = labels[:, None] != labels[None, :]  # edges between classes
    open_classes = set(labels[np.any(leaves & (q > 0.0), axis=1)])
    closed = [lab for lab in set(labels) if lab not in open_classes]
    if len(closed) != 1:
        return None
    idx = np.flatnonzero(labels == closed[0])
    q = q[np.ix_(idx, idx)]
    m = len(idx)
    for k in range(m - 1, 0, -1):
        out = q[k, :k].sum()  # > 0: the class is irreducible
        q[:k, k] /= out
        q[:k, :k] += np.outer(q[:k, k], q[k, :k])
    sub = np.zeros(m)
    sub[0] = 1.0
    for k in range(1, m):
        sub[k] = sub[:k] @ q[:k, k]
        if sub[k] > 1e100:  # keep ratios of 1e-300 from overflowing
            sub[: k + 1] /= sub[k]
    pi = np.zeros(n)
    pi[idx] = sub / sub.sum()
    return pi


# ---------------------------------------------------------------------------
# The entry point of `arena solve`


def _result(
    unit: np.ndarray, scale: float, profile: list[np.ndarray], method: str, **extra
) -> dict:
    """The JSON dict of ``profile`` in a game with payoffs ``unit * scale``.

    Values and the gap are computed on ``unit`` (entries in ``[-1, 1]``) and
    rescaled, so payoffs near 1e308 neither overflow nor lose the gap in
    rounding; round-off below ``1e-12`` of the largest payoff is 0.
    """

    def rescale(v: float) -> float:
        return 0.0 if abs(v) < 1e-12 else float(v) * scale

    return {
        "strategies": [s.tolist() for s in profile],
        "values": [rescale(v) for v in expected_payoffs(unit, profile)],
        "nash_gap": rescale(max(nash_gap(unit, profile), 0.0)),
        "method": method,
        **extra,
    }


def _unit_payoffs(name: str, payoffs: np.ndarray) -> tuple[np.ndarray, float]:
    """``(payoffs / s, s)`` with ``s`` the largest absolute payoff (1 for an all-zero game).

    Raises:
        GameError: a payoff is NaN or infinite.
    """
    payoffs = np.asarray(payoffs, dtype=np.float64)
    bad = ~np.isfinite(payoffs)
    if bad.any():
        where = [int(i) for i in np.argwhere(bad)[0]]
        raise GameError(
            f"{name}: payoff {payoffs[tuple(where)]} at {where} is not finite; "
            "solve needs finite payoffs"
        )
    scale = float(np.abs(payoffs).max()) or 1.0
    return payoffs / scale, scale


def default_method(num_players: int, kind: str) -> str:
    """lp for two-player zero/constant-sum, support for other two-player games, else replicator."""
    if num_players == 2:
        return "lp" if kind in (ZERO_SUM, CONSTANT_SUM) else "support"
    return "replicator"


def solve(game, method: str | None = None) -> list[dict]:
    """Equilibria (or rest points) of a matrix game, as JSON-friendly dicts.

    Each dict: ``strategies`` (one mixed strategy per player), ``values``
    (each player's expected payoff), ``nash_gap`` (NashConv of the profile),
    ``method``; alpha-rank adds ``joint`` (its distribution over pure
    profiles, whose expected payoffs are the ``values``; ``strategies`` are
    its marginals) and ``alpha`` (``None`` for the infinite-alpha model).

    Methods: ``lp`` (two-player zero- or constant-sum: one equilibrium),
    ``support`` (two players: all equilibria of a nondegenerate game),
    ``replicator`` (any number of players: the end point of replicator
    dynamics from the uniform profile, payoffs scaled to [-1, 1]; a rest
    point, a Nash equilibrium only where ``nash_gap`` says so),
    ``alpharank`` (any number of players; falls back to the infinite-alpha
    model when the finite chain has several closed classes). Default:
    :func:`default_method`.

    A repeated game (one stage played several times) is solved as its stage
    game; the dicts say so in ``note``. A game with several stages raises.

    Raises:
        GameError: a method that does not fit the game (names the one to
            use), an unknown method, or a multi-stage game.
    """
    if game.num_stages > 1:
        raise GameError(
            f"{game.name} has {game.num_stages} stages; solve works on one-stage games "
            "(one-shot or repeated): solve a stage's table with games.solvers on game.payoffs[s]"
        )
    # Every method runs on payoffs scaled to [-1, 1] (equilibria do not change) and the
    # values are scaled back: entries of 1e308 would overflow sums of products otherwise.
    unit, scale = _unit_payoffs(game.name, game.payoffs[0])
    num_players = game.num_players
    kind = game.kind  # detected on the one stage table
    suggestion = default_method(num_players, kind)
    method = method or suggestion
    if method not in METHODS:
        from games import closest

        hint = closest(method, list(METHODS))
        raise GameError(
            f"unknown method '{method}'; {hint + ' ' if hint else ''}use one of: {', '.join(METHODS)}"
        )
    extra = {}
    if game.is_repeated:
        extra["note"] = f"stage game of the {game.horizon}-round repeated game"

    if method == "lp":
        if num_players != 2 or kind not in (ZERO_SUM, CONSTANT_SUM):
            raise GameError(
                f"method 'lp' needs a two-player zero-sum or constant-sum game; {game.name} is "
                f"{kind} with {num_players} players: use --method {suggestion}"
            )
        # A constant-sum game has the equilibria of the zero-sum game (A, -A).
        x, y, _ = solve_zero_sum(unit[0])
        return [_result(unit, scale, [x, y], "lp", **extra)]
    if method == "support":
        if num_players != 2:
            raise GameError(
                f"method 'support' needs two players; {game.name} has {num_players}: "
                "use --method replicator or --method alpharank"
            )
        eqs = support_enumeration(unit[0], unit[1])
        return [_result(unit, scale, [x, y], "support", **extra) for x, y in eqs]
    if method == "replicator":
        traj = replicator_dynamics(unit, steps=2000, dt=0.05)
        return [_result(unit, scale, [t[-1] for t in traj], "replicator", **extra)]
    try:
        ar = alpharank(unit)
    except GameError:  # several closed classes at this alpha: use the limit model
        ar = alpharank(unit, use_inf_alpha=True)
        note = "finite-alpha chain reducible: infinite-alpha model used"
        extra["note"] = f"{extra['note']}; {note}" if "note" in extra else note
    values = [float((ar.pi * unit[i]).sum()) for i in range(num_players)]
    # alpha multiplies payoff gaps: in the game's own units it is alpha / scale
    alpha = ar.alpha / scale if math.isfinite(ar.alpha) else None  # JSON has no infinity
    out = _result(
        unit, scale, ar.marginals, "alpharank", joint=ar.pi.tolist(), alpha=alpha, **extra
    )
    out["values"] = [0.0 if abs(v) < 1e-12 else v * scale for v in values]
    return [out]
