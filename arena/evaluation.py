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
* A :class:`arena.metagame.MixturePolicy` is evaluated as its
  behaviour-equivalent strategy (members weighted by their own reach of each
  information state, :func:`arena.metagame.behaviour_mixture`); in repeated
  matrix games that strategy depends on the whole history, so states are not
  merged for mixtures.

Games too large for that (more than ``max_states`` decision nodes) raise
:class:`ExactLimitError`. :func:`nash_report` then trains an *exploiter*
(:func:`exploiter_lower_bound`): a learner from :mod:`agents.registry` trained
by :func:`arena.train.train` against the frozen policy for the budget, whose
measured gain at each seat (minus ``z`` standard errors) is a lower bound on
that player's best-response gain. Every result says which it is in
``method``: ``"exact"`` or ``"exploiter_lower_bound"``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time

import numpy as np

from agents.base import Policy
from arena.metagame import MixturePolicy, behaviour_mixture
from games.core import CONSTANT_SUM, ZERO_SUM, Game, GameError

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
    player as one batch. A :class:`arena.metagame.MixturePolicy` is tabulated
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

        from arena.exact_payoffs import payoff_matrix, realization_plans, sequence_tree

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


# ---------------------------------------------------------------------------
# Exploiter lower bound


@dataclasses.dataclass(frozen=True)
class ExploiterConfig:
    """How the exploiter lower bound is measured."""

    algo: str = "iql"
    """Learner trained as the best responder (an agents.registry name)."""
    overrides: tuple[tuple[str, object], ...] = ()
    """Config overrides of that learner, as (field, value) pairs."""
    batch: int = 64
    """Environment copies stepped together while training."""
    eval_games: int = 4000
    """Games per seat measuring the exploiter, and games measuring the policy in self-play."""
    z: float = 2.0
    """Standard errors subtracted from each measured gain (one-sided 97.7% confidence)."""
    device: str = "cpu"
    """Torch device of the exploiter."""


class _OutOfTime(Exception):
    pass


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else 0.0


def exploiter_lower_bound(
    game: Game,
    policy: Policy,
    budget: float,
    seed: int = 0,
    config: ExploiterConfig = ExploiterConfig(),
) -> NashConvResult:
    """A lower bound on each player's best-response gain from a trained exploiter.

    A learner (``config.algo``) is trained with :func:`arena.train.train`
    against the frozen ``policy`` (the learner takes a random seat per
    episode, the policy the others) for ``budget`` seconds. Then (on top of
    the budget: ``(P + 1) * eval_games`` games), for each seat ``i``, :func:`arena.rollout.play` measures the frozen
    exploiter's return at seat ``i`` against the policy (``eval_games``
    games) and the policy's own return at seat ``i`` in self-play. The gain
    ``BR_i - u_i`` minus ``z`` standard errors, floored at 0, is the bound
    (no exploiter does better than a best response, and the true gain is never
    negative).
    """
    from agents.registry import make_learner
    from arena.rollout import play
    from arena.train import train

    if budget <= 0:
        raise ExactLimitError(
            f"--budget must be positive for an exploiter lower bound, got {budget}"
        )
    n_players = game.info.num_players
    exploiter = make_learner(
        config.algo, game.info, seed=seed, device=config.device, **dict(config.overrides)
    )
    deadline = time.monotonic() + budget
    steps = [0]

    def on_update(metrics: dict) -> None:
        steps[0] = int(metrics.get("env_steps", 0))
        if time.monotonic() > deadline:
            raise _OutOfTime

    try:
        train(
            exploiter, game, 1 << 62, seed, batch=config.batch, opponent=policy, on_update=on_update
        )
    except _OutOfTime:
        pass
    frozen = exploiter.freeze()
    n = config.eval_games
    on_policy = play(game, [policy], n, seed + 1, rotate=False)
    br = np.zeros(n_players)
    values = np.zeros(n_players)
    gains = np.zeros(n_players)
    stderr = np.zeros(n_players)
    for i in range(n_players):
        seatings = np.ones((n, n_players), dtype=np.int64)
        seatings[:, i] = 0
        res = play(game, [frozen, policy], n, seed + 2 + i, seatings=seatings)
        br[i], se_br = _mean_se(res.returns[:, i])
        values[i], se_v = _mean_se(on_policy.returns[:, i])
        stderr[i] = math.hypot(se_br, se_v)
        gains[i] = max(0.0, br[i] - values[i] - config.z * stderr[i])
    return NashConvResult(gains, values, br, LOWER_BOUND, stderr, steps[0])


