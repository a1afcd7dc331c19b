"""How far a policy is from Nash: exact where the game is small, a lower bound elsewhere.

One policy ``pi`` plays every seat (the seat is passed to ``act`` as
``player``), so it defines the profile ``(pi_0, ..., pi_{P-1})``. Its

    NashConv(pi) = sum_i [ max_{pi_i'} u_i(pi_i', pi_-i) - u_i(pi) ]

(Lanctot et al. 2017, "A unified game-theoretic approach to multiagent
reinforcement learning", Sec. 3.1) sums each player's *best-response gain*
(``per_player``); it is 0 exactly at a Nash equilibrium. *Exploitability* is
reported as ``NashConv / P``: in two-player zero-sum games that is OpenSpiel's
exploitability ``(BR_0 + BR_1) / 2`` (Johanson et al. 2011), likewise in
constant-sum games; elsewhere it is the mean best-response gain.

Exact methods (``method: "exact"``):

* OpenSpiel games (:func:`openspiel_nash_conv`). The game tree is walked once
  (at most ``max_states`` decision nodes: the explicit size check) to list
  every information state; an ``open_spiel.python.policy.TabularPolicy`` over
  them is filled with *our* policy's probabilities: each state's observation
  is made by :meth:`games.openspiel.OpenSpielGame.observation` (the code the
  batched envs use), and the policy is asked once, batched, per player. Best
  responses are OpenSpiel's own: ``pyspiel.TabularBestResponse`` (C++) in
  turn-based games, ``open_spiel.python.algorithms.best_response`` in
  simultaneous-move games; on-policy values by ``pyspiel.expected_returns``.
* Matrix games (:func:`matrix_nash_conv`). One-shot: the profile's gains by
  :func:`games.solvers.player_gains`. Repeated and multi-stage: backward
  induction over the game's states, built by replaying joint-action
  histories through the batched env; a best responder may condition on the
  whole public history, and because every player's observation (stage, round
  and previous joint action where shown) is a Markov state of the game, states
  with equal observations are merged without changing any value.
* A :class:`arena.evaluation.metagame.MixturePolicy` is evaluated as its
  behaviour-equivalent strategy (members weighted by their own reach of each
  information state, :func:`arena.evaluation.metagame.behaviour_mixture`); in repeated
  matrix games that strategy depends on the whole history, so states are not
  merged for mixtures.

Games too large for that (more than ``max_states`` decision nodes) raise
:class:`ExactLimitError`. :func:`arena.evaluation.exploiter.nash_report` then trains an *exploiter*
(:func:`arena.evaluation.exploiter.exploiter_lower_bound`): a learner from :mod:`agents.registry` trained
by :func:`arena.train.train` against the frozen policy for the budget, whose
measured gain at each seat (minus ``z`` standard errors) is a lower bound on
that player's best-response gain. Every result says which it is in
``method``: ``"exact"`` or ``"exploiter_lower_bound"``.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from agents.base import Policy
from arena.evaluation.metagame import MixturePolicy, behaviour_mixture
from games.core import Game, GameError

EXACT = "exact"
LOWER_BOUND = "exploiter_lower_bound"

DEFAULT_MAX_STATES = 200_000
"""Decision nodes walked at most by the exact methods. Measured here: Kuhn 24
(1 ms), Leduc 3,780 (0.4 s in all), liar's dice 147,456 (about 10 s); tic-tac-toe
(about 295k) needs a larger limit and about 40 s."""


class ExactLimitError(GameError):
    """The game is too large (or of a type) for an exact NashConv; use the exploiter bound."""


class PolicyContractError(GameError):
    """A policy broke the contract: no probabilities, mass on illegal actions, rows not summing to 1."""


@dataclasses.dataclass(frozen=True)
class NashConvResult:
    """NashConv of a policy and its parts.

    Attributes:
        per_player: ``[P]`` best-response gain of each player (a lower bound
            for ``exploiter_lower_bound``).
        values: ``[P]`` each player's value when the policy plays every seat
            (estimated for bounds).
        best_response_values: ``[P]`` each player's best-response value
            (the exploiter's measured value for bounds).
        method: ``"exact"`` or ``"exploiter_lower_bound"``.
        stderr: ``[P]`` standard errors of the measured gains (zeros when exact).
        states: decision nodes walked (exact) or exploiter training steps (bound).
    """

    per_player: np.ndarray
    values: np.ndarray
    best_response_values: np.ndarray
    method: str
    stderr: np.ndarray
    states: int = 0

    @property
    def nash_conv(self) -> float:
        return float(np.sum(self.per_player))

    @property
    def exploitability(self) -> float:
        """``NashConv / P`` (OpenSpiel's exploitability in two-player constant-sum games)."""
        return self.nash_conv / len(self.per_player)


def _exact(per_player, values, br_values, states: int) -> NashConvResult:
    per = np.asarray(per_player, dtype=np.float64)
    # Round-off can make a best response look a hair worse than the policy itself
    # (a gain is never negative: the policy is one of the responses).
    per = np.where(np.abs(per) < 1e-10, 0.0, per)
    return NashConvResult(
        per,
        np.asarray(values, float),
        np.asarray(br_values, float),
        EXACT,
        np.zeros(len(per)),
        states,
    )


# ---------------------------------------------------------------------------
# Asking the policy


def policy_probs(
    policy: Policy,
    obs: np.ndarray,
    legal: np.ndarray,
    player: np.ndarray,
    rng: np.random.Generator,
    label: str = "policy",
) -> np.ndarray:
    """``[N, A]`` float64 action probabilities of ``policy``, checked and renormalised.

    Raises:
        PolicyContractError: no probabilities, non-finite or negative values,
            mass above 1e-6 on an illegal action, or a row not summing to 1
            within 1e-4.
    """
    if len(obs) == 0:
        return np.zeros(legal.shape, dtype=np.float64)
    out = policy.act(obs, legal, player, rng, explore=False)
    if out.probs is None:
        raise PolicyContractError(
            f"{label} returns no action probabilities; an exact NashConv needs probs from act()"
        )
    probs = np.asarray(out.probs, dtype=np.float64)
    if probs.shape != legal.shape:
        raise PolicyContractError(
            f"{label} returned probs of shape {list(probs.shape)}, expected {list(legal.shape)}"
        )
    if not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise PolicyContractError(f"{label} returned negative or non-finite probabilities")
    illegal = np.where(legal, 0.0, probs).max(initial=0.0)
    if illegal > 1e-6:
        raise PolicyContractError(f"{label} puts probability {illegal:.3g} on an illegal action")
    probs = np.where(legal, probs, 0.0)
    total = probs.sum(-1)
    bad = np.abs(total - 1.0) > 1e-4
    if bad.any():
        raise PolicyContractError(
            f"{label}'s probabilities sum to {float(total[np.argmax(bad)]):.6f}, not 1, over the legal actions"
        )
    return probs / total[:, None]


# ---------------------------------------------------------------------------
# OpenSpiel games


@dataclasses.dataclass
class _Tree:
    """Decision nodes of an OpenSpiel game and (for mixtures) each info state's own parent."""

    states: dict  # history string -> pyspiel.State (decision nodes)
    parents: dict | None  # info-state key -> (parent key or None, action)
    order: list  # info-state keys in discovery order (parents first)
    count: int


def _walk(game, max_states: int, track_parents: bool) -> _Tree:
    """Every decision node of ``game``'s tree, depth first, at most ``max_states``.

    Raises:
        ExactLimitError: the tree has more decision nodes than ``max_states``.
    """
    pg = game.pyspiel_game
    n_players = pg.num_players()
    root = pg.new_initial_state()
    states: dict = {}
    parents: dict | None = {} if track_parents else None
    order: list = []
    stack = [(root, (None,) * n_players)]
    count = 0
    while stack:
        s, last = stack.pop()
        if s.is_terminal():
            continue
        if s.is_chance_node():
            for a, _ in s.chance_outcomes():
                stack.append((s.child(a), last))
            continue
        count += 1
        if count > max_states:
            raise ExactLimitError(
                f"{game.info.name}: more than {max_states:,} decision nodes, over the exact "
                "NashConv limit; use the exploiter lower bound (arena eval --nash --budget SECONDS) "
                "or raise max_states"
            )
        states[s.history_str()] = s
        simultaneous = s.is_simultaneous_node()
        movers = (
            [p for p in range(n_players) if s.legal_actions(p)]
            if simultaneous
            else [s.current_player()]
        )
        keys = {}
        if track_parents:
            for p in movers:
                key = s.information_state_string(p)
                keys[p] = key
                if key not in parents:
                    parents[key] = last[p]
                    order.append(key)
        if simultaneous:
            for joint in itertools.product(
                *[s.legal_actions(p) if s.legal_actions(p) else [0] for p in range(n_players)]
            ):
                child = s.clone()
                child.apply_actions(list(joint))
                nxt = last
                if track_parents:
                    nxt = tuple(
                        (keys[p], joint[p]) if p in keys else last[p] for p in range(n_players)
                    )
                stack.append((child, nxt))
        else:
            p = movers[0]
            for a in s.legal_actions():
                nxt = last
                if track_parents:
                    nxt = last[:p] + ((keys[p], a),) + last[p + 1 :]
                stack.append((s.child(a), nxt))
    return _Tree(states, parents, order, count)


def _check_openspiel(game) -> None:
    import pyspiel

    t = game.pyspiel_game.get_type()
    if not t.provides_information_state_string:
        raise ExactLimitError(
            f"{game.info.name}: OpenSpiel's best responses need information-state strings, which "
            "this game does not provide; use the exploiter lower bound (arena eval --nash --budget SECONDS)"
        )
    if t.dynamics == pyspiel.GameType.Dynamics.MEAN_FIELD:
        raise ExactLimitError(f"{game.info.name}: mean-field games have no NashConv here")


def tabulate(
    game,
    policy: Policy,
    *,
    seed: int = 0,
    max_states: int = DEFAULT_MAX_STATES,
    label: str = "policy",
):
    """An ``open_spiel`` ``TabularPolicy`` holding ``policy``'s probabilities at every info state.

    Observations are made by ``game.observation`` (as the envs make them);
    the policy is asked once per player with every information state of that
    player as one batch. A :class:`arena.evaluation.metagame.MixturePolicy` is tabulated
    as its behaviour-equivalent strategy.

    Returns:
        ``(tabular_policy, decision_nodes_walked)``.

    Raises:
        ExactLimitError: the tree is larger than ``max_states`` decision nodes.
        PolicyContractError: the policy broke the probability contract.
    """
    from open_spiel.python import policy as os_policy

    _check_openspiel(game)
    mixture = isinstance(policy, MixturePolicy)
    tree = _walk(game, max_states, track_parents=mixture)
    table = os_policy.TabularPolicy(game.pyspiel_game, states=tree.states)
    rng = np.random.default_rng(seed)
    legal_all = table.legal_actions_mask.astype(bool)
    n_players = game.info.num_players
    rows = []
    for p in range(n_players):
        idx = np.array([table.state_lookup[k] for k in table.states_per_player[p]], dtype=np.int64)
        obs = (
            np.stack([game.observation(table.states[i], p) for i in idx])
            if len(idx)
            else np.zeros((0, game.info.obs_size), np.float32)
        )
        rows.append((p, idx, obs, legal_all[idx]))
    if not mixture:
        for p, idx, obs, legal in rows:
            table.action_probability_array[idx] = policy_probs(
                policy, obs, legal, np.full(len(idx), p), rng, label
            )
        return table, tree.count
    # Mixture: every member's probabilities, then its own reach of every info state.
    k = len(policy.policies)
    member = np.zeros((k,) + table.action_probability_array.shape)
    for m, pol in enumerate(policy.policies):
        for p, idx, obs, legal in rows:
            member[m, idx] = policy_probs(
                pol, obs, legal, np.full(len(idx), p), rng, f"{label} member {m}"
            )
    reach = np.ones((k, len(legal_all)))
    for key in tree.order:
        parent = tree.parents[key]
        if parent is not None:
            pkey, action = parent
            i, j = table.state_lookup[key], table.state_lookup[pkey]
            reach[:, i] = reach[:, j] * member[:, j, action]
    table.action_probability_array[:] = behaviour_mixture(member, reach, policy.weights)
    return table, tree.count


def openspiel_nash_conv(
    game,
    policy: Policy,
    *,
    seed: int = 0,
    max_states: int = DEFAULT_MAX_STATES,
    label: str = "policy",
) -> NashConvResult:
    """Exact NashConv of ``policy`` in an OpenSpiel game through OpenSpiel's best responses."""
    import pyspiel

    table, count = tabulate(game, policy, seed=seed, max_states=max_states, label=label)
    pg = game.pyspiel_game
    root = pg.new_initial_state()
    n_players = pg.num_players()
    as_dict = table.to_dict()
    values = np.array(pyspiel.expected_returns(root, pyspiel.TabularPolicy(as_dict), -1, True))
    if pg.get_type().dynamics == pyspiel.GameType.Dynamics.SEQUENTIAL:
        br = [
            pyspiel.TabularBestResponse(pg, p, as_dict).value_from_state(root)
            for p in range(n_players)
        ]
    else:
        from open_spiel.python.algorithms import best_response

        br = [best_response.BestResponsePolicy(pg, p, table).value(root) for p in range(n_players)]
    br = np.array(br, dtype=np.float64)
    return _exact(br - values, values, br, count)


# ---------------------------------------------------------------------------
# Matrix games


def _replay(game, hist: np.ndarray):
    """The time step after playing ``hist [N, T, P]`` joint actions in ``N`` fresh copies."""
    env = game.vector(len(hist), 0)
    ts = env.reset()
    for t in range(hist.shape[1]):
        ts = env.step(hist[:, t])
    return ts


def matrix_nash_conv(
    game,
    policy: Policy,
    *,
    seed: int = 0,
    max_states: int = DEFAULT_MAX_STATES,
    label: str = "policy",
) -> NashConvResult:
    """Exact NashConv of ``policy`` in a one-shot, repeated or multi-stage :class:`games.matrix.MatrixGame`.

    See the module docstring. The state count checked against ``max_states``
    is the number of distinct states (or, for a mixture, histories) expanded.
    """
    from games.solvers import best_response_values, expected_payoffs, player_gains

    rng = np.random.default_rng(seed)
    n_players = game.info.num_players
    counts = game.info.actions_per_player
    if game.is_normal_form:
        ts = game.vector(1, seed).reset()
        probs = policy_probs(policy, ts.obs[0], ts.legal[0], np.arange(n_players), rng, label)
        profile = [probs[p, : counts[p]] for p in range(n_players)]
        payoffs = game.payoff_tensor
        return _exact(
            player_gains(payoffs, profile),
            expected_payoffs(payoffs, profile),
            best_response_values(payoffs, profile),
            1,
        )
    mixture = isinstance(policy, MixturePolicy)
    members = policy.policies if mixture else [policy]
    joint = np.array(list(np.ndindex(*counts)), dtype=np.int64)  # [J, P]
    n_joint = len(joint)
    # Level by level: node histories, probabilities, children and rewards.
    hist = np.zeros((1, 0, n_players), dtype=np.int64)
    reach = np.ones((1, len(members), n_players))  # [N, K, P] own reach (mixtures)
    levels = []
    total = 0
    while len(hist):
        total += len(hist)
        if total > max_states or len(hist) * n_joint > 4 * max_states:
            raise ExactLimitError(
                f"{game.info.name}: more than {max_states:,} states to expand, over the exact "
                "NashConv limit; use the exploiter lower bound (arena eval --nash --budget SECONDS) "
                "or raise max_states"
            )
        ts = _replay(game, hist)
        n = len(hist)
        member_probs = np.zeros((len(members), n, n_players, game.info.num_actions))
        for m, pol in enumerate(members):
            for p in range(n_players):
                member_probs[m, :, p] = policy_probs(
                    pol, ts.obs[:, p], ts.legal[:, p], np.full(n, p), rng, label
                )
        if mixture:
            probs = np.stack(
                [
                    behaviour_mixture(member_probs[:, :, p], reach[:, :, p].T, policy.weights)
                    for p in range(n_players)
                ],
                axis=1,
            )
        else:
            probs = member_probs[0]
        child_hist = np.concatenate(
            [np.repeat(hist, n_joint, axis=0), np.tile(joint, (n, 1))[:, None, :]], axis=1
        )
        cts = _replay(game, child_hist)
        rewards = cts.rewards.reshape(n, n_joint, n_players)
        alive = ~cts.done
        child = np.full(n * n_joint, -1, dtype=np.int64)
        if mixture:
            keep = np.flatnonzero(alive)
            child[keep] = np.arange(len(keep))
            # Each member's own reach through its own action at this node.
            # own[k, node, j, p]: member k's probability of joint[j, p] as player p.
            own = np.stack(
                [member_probs[:, :, p, :][:, :, joint[:, p]] for p in range(n_players)], axis=-1
            )  # [K, N, J, P]
            child_reach = reach.transpose(1, 0, 2)[:, :, None, :] * own  # [K, N, J, P]
            reach = child_reach.reshape(len(members), n * n_joint, n_players)[:, keep].transpose(
                1, 0, 2
            )
            next_hist = child_hist[keep]
        else:
            # Merge children with equal observations: the observation is a Markov state.
            keys = {}
            reps = []
            for c in np.flatnonzero(alive):
                key = cts.state[c].tobytes()
                if key not in keys:
                    keys[key] = len(reps)
                    reps.append(c)
                child[c] = keys[key]
            next_hist = child_hist[np.array(reps, dtype=np.int64)] if reps else child_hist[:0]
            reach = np.ones((len(next_hist), 1, n_players))
        levels.append((probs, child.reshape(n, n_joint), rewards))
        hist = next_hist
    # Backward induction: on-policy values and each player's best-response value.
    v_next = np.zeros((0, n_players))
    br_next = np.zeros((0, n_players))
    for probs, child, rewards in reversed(levels):
        # probs [N, P, A]; child [N, J]; rewards [N, J, P]
        per_player = np.stack(
            [probs[:, p, joint[:, p]] for p in range(n_players)], axis=-1
        )  # [N, J, P]
        joint_prob = per_player.prod(-1)  # [N, J]
        has = child >= 0
        cont = np.where(has[..., None], v_next[np.maximum(child, 0)] if len(v_next) else 0.0, 0.0)
        v = np.einsum("nj,njp->np", joint_prob, rewards + cont)
        br = np.zeros_like(v)
        for i in range(n_players):
            others = np.prod(np.delete(per_player, i, axis=-1), axis=-1)  # [N, J]
            cont_i = np.where(has, br_next[np.maximum(child, 0), i] if len(br_next) else 0.0, 0.0)
            q = others * (rewards[..., i] + cont_i)  # [N, J]
            by_action = np.zeros((len(q), counts[i]))
            np.add.at(by_action.T, joint[:, i], q.T)
            br[:, i] = by_action.max(-1)
        v_next, br_next = v, br
    values, br_values = v_next[0], br_next[0]
    return _exact(br_values - values, values, br_values, total)


# ---------------------------------------------------------------------------
# Dispatch


def exact_nash_conv(
    game: Game,
    policy: Policy,
    *,
    seed: int = 0,
    max_states: int = DEFAULT_MAX_STATES,
    label: str = "policy",
) -> NashConvResult:
    """Exact NashConv of ``policy`` (see the module docstring for the methods).

    Raises:
        ExactLimitError: the game is too large (more than ``max_states``
            decision nodes) or of a type without an exact method here
            (continuous actions, PettingZoo); the message points to the
            exploiter lower bound.
        PolicyContractError: the policy broke the probability contract.
    """
    from games.matrix import MatrixGame

    if isinstance(game, MatrixGame):
        return matrix_nash_conv(game, policy, seed=seed, max_states=max_states, label=label)
    if getattr(game, "pyspiel_game", None) is not None:
        return openspiel_nash_conv(game, policy, seed=seed, max_states=max_states, label=label)
    raise ExactLimitError(
        f"{game.info.name}: no exact NashConv for this kind of game (continuous actions or an "
        "external environment); use the exploiter lower bound (arena eval --nash --budget SECONDS)"
    )
