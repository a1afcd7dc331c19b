"""Ratings of a population from match results: pure functions citing their sources.

Scores. Every rating system here reads *scores*: ``s_ij in [0, 1]`` is what
member ``i`` got out of one match against member ``j``.

* Zero-sum and constant-sum games (``games.ZERO_SUM``, ``games.CONSTANT_SUM``):
  the usual win / draw / loss, ``1`` if ``i``'s return beats ``j``'s, ``1/2`` on
  a tie, ``0`` otherwise (``s_ij + s_ji = 1``).
* Cooperative and general-sum games, where winning is not defined: the score
  is ``i``'s own return normalised by the game's ``reward_range = (lo, hi)``,
  ``s_ij = clip((R_i - lo) / (hi - lo), 0, 1)``: "how well does ``i`` do when
  it plays with ``j``". The ``"return"`` rating of a member is its mean score
  over every match it played (:func:`mean_score_ratings`), i.e. its expected
  normalised return against the population it met (cross-play). Elo,
  Bradley-Terry and mElo assume ``s_ij + s_ji = 1`` and are only meaningful
  for the competitive kinds; the league records ``"return"`` ratings for the
  others.

Systems (all reported on the Elo scale: a difference of 400 points means odds
of 10 to 1, ``P(i beats j) = 1 / (1 + 10^((r_j - r_i) / 400))``):

* :func:`elo_expected`, :func:`elo_update`, :class:`Elo`: online Elo (Elo 1978,
  "The Rating of Chessplayers, Past and Present"); draws count 1/2.
* :func:`bradley_terry`: the batch maximum-likelihood Bradley-Terry fit
  (Zermelo 1929; Bradley & Terry 1952) by Newton's method on log-strengths,
  with ``prior`` pseudo-wins per ordered pair (the smoothing of OpenSpiel's
  ``evaluation/elo.cc``, which uses Hunter's 2004 MM algorithm on the same
  objective) so that unbeaten players get finite ratings.
* :func:`melo_expected`, :func:`melo_update`, :class:`MElo`, :func:`melo_fit`:
  multidimensional Elo ``mElo2k`` (Balduzzi et al. 2018, "Re-evaluating
  evaluation", Sec. 3.2): ``P(i beats j) = sigma(r_i - r_j + c_i^T Omega c_j)``
  with ``Omega = sum_{m<k} e_{2m} e_{2m+1}^T - e_{2m+1} e_{2m}^T``; the
  antisymmetric term captures cycles (rock-paper-scissors) that no scalar
  rating can.
* :class:`RatingsHistory`: rows ``(step, member, system, rating)``.

Online systems share one small protocol, :class:`RatingSystem` (``name``,
``update``, ``rating``, ``table``): a new one is one class that has them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

ELO_SCALE = 400.0
"""Elo points per factor of 10 in the odds."""

ALPHA = math.log(10.0) / ELO_SCALE
"""Natural-logit units per Elo point: ``sigma(ALPHA * (r_i - r_j))``."""

COMPETITIVE_KINDS = ("zero_sum", "constant_sum")

# ---------------------------------------------------------------------------
# Scores of a match


def match_scores(
    seats: Sequence[int],
    returns: Sequence[float],
    kind: str,
    reward_range: tuple[float, float] = (0.0, 1.0),
) -> list[tuple[int, int, float]]:
    """Scores ``(i, j, s_ij)`` for every ordered pair of distinct members of one match.

    Args:
        seats: the member id at each seat ``[P]`` (a member may hold several seats;
            its return is the mean over its seats).
        returns: each seat's episode return ``[P]``.
        kind: the game's kind (``games.KINDS``); see the module docstring.
        reward_range: ``(lo, hi)`` of one seat's return, for the
            cooperative / general-sum score.

    Returns:
        One row per ordered pair ``i != j``; empty when one member holds every seat.
    """
    mean: dict[int, float] = {}
    for m in dict.fromkeys(int(s) for s in seats):
        vals = [float(r) for s, r in zip(seats, returns) if int(s) == m]
        mean[m] = sum(vals) / len(vals)
    return pair_scores(mean, kind, reward_range)


def pair_scores(
    mean: Mapping[int, float], kind: str, reward_range: tuple[float, float] = (0.0, 1.0)
) -> list[tuple[int, int, float]]:
    """:func:`match_scores` from each member's mean return in the match (``{id: mean}``)."""
    out = []
    lo, hi = float(reward_range[0]), float(reward_range[1])
    for i in mean:
        for j in mean:
            if i == j:
                continue
            if kind in COMPETITIVE_KINDS:
                d = mean[i] - mean[j]
                s = 0.5 if abs(d) <= 1e-9 * max(1.0, abs(mean[i]), abs(mean[j])) else float(d > 0)
            else:
                s = 0.5 if hi <= lo else min(1.0, max(0.0, (mean[i] - lo) / (hi - lo)))
            out.append((i, j, s))
    return out