# ---------------------------------------------------------------------------
# The report behind `arena eval --nash`


def nash_report(
    game: Game,
    spec: str,
    policy: Policy,
    label: str,
    budget: float = 60.0,
    seed: int = 0,
    *,
    max_states: int = DEFAULT_MAX_STATES,
    exploiter: ExploiterConfig = ExploiterConfig(),
) -> dict:
    """NashConv and exploitability of ``policy`` as a JSON-friendly dict.

    Exact where :func:`exact_nash_conv` can (``method: "exact"``); otherwise,
    with ``budget > 0`` seconds, the exploiter lower bound (``method:
    "exploiter_lower_bound"``, with ``note`` saying why).

    Keys: ``game``, ``policy``, ``nash_conv``, ``exploitability``,
    ``per_player`` (best-response gains), ``method``, ``seconds``, and also
    ``values``, ``best_response_values``, ``per_player_stderr``, ``states``,
    ``kind``.

    Raises:
        ExactLimitError: the game is too large for an exact value and
            ``budget <= 0``; the message says to pass ``--budget``.
    """
    t0 = time.perf_counter()
    note = None
    try:
        res = exact_nash_conv(game, policy, seed=seed, max_states=max_states, label=label)
    except ExactLimitError as e:
        if budget is None or budget <= 0:
            raise
        note = str(e).split(";")[0]
        res = exploiter_lower_bound(game, policy, budget, seed, exploiter)
    out = {
        "game": spec,
        "policy": label,
        "nash_conv": res.nash_conv,
        "exploitability": res.exploitability,
        "per_player": [float(x) for x in res.per_player],
        "method": res.method,
        "seconds": time.perf_counter() - t0,
        "values": [float(x) for x in res.values],
        "best_response_values": [float(x) for x in res.best_response_values],
        "per_player_stderr": [float(x) for x in res.stderr],
        "states": res.states,
        "kind": game.info.kind,
    }
    if game.info.kind not in (ZERO_SUM, CONSTANT_SUM):
        out["exploitability_note"] = "not constant-sum: exploitability is NashConv / players"
    if note:
        out["note"] = note
    return out


# ---------------------------------------------------------------------------
# `arena league eval DB`: the population now


def evaluate_league(
    db_path,
    games_per_pair: int | None = None,
    seed: int = 0,
    *,
    max_states: int = DEFAULT_MAX_STATES,
    record: bool = True,
    device: str = "cpu",
) -> dict:
    """The population evaluation of a league's active members now (``arena league eval``).

    Computed by :func:`evaluate_population`, the function the league loop
    runs each evaluation period, so the two agree: the frozen meta-game
    (exact where :func:`exact_payoff_table` can, else every pair plays
    ``games_per_pair`` games, default the league's
    ``evaluation.games_per_pair``), each learner against it, and exact
    NashConv where the game is small enough (``null`` with the reason
    otherwise). With ``record`` the record is added to the store as a
    ``league`` evaluation (what ``arena report`` reads) and the gaps as
    ``nash_gap`` evaluations, when the store can be opened for writing (not
    while the league runs).

    Returns:
        :meth:`arena.population.PopulationEvaluation.to_json`, plus
        ``recorded`` (and ``record_note`` when recording failed).
    """
    import games
    from arena.league import member_policy
    from leagues.config import config_from_dict
    from leagues.store import Store, StoreError

    with Store.open(db_path, readonly=True) as store:
        stored = store.config()
        if stored is None:
            raise StoreError(f"{db_path}: the league has no config yet; run it first")
        cfg = config_from_dict(stored[1], str(db_path), check_game=False)
        spec = cfg.league.game
        game = games.load(spec)
        members = store.members(active=True)
        learner_cfgs = {lc.name: lc for lc in cfg.learners}
        usable, policies = [], []
        for m in members:
            try:
                policies.append(member_policy(store, m, game.info, learner_cfgs, device))
                usable.append(m)
            except StoreError:  # a learner with no checkpoint yet
                continue
        step = max([m.step for m in store.matches()[-1:]] + [0])
    rec = evaluate_population(
        game,
        spec,
        [m.name for m in usable],
        [m.kind for m in usable],
        policies,
        step,
        games_per_pair or cfg.evaluation.games_per_pair,
        seed,
        max_states=max_states,
    )
    out = rec.to_json()
    if not usable or not record:
        return out
    try:
        with Store.open(db_path) as store:
            with store.batch():
                store.add_evaluation(step, "league", out)
                for g in rec.gap_rows():
                    store.add_evaluation(step, "nash_gap", g)
        out["recorded"] = True
    except StoreError as e:
        out["recorded"] = False
        out["record_note"] = f"results not recorded: {str(e).splitlines()[0]}"
    return out


