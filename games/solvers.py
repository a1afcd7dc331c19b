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
* :func:`extreme_equilibria`, :func:`vertex_enumeration`: every extreme
  equilibrium of a small bimatrix game, degenerate ones included, and the
  maximal cliques whose convex hulls make up all equilibria (Avis, Rosenberg,
  Savani & von Stengel 2010).
* :func:`pure_equilibria`: every pure equilibrium of an ``n``-player game.
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

METHODS = ("lp", "vertex", "support", "replicator", "alpharank")


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
# Vertex enumeration: every extreme equilibrium, degenerate games included

# Bases tried per polytope, C(m + n, m): 10x10 is 184756 (about 2 s), 12x12 2.7e6.
MAX_VERTEX_BASES = 10**6
_BASES_PER_CHUNK = 8192


@dataclasses.dataclass(frozen=True)
class ExtremeEquilibria:
    """The extreme equilibria of a bimatrix game and how they combine."""

    equilibria: list[tuple[np.ndarray, np.ndarray]]
    """Every extreme equilibrium ``(x [m], y [n])``."""
    cliques: list[list[int]]
    """Maximal cliques as indices into ``equilibria``: each is the set ``X x Y``
    of pairs of some row vertices ``X`` and column vertices ``Y``, and every
    ``(conv X, conv Y)`` pair is an equilibrium. The equilibria of the game are
    exactly the union of these products (Winkels 1979; Avis et al. 2010, Sec. 3)."""
    degenerate: bool
    """Some mixed strategy with support size ``k`` has more than ``k`` pure best
    responses (a point of a best-response polytope with too many labels)."""


