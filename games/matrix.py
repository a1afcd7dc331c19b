"""Matrix games: one-shot, repeated and multi-stage, fully vectorized in numpy.

The model
---------
A matrix game has ``S`` *stages*. Stage ``s`` holds a payoff tensor
``payoffs[s]`` of shape ``[P, A_1, ..., A_P]`` (entry ``[i, a_1, ..., a_P]`` is
player ``i``'s payoff when the players play the joint action ``(a_1, ...,
a_P)``; players may have different action counts, ``A = max A_i``) and a
deterministic transition ``next_stage[s]`` of shape ``[A_1, ..., A_P]`` that
names the stage played next, or ``-1`` to end the game. Every round all
players act at once (dynamics ``"simultaneous"``); an episode starts in stage
0 and ends when a transition says ``-1`` or after ``horizon`` rounds.

* One-shot normal-form game: one stage, ``horizon = 1``.
* Repeated game (e.g. the iterated prisoner's dilemma): one stage that leads to
  itself, ``horizon = H``, usually with ``observe_previous=True``.
* Multi-stage game: several stages, e.g. the two-step game of QMIX (Rashid et
  al. 2018, Sec. 6.1): stage 0 pays 0 and player 0's action picks stage 2A
  (every payoff 7) or 2B (``[[0, 1], [1, 8]]``), which then ends the game.

Observation layout (``obs [B, P, O] float32``; every player sees the same
vector because everything in a matrix game is public), concatenated in this
order, each part present only when it says something:

1. stage one-hot, ``S`` entries, when ``S > 1``;
2. round one-hot, ``horizon`` entries (round ``t = 0 .. H-1``), when the
   horizon can cut an episode short: the stages form a cycle (a repeated
   game) or ``horizon`` is shorter than the longest stage path. Then the
   observation stays Markov;
3. previous joint action, one one-hot of ``A_i`` entries per player (all zero
   in round 0), when ``observe_previous`` is set;
4. a constant ``1.0`` when none of the above is present (a one-shot game has
   ``O = 1``).

When a copy finishes, parts 1 and 2 are zero and part 3 holds the last joint
action. The global state ``state [B, S] float32`` equals this common
observation (``S = O``).

Rewards are float64: the step that plays stage ``s`` with joint action ``a``
gives every player ``payoffs[s][:, a]``; summed over an episode they are the
returns. No chance, so the seed only names the copies' streams.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from games.core import (
    CONSTANT_SUM,
    COOPERATIVE,
    GENERAL_SUM,
    SIMULTANEOUS,
    ZERO_SUM,
    Game,
    GameError,
    GameInfo,
    TimeStep,
)
from games.limits import MAX_HORIZON, MAX_MATRIX_ENTRIES

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser as a package
    import tomli as tomllib

# Payoff sums closer than this (relative to the largest payoff) count as equal,
# so 0.1 + 0.2 - 0.3 is still zero-sum.
_KIND_RTOL = 1e-9


def detect_kind(payoffs: Sequence[np.ndarray]) -> str:
    """Zero-sum, constant-sum, cooperative or general-sum, checked at every entry.

    Args:
        payoffs: per-stage tensors ``[P, A_1..A_P]``.

    Returns:
        ``zero_sum`` if the players' payoffs sum to 0 at every joint action of
        every stage, ``constant_sum`` if that sum is the same everywhere,
        ``cooperative`` if all players' payoffs are identical, else
        ``general_sum`` (in this order of preference).
    """
    scale = max(1.0, max(float(np.abs(p).max(initial=0.0)) for p in payoffs))
    atol = _KIND_RTOL * scale
    sums = np.concatenate([p.sum(axis=0).ravel() for p in payoffs])
    num_players = payoffs[0].shape[0]
    if num_players > 1 and np.all(np.abs(sums) <= atol):
        return ZERO_SUM
    if num_players > 1 and np.all(np.abs(sums - sums[0]) <= atol):
        return CONSTANT_SUM
    if all(np.all(np.abs(p - p[:1]) <= atol) for p in payoffs):
        return COOPERATIVE
    return GENERAL_SUM


def _stage_graph(next_stage: np.ndarray) -> tuple[bool, int]:
    """(has a cycle, longest path in rounds) of the stages reachable from stage 0.

    ``next_stage [S, J]``: the next stage for every stage and flat joint action.
    The longest path is only meaningful when there is no cycle.
    """
    num_stages = next_stage.shape[0]
    succ = [sorted({int(n) for n in next_stage[s] if n >= 0}) for s in range(num_stages)]
    longest: dict[int, int] = {}
    on_path: set[int] = set()

    def visit(s: int) -> int:  # depth-first, at most S deep
        if s in on_path:
            raise _Cycle
        if s in longest:
            return longest[s]
        on_path.add(s)
        longest[s] = 1 + max((visit(n) for n in succ[s]), default=0)
        on_path.discard(s)
        return longest[s]

    try:
        return False, visit(0)
    except _Cycle:
        return True, 0


class _Cycle(Exception):
    pass


def _return_range(rewards: np.ndarray, nxt: np.ndarray, horizon: int) -> tuple[float, float]:
    """Exact (min, max) episode return of any player, by dynamic programming.

    ``rewards [S, J, P]``, ``nxt [S, J]``; ``lo[s, i]`` and ``hi[s, i]`` hold the
    worst and best return of player ``i`` from stage ``s`` with ``t`` rounds left.
    """
    num_stages, _, num_players = rewards.shape
    lo = np.zeros((num_stages + 1, num_players))  # row S: "ended", worth 0
    hi = np.zeros((num_stages + 1, num_players))
    ended = np.where(nxt < 0, num_stages, nxt)
    for _ in range(horizon):
        lo_next = (rewards + lo[ended]).min(axis=1)
        hi_next = (rewards + hi[ended]).max(axis=1)
        lo[:num_stages], hi[:num_stages] = lo_next, hi_next
    return float(lo[0].min()), float(hi[0].max())


class MatrixGame(Game):
    """A one-shot, repeated or multi-stage matrix game (see the module docstring).

    Args:
        payoffs: one tensor ``[P, A_1..A_P]`` (a one-stage game) or a list of
            them, one per stage, all of the same shape.
        name: the game's name.
        action_names: per player, one label per action (default ``"0"``, ``"1"``...).
        next_stage: per stage, an int tensor ``[A_1..A_P]`` with the next stage
            or ``-1`` to end (default: every stage ends the game).
        horizon: the most rounds an episode lasts.
        observe_previous: observations include the previous joint action.
        stage_names: one label per stage (default ``"0"``, ``"1"``...).
        source: where the game comes from (paper, book).

    Raises:
        GameError: inconsistent shapes, transitions or horizon.
    """

    def __init__(
        self,
        payoffs: np.ndarray | Sequence[np.ndarray],
        *,
        name: str = "matrix_game",
        action_names: Sequence[Sequence[str]] | None = None,
        next_stage: Sequence[np.ndarray] | None = None,
        horizon: int = 1,
        observe_previous: bool = False,
        stage_names: Sequence[str] | None = None,
        source: str = "",
    ) -> None:
        if isinstance(payoffs, np.ndarray) and payoffs.ndim >= 2:
            stages = [payoffs]
        else:
            stages = list(payoffs)
        if not stages:
            raise GameError(f"{name}: a matrix game needs at least one stage of payoffs")
        tensors = [np.array(p, dtype=np.float64) for p in stages]
        shape = tensors[0].shape
        if len(shape) < 2 or shape[0] != len(shape) - 1:
            raise GameError(
                f"{name}: payoffs of shape {list(shape)} are not [P, A_1..A_P]; "
                "give one table per player, indexed by every player's action"
            )
        for s, t in enumerate(tensors):
            if t.shape != shape:
                raise GameError(
                    f"{name}: stage {s} payoffs have shape {list(t.shape)}, expected "
                    f"{list(shape)} like stage 0; every stage uses the same actions"
                )
            if not np.all(np.isfinite(t)):
                raise GameError(f"{name}: stage {s} payoffs hold inf or nan; use finite numbers")
            t.setflags(write=False)
        num_players = shape[0]
        counts = tuple(int(a) for a in shape[1:])
        if min(counts) < 1:
            raise GameError(f"{name}: every player needs at least one action, got {list(counts)}")
        num_stages = len(tensors)
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise GameError(f"{name}: horizon must be an integer >= 1, got {horizon!r}")
        if horizon > MAX_HORIZON:
            raise GameError(
                f"{name}: horizon {horizon} is above the limit of {MAX_HORIZON:,} rounds "
                "(games.limits; docs/limits.md); give a smaller horizon"
            )
        if num_players * math.prod(counts) > MAX_MATRIX_ENTRIES:
            raise GameError(
                f"{name}: a payoff tensor of {num_players * math.prod(counts):,} entries is above "
                f"the limit of {MAX_MATRIX_ENTRIES:,} (games.limits; docs/limits.md); use fewer actions"
            )

        if next_stage is None:
            nexts = [np.full(counts, -1, dtype=np.int64) for _ in range(num_stages)]
        else:
            nexts = [np.array(n, dtype=np.int64) for n in next_stage]
            if len(nexts) != num_stages:
                raise GameError(
                    f"{name}: {len(nexts)} transition tables for {num_stages} stages; "
                    "give one per stage"
                )
        for s, n in enumerate(nexts):
            if n.shape != counts:
                raise GameError(
                    f"{name}: stage {s} transitions have shape {list(n.shape)}, "
                    f"expected {list(counts)} (one entry per joint action)"
                )
            if n.size and (n.min() < -1 or n.max() >= num_stages):
                raise GameError(
                    f"{name}: stage {s} transitions name stage {int(n.max() if n.max() >= num_stages else n.min())}; "
                    f"use -1 (end) or 0..{num_stages - 1}"
                )
            n.setflags(write=False)

        if action_names is None:
            action_names = [[str(a) for a in range(c)] for c in counts]
        names = tuple(tuple(str(x) for x in row) for row in action_names)
        if len(names) != num_players or any(
            len(row) != c for row, c in zip(names, counts, strict=False)
        ):
            raise GameError(
                f"{name}: action names {[list(r) for r in names]} do not match the action "
                f"counts {list(counts)}; give one name per action of each player"
            )
        if stage_names is None:
            stage_names = [str(s) for s in range(num_stages)]
        if len(stage_names) != num_stages:
            raise GameError(f"{name}: {len(stage_names)} stage names for {num_stages} stages")

        self._payoffs = tensors
        self._next = nexts
        self._counts = counts
        self._action_names = names
        self._stage_names = tuple(str(s) for s in stage_names)
        self._horizon = int(horizon)
        self._observe_previous = bool(observe_previous)
        self.source = source

        # Flat tables the env indexes: rewards [S, J, P] and next stage [S, J].
        num_joint = math.prod(counts)
        self._rewards = np.stack([t.reshape(num_players, num_joint).T for t in tensors])
        self._next_flat = np.stack([n.reshape(num_joint) for n in nexts])
        self._strides = np.array(
            [math.prod(counts[i + 1 :]) for i in range(num_players)], dtype=np.int64
        )
        cyclic, longest = _stage_graph(self._next_flat)
        self._cyclic = cyclic
        episode_len = self._horizon if cyclic else min(self._horizon, longest)
        self._observe_round = self._horizon > 1 and (cyclic or self._horizon < longest)

        # Observation layout: offsets of each part.
        size = 0
        self._stage_off = size if num_stages > 1 else -1
        size += num_stages if num_stages > 1 else 0
        self._round_off = size if self._observe_round else -1
        size += self._horizon if self._observe_round else 0
        self._prev_off = size if self._observe_previous else -1
        self._prev_offsets = size + np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        size += sum(counts) if self._observe_previous else 0
        self._bias = size == 0
        obs_size = max(size, 1)

        self.info = GameInfo(
            name=name,
            num_players=num_players,
            num_actions=max(counts),
            actions_per_player=counts,
            kind=detect_kind(tensors),
            dynamics=SIMULTANEOUS,
            obs_size=obs_size,
            state_size=obs_size,
            reward_range=_return_range(self._rewards, self._next_flat, episode_len),
            max_episode_length=episode_len,
        )

    # ---- what the game is -------------------------------------------------

    @property
    def payoffs(self) -> list[np.ndarray]:
        """Per-stage payoff tensors ``[P, A_1..A_P]`` (read-only)."""
        return list(self._payoffs)

    @property
    def next_stage(self) -> list[np.ndarray]:
        """Per-stage transition tensors ``[A_1..A_P]`` (``-1`` ends; read-only)."""
        return list(self._next)

    @property
    def horizon(self) -> int:
        """The most rounds an episode lasts."""
        return self._horizon

    @property
    def num_stages(self) -> int:
        return len(self._payoffs)

    @property
    def stage_names(self) -> tuple[str, ...]:
        return self._stage_names

    @property
    def action_names(self) -> tuple[tuple[str, ...], ...]:
        """Per player, the label of each action."""
        return self._action_names

    @property
    def observe_previous(self) -> bool:
        return self._observe_previous

    @property
    def observe_round(self) -> bool:
        """Whether the observation holds the round one-hot (see the module docstring)."""
        return self._observe_round

    @property
    def is_normal_form(self) -> bool:
        """True for a one-shot game: one stage played once."""
        return self.num_stages == 1 and self.info.max_episode_length == 1

    @property
    def is_repeated(self) -> bool:
        """True for one stage played again and again (the stage leads to itself)."""
        return self.num_stages == 1 and self.info.max_episode_length > 1

    @property
    def payoff_tensor(self) -> np.ndarray:
        """The ``[P, A_1..A_P]`` payoffs of a one-shot game.

        Raises:
            GameError: the game is repeated or has several stages; use
                ``payoffs[s]`` for one stage's table.
        """
        if not self.is_normal_form:
            raise GameError(
                f"{self.name} is not a one-shot game ({self.num_stages} stage(s), up to "
                f"{self.info.max_episode_length} rounds); use .payoffs[s] for a stage's table"
            )
        return self._payoffs[0]

    def action_name(self, player: int, action: int) -> str:
        return self._action_names[player][action]

    def describe(self) -> dict:
        d = super().describe()
        d.update(
            source=self.source,
            stages=list(self._stage_names),
            horizon=self._horizon,
            action_names=[list(r) for r in self._action_names],
        )
        if self.is_normal_form:
            d["payoffs"] = self._payoffs[0].tolist()
        return d

    def __repr__(self) -> str:
        return f"MatrixGame({self.name!r}, players={self.num_players}, actions={list(self._counts)}, stages={self.num_stages}, horizon={self._horizon})"

    # ---- playing ----------------------------------------------------------

    def vector(self, batch: int, seed: int, *, first_copy: int = 0) -> MatrixEnv:
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise GameError(f"batch must be an integer >= 1, got {batch!r}")
        return MatrixEnv(self, int(batch), seed, first_copy)


class MatrixEnv:
    """``B`` copies of a :class:`MatrixGame`, stepped with whole-batch numpy ops."""

    def __init__(self, game: MatrixGame, batch: int, seed: int, first_copy: int = 0) -> None:
        self.game = game
        self.info = game.info
        self.batch = batch
        self.seed = seed
        self.first_copy = first_copy
        num_players = game.num_players
        self._num_joint = game._rewards.shape[1]
        self._rewards_flat = game._rewards.reshape(-1, num_players)  # [S*J, P]
        self._next_flat = game._next_flat.reshape(-1)  # [S*J]
        self._counts = np.array(game._counts, dtype=np.int64)
        self._min_count = int(self._counts.min())
        self._one_stage = game.num_stages == 1
        self._legal_row = np.arange(game.num_actions)[None, :] < self._counts[:, None]  # [P, A]
        self._stage = np.zeros(batch, dtype=np.int64)
        self._round = np.zeros(batch, dtype=np.int64)
        self._prev = np.full((batch, num_players), -1, dtype=np.int64)
        self._done = np.zeros(batch, dtype=bool)

    def reset(self, mask: np.ndarray | None = None) -> TimeStep:
        """Restart every copy, or those where ``mask [B]`` is True."""
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (self.batch,):
                raise GameError(f"reset mask has shape {list(mask.shape)}, expected [{self.batch}]")
            if mask.all():
                mask = None
        if mask is None:
            self._stage[:] = 0
            self._round[:] = 0
            self._prev[:] = -1
            self._done[:] = False
        else:
            self._stage[mask] = 0
            self._round[mask] = 0
            self._prev[mask] = -1
            self._done[mask] = False
        return self._time_step(np.zeros((self.batch, self.info.num_players)))

    def step(self, actions: np.ndarray) -> TimeStep:
        """Play ``actions [B, P]`` (int) in every unfinished copy."""
        actions = np.asarray(actions)
        num_players = self.info.num_players
        if actions.shape != (self.batch, num_players):
            raise GameError(
                f"actions have shape {list(actions.shape)}, expected [{self.batch}, {num_players}] "
                "(one action per copy and player)"
            )
        if actions.dtype.kind not in "iu":
            raise GameError(f"actions have dtype {actions.dtype}; pass integer action indices")
        actions = np.ascontiguousarray(actions, dtype=np.int64)
        live = ~self._done
        all_live = bool(live.all())
        # One contiguous reduction decides the usual case (every action legal);
        # viewed as unsigned, negative actions are huge and fail it too.
        if actions.view(np.uint64).max() >= self._min_count:
            self._check_legal(actions, live)
        game = self.game
        joint = actions[:, 0] * game._strides[0]
        for p in range(1, num_players):
            joint += actions[:, p] * game._strides[p]
        if all_live:
            flat = joint if self._one_stage else self._stage * self._num_joint + joint
            rewards = np.take(self._rewards_flat, flat, axis=0)
            nxt = np.take(self._next_flat, flat)
            self._round += 1
            self._prev[:] = actions
            ended = (nxt < 0) | (self._round >= game._horizon)
            self._stage = nxt
        else:
            flat = np.where(live, self._stage * self._num_joint + joint, 0)
            rewards = np.take(self._rewards_flat, flat, axis=0)
            rewards[~live] = 0.0
            nxt = np.take(self._next_flat, flat)
            self._round += live
            self._prev = np.where(live[:, None], actions, self._prev)
            ended = live & ((nxt < 0) | (self._round >= game._horizon))
            self._stage = np.where(live, nxt, self._stage)
        self._done = self._done | ended
        return self._time_step(rewards)

    def render(self, b: int) -> str:
        """Copy ``b`` in words: stage, round and previous joint action (for viewers)."""
        game = self.game
        if self._done[b]:
            where = "finished"
        else:
            stage = f"stage {game.stage_names[self._stage[b]]}, " if game.num_stages > 1 else ""
            where = f"{stage}round {self._round[b] + 1} of at most {self.info.max_episode_length}"
        if self._prev[b, 0] >= 0:
            last = ", ".join(game.action_name(p, int(a)) for p, a in enumerate(self._prev[b]))
            where += f"; last joint action ({last})"
        return where

    def _check_legal(self, actions: np.ndarray, live: np.ndarray) -> None:
        bad = ((actions < 0) | (actions >= self._counts)) & live[:, None]
        if bad.any():
            b, p = np.argwhere(bad)[0]
            raise GameError(
                f"illegal action {int(actions[b, p])} for player {p} in copy {b}: "
                f"legal actions are 0..{self._counts[p] - 1}"
            )

    def _time_step(self, rewards: np.ndarray) -> TimeStep:
        batch, game = self.batch, self.game
        num_players = self.info.num_players
        done = self._done.copy()
        num_done = int(np.count_nonzero(done))
        if num_done == batch:
            legal = np.zeros((batch, num_players, self.info.num_actions), dtype=bool)
            acting = np.zeros((batch, num_players), dtype=bool)
        elif num_done == 0:
            legal = np.repeat(self._legal_row[None], batch, axis=0)
            acting = np.ones((batch, num_players), dtype=bool)
        else:
            legal = np.repeat(self._legal_row[None], batch, axis=0)
            legal[done] = False
            acting = np.repeat(~done[:, None], num_players, axis=1)
        if game._bias:
            common = np.ones((batch, 1), dtype=np.float32)
            obs = np.ones((batch, num_players, 1), dtype=np.float32)
        else:
            common = self._common_obs(done)
            obs = np.repeat(common[:, None, :], num_players, axis=1)
        return TimeStep(
            obs=obs, legal=legal, acting=acting, rewards=rewards, done=done, state=common
        )

    def _common_obs(self, done: np.ndarray) -> np.ndarray:
        game = self.game
        common = np.zeros((self.batch, self.info.obs_size), dtype=np.float32)
        live = np.flatnonzero(~done)
        if game._stage_off >= 0:
            common[live, game._stage_off + self._stage[live]] = 1.0
        if game._round_off >= 0:
            common[live, game._round_off + self._round[live]] = 1.0
        if game._prev_off >= 0:
            seen = np.flatnonzero(self._prev[:, 0] >= 0)
            cols = game._prev_offsets[None, :] + self._prev[seen]
            common[seen[:, None], cols] = 1.0
        return common


# ---------------------------------------------------------------------------
# Convenience constructors


def normal_form(
    payoffs: np.ndarray,
    *,
    name: str = "matrix_game",
    action_names: Sequence[Sequence[str]] | None = None,
    source: str = "",
) -> MatrixGame:
    """A one-shot game from one ``[P, A_1..A_P]`` tensor."""
    return MatrixGame(
        np.asarray(payoffs, dtype=np.float64), name=name, action_names=action_names, source=source
    )


def repeated(
    stage_payoffs: np.ndarray,
    horizon: int,
    *,
    name: str = "repeated_game",
    action_names: Sequence[Sequence[str]] | None = None,
    observe_previous: bool = True,
    source: str = "",
) -> MatrixGame:
    """The stage game ``[P, A_1..A_P]`` played ``horizon`` times in a row."""
    stage = np.asarray(stage_payoffs, dtype=np.float64)
    return MatrixGame(
        [stage],
        name=name,
        action_names=action_names,
        next_stage=[np.zeros(stage.shape[1:], dtype=np.int64)],
        horizon=horizon,
        observe_previous=observe_previous,
        source=source,
    )


def common_payoff(table: np.ndarray, num_players: int) -> np.ndarray:
    """``[P, A_1..A_P]`` payoffs where every player gets ``table [A_1..A_P]``."""
    table = np.asarray(table, dtype=np.float64)
    return np.broadcast_to(table, (num_players, *table.shape)).copy()


def zero_sum_payoff(table: np.ndarray) -> np.ndarray:
    """``[2, A_1, A_2]`` payoffs of a two-player zero-sum game from the row player's table."""
    table = np.asarray(table, dtype=np.float64)
    return np.stack([table, -table])


