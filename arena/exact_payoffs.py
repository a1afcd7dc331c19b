"""Exact meta-game payoffs between league members, each pair computed once.

PSRO's meta-game (Lanctot et al. 2017, "A unified game-theoretic approach to
multiagent reinforcement learning", Sec. 3) holds the members' *expected*
payoffs against each other. Where the game is small enough to enumerate
(two-player OpenSpiel games such as Kuhn and Leduc poker, one-shot matrix
games) they can be computed exactly instead of estimated from sampled games,
which removes the noise that otherwise moves the meta-Nash around.

:class:`ExactPayoffCache` keeps each frozen member's tabular policy
(:func:`arena.evaluation.tabulate`) and each pair's value, so a league that adds
one snapshot per round pays for one new row of the table, not the whole table.
Entry ``[i, j]`` is ``(u_0(pi_i, pi_j) + u_1(pi_j, pi_i)) / 2``: ``i``'s
expected return against ``j`` averaged over the two seatings, as in
:func:`arena.evaluation.exact_payoff_table`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from agents.base import Policy
from arena.evaluation import DEFAULT_MAX_STATES, ExactLimitError, exact_payoff_table, tabulate
from games.core import Game


class ExactPayoffCache:
    """Exact seat-balanced expected returns between members, cached per member and pair.

    Only members whose policy never changes may be cached (snapshots and
    references); pass ``cache=False`` rows for live learners to
    :meth:`matrix`.
    """

    def __init__(self, game: Game, seed: int = 0, max_states: int = DEFAULT_MAX_STATES):
        self.game = game
        self.seed = int(seed)
        self.max_states = int(max_states)
        self._tables: dict[int, object] = {}
        self._values: dict[tuple[int, int], np.ndarray] = {}  # (i, j) -> u[seat] with i at seat 0
        self.supported = game.info.num_players == 2 and (
            getattr(game, "pyspiel_game", None) is not None
            or bool(getattr(game, "is_normal_form", False))
        )

    def _table(self, key: int, policy: Policy, cache: bool):
        import pyspiel

        table = self._tables.get(key) if cache else None
        if table is None:
            tab, _ = tabulate(
                self.game, policy, seed=self.seed, max_states=self.max_states, label=f"member {key}"
            )
            table = pyspiel.TabularPolicy(tab.to_dict())
            if cache:
                self._tables[key] = table
        return table

    def _pair(self, i: int, j: int, pol_i: Policy, pol_j: Policy, cache: bool) -> np.ndarray:
        """``[2]`` expected returns of the seats when ``i`` sits at 0 and ``j`` at 1."""
        got = self._values.get((i, j)) if cache else None
        if got is not None:
            return got
        import pyspiel

        root = self.game.pyspiel_game.new_initial_state()
        tables = [self._table(i, pol_i, cache), self._table(j, pol_j, cache)]
        u = np.asarray(pyspiel.expected_returns(root, tables, -1, True), np.float64)
        if cache:
            self._values[(i, j)] = u
        return u

    def matrix(
        self,
        ids: Sequence[int],
        policy_of: Callable[[int], Policy],
        live: Sequence[int] = (),
    ) -> np.ndarray:
        """``[n, n]`` exact expected returns among ``ids`` (row member's return).

        Args:
            ids: member ids.
            policy_of: the policy of a member id.
            live: ids whose policy may change (live learners): never cached.

        Raises:
            ExactLimitError: not a two-player OpenSpiel or one-shot matrix game,
                or too large to enumerate.
        """
        if not self.supported:
            raise ExactLimitError(
                f"{self.game.info.name}: exact payoffs need a two-player OpenSpiel or one-shot matrix game"
            )
        live_set = {int(x) for x in live}
        n = len(ids)
        out = np.zeros((n, n))
        pols = {int(i): policy_of(int(i)) for i in ids}
        for a, i in enumerate(ids):
            for b, j in enumerate(ids):
                i, j = int(i), int(j)
                cache = i not in live_set and j not in live_set
                if getattr(self.game, "pyspiel_game", None) is None:
                    # One-shot matrix games: cheap, already seat-balanced, nothing to keep.
                    if a < b:
                        t = exact_payoff_table(self.game, [pols[i], pols[j]], seed=self.seed)
                        out[a, b], out[b, a] = t[0, 1], t[1, 0]
                    continue
                ij = self._pair(i, j, pols[i], pols[j], cache)
                ji = self._pair(j, i, pols[j], pols[i], cache)
                out[a, b] = (ij[0] + ji[1]) / 2.0
        return out