def _fmt_cell(x, digits: int = 4) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def league_eval_command(args) -> int:
    """``arena league eval DB [--games N] [--json]``."""
    import json

    from arena.population import PopulationEvaluation

    games = getattr(args, "games", None)
    if games is not None:
        from arena.rollout import MAX_GAMES, check_count

        check_count("--games", games, 1, MAX_GAMES, "(games per pair)")
    out = evaluate_league(args.db, games)
    if getattr(args, "json", False):
        print(json.dumps(out, indent=2))
        return 0
    rec = PopulationEvaluation.from_json(
        {k: v for k, v in out.items() if k not in ("recorded", "record_note")}
    )
    for line in population_lines(rec):
        print(line)
    if out.get("record_note"):
        print(out["record_note"])
    return 0


def population_lines(rec) -> list[str]:
    """A :class:`arena.population.PopulationEvaluation` as text lines (``arena league eval``)."""
    lines = [
        f"{rec.game} ({rec.kind}): {len(rec.members)} frozen members and references, "
        f"{len(rec.learners)} learners, step {rec.step:,}"
    ]
    if rec.note:
        lines.append(rec.note)
    if rec.members:
        label = "exact" if rec.exact else f"estimated, {rec.table_method}"
        lines.append(f"payoff table: {label}; meta-Nash by {rec.meta_method}")
        w = np.array(rec.meta_nash)
        r = np.array(rec.nash_averaging) if rec.nash_averaging is not None else np.zeros(len(w))
        lines.append(f"  {'member':<28} {'meta-Nash':>10} {'Nash avg':>10}")
        for i in np.lexsort((-w, -r)):
            avg = _fmt_cell(rec.nash_averaging[i]) if rec.nash_averaging is not None else "–"
            lines.append(f"  {rec.members[i]:<28} {w[i]:>10.4f} {avg:>10}")
        if rec.nash_averaging is None:
            lines.append(f"  Nash averaging: not given ({rec.nash_averaging_note})")
        for c in rec.cycles[:5]:
            lines.append("  cycle: " + " > ".join(rec.members[i] for i in c + c[:1]))
        if rec.cross_play is not None:
            cp = rec.cross_play
            lines.append(
                f"  self-play {_fmt_cell(cp['self_play'])}  cross-play "
                f"{_fmt_cell(cp['cross_play'])}  gap {_fmt_cell(cp['gap'])}"
            )
    for row in rec.learners:
        vs = _fmt_cell(row.vs_meta_nash)
        lines.append(
            f"  learner {row.name}: return {vs} against the meta-Nash ({row.method or '–'})"
        )
        lines.append(_gap_line(row.name, row.gap))
    if rec.members:
        lines.append(_gap_line("meta-Nash mixture", rec.meta_nash_gap))
    for f in rec.fallback:
        lines.append(f"  solver fallback: {f}")
    return lines