# ---------------------------------------------------------------------------
# TOML files (format: docs/matrix_games.md)

_PAYOFF_KEYS = ("payoffs", "common_payoff", "zero_sum_payoff")
_TOP_KEYS = ("name", "description", "source", "players", "actions", "repeated", "stage", "horizon", "observe_previous", *_PAYOFF_KEYS)  # fmt: skip
_REPEATED_KEYS = ("horizon", "observe_previous")
_STAGE_KEYS = ("name", "next", *_PAYOFF_KEYS)
_END = "end"
_TOO_DEEP = "nested too deeply to read (tables or arrays inside each other thousands of levels deep); flatten the file"


@dataclasses.dataclass(frozen=True)
class _Where:
    """Where in which file a value sits, for one-line error messages."""

    file: str

    def error(self, key: str, problem: str, fix: str) -> GameError:
        return GameError(f"{self.file}: key '{key}': {problem}; {fix}")


def load_toml(path: str | os.PathLike) -> MatrixGame:
    """Read a matrix game from a TOML file (format: docs/matrix_games.md).

    Raises:
        GameError: missing file, TOML syntax error, missing or unknown keys,
            wrong payoff shapes, non-numeric values or bad transitions; the one
            line names the file, the key and the fix.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise GameError(f"{path}: no such file; check the path to the .toml matrix-game file")
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise GameError(f"{path}: TOML syntax error: {e}; fix the file's syntax") from None
    except RecursionError:
        raise GameError(f"{path}: {_TOO_DEEP}") from None
    except UnicodeDecodeError:
        raise GameError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    default_name = os.path.splitext(os.path.basename(path))[0]
    return game_from_dict(data, file=path, default_name=default_name)


def loads_toml(text: str, *, file: str = "<string>") -> MatrixGame:
    """Like :func:`load_toml`, from the text of a TOML document."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise GameError(f"{file}: TOML syntax error: {e}; fix the file's syntax") from None
    except RecursionError:
        raise GameError(f"{file}: {_TOO_DEEP}") from None
    return game_from_dict(data, file=file)