def _polytope_vertices(M: np.ndarray, tol: float, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Nonzero vertices of ``{z >= 0, M z <= 1}`` (``M [r, d]`` positive, so bounded).

    Every ``d``-subset of the ``d + r`` constraints that is linearly
    independent is solved with equality; the solutions that satisfy all
    constraints are the vertices. A vertex is identified by the set of
    constraints tight at it, so one found from several bases (degenerate
    vertices) is kept once.

    Returns:
        ``(z [V, d], tight [V, d + r])``: the vertices and, per vertex, which
        constraints are tight (columns ``0..d-1``: ``z_k = 0``; then
        ``(M z)_j = 1``).
    """
    r, d = M.shape
    bases = math.comb(d + r, d)
    if bases > MAX_VERTEX_BASES:
        raise GameError(
            f"{name}: vertex enumeration would try C({d + r}, {d}) = {bases} bases, over the "
            f"limit of {MAX_VERTEX_BASES}; use --method support (complete only for "
            "nondegenerate games), --method replicator, or --method lp for a zero-sum game"
        )
    G = np.vstack([np.eye(d), M])  # [d + r, d]: the constraints' normals, for the rank check
    found: dict[bytes, np.ndarray] = {}
    tight_of: dict[bytes, np.ndarray] = {}
    # A basis is k rows R of M and k free coordinates F (the other d - k are 0):
    # M[R, F] z_F = 1, a k x k system (k = 0 is the zero vertex, skipped).
    for k in range(1, min(d, r) + 1):
        rows = np.array(list(itertools.combinations(range(r), k)))  # [nR, k]
        cols = np.array(list(itertools.combinations(range(d), k)))  # [nF, k]
        num = len(rows) * len(cols)
        for lo in range(0, num, _BASES_PER_CHUNK):
            pair = np.arange(lo, min(lo + _BASES_PER_CHUNK, num))
            R, F = rows[pair // len(cols)], cols[pair % len(cols)]  # [N, k]
            Ms = M[R[:, :, None], F[:, None, :]]  # [N, k, k]
            # entries in [1, 3]: |det| under 1e-10 is singular or too
            # ill-conditioned to give a vertex to 1e-9
            ok = np.abs(np.linalg.det(Ms)) > 1e-10
            if not ok.any():
                continue
            z_free = np.linalg.solve(Ms[ok], np.ones((int(ok.sum()), k, 1)))[..., 0]
            z = np.zeros((len(z_free), d))
            np.put_along_axis(z, F[ok], z_free, axis=1)
            slack = np.concatenate([z, 1.0 - z @ M.T], axis=1)  # [N_ok, d + r], >= 0 if feasible
            feasible = np.all(slack >= -tol, axis=1)
            for zi, si in zip(z[feasible], slack[feasible]):
                tight = np.abs(si) <= tol
                key = np.packbits(tight).tobytes()
                # the tight constraints must pin one point (a vertex, not a face's point)
                if key not in found and np.linalg.matrix_rank(G[tight], tol=1e-9) == d:
                    found[key] = zi
                    tight_of[key] = tight
    if not found:
        return np.zeros((0, d)), np.zeros((0, d + r), dtype=bool)
    keys = sorted(found)
    return np.array([found[k] for k in keys]), np.array([tight_of[k] for k in keys])


def _maximal_bicliques(edges: np.ndarray) -> list[tuple[list[int], list[int]]]:
    """Maximal bicliques ``(rows, cols)`` of the bipartite graph ``edges [R, C]`` (bool).

    The column sides of maximal bicliques are exactly the nonempty
    intersections of row neighbourhoods, closed here under pairwise
    intersection; each one's row side is every row adjacent to all of it.
    """
    hoods = {frozenset(np.flatnonzero(row).tolist()) for row in edges if row.any()}
    frontier = set(hoods)
    while frontier:
        new = {a & b for a in frontier for b in hoods} - hoods - {frozenset()}
        hoods |= new
        frontier = new
    out = []
    for cols in hoods:
        rows = [i for i in range(edges.shape[0]) if edges[i, sorted(cols)].all()]
        out.append((rows, sorted(cols)))
    return sorted(out)


def extreme_equilibria(A: np.ndarray, B: np.ndarray, tol: float = 1e-9) -> ExtremeEquilibria:
    """Every extreme Nash equilibrium of the bimatrix game ``(A, B)``, degenerate or not.

    With payoffs shifted to be positive, the best-response polytopes are
    ``P = {x >= 0, B^T x <= 1}`` and ``Q = {y >= 0, A y <= 1}``; constraint
    ``x_i >= 0`` and ``(A y)_i <= 1`` carry label ``i`` (row ``i`` unused or a
    best response), ``(B^T x)_j <= 1`` and ``y_j >= 0`` label ``m + j``. The
    extreme equilibria are the vertex pairs ``(x, y) != (0, 0)`` whose tight
    constraints cover all ``m + n`` labels, normalised to probabilities
    (Avis, Rosenberg, Savani & von Stengel 2010, "Enumeration of Nash
    equilibria for two-player games", Econ. Theory 42; Gambit's
    ``enummixed``). Every vertex is found by solving each ``m``-subset of
    ``P``'s constraints (``n``-subset of ``Q``'s) with equality, so ties in
    the payoffs cost nothing in completeness.

    Args:
        A: row player's payoffs ``[m, n]``.
        B: column player's payoffs ``[m, n]``.
        tol: slack under which a constraint counts as tight, after scaling
            payoffs to ``[1, 3]``.

    Raises:
        GameError: shapes differ, or ``C(m + n, m)`` exceeds
            :data:`MAX_VERTEX_BASES` (names the methods to use instead).
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if A.ndim != 2 or A.shape != B.shape or A.size == 0:
        raise GameError(
            f"extreme_equilibria needs two [m, n] matrices of one shape, got {list(A.shape)} and {list(B.shape)}"
        )
    m, n = A.shape
    name = f"a {m}x{n} game"

    def shifted(M: np.ndarray) -> np.ndarray:  # entries in [1, 3]; equilibria do not change
        span = float(M.max() - M.min()) or 1.0
        return 2.0 * (M - M.min()) / span + 1.0

    xs, tight_p = _polytope_vertices(shifted(B).T, tol, name)  # tight: [x_i = 0 | column best]
    ys, tight_q = _polytope_vertices(shifted(A), tol, name)  # tight: [y_j = 0 | row best]
    labels_p = tight_p
    labels_q = np.concatenate([tight_q[:, n:], tight_q[:, :n]], axis=1)  # to [row | column]
    degenerate = bool((labels_p.sum(axis=1) > m).any() or (labels_q.sum(axis=1) > n).any())
    missing = (~labels_p).astype(np.int64) @ (~labels_q).T.astype(np.int64)  # [Vx, Vy]
    edges = missing == 0
    pairs = [(int(i), int(j)) for i, j in np.argwhere(edges)]
    x_prob = xs / xs.sum(axis=1, keepdims=True)
    y_prob = ys / ys.sum(axis=1, keepdims=True)
    cutoff = 1e-12  # drop round-off mass on unused actions

    def clean(p: np.ndarray) -> np.ndarray:
        p = np.where(p < cutoff, 0.0, p)
        return p / p.sum()

    def order(pair: tuple[int, int]):
        x, y = x_prob[pair[0]], y_prob[pair[1]]
        return (int((x > cutoff).sum() + (y > cutoff).sum()), tuple(-x), tuple(-y))

    pairs.sort(key=order)
    index = {pair: k for k, pair in enumerate(pairs)}
    equilibria = [(clean(x_prob[i]), clean(y_prob[j])) for i, j in pairs]
    cliques = sorted(
        sorted(index[(i, j)] for i in rows for j in cols)
        for rows, cols in _maximal_bicliques(edges)
    )
    return ExtremeEquilibria(equilibria=equilibria, cliques=cliques, degenerate=degenerate)


