"""Small continuous-action cooperative tasks, fully vectorized in numpy.

``games.load("control:NAME")`` or ``"control:NAME(key=value, ...)"`` builds one:

* ``rendezvous(players=2, dim=2, horizon=10, speed=0.2)``: ``players`` agents
  start at uniform random points of the box ``[-1, 1]^dim`` and must meet. Each
  round every agent moves by ``speed * action`` (``action in [-1, 1]^dim``,
  positions clipped to the box) and every agent gets minus the mean pairwise
  Euclidean distance after the move. After ``horizon`` rounds the episode
  ends. This is the cooperative navigation idea of the multi-agent particle
  environments (Lowe et al. 2017, Sec. 5) reduced to its core: no landmarks,
  no collisions, no inertia.
* ``agreement(target=1.0)``: a one-shot game. Two agents each choose
  ``x_i in [-1, 1]`` and both get ``-(x_0 - x_1)^2 - (x_0 + x_1 - target)^2``:
  they must agree and their choices must add up to ``target``. The unique
  optimum is ``x_0 = x_1 = target / 2`` with return 0; uniform random play
  returns ``-4/3 - target^2`` on average (``-7/3`` for ``target = 1``).

Conventions for continuous games (``GameInfo.continuous_actions`` is True):

* ``num_actions`` is the action dimension ``D``; ``VectorEnv.step`` takes
  float actions ``[B, P, D]`` inside ``[action_low, action_high]``.
* ``legal [B, P, D] bool`` keeps the batched shape of discrete games but only
  carries the action dimension: it is all True for every acting player and
  all False for players that do not act (finished copies). There is no
  per-component legality; learners use ``acting`` and the bounds.
* Every player acts in every round (dynamics ``"simultaneous"``) and every
  player gets the same reward (kind ``"cooperative"``).

Chance (the starting positions of ``rendezvous``) comes from copy ``b``'s own
stream ``copy_rng(seed, first_copy + b)``, drawn at each reset of that copy, so
batched equals unbatched and the same seed gives the same episodes. There is
no autoreset: a finished copy keeps its last observation, has no acting
player and pays 0 until ``reset(mask=...)``.
"""

from __future__ import annotations

import numpy as np

from games.core import COOPERATIVE, SIMULTANEOUS, Game, GameError, GameInfo, TimeStep, copy_rng
from games.spec import parse_call

# Actions may overshoot the bounds by float rounding (e.g. a float32 tanh
# scaled to the box); beyond this they are rejected as illegal.
_BOUND_TOL = 1e-5