def game_from_dict(
    data: dict, *, file: str = "<dict>", default_name: str = "matrix_game"
) -> MatrixGame:
    """Build a :class:`MatrixGame` from a parsed TOML document (see :func:`load_toml`)."""
    where = _Where(file)
    _check_keys(data, _TOP_KEYS, "", where)
    name = _get_str(data, "name", where, default_name)
    source = _get_str(data, "source", where, "")
    _get_str(data, "description", where, "")
    if "players" not in data:
        raise where.error("players", "missing", "add players = N (the number of players)")
    num_players = data["players"]
    if isinstance(num_players, bool) or not isinstance(num_players, int) or num_players < 1:
        raise where.error("players", f"got {num_players!r}", "give an integer >= 1")
    counts, action_names = _parse_actions(data, num_players, where)

    has_stages = "stage" in data
    has_repeated = "repeated" in data
    if has_stages:
        if has_repeated:
            raise where.error(
                "repeated",
                "cannot be combined with [[stage]] tables",
                "make a stage lead to itself with next = 'its name' and set horizon instead",
            )
        for key in _PAYOFF_KEYS:
            if key in data:
                raise where.error(
                    key, "top-level payoffs next to [[stage]] tables", "move them into a [[stage]]"
                )
        return _stage_game(data, name, source, num_players, counts, action_names, where)

    for key in ("horizon", "observe_previous"):
        if key in data:
            raise where.error(
                key,
                "only applies to [[stage]] games",
                f"for a repeated game write [repeated] with {key} = ...",
            )
    payoffs = _parse_payoffs(data, "", num_players, counts, where)
    if not has_repeated:
        return MatrixGame(payoffs, name=name, action_names=action_names, source=source)
    rep = data["repeated"]
    if not isinstance(rep, dict):
        raise where.error(
            "repeated", "is not a table", "write [repeated] on its own line, then horizon = N"
        )
    _check_keys(rep, _REPEATED_KEYS, "repeated.", where)
    if "horizon" not in rep:
        raise where.error(
            "repeated.horizon", "missing", "add horizon = N (the number of rounds) under [repeated]"
        )
    horizon = _get_int(rep, "horizon", "repeated.", where)
    observe = _get_bool(rep, "observe_previous", "repeated.", where, True)
    return repeated(
        payoffs,
        horizon,
        name=name,
        action_names=action_names,
        observe_previous=observe,
        source=source,
    )


