"""Any arena game as a PettingZoo env: ``games.to_pettingzoo(game)`` (parallel)
and ``games.to_pettingzoo_aec(game)`` (agent by agent).

Both wrap ``game.vector(1, seed)``: one copy, stepped through the batched
interface, so chance, rewards and legality are exactly the game's.

Agents are ``"player_0" .. "player_{P-1}"`` (seat ``p`` is ``player_p``).

Spaces, as in PettingZoo's classic envs:

* discrete games: ``action_space(agent) = Discrete(n_p)`` and
  ``observation_space(agent) = Dict({"observation": Box(-inf, inf, (O,), float32),
  "action_mask": Box(0, 1, (n_p,), int8)})``. The mask marks the legal actions
  of an agent that must act now and is all zeros for one that must not;
* continuous games (``GameInfo.continuous_actions``): ``Box(action_low,
  action_high, (D,), float32)`` actions and a plain ``Box`` observation (every
  agent acts at every step and every action in the box is legal, as in MPE).

Observations of size 0 are given as one zero (PettingZoo rejects empty arrays).
``state()`` returns the game's global state (``state_space``).

Parallel env. Every agent stays in ``agents`` until the game ends; then all
are terminated at once (arena games end for everyone together; there is no
truncation). Turn-based games step in parallel too: only the acting agent's
action (the one with a non-zero mask) is used and the others' are ignored,
and may be left out. An illegal action raises :class:`games.GameError`.

AEC env. ``agent_selection`` walks through the agents that must act at the
current decision: the single mover of a turn-based game, or every agent of a
simultaneous decision in seat order (their actions are collected, none sees
the others', and the game steps after the last one). Rewards follow the
PettingZoo convention: each step's rewards go to ``rewards`` and accumulate
in ``_cumulative_rewards`` until the agent's own turn. At the end every agent
is terminated and must be stepped with ``None`` to leave.

Seeds. ``reset(seed=s)`` starts a fresh stream: the same seed gives the same
games (PettingZoo's ``seed_test`` / ``parallel_seed_test``). ``reset()``
without a seed continues the current stream; the first reset without any seed
draws one from the operating system, as Gymnasium does.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv

from games.core import Game, GameError, TimeStep

__all__ = ["GameAECEnv", "GameParallelEnv", "to_pettingzoo", "to_pettingzoo_aec"]


def _as_game(game: Game | str) -> Game:
    if isinstance(game, str):
        import games

        return games.load(game)
    if not isinstance(game, Game):
        raise GameError(
            f"to_pettingzoo takes a games.Game or a spec string, got {type(game).__name__}"
        )
    return game


class _Single:
    """One copy of a game: the shared core of both envs."""

    def __init__(self, game: Game, render_mode: str | None):
        if render_mode not in (None, "ansi"):
            raise GameError(f"render_mode={render_mode!r} is not supported; use None or 'ansi'")
        self.game = game
        self.info = info = game.info
        self.render_mode = render_mode
        self.possible_agents = [f"player_{p}" for p in range(info.num_players)]
        self._index = {a: p for p, a in enumerate(self.possible_agents)}
        self._obs_size = max(info.obs_size, 1)
        self._env = None
        self._ts: TimeStep | None = None
        if info.continuous_actions:
            d = info.num_actions
            self.action_spaces = {
                a: spaces.Box(info.action_low, info.action_high, (d,), np.float32)
                for a in self.possible_agents
            }
            self.observation_spaces = {
                a: spaces.Box(-np.inf, np.inf, (self._obs_size,), np.float32)
                for a in self.possible_agents
            }
        else:
            self.action_spaces = {
                a: spaces.Discrete(n) for a, n in zip(self.possible_agents, info.actions_per_player)
            }
            self.observation_spaces = {
                a: spaces.Dict(
                    {
                        "observation": spaces.Box(-np.inf, np.inf, (self._obs_size,), np.float32),
                        "action_mask": spaces.Box(0, 1, (n,), np.int8),
                    }
                )
                for a, n in zip(self.possible_agents, info.actions_per_player)
            }
        self.state_space = spaces.Box(-np.inf, np.inf, (max(info.state_size, 1),), np.float32)

    def start(self, seed: int | None) -> TimeStep:
        if seed is not None or self._env is None:
            if seed is None:
                seed = int(np.random.SeedSequence().entropy % (2**63))
            self._env = self.game.vector(1, int(seed))
        self._ts = self._env.reset()
        return self._ts

    def observe(self, p: int):
        ts = self._ts
        o = np.zeros(self._obs_size, np.float32)
        o[: self.info.obs_size] = ts.obs[0, p]
        if self.info.continuous_actions:
            return o
        n = self.info.actions_per_player[p]
        return {"observation": o, "action_mask": ts.legal[0, p, :n].astype(np.int8)}

    def joint_action(self, actions: dict) -> np.ndarray:
        """``[1, P]`` (or ``[1, P, D]``) from the agents' actions; acting agents must give one."""
        info, ts = self.info, self._ts
        if info.continuous_actions:
            joint = np.zeros((1, info.num_players, info.num_actions), np.float32)
        else:
            joint = np.zeros((1, info.num_players), np.int64)
        for p in np.flatnonzero(ts.acting[0]).tolist():
            agent = self.possible_agents[p]
            if agent not in actions or actions[agent] is None:
                raise GameError(
                    f"{agent} must act now but has no action; give one for every agent with a legal action"
                )
            a = actions[agent]
            if info.continuous_actions:
                joint[0, p] = np.asarray(a, np.float32).reshape(-1)
            else:
                joint[0, p] = int(np.asarray(a).reshape(()))
        return joint

    def check_action(self, p: int, action) -> None:
        """Raise :class:`GameError` unless ``action`` is legal for acting player ``p`` now."""
        info, agent = self.info, self.possible_agents[p]
        if action is None:
            raise GameError(f"{agent} must act now; None is only for agents that are done")
        if info.continuous_actions:
            a = np.asarray(action, np.float64).reshape(-1)
            ok = a.shape == (info.num_actions,) and bool(
                np.all((a >= info.action_low - 1e-5) & (a <= info.action_high + 1e-5))
            )
            if not ok:
                raise GameError(
                    f"illegal action {a.tolist()} for {agent}: give {info.num_actions} numbers "
                    f"in [{info.action_low}, {info.action_high}]"
                )
            return
        legal = self._ts.legal[0, p]
        a = np.asarray(action).reshape(-1)
        if (
            a.size != 1
            or a.dtype.kind not in "iu"
            or not 0 <= int(a[0]) < len(legal)
            or not legal[int(a[0])]
        ):
            raise GameError(
                f"illegal action {action!r} for {agent}; legal actions: {np.flatnonzero(legal).tolist()}"
            )

    def step(self, joint: np.ndarray) -> TimeStep:
        self._ts = self._env.step(joint)
        return self._ts

    def state(self) -> np.ndarray:
        s = np.zeros(self.state_space.shape, np.float32)
        s[: self.info.state_size] = self._ts.state[0]
        return s

    def render(self) -> str | None:
        if self.render_mode is None or self._ts is None:
            return None
        text = getattr(self._env, "render", None)
        if text is not None:
            return text(0)
        return f"{self.info.name}: obs {self._ts.obs[0].tolist()}"