def match_results(
    seats: Sequence[int],
    returns: Sequence[float],
    kind: str,
    reward_range: tuple[float, float] = (0.0, 1.0),
) -> list[tuple[int, int, float]]:
    """:func:`match_scores` with each unordered pair once (``i < j``): what Elo updates take."""
    return [(i, j, s) for i, j, s in match_scores(seats, returns, kind, reward_range) if i < j]


def mean_score_ratings(scores: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The ``"return"`` rating: each member's mean score over all its matches.

    Args:
        scores: ``[N, N]`` summed scores of ``i`` against ``j``.
        counts: ``[N, N]`` matches of ``i`` against ``j``.

    Returns:
        ``[N]`` in ``[0, 1]``; NaN for a member without matches.
    """
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, scores.sum(axis=1) / np.maximum(total, 1e-300), np.nan)


def log_loss(p: np.ndarray, outcome: np.ndarray) -> float:
    """Mean binary cross-entropy of predictions ``p`` for outcomes in ``[0, 1]`` (nats)."""
    p = np.clip(np.asarray(p, np.float64), 1e-12, 1 - 1e-12)
    y = np.asarray(outcome, np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


# ---------------------------------------------------------------------------
# The protocol of online systems


@runtime_checkable
class RatingSystem(Protocol):
    """An online rating system of members keyed by id (what the league updates and stores)."""

    name: str
    """The system's name in the ratings history and the store ('elo', 'melo', ...)."""

    def update(self, i: int, j: int, score_i: float) -> None:
        """Record one game of ``i`` against ``j`` with score ``s_ij`` in [0, 1]."""
        ...

    def rating(self, member: int) -> float:
        """The member's rating (the initial one for a member without games)."""
        ...

    def table(self, ids: Iterable[int]) -> dict[int, float]:
        """``{id: rating}`` for ``ids``."""
        ...


# ---------------------------------------------------------------------------
# Elo


def elo_expected(r_i, r_j, scale: float = ELO_SCALE):
    """Expected score of ``i`` against ``j``: ``1 / (1 + 10^((r_j - r_i) / scale))``.

    The 400-point logistic of Elo (1978): a 400-point lead gives 10/11.
    Works on floats and numpy arrays alike.
    """
    return 1.0 / (1.0 + np.power(10.0, (np.asarray(r_j, np.float64) - r_i) / scale))


def elo_update(r_i: float, r_j: float, score_i: float, k: float = 16.0) -> tuple[float, float]:
    """One online Elo update after a game with score ``score_i`` (1 win, 1/2 draw, 0 loss).

    ``r_i += k (s_i - E_i)`` and ``r_j -= k (s_i - E_i)`` (Elo 1978); the sum of
    the two ratings is unchanged.
    """
    # Scalars in plain floats (a league rates every episode): elo_expected's formula.
    delta = k * (score_i - 1.0 / (1.0 + 10.0 ** ((float(r_j) - r_i) / ELO_SCALE)))
    return r_i + delta, r_j - delta


class Elo:
    """Online Elo ratings of members (keyed by id), each starting at ``initial``."""

    name = "elo"

    def __init__(self, k: float = 16.0, initial: float = 1200.0):
        self.k = float(k)
        self.initial = float(initial)
        self.ratings: dict[int, float] = {}

    def rating(self, member: int) -> float:
        return self.ratings.get(member, self.initial)

    def table(self, ids: Iterable[int]) -> dict[int, float]:
        return {int(m): self.rating(int(m)) for m in ids}

    def update(self, i: int, j: int, score_i: float) -> None:
        """Record one game of ``i`` against ``j``."""
        self.ratings[i], self.ratings[j] = elo_update(
            self.rating(i), self.rating(j), score_i, self.k
        )

    def update_many(self, results: Iterable[tuple[int, int, float]]) -> None:
        """Record ``(i, j, s_ij)`` results in order (each unordered pair once)."""
        for i, j, s in results:
            self.update(i, j, s)

    def update_match(
        self, seats: Sequence[int], returns: Sequence[float], kind: str = "zero_sum"
    ) -> None:
        """Record one match from its seat members and seat returns (competitive kinds)."""
        self.update_many(match_results(seats, returns, kind))


# ---------------------------------------------------------------------------
# Bradley-Terry


def bradley_terry(
    wins: np.ndarray,
    draws: np.ndarray | None = None,
    *,
    prior: float = 0.1,
    tol: float = 1e-10,
    max_iter: int = 100,
    notes: list[str] | None = None,
) -> np.ndarray:
    """Maximum-likelihood Bradley-Terry ratings on the Elo scale.

    Maximises ``sum_{i != j} W_ij log sigma(theta_i - theta_j)`` with
    ``W_ij = wins_ij + draws_ij / 2 + prior`` (Bradley & Terry 1952; draws as
    half wins and ``prior`` pseudo-wins per ordered pair as in OpenSpiel's
    ``evaluation/elo.cc``, whose MM iteration of Hunter 2004 solves the same
    problem). With ``prior > 0`` the objective is strictly concave up to a
    shift, so an unbeaten player gets a large but finite rating. Solved by
    Newton's method (quadratic convergence) with step halving.

    Args:
        wins: ``[N, N]``, ``wins[i, j]`` games ``i`` won against ``j`` (may be
            fractional, e.g. summed scores).
        draws: ``[N, N]`` symmetric draw counts, or None.
        prior: pseudo-wins added to every ordered pair ``i != j``.
        notes: degenerate input never raises; one line is appended here when
            non-finite counts are dropped, a singular Newton system is solved
            by least squares, or the fit is not finite (ratings 0 returned).

    Returns:
        ``[N]`` ratings ``400 log10(gamma_i)``, shifted to mean 0.
    """
    w = np.asarray(wins, np.float64).copy()
    n = w.shape[0]
    if w.shape != (n, n):
        raise ValueError(f"wins must be square [N, N], got shape {list(w.shape)}")
    if draws is not None:
        w += 0.5 * np.asarray(draws, np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        _note(notes, "bradley_terry: non-finite or negative counts counted as 0")
        w = np.where(np.isfinite(w) & (w > 0), w, 0.0)
    off = ~np.eye(n, dtype=bool)
    w = np.where(off, w + prior, 0.0)
    if n == 1:
        return np.zeros(1)
    games = w + w.T
    total_wins = w.sum(axis=1)
    theta = np.zeros(n)

    def loglik(t: np.ndarray) -> float:
        d = t[:, None] - t[None, :]
        return float(-(w * np.logaddexp(0.0, -d)).sum())

    f = loglik(theta)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :])))
        grad = total_wins - (games * p).sum(axis=1)
        a = games * p * (1.0 - p)
        lap = np.diag(a.sum(axis=1)) - a  # minus the Hessian; null space: constants
        try:
            step = np.linalg.solve(lap + 1.0 / n, grad)  # 1/n * 11^T fixes the shift
        except np.linalg.LinAlgError:  # disconnected results with prior 0
            _note(notes, "bradley_terry: singular Newton system; least squares used instead")
            step = np.linalg.lstsq(lap + 1.0 / n, grad, rcond=None)[0]
        t = 1.0
        while True:
            cand = theta + t * step
            fc = loglik(cand)
            if fc >= f - 1e-12 or t < 1e-6:
                break
            t *= 0.5
        theta, f = cand - cand.mean(), fc
        if np.max(np.abs(t * step)) < tol:
            break
    if not np.all(np.isfinite(theta)):
        _note(notes, "bradley_terry: the fit diverged; ratings 0 used instead")
        return np.zeros(n)
    return theta / ALPHA