def _gap_line(who: str, gap) -> str:
    if gap.nash_conv is None:
        return f"  NashConv of {who}: not computed ({gap.note})"
    return f"  NashConv of {who}: {gap.nash_conv:.6f} (exact)"


def _restrict(meta, idx: list[int]):
    """The meta-game of the members ``idx`` alone."""
    ix = np.ix_(idx, idx)
    return dataclasses.replace(
        meta,
        names=tuple(meta.names[i] for i in idx),
        payoffs=meta.payoffs[ix],
        stderr=meta.stderr[ix],
        advantage=meta.advantage[ix],
        advantage_stderr=meta.advantage_stderr[ix],
        counts=meta.counts[ix],
    )


def _gap(game, policy, label: str, seed: int, max_states: int):
    from arena.population import Gap

    try:
        res = exact_nash_conv(game, policy, seed=seed, max_states=max_states, label=label)
    except ExactLimitError as e:
        return Gap(None, note=str(e).split(";")[0])
    return Gap(res.nash_conv, res.exploitability, tuple(res.per_player.tolist()), EXACT)


def _cells(x: np.ndarray) -> tuple:
    return tuple(
        tuple(float(v) if np.isfinite(v) else None for v in row) for row in np.atleast_2d(x)
    )


def evaluate_population(
    game,
    spec: str,
    names: list[str],
    kinds: list[str],
    policies: list,
    step: int,
    n: int,
    seed: int = 0,
    *,
    max_states: int = DEFAULT_MAX_STATES,
    backend=None,
    match_policies: list | None = None,
):
    """The population evaluation: the frozen meta-game and each learner against it.

    ``kinds`` are member kinds ('learner', 'snapshot', 'reference'). The
    meta-game (payoff table, meta-Nash, Nash averaging, dominance) is over the
    frozen members and references only; each learner gets its own row (its
    return against every frozen member) and its own exact NashConv, and the
    frozen meta-Nash mixture's NashConv is measured (PSRO's measure). Used by
    :func:`evaluate_league` and, periodically, by the league loop itself,
    which stores the result.

    The table is exact (:func:`exact_payoff_table`) where it can be, else
    sampled: each frozen pair and each learner-frozen pair plays ``n`` games
    (cooperative games: frozen self-play too) on ``backend`` (an
    :mod:`arena.backends` backend; None: here) with ``match_policies``
    (default ``policies``; the process and Ray backends need
    :class:`arena.backends.PolicySpec` s).

    Nash averaging (Balduzzi et al. 2018) is given for two-player zero-sum and
    constant-sum games, where the seat-balanced table is antisymmetric (up to
    a constant); elsewhere it is None with the reason.

    A degenerate payoff table never raises here: a solver that fails hands
    over to the next (:func:`arena.metagame.meta_nash`,
    :func:`arena.metagame.maxent_nash_noted`), and ``fallback`` lists one
    line per failure saying what was used instead.

    Returns:
        An :class:`arena.population.PopulationEvaluation`.
    """
    from arena.metagame import (
        cross_play,
        dominance_graph,
        empirical_metagame,
        meta_nash,
        metagame_from_table,
        mixture_policy,
        nash_averaging,
        records_from_match,
    )
    from arena.population import Gap, LearnerRow, PopulationEvaluation
    from arena.rollout import play
    from games.core import COOPERATIVE

    kind = game.info.kind
    frozen = [i for i, k in enumerate(kinds) if k != "learner"]
    live = [i for i, k in enumerate(kinds) if k == "learner"]
    empty = PopulationEvaluation(
        step=step,
        game=spec,
        kind=kind,
        members=tuple(names[i] for i in frozen),
        member_kinds=tuple(kinds[i] for i in frozen),
        payoffs=(),
        stderr=(),
        table_method="",
        meta_nash=(),
        meta_method="",
        nash_averaging=None,
        nash_averaging_weights=None,
        nash_averaging_note="no frozen member yet",
        dominance_edges=(),
        cycles=(),
        components=(),
        meta_nash_gap=Gap(None, note="no frozen member yet"),
    )
    if not policies:
        return dataclasses.replace(
            empty,
            members=(),
            member_kinds=(),
            note="no member with weights yet; run the league first",
        )
    if not frozen:
        learners = tuple(
            LearnerRow(
                names[i], (), (), "", None, _gap(game, policies[i], names[i], seed, max_states)
            )
            for i in live
        )
        return dataclasses.replace(
            empty,
            learners=learners,
            note="no frozen member or reference yet: the meta-game is over frozen members",
        )
    try:
        table = exact_payoff_table(game, policies, seed=seed, max_states=max_states)
        meta = metagame_from_table(names, table, kind, stderr=np.zeros_like(table))
        method = EXACT
    except ExactLimitError:
        pairs = [
            (i, j)
            for i, j in itertools.combinations_with_replacement(range(len(policies)), 2)
            if (i != j or kind == COOPERATIVE) and (kinds[i] != "learner" or kinds[j] != "learner")
        ]
        if backend is None:
            results = [
                play(game, [policies[i], policies[j]], n, seed + 7919 * i + j) for i, j in pairs
            ]
        else:
            from arena.backends import Match

            mp = policies if match_policies is None else match_policies
            matches = [Match((mp[i], mp[j]), n, seed + 7919 * i + j) for i, j in pairs]
            results = backend.play(game, spec, matches)
        records = []
        for (i, j), result in zip(pairs, results):
            records += records_from_match(i, j, result)
        meta = empirical_metagame(names, records, kind)
        method = f"sampled ({n} games per pair)"
    sub = _restrict(meta, frozen)
    nash = meta_nash(sub)
    _, dom = dominance_graph(sub)
    fallback = [f"meta-Nash: {nash.fallback}"] if nash.fallback else []
    if game.info.num_players == 2 and kind in (ZERO_SUM, CONSTANT_SUM):
        avg = nash_averaging(sub)
        averaging = (tuple(avg.ratings.tolist()), tuple(avg.weights.tolist()), None)
        if avg.fallback:
            fallback.append(f"Nash averaging: {avg.fallback}")
    else:
        averaging = (
            None,
            None,
            f"{kind.replace('_', '-')} {game.info.num_players}-player game: Nash averaging "
            "is defined for two-player zero-sum (antisymmetric) meta-games",
        )
    cross = None
    if kind == COOPERATIVE:
        cp = cross_play(sub)
        cross = {"self_play": cp.self_play, "cross_play": cp.cross_play, "gap": cp.gap}
        cross = {k: (float(v) if np.isfinite(v) else None) for k, v in cross.items()}
    weights = nash.weights
    learners = []
    for i in live:
        row = meta.payoffs[i, frozen]
        learners.append(
            LearnerRow(
                names[i],
                tuple(float(x) if np.isfinite(x) else None for x in row),
                tuple(float(x) if np.isfinite(x) else None for x in meta.stderr[i, frozen]),
                method,
                float(row @ weights) if np.all(np.isfinite(row)) else None,
                _gap(game, policies[i], names[i], seed, max_states),
            )
        )
    mix = mixture_policy([policies[i] for i in frozen], weights)
    return dataclasses.replace(
        empty,
        payoffs=_cells(sub.payoffs),
        stderr=_cells(sub.stderr),
        table_method=method,
        meta_nash=tuple(weights.tolist()),
        meta_method=nash.method,
        nash_averaging=averaging[0],
        nash_averaging_weights=averaging[1],
        nash_averaging_note=averaging[2],
        dominance_edges=tuple(tuple(e) for e in dom.edges),
        cycles=tuple(tuple(c) for c in dom.cycles),
        components=tuple(tuple(c) for c in dom.components),
        meta_nash_gap=_gap(game, mix, "meta-Nash mixture", seed, max_states),
        learners=tuple(learners),
        cross_play=cross,
        fallback=tuple(fallback),
    )