def _attach(env, game: Game, render_mode: str | None) -> None:
    """The attributes both exported env kinds share, read from one ``_Single`` core."""
    env._core = _Single(game, render_mode)
    env.game = game
    env.render_mode = render_mode
    env.metadata = {
        "name": game.info.name,
        "render_modes": ["ansi"],
        "is_parallelizable": True,
    }
    env.possible_agents = list(env._core.possible_agents)
    env.agents = []
    env.observation_spaces = env._core.observation_spaces
    env.action_spaces = env._core.action_spaces
    env.state_space = env._core.state_space


class GameParallelEnv(ParallelEnv):
    """An arena game as a PettingZoo ``ParallelEnv`` (see the module docstring)."""

    def __init__(self, game: Game, render_mode: str | None = None):
        _attach(self, game, render_mode)

    def observation_space(self, agent: str):
        return self.observation_spaces[agent]

    def action_space(self, agent: str):
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        self._core.start(seed)
        self.agents = list(self.possible_agents)
        obs = {a: self._core.observe(p) for p, a in enumerate(self.possible_agents)}
        return obs, {a: {} for a in self.agents}

    def step(self, actions: dict):
        if not self.agents:
            raise GameError("the game is over; call reset() before step()")
        ts = self._core.step(self._core.joint_action(actions))
        done = bool(ts.done[0])
        agents = self.agents
        obs = {a: self._core.observe(self._core._index[a]) for a in agents}
        rewards = {a: float(ts.rewards[0, self._core._index[a]]) for a in agents}
        terminations = dict.fromkeys(agents, done)
        truncations = dict.fromkeys(agents, False)
        infos = {a: {} for a in agents}
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        return self._core.state()

    def render(self) -> str | None:
        return self._core.render()

    def close(self) -> None:
        pass


