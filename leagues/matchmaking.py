"""Who plays whom: matchmaking rules as pure functions over a payoff table.

A learner asks for opponents among *candidates* (member ids; see
:func:`candidates` for how a role picks them). Every rule first turns the
candidates into a probability vector (:func:`opponent_probs`, deterministic
and testable), then :func:`draw_opponents` samples from it with a passed
``np.random.Generator``. When a rule has nobody to pick, the learner plays
itself (plain self-play).

Rules (``RULES``):

* ``uniform``: every candidate equally likely.
* ``latest``: naive self-play, always the learner itself (its live weights).
* ``self_play``: the learner itself with probability ``1 - past_prob``, a
  uniformly drawn candidate (its past snapshots and the other frozen members)
  with ``past_prob`` (0.2, the 80/20 of OpenAI Five, Berner et al. 2019).
* ``pfsp``: prioritized fictitious self-play (Vinyals et al. 2019, AlphaStar,
  "Grandmaster level in StarCraft II", Methods): candidate ``c`` is drawn with
  probability proportional to ``f(x_c)`` where ``x_c`` is the learner's
  (decayed) win rate against ``c``: ``f_hard(x) = (1 - x)^p`` focuses on the
  opponents the learner loses to, ``f_var(x) = x (1 - x)`` on those of similar
  strength.
* ``nash``: the meta-Nash of the empirical game among the candidates
  (PSRO, Lanctot et al. 2017, "A Unified Game-Theoretic Approach to
  Multiagent Reinforcement Learning"): for zero-sum and constant-sum games the
  symmetric zero-sum LP (``games.solvers.solve_zero_sum``, HiGHS) on the
  members' mean-*return* advantage ``M_ab = R_ab - R_ba`` (PSRO's meta-game is
  in expected payoffs: a poker win of 2 chips is not a win of 1), or on
  ``M_ab = 2 x_ab - 1`` from win rates when the table holds no returns; a
  caller may pass an exact return table instead (``payoff_matrix``). For
  cooperative and general-sum games the rest point of symmetric replicator
  dynamics on the score matrix (``games.solvers``).

:class:`PayoffTable` keeps, per ordered pair of members, decayed counts for
matchmaking (each new result of a pair first multiplies that pair's earlier
counts by ``decay``, so recent games weigh more) and plain counts for ratings,
and the members' decayed mean returns for the return meta-game.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from leagues.pool import LEARNER, MAIN, MAIN_EXPLOITER, Member, Pool
from leagues.ratings import match_scores

RULES = ("uniform", "latest", "self_play", "pfsp", "nash")
NASH_PAYOFFS = ("sampled", "exact")
PFSP_WEIGHTINGS = ("hard", "var")


# ---------------------------------------------------------------------------
# Payoff table


class PayoffTable:
    """Results between members, per ordered pair ``(i, j)``.

    ``score[i, j]`` sums the scores ``s_ij`` of :func:`leagues.ratings.match_scores`
    (1 win, 1/2 draw, 0 loss in competitive games); ``count[i, j]`` counts the
    matches. Decayed versions drive matchmaking; plain ones drive ratings.
    ``return[i, j]`` (decayed) sums ``i``'s return in its matches against ``j``
    where the caller gave returns (:meth:`mean_return`, :meth:`return_matrix`).
    """

    def __init__(self, decay: float = 1.0):
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"payoff decay must be in (0, 1], got {decay}")
        self.decay = float(decay)
        # (i, j) -> [decayed score, decayed count, score, count, wins, draws, losses,
        #           decayed return, decayed count of matches with a return]
        self._pairs: dict[tuple[int, int], np.ndarray] = {}
        self._members: dict[int, None] = {}

    @property
    def members(self) -> list[int]:
        """Every member id seen, in order of first appearance."""
        return list(self._members)

    def add(
        self,
        i: int,
        j: int,
        score_ij: float,
        score_ji: float | None = None,
        return_ij: float | None = None,
        return_ji: float | None = None,
    ) -> None:
        """Record one match of ``i`` against ``j`` (``score_ji`` defaults to ``1 - score_ij``).

        ``return_ij`` / ``return_ji``: the members' (mean) returns in that match,
        for the return meta-game of ``nash`` matchmaking (optional).
        """
        if i == j:
            return
        if score_ji is None:
            score_ji = 1.0 - score_ij
        for a, b, s, r in ((i, j, score_ij, return_ij), (j, i, score_ji, return_ji)):
            row = self._pairs.get((a, b))
            if row is None:
                row = self._pairs[(a, b)] = np.zeros(9)
            row[0] = self.decay * row[0] + s
            row[1] = self.decay * row[1] + 1.0
            row[2] += s
            row[3] += 1.0
            row[4 + (0 if s > 0.5 else 1 if s == 0.5 else 2)] += 1.0
            if r is not None:
                row[7] = self.decay * row[7] + float(r)
                row[8] = self.decay * row[8] + 1.0
        self._members.setdefault(int(i))
        self._members.setdefault(int(j))

    def add_match(
        self,
        seats: Sequence[int],
        returns: Sequence[float],
        kind: str,
        reward_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        """Record one match from its seat members and seat returns (every pair once)."""
        scores = {(i, j): s for i, j, s in match_scores(seats, returns, kind, reward_range)}
        mean = member_returns(seats, returns)
        for (i, j), s in scores.items():
            if i < j:
                self.add(i, j, s, scores[(j, i)], mean[i], mean[j])

    def add_matches(
        self,
        matches: Iterable[tuple[Sequence[int], Sequence[float]]],
        kind: str,
        reward_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        """Replay ``(seats, returns)`` in order (e.g. the store's matches on resume)."""
        for seats, returns in matches:
            self.add_match(seats, returns, kind, reward_range)

    def games(self, i: int, j: int, decayed: bool = True) -> float:
        row = self._pairs.get((i, j))
        return 0.0 if row is None else float(row[1 if decayed else 3])

    def win_rate(self, i: int, j: int, default: float = 0.5, decayed: bool = True) -> float:
        """``i``'s mean score against ``j`` (``default`` before they have met)."""
        row = self._pairs.get((i, j))
        if row is None:
            return default
        s, n = (row[0], row[1]) if decayed else (row[2], row[3])
        return float(s / n)

    def win_rates(self, i: int, opponents: Sequence[int], default: float = 0.5) -> np.ndarray:
        """Decayed win rates of ``i`` against each of ``opponents`` ``[len(opponents)]``."""
        return np.array([self.win_rate(i, j, default) for j in opponents], np.float64)

    def mean_return(self, i: int, j: int) -> float | None:
        """``i``'s decayed mean return against ``j`` (None when no return was recorded)."""
        row = self._pairs.get((i, j))
        if row is None or row[8] <= 0:
            return None
        return float(row[7] / row[8])

    def has_returns(self) -> bool:
        """Whether any match was recorded with returns."""
        return any(row[8] > 0 for row in self._pairs.values())

    def return_matrix(self, ids: Sequence[int], default: float = 0.0) -> np.ndarray:
        """``[n, n]`` decayed mean returns among ``ids`` (``default`` on the diagonal and
        for pairs without returns)."""
        n = len(ids)
        out = np.full((n, n), float(default))
        for a, i in enumerate(ids):
            for b, j in enumerate(ids):
                r = self.mean_return(i, j) if a != b else None
                if r is not None:
                    out[a, b] = r
        return out

    def record(self, i: int, j: int) -> tuple[int, int, int]:
        """Plain ``(wins, draws, losses)`` of ``i`` against ``j``."""
        row = self._pairs.get((i, j))
        return (0, 0, 0) if row is None else (int(row[4]), int(row[5]), int(row[6]))

    def matrix(self, ids: Sequence[int], default: float = 0.5, decayed: bool = True) -> np.ndarray:
        """``[n, n]`` win rates among ``ids`` (diagonal: 0.5)."""
        n = len(ids)
        out = np.full((n, n), 0.5)
        for a, i in enumerate(ids):
            for b, j in enumerate(ids):
                if a != b:
                    out[a, b] = self.win_rate(i, j, default, decayed)
        return out

    def totals(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Plain ``(scores [n, n], counts [n, n])`` among ``ids`` for the batch ratings.

        ``scores`` is a fractional win matrix for :func:`leagues.ratings.bradley_terry`
        and, with ``counts``, the input of :func:`leagues.ratings.mean_score_ratings`.
        """
        n = len(ids)
        scores = np.zeros((n, n))
        counts = np.zeros((n, n))
        for a, i in enumerate(ids):
            for b, j in enumerate(ids):
                row = self._pairs.get((i, j))
                if row is not None and a != b:
                    scores[a, b], counts[a, b] = row[2], row[3]
        return scores, counts


# ---------------------------------------------------------------------------
# Weights (pure)


def pfsp_weights(win_rates: np.ndarray, weighting: str = "hard", p: float = 2.0) -> np.ndarray:
    """PFSP opponent probabilities from the learner's win rates (Vinyals et al. 2019).

    ``f_hard(x) = (1 - x)^p``, ``f_var(x) = x (1 - x)``, normalised to sum 1;
    uniform when every weight is 0 (the learner beats everyone, or loses to everyone
    under ``var``).
    """
    x = np.clip(np.asarray(win_rates, np.float64), 0.0, 1.0)
    if weighting == "hard":
        f = (1.0 - x) ** p
    elif weighting == "var":
        f = x * (1.0 - x)
    else:
        raise ValueError(f"pfsp weighting '{weighting}' is not one of {', '.join(PFSP_WEIGHTINGS)}")
    total = f.sum()
    if x.size == 0:
        return f
    return f / total if total > 0 else np.full(x.size, 1.0 / x.size)


def member_returns(seats: Sequence[int], returns: Sequence[float]) -> dict[int, float]:
    """Each member's mean return over the seats it held in one match."""
    out: dict[int, list[float]] = {}
    for s, r in zip(seats, returns):
        out.setdefault(int(s), []).append(float(r))
    return {m: sum(v) / len(v) for m, v in out.items()}


def meta_nash(
    returns: np.ndarray, kind: str = "zero_sum", notes: list[str] | None = None
) -> np.ndarray:
    """The meta-Nash mixture over the candidates: :func:`games.metastrategy.meta_strategy`.

    The one rule the population evaluation (and so the report) uses too: for
    zero-sum and constant-sum games a Nash equilibrium of the antisymmetric
    part of the return table by LP (PSRO's meta-solver, Lanctot et al. 2017,
    Sec. 3); otherwise single-population alpha-rank.

    Args:
        returns: ``[n, n]``, entry ``[a, b]`` member ``a``'s mean return
            against ``b`` (NaN: not played). A table of scores (win rates)
            works too: their antisymmetric part is the same game.
        kind: the game's kind.
        notes: where a solver fails, one line is appended here saying what was
            used instead (the league records it).

    Returns:
        ``[n]`` probabilities.
    """
    from games.metastrategy import meta_strategy

    r = np.asarray(returns, np.float64)
    if r.shape[0] == 1:
        return np.ones(1)
    m = meta_strategy(r, kind)
    if m.fallback:
        _note(notes, f"nash matchmaking: {m.fallback}")
    return m.weights


def _note(notes: list[str] | None, line: str) -> None:
    if notes is not None and line not in notes:  # once per fit, not once per iteration
        notes.append(line)


def candidates(pool: Pool, learner: Member, role: str) -> list[int]:
    """Opponent ids a learner of ``role`` may face (AlphaStar's league, Vinyals et al. 2019).

    * ``main``: every active frozen member (snapshots and references).
    * ``main_exploiter``: the main learners (live) and their snapshots.
    * ``league_exploiter``: every active frozen member.

    The learner itself is never a candidate; rules add it for self-play.
    """
    active = [m for m in pool.active() if m.id != learner.id]
    if role == MAIN_EXPLOITER:
        mains = {m.id for m in active if m.kind == LEARNER and m.role == MAIN}
        return [m.id for m in active if m.id in mains or (m.kind != LEARNER and m.parent in mains)]
    return [m.id for m in active if m.kind != LEARNER]


def opponent_probs(
    rule: str,
    learner: int,
    candidate_ids: Sequence[int],
    payoffs: PayoffTable | None = None,
    *,
    past_prob: float = 0.2,
    pfsp_weighting: str = "hard",
    pfsp_p: float = 2.0,
    kind: str = "zero_sum",
    payoff_matrix: np.ndarray | None = None,
    notes: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, probs)``: the distribution of one opponent draw under ``rule``.

    ``ids`` may contain ``learner`` itself (self-play); with no candidates every
    rule returns the learner with probability 1. ``payoff_matrix``: for
    ``nash`` in competitive games, an ``[n, n]`` table of mean returns among
    the candidates (in ``candidate_ids`` order, the learner left out), e.g. the
    exact one, used instead of the payoff table's sampled returns. ``notes``:
    a list that ``nash`` appends one line to when a solver fails and a
    fallback (interior point, uniform) is used, so the caller can record it.
    """
    cands = np.array([c for c in candidate_ids if c != learner], np.int64)
    self_only = (np.array([learner], np.int64), np.ones(1))
    if rule not in RULES:
        raise ValueError(f"matchmaking rule '{rule}' is not one of {', '.join(RULES)}")
    if rule == "latest" or cands.size == 0:
        return self_only
    n = cands.size
    if rule == "uniform":
        return cands, np.full(n, 1.0 / n)
    if rule == "self_play":
        probs = np.concatenate([[1.0 - past_prob], np.full(n, past_prob / n)])
        return np.concatenate([[learner], cands]), probs
    table = payoffs if payoffs is not None else PayoffTable()
    if rule == "pfsp":
        return cands, pfsp_weights(table.win_rates(learner, cands), pfsp_weighting, pfsp_p)
    # nash: the exact table when given, else the sampled returns (scores without returns)
    if payoff_matrix is not None:
        return cands, meta_nash(payoff_matrix, kind, notes)
    if table.has_returns():
        return cands, meta_nash(table.return_matrix(list(cands), default=np.nan), kind, notes)
    return cands, meta_nash(table.matrix(list(cands)), kind, notes)


def draw_opponents(
    rule: str,
    learner: int,
    candidate_ids: Sequence[int],
    payoffs: PayoffTable | None,
    rng: np.random.Generator,
    n: int = 1,
    *,
    past_prob: float = 0.2,
    pfsp_weighting: str = "hard",
    pfsp_p: float = 2.0,
    kind: str = "zero_sum",
    payoff_matrix: np.ndarray | None = None,
) -> np.ndarray:
    """``n`` opponent ids drawn independently from :func:`opponent_probs`."""
    ids, probs = opponent_probs(
        rule,
        learner,
        candidate_ids,
        payoffs,
        past_prob=past_prob,
        pfsp_weighting=pfsp_weighting,
        pfsp_p=pfsp_p,
        kind=kind,
        payoff_matrix=payoff_matrix,
    )
    return ids[rng.choice(ids.size, size=n, p=probs)]


def round_robin(ids: Sequence[int]) -> list[tuple[int, int]]:
    """Every unordered pair ``(a, b)``, ``a`` before ``b`` in ``ids`` (evaluation rounds)."""
    ids = list(ids)
    return [(a, b) for k, a in enumerate(ids) for b in ids[k + 1 :]]
