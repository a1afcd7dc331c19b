"""Exact meta-game payoffs between members of a two-player game, all pairs in one product.

PSRO's meta-game (Lanctot et al. 2017, "A unified game-theoretic approach to
multiagent reinforcement learning", Sec. 3) holds the members' *expected*
payoffs against each other. Where the game is small enough to enumerate
(Kuhn and Leduc poker, one-shot matrix games) they can be computed exactly
instead of estimated from sampled games, which removes the noise that
otherwise moves the meta-Nash around.

Turn-based OpenSpiel games use the sequence form (Koller, Megiddo & von
Stengel 1994; von Stengel 1996): the expected return of seat ``s`` when
policy ``a`` sits at 0 and ``b`` at 1 is

    u_s(a, b) = sum_z c(z) r_s(z) x_a^0(z) x_b^1(z)

over the terminal histories ``z``, with ``c`` the chance probability and
``x^p(z)`` the product of player ``p``'s own action probabilities on the way
to ``z`` (its *realization plan*). The tree is walked once
(:func:`sequence_tree`); a member is then one batched forward pass per seat
over every information state (:func:`realization_plans`), and the whole
``K x K`` table of a population is two matrix products
(:func:`payoff_matrix`). Measured here: Leduc poker (5,520 terminal
histories) walks once in about a second, after which a new member costs
milliseconds, where tabulating it and valuing each pair with
``pyspiel.expected_returns`` costs about 1 s plus 40 ms a pair.

Entry ``[i, j]`` of every table here is ``(u_0(pi_i, pi_j) + u_1(pi_j, pi_i)) / 2``:
``i``'s expected return against ``j`` averaged over the two seatings, as in
:func:`arena.evaluation.exact_payoff_table`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence

import numpy as np

from agents.base import Policy
from arena.evaluation.tabular import DEFAULT_MAX_STATES, ExactLimitError, policy_probs, tabulate
from games.core import Game


@dataclasses.dataclass(frozen=True)
class SequenceTree:
    """The terminal histories of a two-player turn-based game, as sequences of decisions.

    Attributes:
        obs: per player ``[I_p, O]`` the observation of each of its information states.
        legal: per player ``[I_p, A]`` legal-action masks.
        chance: ``[Z]`` chance probability of each terminal history.
        returns: ``[Z, 2]`` the players' returns there.
        index: per player ``[Z, D_p]`` the information states it decided at on the
            way (padding: ``I_p``, a row of probability 1).
        action: per player ``[Z, D_p]`` the action it took there.
        decisions: decision nodes walked.
    """

    obs: tuple[np.ndarray, np.ndarray]
    legal: tuple[np.ndarray, np.ndarray]
    chance: np.ndarray
    returns: np.ndarray
    index: tuple[np.ndarray, np.ndarray]
    action: tuple[np.ndarray, np.ndarray]
    decisions: int


def sequence_tree(game, max_states: int = DEFAULT_MAX_STATES) -> SequenceTree:
    """Walk a two-player turn-based OpenSpiel game once (:class:`SequenceTree`).

    Raises:
        ExactLimitError: not a two-player turn-based OpenSpiel game with
            information-state strings, or more than ``max_states`` decision nodes.
    """
    import pyspiel

    pg = getattr(game, "pyspiel_game", None)
    if pg is None or game.info.num_players != 2:
        raise ExactLimitError(
            f"{game.info.name}: the sequence form here is for two-player OpenSpiel games"
        )
    t = pg.get_type()
    if (
        t.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL
        or not t.provides_information_state_string
    ):
        raise ExactLimitError(
            f"{game.info.name}: the sequence form needs a turn-based game with information-state strings"
        )
    keys: list[dict] = [{}, {}]
    obs: list[list] = [[], []]
    legal: list[list] = [[], []]
    chance, returns, seqs = [], [], []
    decisions = 0
    stack = [(pg.new_initial_state(), 1.0, ())]
    while stack:
        s, c, seq = stack.pop()
        if s.is_terminal():
            chance.append(c)
            returns.append(s.returns())
            seqs.append(seq)
            continue
        if s.is_chance_node():
            for a, p in s.chance_outcomes():
                stack.append((s.child(a), c * p, seq))
            continue
        decisions += 1
        if decisions > max_states:
            raise ExactLimitError(
                f"{game.info.name}: more than {max_states:,} decision nodes, over the exact limit"
            )
        p = s.current_player()
        key = s.information_state_string(p)
        row = keys[p].get(key)
        if row is None:
            row = keys[p][key] = len(obs[p])
            obs[p].append(game.observation(s, p))
            legal[p].append(np.asarray(s.legal_actions_mask(p), bool))
        for a in s.legal_actions():
            stack.append((s.child(a), c, seq + ((p, row, a),)))
    index, action = [], []
    for p in range(2):
        own = [[(r, a) for q, r, a in seq if q == p] for seq in seqs]
        depth = max([len(o) for o in own] + [1])
        idx = np.full((len(seqs), depth), len(obs[p]), np.int64)
        act = np.zeros((len(seqs), depth), np.int64)
        for z, o in enumerate(own):
            for d, (r, a) in enumerate(o):
                idx[z, d], act[z, d] = r, a
        index.append(idx)
        action.append(act)
    return SequenceTree(
        tuple(np.stack(o) for o in obs),
        tuple(np.stack(lg) for lg in legal),
        np.asarray(chance, np.float64),
        np.asarray(returns, np.float64),
        tuple(index),
        tuple(action),
        decisions,
    )


def realization_plans(
    tree: SequenceTree, policy: Policy, seed: int = 0, label: str = "policy"
) -> np.ndarray:
    """``[2, Z]``: the product of ``policy``'s own action probabilities on the way to
    each terminal history, playing seat 0 and seat 1."""
    rng = np.random.default_rng(seed)
    out = np.zeros((2, len(tree.chance)))
    for p in range(2):
        n = len(tree.obs[p])
        probs = policy_probs(policy, tree.obs[p], tree.legal[p], np.full(n, p), rng, label)
        probs = np.concatenate([probs, np.ones((1, probs.shape[1]))])  # the padding row
        out[p] = probs[tree.index[p], tree.action[p]].prod(axis=1)
    return out


def payoff_matrix(tree: SequenceTree, plans_a: np.ndarray, plans_b: np.ndarray) -> np.ndarray:
    """``[K, M]`` seat-balanced expected returns of members ``a`` (rows) against ``b``.

    Args:
        plans_a: ``[K, 2, Z]`` realization plans (:func:`realization_plans`).
        plans_b: ``[M, 2, Z]``.
    """
    w0 = tree.chance * tree.returns[:, 0]
    w1 = tree.chance * tree.returns[:, 1]
    a_first = (plans_a[:, 0] * w0) @ plans_b[:, 1].T  # a at seat 0
    a_second = (plans_a[:, 1] * w1) @ plans_b[:, 0].T  # a at seat 1
    return (a_first + a_second) / 2.0


class ExactPayoffCache:
    """Exact seat-balanced expected returns between members, one realization plan per member.

    Only members whose policy never changes are cached (snapshots and
    references); pass live learners' ids as ``live`` to :meth:`matrix`.
    One-shot matrix games go through :func:`arena.evaluation.exact_payoff_table`.
    """

    def __init__(self, game: Game, seed: int = 0, max_states: int = DEFAULT_MAX_STATES):
        self.game = game
        self.seed = int(seed)
        self.max_states = int(max_states)
        self._tree: SequenceTree | None = None
        self._plans: dict[int, np.ndarray] = {}

    def _sequence_tree(self) -> SequenceTree:
        if self._tree is None:
            self._tree = sequence_tree(self.game, self.max_states)
        return self._tree

    def matrix(
        self,
        ids: Sequence[int],
        policy_of: Callable[[int], Policy],
        live: Sequence[int] = (),
    ) -> np.ndarray:
        """``[n, n]`` exact expected returns among ``ids`` (the row member's return).

        Raises:
            ExactLimitError: not a two-player turn-based OpenSpiel or one-shot
                matrix game, or too large to enumerate.
        """
        ids = [int(i) for i in ids]
        if getattr(self.game, "pyspiel_game", None) is None:
            if not getattr(self.game, "is_normal_form", False):
                raise ExactLimitError(
                    f"{self.game.info.name}: exact payoffs need a two-player OpenSpiel or one-shot matrix game"
                )
            return exact_payoff_table(self.game, [policy_of(i) for i in ids], seed=self.seed)
        tree = self._sequence_tree()
        live_set = {int(x) for x in live}
        plans = []
        for i in ids:
            plan = self._plans.get(i)
            if plan is None:
                plan = realization_plans(tree, policy_of(i), self.seed, f"member {i}")
                if i not in live_set:
                    self._plans[i] = plan
            plans.append(plan)
        stacked = np.stack(plans)
        return payoff_matrix(tree, stacked, stacked)


def exact_payoff_table(
    game: Game,
    policies: list[Policy],
    *,
    seed: int = 0,
    max_states: int = DEFAULT_MAX_STATES,
) -> np.ndarray:
    """``[K, K]`` exact seat-balanced meta-game of a two-player game: no sampling noise.

    Entry ``[i, j]`` is ``(u_0(pi_i, pi_j) + u_1(pi_j, pi_i)) / 2``: member
    ``i``'s expected return against ``j``, averaged over the two seatings.
    OpenSpiel games: every member tabulated once (:func:`tabulate`), pairs
    valued by ``pyspiel.expected_returns``. One-shot matrix games: expected
    payoffs of the profiles.

    Raises:
        ExactLimitError: not a two-player OpenSpiel or one-shot matrix game,
            or too large; play the pairs with :func:`arena.rollout.play`.
    """
    from games.matrix import MatrixGame

    if game.info.num_players != 2:
        raise ExactLimitError(f"{game.info.name}: exact payoff tables are for two-player games")
    k = len(policies)
    u = np.zeros((k, k, 2))  # u[i, j, seat]: payoff at seat when i sits at 0 and j at 1
    rng = np.random.default_rng(seed)
    if isinstance(game, MatrixGame) and game.is_normal_form:
        from games.solvers import expected_payoffs

        ts = game.vector(1, seed).reset()
        counts = game.info.actions_per_player
        profiles = [
            policy_probs(pol, ts.obs[0], ts.legal[0], np.arange(2), rng, f"member {m}")
            for m, pol in enumerate(policies)
        ]
        for i, j in itertools.product(range(k), range(k)):
            prof = [profiles[i][0, : counts[0]], profiles[j][1, : counts[1]]]
            u[i, j] = expected_payoffs(game.payoff_tensor, prof)
    elif getattr(game, "pyspiel_game", None) is not None:
        import pyspiel

        if game.pyspiel_game.get_type().dynamics == pyspiel.GameType.Dynamics.SEQUENTIAL:
            # Turn-based: the sequence form, one walk and one matrix product.
            tree = sequence_tree(game, max_states)
            plans = np.stack(
                [
                    realization_plans(tree, pol, seed, f"member {m}")
                    for m, pol in enumerate(policies)
                ]
            )
            return payoff_matrix(tree, plans, plans)
        tables = [
            pyspiel.TabularPolicy(
                tabulate(game, pol, seed=seed, max_states=max_states, label=f"member {m}")[
                    0
                ].to_dict()
            )
            for m, pol in enumerate(policies)
        ]
        root = game.pyspiel_game.new_initial_state()
        for i, j in itertools.product(range(k), range(k)):
            u[i, j] = pyspiel.expected_returns(root, [tables[i], tables[j]], -1, True)
    else:
        raise ExactLimitError(
            f"{game.info.name}: exact payoff tables need an OpenSpiel or one-shot matrix game; "
            "play the pairs with arena.rollout.play instead"
        )
    return (u[:, :, 0] + u[:, :, 1].T) / 2.0