def _stage_game(data, name, source, num_players, counts, action_names, where) -> MatrixGame:
    stages = data["stage"]
    if not isinstance(stages, list) or not stages or not all(isinstance(s, dict) for s in stages):
        raise where.error(
            "stage", "is not a list of tables", "write each stage as a [[stage]] table"
        )
    stage_names = []
    for s, table in enumerate(stages):
        _check_keys(table, _STAGE_KEYS, f"stage[{s}].", where)
        stage_names.append(_get_str(table, "name", where, str(s), prefix=f"stage[{s}]."))
    if len(set(stage_names)) != len(stage_names) or _END in stage_names:
        dup = next(n for n in stage_names if stage_names.count(n) > 1 or n == _END)
        raise where.error(
            "stage.name",
            f"name '{dup}' is repeated or reserved",
            "give every stage its own name (not 'end')",
        )
    payoffs = [
        _parse_payoffs(table, f"stage[{s}].", num_players, counts, where)
        for s, table in enumerate(stages)
    ]
    nexts = [
        _parse_next(table.get("next", _END), f"stage[{s}].next", counts, stage_names, where)
        for s, table in enumerate(stages)
    ]
    observe = _get_bool(data, "observe_previous", "", where, False)
    if "horizon" in data:
        horizon = _get_int(data, "horizon", "", where)
    else:
        flat = np.stack([n.reshape(-1) for n in nexts])
        cyclic, longest = _stage_graph(flat)
        if cyclic:
            raise where.error(
                "horizon",
                "missing, and the stages form a cycle",
                "add horizon = N (the most rounds) at the top level",
            )
        horizon = longest
    return MatrixGame(
        payoffs,
        name=name,
        action_names=action_names,
        next_stage=nexts,
        horizon=horizon,
        observe_previous=observe,
        stage_names=stage_names,
        source=source,
    )