def _note(notes: list[str] | None, line: str) -> None:
    if notes is not None and line not in notes:  # once per fit, not once per iteration
        notes.append(line)


# ---------------------------------------------------------------------------
# Multidimensional Elo (mElo2k)


def omega(k: int) -> np.ndarray:
    """The ``[2k, 2k]`` antisymmetric matrix of mElo2k (Balduzzi et al. 2018, Eq. 5)."""
    om = np.zeros((2 * k, 2 * k))
    for m in range(k):
        om[2 * m, 2 * m + 1] = 1.0
        om[2 * m + 1, 2 * m] = -1.0
    return om


def melo_expected(r_i, r_j, c_i: np.ndarray, c_j: np.ndarray):
    """``P(i beats j) = sigma(ALPHA (r_i - r_j + c_i^T Omega c_j))``, everything in Elo points.

    ``c_i``, ``c_j``: ``[..., 2k]`` cyclic vectors (``c_i^T Omega c_j`` is in Elo
    points too). With ``c = 0`` this is :func:`elo_expected`.
    """
    c_i = np.asarray(c_i, np.float64)
    c_j = np.asarray(c_j, np.float64)
    k = c_i.shape[-1] // 2
    cyc = np.einsum("...a,ab,...b->...", c_i, omega(k), c_j)
    return 1.0 / (1.0 + np.exp(-ALPHA * (np.asarray(r_i, np.float64) - r_j + cyc)))