class ContinuousGame(Game):
    """A game with float actions ``[P, D]``; subclasses define the dynamics.

    A copy's state is a float vector ``x [X]`` plus its round counter ``t``.
    Subclasses implement, batched over ``n`` copies:

    * :meth:`initial` (one copy, with its own generator: the only chance);
    * :meth:`transition`: ``(x [n, X], actions [n, P, D]) -> (x' [n, X], rewards [n, P])``;
    * :meth:`observe`: ``(x [n, X], t [n]) -> (obs [n, P, O], state [n, S])``.
    """

    def __init__(
        self,
        *,
        name: str,
        num_players: int,
        dim: int,
        horizon: int,
        state_dim: int,
        obs_size: int,
        state_size: int,
        reward_range: tuple[float, float],
        params: dict,
        source: str = "",
    ) -> None:
        self.params = dict(params)
        self.source = source
        self.horizon = int(horizon)
        self.state_dim = int(state_dim)
        self.info = GameInfo(
            name=name,
            num_players=int(num_players),
            num_actions=int(dim),
            actions_per_player=(int(dim),) * int(num_players),
            kind=COOPERATIVE,
            dynamics=SIMULTANEOUS,
            obs_size=int(obs_size),
            state_size=int(state_size),
            reward_range=(float(reward_range[0]), float(reward_range[1])),
            max_episode_length=int(horizon),
            continuous_actions=True,
            action_low=-1.0,
            action_high=1.0,
        )

    def initial(self, rng: np.random.Generator) -> np.ndarray:
        """The state ``[X]`` of a fresh copy (chance drawn from ``rng``)."""
        return np.zeros(self.state_dim)

    def transition(self, x: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def observe(self, x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def describe(self) -> dict:
        d = super().describe()
        d.update(continuous_actions=True, params=self.params, source=self.source)
        return d

    def vector(self, batch: int, seed: int, *, first_copy: int = 0) -> ContinuousEnv:
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise GameError(f"batch must be an integer >= 1, got {batch!r}")
        return ContinuousEnv(self, int(batch), seed, first_copy)


class ContinuousEnv:
    """``B`` copies of a :class:`ContinuousGame` stepped with whole-batch numpy ops."""

    def __init__(self, game: ContinuousGame, batch: int, seed: int, first_copy: int = 0) -> None:
        self.game = game
        self.info = game.info
        self.batch = batch
        self._rngs = [copy_rng(seed, first_copy + b) for b in range(batch)]
        self._x = np.zeros((batch, game.state_dim))
        self._t = np.zeros(batch, dtype=np.int64)
        self._done = np.ones(batch, dtype=bool)

    def reset(self, mask: np.ndarray | None = None) -> TimeStep:
        """Restart every copy, or those where ``mask [B]`` is True."""
        if mask is None:
            rows = np.arange(self.batch)
        else:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (self.batch,):
                raise GameError(f"reset mask has shape {list(mask.shape)}, expected [{self.batch}]")
            rows = np.flatnonzero(mask)
        # One draw per copy from its own stream keeps batched == unbatched.
        for b in rows:
            self._x[b] = self.game.initial(self._rngs[b])
        self._t[rows] = 0
        self._done[rows] = False
        return self._time_step(np.zeros((self.batch, self.info.num_players)))

    def step(self, actions: np.ndarray) -> TimeStep:
        """Apply float ``actions [B, P, D]`` in every unfinished copy."""
        info = self.info
        actions = np.asarray(actions)
        shape = (self.batch, info.num_players, info.num_actions)
        if actions.shape != shape:
            raise GameError(
                f"actions have shape {list(actions.shape)}, expected {list(shape)} "
                "(one float vector per copy and player in a continuous game)"
            )
        if actions.dtype.kind != "f":
            raise GameError(
                f"actions have dtype {actions.dtype}; pass float actions in a continuous game"
            )
        live = ~self._done
        self._check_legal(actions, live)
        a = np.clip(actions.astype(np.float64), info.action_low, info.action_high)
        rewards = np.zeros((self.batch, info.num_players))
        rows = np.flatnonzero(live)
        if len(rows):
            x_next, r = self.game.transition(self._x[rows], a[rows])
            self._x[rows] = x_next
            rewards[rows] = r
            self._t[rows] += 1
            self._done[rows] = self._t[rows] >= self.game.horizon
        return self._time_step(rewards)

    def _check_legal(self, actions: np.ndarray, live: np.ndarray) -> None:
        lo, hi = self.info.action_low - _BOUND_TOL, self.info.action_high + _BOUND_TOL
        bad = ~((actions >= lo) & (actions <= hi)) & live[:, None, None]  # NaN is bad too
        if bad.any():
            b, p, d = np.argwhere(bad)[0]
            raise GameError(
                f"illegal action {float(actions[b, p, d])!r} for player {p} (component {d}) in copy {b}: "
                f"actions must lie in [{self.info.action_low}, {self.info.action_high}]"
            )

    def _time_step(self, rewards: np.ndarray) -> TimeStep:
        info = self.info
        done = self._done.copy()
        obs, state = self.game.observe(self._x, self._t)
        acting = np.repeat(~done[:, None], info.num_players, axis=1)
        legal = np.repeat(acting[:, :, None], info.num_actions, axis=2)
        return TimeStep(
            obs=obs.astype(np.float32),
            legal=legal,
            acting=acting,
            rewards=rewards,
            done=done,
            state=state.astype(np.float32),
        )


# ---------------------------------------------------------------------------
# The tasks


def pairwise_distance(pos: np.ndarray) -> np.ndarray:
    """Mean Euclidean distance over all pairs of points, ``pos [n, P, D] -> [n]``."""
    diff = pos[:, :, None, :] - pos[:, None, :, :]
    dist = np.sqrt((diff**2).sum(-1))
    p = pos.shape[1]
    return dist.sum((1, 2)) / (p * (p - 1))


class Rendezvous(ContinuousGame):
    """Agents in ``[-1, 1]^dim`` must meet; reward = -mean pairwise distance.

    Observation of player ``i`` (``O = P * dim + 1``): its own position, the
    other players' positions relative to its own (in seat order), and the
    fraction of rounds left. Global state (``S = P * dim + 1``): every position
    in seat order and the fraction of rounds left.
    """

    def __init__(self, players: int = 2, dim: int = 2, horizon: int = 10, speed: float = 0.2):
        _check_int("rendezvous", "players", players, 2, 8)
        _check_int("rendezvous", "dim", dim, 1, 3)
        _check_int("rendezvous", "horizon", horizon, 1, 1000)
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0 < speed <= 2:
            raise GameError(f"rendezvous: speed must be a number in (0, 2], got {speed!r}")
        self.players, self.dim, self.speed = players, dim, float(speed)
        size = players * dim + 1
        worst = 2.0 * np.sqrt(dim)  # the box's diagonal
        super().__init__(
            name=_spec_name(
                "rendezvous",
                dict(players=players, dim=dim, horizon=horizon, speed=speed),
                _RENDEZVOUS_DEFAULTS,
            ),
            num_players=players,
            dim=dim,
            horizon=horizon,
            state_dim=players * dim,
            obs_size=size,
            state_size=size,
            reward_range=(-horizon * worst, 0.0),
            params=dict(players=players, dim=dim, horizon=horizon, speed=float(speed)),
            source="Lowe et al. (2017), Multi-Agent Actor-Critic for Mixed Cooperative-Competitive Environments, Sec. 5",
        )

    def initial(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, self.players * self.dim)

    def transition(self, x: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = x.reshape(-1, self.players, self.dim)
        pos = np.clip(pos + self.speed * actions, -1.0, 1.0)
        reward = -pairwise_distance(pos)
        return pos.reshape(len(x), -1), np.repeat(reward[:, None], self.players, axis=1)

    def observe(self, x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, p, d = len(x), self.players, self.dim
        pos = x.reshape(n, p, d)
        left = (1.0 - t / self.horizon)[:, None]
        state = np.concatenate([x, left], axis=1)
        rel = pos[:, None, :, :] - pos[:, :, None, :]  # [n, i, j, D]: j relative to i
        others = ~np.eye(p, dtype=bool)
        rel = rel[:, others].reshape(n, p, (p - 1) * d)
        obs = np.concatenate([pos, rel, np.repeat(left[:, None, :], p, axis=1)], axis=2)
        return obs, state

    def action_name(self, player: int, action: int) -> str:
        return ("dx", "dy", "dz")[action]


def rendezvous_optimal_return(positions: np.ndarray, speed: float, horizon: int) -> np.ndarray:
    """Exact optimal return of two-agent :class:`Rendezvous` from starts ``positions [n, 2, D]``.

    Each coordinate of the gap ``d = x_1 - x_0`` can shrink by at most
    ``2 * speed`` per round, independently of the others, and the distance
    grows with every ``|d_k|``; so shrinking every coordinate as fast as
    possible is optimal at every round at once: after round ``t`` the distance
    is ``|| max(0, |d_k| - 2 * speed * t) ||``. (Moving towards each other never
    leaves the box, so clipping does not bind.)
    """
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[1] != 2:
        raise ValueError(
            f"positions have shape {list(positions.shape)}, expected [n, 2, D] (two agents)"
        )
    gap = np.abs(positions[:, 1] - positions[:, 0])  # [n, D]
    t = np.arange(1, horizon + 1)[:, None, None]
    left = np.maximum(0.0, gap[None] - 2.0 * speed * t)  # [H, n, D]
    return -np.sqrt((left**2).sum(-1)).sum(0)


class Agreement(ContinuousGame):
    """One shot: both choose ``x_i in [-1, 1]`` and get ``-(x_0 - x_1)^2 - (x_0 + x_1 - target)^2``.

    The observation and state are a constant ``1.0`` (``O = S = 1``).
    """

    def __init__(self, target: float = 1.0):
        if (
            isinstance(target, bool)
            or not isinstance(target, (int, float))
            or not -2 <= target <= 2
        ):
            raise GameError(
                f"agreement: target must be a number in [-2, 2] (x_0 + x_1 can reach it), got {target!r}"
            )
        self.target = float(target)
        corners = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=np.float64)
        worst = float(
            self.payoff(corners[:, 0], corners[:, 1]).min()
        )  # concave: minimum at a corner
        super().__init__(
            name=_spec_name("agreement", dict(target=target), _AGREEMENT_DEFAULTS),
            num_players=2,
            dim=1,
            horizon=1,
            state_dim=0,
            obs_size=1,
            state_size=1,
            reward_range=(worst, 0.0),
            params=dict(target=self.target),
            source="a continuous coordination game with a known optimum (this module)",
        )

    def payoff(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        """The common payoff of choices ``x0``, ``x1``."""
        return -((x0 - x1) ** 2) - (x0 + x1 - self.target) ** 2

    @property
    def optimum(self) -> tuple[float, float]:
        """``(x_0, x_1)`` of the unique optimum (return 0)."""
        return self.target / 2, self.target / 2

    @property
    def random_return(self) -> float:
        """Expected return of uniform play on ``[-1, 1]``: ``-2/3 - (2/3 + target^2)``."""
        return -4.0 / 3.0 - self.target**2

    def transition(self, x: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = self.payoff(actions[:, 0, 0], actions[:, 1, 0])
        return x, np.repeat(r[:, None], 2, axis=1)

    def observe(self, x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(x)
        return np.ones((n, 2, 1)), np.ones((n, 1))

    def action_name(self, player: int, action: int) -> str:
        return "x"


# ---------------------------------------------------------------------------
# Loading by name

_RENDEZVOUS_DEFAULTS = dict(players=2, dim=2, horizon=10, speed=0.2)
_AGREEMENT_DEFAULTS = dict(target=1.0)
_TASKS = {
    "rendezvous": (Rendezvous, _RENDEZVOUS_DEFAULTS),
    "agreement": (Agreement, _AGREEMENT_DEFAULTS),
}


def names() -> list[str]:
    """Every control task name, sorted."""
    return sorted(_TASKS)


def load_control(text: str) -> ContinuousGame:
    """Build ``"NAME"`` or ``"NAME(key=value, ...)"`` (the part after ``control:``).

    Raises:
        GameError: unknown task (names the closest ones), unknown parameter
            (lists the accepted ones) or a bad value.
    """
    name, kwargs = parse_call(
        text,
        "control task spec",
        "NAME or NAME(key=value,...), e.g. control:rendezvous(players=3)",
    )
    if name not in _TASKS:
        from games import closest

        hint = closest(name, names())
        raise GameError(
            f"unknown control task '{name}'; "
            + (hint + " " if hint else "")
            + f"known: {', '.join(names())}"
        )
    cls, defaults = _TASKS[name]
    for key, value in kwargs.items():
        if key not in defaults:
            accepted = ", ".join(f"{k}={v!r}" for k, v in defaults.items())
            raise GameError(f"{name}: unknown parameter '{key}'; accepted: {accepted}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GameError(f"{name}: parameter '{key}' must be a number, got {value!r}")
    return cls(**kwargs)


def _check_int(name: str, key: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise GameError(f"{name}: {key} must be an integer in [{lo}, {hi}], got {value!r}")


def _spec_name(name: str, params: dict, defaults: dict) -> str:
    """``name`` or ``name(k=v,...)`` listing the parameters that differ from the defaults."""
    changed = [f"{k}={v}" for k, v in params.items() if v != defaults[k]]
    return f"{name}({','.join(changed)})" if changed else name