def _check_keys(table: dict, known: Sequence[str], prefix: str, where: _Where) -> None:
    from games import closest

    for key in table:
        if key not in known:
            hint = closest(key, list(known))
            raise where.error(
                prefix + key,
                "unknown key",
                (hint + " " if hint else "") + f"known keys here: {', '.join(known)}",
            )


def _get_str(table: dict, key: str, where: _Where, default: str, prefix: str = "") -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise where.error(prefix + key, f"got {value!r}", 'give a quoted string like "..."')
    return value


def _get_int(table: dict, key: str, prefix: str, where: _Where) -> int:
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise where.error(prefix + key, f"got {value!r}", "give an integer >= 1")
    return value


def _get_bool(table: dict, key: str, prefix: str, where: _Where, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise where.error(prefix + key, f"got {value!r}", "give true or false")
    return value


def _parse_actions(data: dict, num_players: int, where: _Where):
    """``actions`` -> (per-player counts, per-player names)."""
    if "actions" not in data:
        raise where.error(
            "actions",
            "missing",
            'add actions = ["A", "B"] (names shared by all players), [["A","B"],["L","R"]] (per player) or a count',
        )
    value = data["actions"]
    fix = 'give a count, a list of counts, ["A", "B"] for everyone or one list of names per player'
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise where.error("actions", f"got {value}", "give at least 1 action")
        value = [value] * num_players
    if not isinstance(value, list) or not value:
        raise where.error("actions", f"got {value!r}", fix)
    if all(isinstance(v, str) for v in value):
        names = [list(value) for _ in range(num_players)]
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        if len(value) != num_players or min(value) < 1:
            raise where.error(
                "actions",
                f"got counts {value} for {num_players} players",
                "give one count >= 1 per player",
            )
        names = [[str(a) for a in range(c)] for c in value]
    elif all(isinstance(v, list) and v and all(isinstance(x, str) for x in v) for v in value):
        if len(value) != num_players:
            raise where.error(
                "actions",
                f"got {len(value)} name lists for {num_players} players",
                "give one list of names per player",
            )
        names = [list(v) for v in value]
    else:
        raise where.error("actions", f"got {value!r}", fix)
    for p, row in enumerate(names):
        if len(set(row)) != len(row):
            raise where.error(
                "actions",
                f"player {p} has repeated action names {row}",
                "give every action its own name",
            )
    return tuple(len(r) for r in names), names


def _numeric_array(value: Any, key: str, where: _Where) -> np.ndarray:
    """A nested list of numbers as float64, or an error naming the first bad entry."""

    def walk(v, path):
        if isinstance(v, list):
            if not v:
                raise where.error(
                    key, f"empty list at {path or 'top level'}", "fill in every payoff"
                )
            items = [walk(x, f"{path}[{i}]") for i, x in enumerate(v)]
            shapes = {s for s, _ in items}
            if len(shapes) != 1:
                raise where.error(
                    key,
                    f"rows of unequal length at {path or 'top level'} (shapes {sorted(shapes)})",
                    "make every row the same length",
                )
            return (len(v), *items[0][0]), [x for _, x in items]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise where.error(
                key, f"value {v!r} at {path or 'top level'} is not a number", "write numbers only"
            )
        if not math.isfinite(v):
            raise where.error(key, f"value {v!r} at {path} is not finite", "write finite numbers")
        return (), v

    _, nested = walk(value, "")
    return np.array(nested, dtype=np.float64)


def _parse_payoffs(table: dict, prefix: str, num_players: int, counts, where: _Where) -> np.ndarray:
    present = [k for k in _PAYOFF_KEYS if k in table]
    if not present:
        raise where.error(
            prefix + "payoffs",
            "missing",
            "add payoffs = [...] (one table per player), common_payoff = [...] (cooperative) or zero_sum_payoff = [...] (2 players)",
        )
    if len(present) > 1:
        raise where.error(
            prefix + present[1], f"given together with '{present[0]}'", "keep only one payoff key"
        )
    key = present[0]
    array = _numeric_array(table[key], prefix + key, where)
    counts_txt = " x ".join(str(c) for c in counts)
    if key == "payoffs":
        expected = (num_players, *counts)
        what = f"{num_players} tables (one per player) of {counts_txt} actions"
    elif key == "common_payoff":
        expected = tuple(counts)
        what = f"one {counts_txt} table shared by all players"
    else:
        if num_players != 2:
            raise where.error(
                prefix + key,
                f"needs 2 players, the game has {num_players}",
                "use payoffs = [...] with one table per player",
            )
        expected = tuple(counts)
        what = f"the row player's {counts_txt} table"
    if array.shape != expected:
        raise where.error(
            prefix + key,
            f"expected shape {list(expected)} ({what}), got {list(array.shape)}",
            "index payoffs by player 0's action first, then player 1's, ...",
        )
    if key == "common_payoff":
        return common_payoff(array, num_players)
    if key == "zero_sum_payoff":
        return zero_sum_payoff(array)
    return array


def _parse_next(value: Any, key: str, counts, stage_names: list[str], where: _Where) -> np.ndarray:
    """``next``: one target for every joint action, or a nested list of shape counts."""
    index = {n: i for i, n in enumerate(stage_names)}
    choices = ", ".join([*stage_names, _END])

    def target(v, path):
        if isinstance(v, str):
            if v == _END:
                return -1
            if v in index:
                return index[v]
            raise where.error(key, f"unknown stage '{v}'{path}", f"use one of: {choices}")
        if isinstance(v, int) and not isinstance(v, bool) and -1 <= v < len(stage_names):
            return v
        raise where.error(
            key,
            f"bad target {v!r}{path}",
            f"use a stage name, a stage index 0..{len(stage_names) - 1} or '{_END}'",
        )

    if not isinstance(value, list):
        return np.full(counts, target(value, ""), dtype=np.int64)

    def walk(v, depth, path):
        if depth == len(counts):
            return target(v, f" at {path}")
        if not isinstance(v, list) or len(v) != counts[depth]:
            got = len(v) if isinstance(v, list) else "a single value"
            raise where.error(
                key,
                f"expected {counts[depth]} entries at {path or 'top level'} (shape {list(counts)}), got {got}",
                "give one target per joint action, or a single target for all",
            )
        return [walk(x, depth + 1, f"{path}[{i}]") for i, x in enumerate(v)]

    return np.array(walk(value, 0, ""), dtype=np.int64).reshape(counts)


# ---------------------------------------------------------------------------
# OpenSpiel normal-form games


def from_openspiel(game: Any, name: str | None = None) -> MatrixGame:
    """Convert a one-shot simultaneous OpenSpiel game into a :class:`MatrixGame`.

    Handles ``pyspiel.MatrixGame`` (``matrix_*``), ``pyspiel.TensorGame``
    (``nfg_game(...)``, ``extensive_to_tensor_game``) and any other game whose
    type is simultaneous and one-shot without chance (e.g.
    ``matching_pennies_3p``), by looking up the utilities of every joint action.

    Raises:
        GameError: the game is not a one-shot simultaneous game without chance.
    """
    import pyspiel

    gtype = game.get_type()
    label = name or str(game)
    if name is None and label.endswith("()"):
        label = label[:-2]
    if (
        gtype.dynamics != pyspiel.GameType.Dynamics.SIMULTANEOUS
        or gtype.information != pyspiel.GameType.Information.ONE_SHOT
        or gtype.chance_mode != pyspiel.GameType.ChanceMode.DETERMINISTIC
    ):
        raise GameError(
            f"{label} is not a one-shot simultaneous game without chance "
            f"({gtype.dynamics.name.lower()}, {gtype.information.name.lower()}); "
            "load it with games.load instead of converting it to a matrix game"
        )
    num_players = game.num_players()
    source = f"OpenSpiel {gtype.short_name} ({gtype.long_name})"
    if isinstance(game, pyspiel.MatrixGame):
        payoffs = np.stack([game.row_utilities(), game.col_utilities()]).astype(np.float64)
        names = [
            [game.row_action_name(a) for a in range(game.num_rows())],
            [game.col_action_name(a) for a in range(game.num_cols())],
        ]
        return normal_form(payoffs, name=label, action_names=names, source=source)
    if isinstance(game, pyspiel.TensorGame):
        payoffs = np.stack([np.asarray(game.player_utilities(p)) for p in range(num_players)])
        names = [
            [game.action_name(p, a) for a in range(payoffs.shape[1 + p])]
            for p in range(num_players)
        ]
        return normal_form(
            payoffs.astype(np.float64), name=label, action_names=names, source=source
        )

    state = game.new_initial_state()
    legal = [list(state.legal_actions(p)) for p in range(num_players)]
    counts = tuple(len(a) for a in legal)
    payoffs = np.zeros((num_players, *counts))
    for joint in np.ndindex(*counts):
        child = state.clone()
        child.apply_actions([legal[p][a] for p, a in enumerate(joint)])
        if not child.is_terminal():
            raise GameError(f"{label} does not end after one joint action; load it with games.load")
        payoffs[(slice(None), *joint)] = child.returns()
    names = [[state.action_to_string(p, a) for a in legal[p]] for p in range(num_players)]
    return normal_form(payoffs, name=label, action_names=names, source=source)