def vertex_enumeration(
    A: np.ndarray, B: np.ndarray, tol: float = 1e-9
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every extreme equilibrium ``(x, y)`` of ``(A, B)``: :func:`extreme_equilibria`'s list."""
    return extreme_equilibria(A, B, tol).equilibria


def pure_equilibria(payoffs: np.ndarray, tol: float = 1e-12) -> list[tuple[int, ...]]:
    """Every pure Nash equilibrium of the game ``payoffs [P, A_1..A_P]``.

    A profile is an equilibrium when each player's action is a best response
    (within ``tol``) along its own axis; every profile is checked at once.
    """
    payoffs = np.asarray(payoffs, dtype=np.float64)
    is_eq = np.ones(payoffs.shape[1:], dtype=bool)
    for i in range(payoffs.shape[0]):
        is_eq &= payoffs[i] >= payoffs[i].max(axis=i, keepdims=True) - tol
    return [tuple(int(a) for a in p) for p in np.argwhere(is_eq)]


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
    local_selection: bool = True,
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
        local_selection: single population only: OpenSpiel's local selection
            model (a mutant's fitness is its payoff against the resident
            alone; its default). False: the global model, where a mutant's
            fitness counts its games against the whole population, its own
            kind included, so a member that does well with its own kind (a
            coordination convention) can take over.

    OpenSpiel finds the stationary distribution as the eigenvector of
    eigenvalue 1, which fails when the chain is nearly reducible (e.g. two
    strict pure equilibria, whose escape probabilities are ~1e-50, or the
    infinite-alpha chain with a tiny ``inf_alpha_eps``); then the same
    OpenSpiel transition matrix (finite or infinite alpha) is solved with the
    GTH algorithm, which stays exact there.

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
                use_local_selection_model=local_selection,
            )
        except (ValueError, np.linalg.LinAlgError):
            pi = None
        if pi is None or not np.all(np.isfinite(pi)):
            # OpenSpiel's eigenvector step needs one eigenvalue within 1e-10 of 1,
            # which fails for nearly reducible chains (several strict pure
            # equilibria). Solve the same chain with the stable GTH elimination.
            pi = _stationary_gth(
                _alpharank_chain(
                    os_alpharank, tables, population_size, alpha_used, use_inf_alpha, inf_alpha_eps
                )
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


def _alpharank_chain(
    os_alpharank,
    tables: list[np.ndarray],
    m: int,
    alpha: float,
    use_inf_alpha: bool = False,
    inf_alpha_eps: float = 0.01,
    local_selection: bool = True,
) -> np.ndarray:
    """OpenSpiel's alpha-rank transition matrix (its private builders, open-spiel 2.0.2).

    With ``use_inf_alpha`` it is the infinite-alpha chain (a better deviation
    fixes with probability ``1 - eps``, a worse one with ``eps``, a tie with
    1/2), whatever ``alpha`` says.

    A fixation probability that overflows to nan (``inf / inf`` for a very
    unfavourable mutant) is 0 in the limit, so nan becomes 0.
    """
    from open_spiel.python.egt import utils

    if len(tables) == 1:
        constant_sum, payoff_sum = utils.check_is_constant_sum(tables[0], False)
        c, _ = os_alpharank._get_singlepop_transition_matrix(
            tables[0],
            False,
            m,
            alpha,
            constant_sum,
            local_selection,
            payoff_sum,
            use_inf_alpha=use_inf_alpha,
            inf_alpha_eps=inf_alpha_eps,
        )
    else:
        c, _ = os_alpharank._get_multipop_transition_matrix(
            tables, False, m, alpha, use_inf_alpha=use_inf_alpha, inf_alpha_eps=inf_alpha_eps
        )
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
    """lp for two-player zero/constant-sum, vertex for other two-player games, else replicator."""
    if num_players == 2:
        return "lp" if kind in (ZERO_SUM, CONSTANT_SUM) else "vertex"
    return "replicator"


# What each method's list is, in words: `arena solve` prints it with the list.
GUARANTEES = {
    "lp": (
        "one equilibrium (linear programming); in a zero- or constant-sum game every "
        "equilibrium has these values and the equilibria form a convex set, so there may be others"
    ),
    "vertex": (
        "all extreme equilibria (vertex enumeration of the best-response polytopes); "
        "every equilibrium is a convex combination of extreme equilibria within one maximal clique"
    ),
    "support": (
        "the equilibria with nonsingular equal-size supports (support enumeration): all of them "
        "in a nondegenerate game; in a degenerate one the list may be incomplete (use --method vertex)"
    ),
    "replicator": (
        "one profile found by replicator dynamics from the uniform start (an equilibrium only "
        "where nash_gap is 0; there may be others), then every pure equilibrium (all pure "
        "profiles checked)"
    ),
    "alpharank": (
        "alpha-rank's stationary distribution over pure profiles and its marginals: a ranking, "
        "not an equilibrium (see nash_gap)"
    ),
}

# Pure profiles checked by `solve`'s replicator method; the tensor is in memory anyway.
MAX_PURE_PROFILES = 10**7


def _degenerate(A: np.ndarray, B: np.ndarray) -> bool | None:
    """Whether ``(A, B)`` is degenerate, or None when too large to check by vertices."""
    m, n = A.shape
    if math.comb(m + n, m) > MAX_VERTEX_BASES:
        return None
    return extreme_equilibria(A, B).degenerate


def solve(game, method: str | None = None) -> list[dict]:
    """Equilibria (or rest points) of a matrix game, as JSON-friendly dicts.

    Each dict: ``strategies`` (one mixed strategy per player), ``values``
    (each player's expected payoff), ``nash_gap`` (NashConv of the profile),
    ``method``, ``guarantee`` (what the list holds, :data:`GUARANTEES`);
    alpha-rank adds ``joint`` (its distribution over pure profiles, whose
    expected payoffs are the ``values``; ``strategies`` are its marginals)
    and ``alpha`` (``None`` for the infinite-alpha model); vertex and
    support add ``degenerate`` (``None`` if too large to check), vertex
    ``cliques`` (the maximal cliques, as indices into the list, that hold
    this equilibrium).

    Methods: ``lp`` (two-player zero- or constant-sum: one equilibrium),
    ``vertex`` (two players: every extreme equilibrium, degenerate games
    included, :func:`extreme_equilibria`), ``support`` (two players: all
    equilibria of a nondegenerate game), ``replicator`` (any number of
    players: the end point of replicator dynamics from the uniform profile,
    payoffs scaled to [-1, 1], a Nash equilibrium only where ``nash_gap``
    says so; then every pure equilibrium, method ``pure``), ``alpharank``
    (any number of players; falls back to the infinite-alpha model when the
    finite chain has several closed classes). Default: :func:`default_method`.

    A repeated game (one stage played several times) is solved as its stage
    game; the dicts say so in ``note``. A game with several stages raises.

    Raises:
        GameError: a method that does not fit the game (names the one to
            use), an unknown method, a multi-stage game, or a game too large
            for vertex enumeration.
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
    extra = {"guarantee": GUARANTEES[method]}
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
    if method in ("vertex", "support"):
        if num_players != 2:
            raise GameError(
                f"method '{method}' needs two players; {game.name} has {num_players}: "
                "use --method replicator or --method alpharank"
            )
        if method == "vertex":
            try:
                ext = extreme_equilibria(unit[0], unit[1])
            except GameError as e:  # too large: name the game too
                raise GameError(f"{game.name}, {e}") from None
            eqs, degenerate = ext.equilibria, ext.degenerate
            member = [[c for c, cl in enumerate(ext.cliques) if k in cl] for k in range(len(eqs))]
        else:
            eqs, degenerate = support_enumeration(unit[0], unit[1]), _degenerate(unit[0], unit[1])
            member = None
        out = []
        for k, (x, y) in enumerate(eqs):
            res = _result(unit, scale, [x, y], method, degenerate=degenerate, **extra)
            if member is not None:
                res["cliques"] = member[k]
            out.append(res)
        return out
    if method == "replicator":
        traj = replicator_dynamics(unit, steps=2000, dt=0.05)
        end = [t[-1] for t in traj]
        out = [_result(unit, scale, end, "replicator", **extra)]
        if math.prod(unit.shape[1:]) > MAX_PURE_PROFILES:
            out[0]["guarantee"] = (
                f"{GUARANTEES['replicator'].split(', then')[0]}; pure equilibria not listed: "
                f"more than {MAX_PURE_PROFILES} pure profiles"
            )
            return out
        pure = pure_equilibria(unit)
        extra["guarantee"] = (
            f"{GUARANTEES['replicator']}: {len(pure)} pure equilibri{'um' if len(pure) == 1 else 'a'} "
            f"among {math.prod(unit.shape[1:])} pure profiles"
        )
        out[0]["guarantee"] = extra["guarantee"]
        for actions in pure:
            profile = [np.eye(c)[a] for c, a in zip(unit.shape[1:], actions)]
            if all(np.allclose(p, e, atol=1e-6) for p, e in zip(profile, end)):
                continue  # the replicator's end point already is this one
            out.append(_result(unit, scale, profile, "pure", **extra))
        return out
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