def melo_update(
    r_i: float,
    r_j: float,
    c_i: np.ndarray,
    c_j: np.ndarray,
    score_i: float,
    lr_rating: float = 16.0,
    lr_cycle: float = 0.1,
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """One online mElo2k update (Balduzzi et al. 2018, Sec. 3.2).

    ``delta = s_ij - p_ij``; ``r_i += lr_rating delta``, ``r_j -= lr_rating delta``;
    ``c_i += lr_cycle delta Omega c_j``, ``c_j -= lr_cycle delta Omega c_i``
    (gradient steps on the log-likelihood). With ``c = 0`` this is Elo with
    ``k = lr_rating``. Here the cyclic term is in Elo points, so the paper's
    rate 1 for ``c`` would move it by hundreds of points per game; the default
    0.1 (about ``16 ln(10) / 400``) takes steps of the same natural size as
    ``lr_rating = 16`` (measured: one pass over 6,000 games of a
    rock-paper-scissors population reaches within 0.02 nats of the true
    log-loss). Cyclic vectors must start away from 0 (a zero vector gets no
    gradient).
    """
    # Plain floats (a league rates every episode): melo_expected's formula, and
    # Omega c = (c_1, -c_0, c_3, -c_2, ...) written out.
    ci = np.asarray(c_i, np.float64).tolist()
    cj = np.asarray(c_j, np.float64).tolist()
    cyc = 0.0
    for m in range(0, len(ci), 2):
        cyc += ci[m] * cj[m + 1] - ci[m + 1] * cj[m]
    delta = score_i - 1.0 / (1.0 + math.exp(-ALPHA * (float(r_i) - r_j + cyc)))
    step = lr_cycle * delta
    om_cj = [x for m in range(0, len(cj), 2) for x in (cj[m + 1], -cj[m])]
    om_ci = [x for m in range(0, len(ci), 2) for x in (ci[m + 1], -ci[m])]
    new_ci = np.array([a + step * b for a, b in zip(ci, om_cj)])
    new_cj = np.array([a - step * b for a, b in zip(cj, om_ci)])
    return r_i + lr_rating * delta, r_j - lr_rating * delta, new_ci, new_cj


class MElo:
    """Online mElo2k ratings of members keyed by id.

    A new member's cyclic vector is drawn from ``N(0, init_scale^2)`` with a
    generator seeded by ``(seed, member)``, so ratings do not depend on the
    order in which members first appear.
    """

    name = "melo"

    def __init__(
        self,
        k: int = 1,
        lr_rating: float = 16.0,
        lr_cycle: float = 0.1,
        initial: float = 1200.0,
        init_scale: float = 1.0,
        seed: int = 0,
    ):
        self.k = int(k)
        self.lr_rating = float(lr_rating)
        self.lr_cycle = float(lr_cycle)
        self.initial = float(initial)
        self.init_scale = float(init_scale)
        self.seed = int(seed)
        self.ratings: dict[int, float] = {}
        self.cycles: dict[int, np.ndarray] = {}

    def _ensure(self, m: int) -> None:
        if m not in self.ratings:
            self.ratings[m] = self.initial
            rng = np.random.default_rng([self.seed, int(m)])
            self.cycles[m] = rng.normal(0.0, self.init_scale, 2 * self.k)

    def rating(self, member: int) -> float:
        return self.ratings.get(member, self.initial)

    def table(self, ids: Iterable[int]) -> dict[int, float]:
        return {int(m): self.rating(int(m)) for m in ids}

    def expected(self, i: int, j: int) -> float:
        self._ensure(i)
        self._ensure(j)
        return float(
            melo_expected(self.ratings[i], self.ratings[j], self.cycles[i], self.cycles[j])
        )

    def update(self, i: int, j: int, score_i: float) -> None:
        self._ensure(i)
        self._ensure(j)
        ri, rj, ci, cj = melo_update(
            self.ratings[i],
            self.ratings[j],
            self.cycles[i],
            self.cycles[j],
            score_i,
            self.lr_rating,
            self.lr_cycle,
        )
        self.ratings[i], self.ratings[j], self.cycles[i], self.cycles[j] = ri, rj, ci, cj

    def update_many(self, results: Iterable[tuple[int, int, float]]) -> None:
        """Record ``(i, j, s_ij)`` results in order (each unordered pair once)."""
        for i, j, s in results:
            self.update(i, j, s)

    def update_match(
        self, seats: Sequence[int], returns: Sequence[float], kind: str = "zero_sum"
    ) -> None:
        """Record one match from its seat members and seat returns (competitive kinds)."""
        self.update_many(match_results(seats, returns, kind))


def melo_fit(
    i: np.ndarray,
    j: np.ndarray,
    score: np.ndarray,
    num_members: int,
    k: int = 1,
    *,
    weight: np.ndarray | None = None,
    l2: float = 1e-3,
    rng: np.random.Generator | None = None,
    init_scale: float = 0.1,
    max_iter: int = 2000,
    notes: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Batch maximum-a-posteriori mElo2k fit of matches ``(i[n], j[n], score[n])``.

    ``weight[n]`` (default 1) counts each row as that many matches, so the
    summed table of a pair (score = mean score, weight = games) fits the same
    as its individual games. Minimises the (weighted) mean binary cross-entropy of ``sigma(t_i - t_j + u_i^T Omega u_j)``
    plus ``l2 (|t|^2 + |U|^2) / N`` (a Gaussian prior that pins the free shift of
    ``t`` and the rotations of ``U``) with L-BFGS, from ``t = 0`` and ``U`` drawn
    from ``N(0, init_scale^2)`` (natural-logit units). The objective is not
    convex in ``U``; a fixed ``rng`` makes the fit reproducible.

    Returns:
        ``(r [N], c [N, 2k])`` on the Elo scale (``r`` shifted to mean 0), so that
        ``melo_expected(r[i], r[j], c[i], c[j])`` is the fitted probability.
        Rows with non-finite scores or weights are dropped; if L-BFGS fails
        or ends non-finite, zeros (a line appended to ``notes``).
    """
    from scipy.optimize import minimize  # 0.6 s to import: only when fitting

    i = np.asarray(i, np.int64)
    j = np.asarray(j, np.int64)
    y = np.asarray(score, np.float64)
    n, d = int(num_members), 2 * int(k)
    om = omega(k)
    rng = np.random.default_rng(0) if rng is None else rng
    x0 = np.concatenate([np.zeros(n), rng.normal(0.0, init_scale, n * d)])
    w = np.ones(len(y)) if weight is None else np.asarray(weight, np.float64)
    ok = np.isfinite(y) & np.isfinite(w) & (w >= 0)
    if not ok.all():
        _note(notes, f"melo_fit: {int((~ok).sum())} rows with non-finite scores or weights dropped")
        i, j, y, w = i[ok], j[ok], np.clip(y[ok], 0.0, 1.0), w[ok]
    m = float(w.sum())
    if len(y) == 0 or m <= 0:
        return np.zeros(n), np.zeros((n, d))

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        t, u = x[:n], x[n:].reshape(n, d)
        ou_j = u[j] @ om.T  # Omega u_j per match
        z = t[i] - t[j] + np.einsum("na,na->n", u[i], ou_j)
        # binary cross-entropy with logits, stable: softplus(z) - y z
        loss = np.logaddexp(0.0, z) - y * z
        g = w * (1.0 / (1.0 + np.exp(-z)) - y) / m  # dloss/dz
        gt = np.bincount(i, g, n) - np.bincount(j, g, n)
        gu = np.zeros((n, d))
        np.add.at(gu, i, g[:, None] * ou_j)
        np.add.at(gu, j, g[:, None] * (u[i] @ om))  # d(u_i^T Om u_j)/du_j = Om^T u_i
        reg = l2 / n
        f = float(w @ loss) / m + reg * float(x @ x)
        grad = np.concatenate([gt, gu.ravel()]) + 2 * reg * x
        return f, grad

    try:
        res = minimize(objective, x0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
        x = res.x
        if not np.all(np.isfinite(x)):
            raise FloatingPointError("the fit is not finite")
    except Exception as e:  # noqa: BLE001 - a rating fit degrades, noted, never stops a league
        _note(notes, f"melo_fit: L-BFGS failed ({type(e).__name__}: {e}); ratings 0 used instead")
        return np.zeros(n), np.zeros((n, d))
    t, u = x[:n], x[n:].reshape(n, d)
    return (t - t.mean()) / ALPHA, u / math.sqrt(ALPHA)


def batch_ratings(
    scores: np.ndarray,
    counts: np.ndarray,
    kind: str,
    *,
    initial: float = 1200.0,
    bt_prior: float = 0.1,
    melo_k: int = 1,
    rng: np.random.Generator | None = None,
) -> dict[str, np.ndarray]:
    """Every batch rating of a population from its summed results.

    Args:
        scores, counts: ``[N, N]`` summed scores and match counts of ``i``
            against ``j`` (``PayoffTable.totals(ids)``).
        kind: the game's kind; see the module docstring.

    Returns:
        Competitive kinds: ``{"bt": ..., "melo": ...}`` on the Elo scale with
        mean ``initial`` (mElo's cyclic vectors are not returned; call
        :func:`melo_fit` for them). Cooperative and general-sum:
        ``{"return": mean scores}``.
    """
    scores = np.asarray(scores, np.float64)
    counts = np.asarray(counts, np.float64)
    if kind not in COMPETITIVE_KINDS:
        return {"return": mean_score_ratings(scores, counts)}
    n = scores.shape[0]
    bt = bradley_terry(scores, prior=bt_prior) + initial
    i, j = np.nonzero(np.triu(counts, 1) > 0)
    r, _ = melo_fit(i, j, scores[i, j] / counts[i, j], n, melo_k, weight=counts[i, j], rng=rng)
    return {"bt": bt, "melo": r + initial}


# ---------------------------------------------------------------------------
# History


@dataclasses.dataclass(frozen=True)
class RatingRow:
    """One rating of one member at one learner step."""

    step: int
    """Learner env steps (the league's clock) when the rating was computed."""
    member: int
    """Member id."""
    system: str
    """Rating system: 'elo', 'bt', 'melo', 'return', ..."""
    value: float
    """The rating (Elo scale, or a mean score in [0, 1] for 'return')."""


class RatingsHistory:
    """Every member's ratings over time; the store persists the rows."""

    def __init__(self, rows: Iterable[RatingRow] = ()):
        self.rows: list[RatingRow] = list(rows)

    def record(self, step: int, system: str, ratings: Mapping[int, float]) -> list[RatingRow]:
        """Append one row per member; returns the new rows (for the store)."""
        new = [RatingRow(int(step), int(m), system, float(v)) for m, v in ratings.items()]
        self.rows.extend(new)
        return new

    def systems(self) -> list[str]:
        return sorted({r.system for r in self.rows})

    def latest(self, system: str) -> dict[int, float]:
        """Each member's most recent rating in ``system``."""
        out: dict[int, float] = {}
        for r in self.rows:  # rows are in time order
            if r.system == system:
                out[r.member] = r.value
        return out

    def series(self, member: int, system: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of one member in one system, in time order."""
        rows = [r for r in self.rows if r.member == member and r.system == system]
        return np.array([r.step for r in rows], np.int64), np.array([r.value for r in rows])