class GameAECEnv(AECEnv):
    """An arena game as a PettingZoo ``AECEnv`` (see the module docstring)."""

    def __init__(self, game: Game, render_mode: str | None = None):
        super().__init__()
        _attach(self, game, render_mode)
        self._queue: list[int] = []
        self._pending: dict[str, object] = {}

    def observation_space(self, agent: str):
        return self.observation_spaces[agent]

    def action_space(self, agent: str):
        return self.action_spaces[agent]

    def _start_decision(self) -> None:
        self._queue = np.flatnonzero(self._core._ts.acting[0]).tolist()
        self._pending = {}
        self.agent_selection = self.possible_agents[self._queue[0]]

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self._core.start(seed)
        self.agents = list(self.possible_agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {} for a in self.agents}
        self._skip_agent_selection = None
        self._start_decision()

    def observe(self, agent: str):
        return self._core.observe(self._core._index[agent])

    def step(self, action) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._core.check_action(self._core._index[agent], action)
        self._cumulative_rewards[agent] = 0.0
        self._pending[agent] = action
        self._queue.pop(0)
        self._clear_rewards()
        if self._queue:  # more agents to move at this simultaneous decision
            self.agent_selection = self.possible_agents[self._queue[0]]
            self._accumulate_rewards()
            return
        ts = self._core.step(self._core.joint_action(self._pending))
        for a in self.agents:
            self.rewards[a] = float(ts.rewards[0, self._core._index[a]])
        if ts.done[0]:
            self.terminations = dict.fromkeys(self.agents, True)
            self._accumulate_rewards()
            self._deads_step_first()
            return
        self._accumulate_rewards()
        self._start_decision()

    def state(self) -> np.ndarray:
        return self._core.state()

    def render(self) -> str | None:
        return self._core.render()

    def close(self) -> None:
        pass


def to_pettingzoo(game: Game | str, render_mode: str | None = None) -> GameParallelEnv:
    """``game`` (or a spec for :func:`games.load`) as a PettingZoo ``ParallelEnv``.

    Raises:
        GameError: not a game, or an unknown ``render_mode`` (only ``'ansi'``).
    """
    return GameParallelEnv(_as_game(game), render_mode)


def to_pettingzoo_aec(game: Game | str, render_mode: str | None = None) -> GameAECEnv:
    """``game`` (or a spec) as a PettingZoo ``AECEnv``: the natural form of turn-based games.

    Simultaneous games work too: their agents move one after another without
    seeing each other's choice.
    """
    return GameAECEnv(_as_game(game), render_mode)
