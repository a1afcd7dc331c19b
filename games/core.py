"""The one batched interface every game sits behind.

Axis order is fixed everywhere: ``B`` copies of a game, ``P`` players, ``A``
actions (the largest action count of any player), ``O`` observation size and
``S`` global-state size.

A :class:`TimeStep` holds, for every copy ``b`` in the batch:

* ``obs [B, P, O] float32``: each player's own observation;
* ``legal [B, P, A] bool``: the legal actions of every player that must act
  now (all False for a player that does not act);
* ``acting [B, P] bool``: who must act (exactly one True per unfinished row in
  a sequential game, every player with a move in a simultaneous one);
* ``rewards [B, P] float64``: rewards received by the step that produced this
  time step (summed over an episode they equal the game's returns exactly);
* ``done [B] bool``: the copy has finished;
* ``state [B, S] float32``: a global state for centralized critics.

There is no hidden autoreset: a finished copy stays finished (zero rewards,
no acting player) until the caller runs ``reset(mask=ts.done)``.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np

ZERO_SUM = "zero_sum"
CONSTANT_SUM = "constant_sum"
COOPERATIVE = "cooperative"
GENERAL_SUM = "general_sum"
KINDS = (ZERO_SUM, CONSTANT_SUM, COOPERATIVE, GENERAL_SUM)

SEQUENTIAL = "sequential"
SIMULTANEOUS = "simultaneous"


class ArenaError(ValueError):
    """The base of every user error in arena (a bad spec, file, value or path).

    Its message is one line naming what was wrong and how to fix it; the CLI
    prints it as ``arena: error: ...`` and exits with status 2. Every other
    exception is a bug and keeps its traceback.
    """


class GameError(ArenaError):
    """A user-facing problem with a game spec, a game file or an action.

    The message is one line that names what was wrong and how to fix it; the
    CLI prints it without a traceback.
    """


@dataclasses.dataclass(frozen=True)
class TimeStep:
    """One batched step; see the module docstring for shapes and meaning."""

    obs: np.ndarray
    legal: np.ndarray
    acting: np.ndarray
    rewards: np.ndarray
    done: np.ndarray
    state: np.ndarray


@dataclasses.dataclass(frozen=True)
class GameInfo:
    """Plain-data description of a game: everything a learner may know.

    Agents receive this (never a game object) to size their networks.
    """

    name: str
    num_players: int
    num_actions: int
    actions_per_player: tuple[int, ...]
    kind: str
    dynamics: str
    obs_size: int
    state_size: int
    reward_range: tuple[float, float]
    max_episode_length: int
    continuous_actions: bool = False
    action_low: float = -1.0
    action_high: float = 1.0


class VectorEnv(Protocol):
    """``B`` copies of one game stepped together."""

    batch: int
    info: GameInfo

    def reset(self, mask: np.ndarray | None = None) -> TimeStep:
        """Restart every copy (``mask=None``) or only those where ``mask`` is True.

        Returns the full batch's time step; rows that were not reset are
        returned as they were (with zero rewards).
        """

    def step(self, actions: np.ndarray) -> TimeStep:
        """Apply ``actions [B, P]`` (int) for every acting player.

        Actions of players that do not act, and of finished copies, are
        ignored. An illegal action raises :class:`GameError` naming the copy,
        the player and the action.
        """


class Game:
    """An immutable description of a game; ``vector`` makes batched envs."""

    info: GameInfo

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def num_players(self) -> int:
        return self.info.num_players

    @property
    def num_actions(self) -> int:
        return self.info.num_actions

    @property
    def kind(self) -> str:
        return self.info.kind

    @property
    def dynamics(self) -> str:
        return self.info.dynamics

    def vector(self, batch: int, seed: int, *, first_copy: int = 0) -> VectorEnv:
        """``batch`` copies; copy ``b`` draws chance from stream ``first_copy + b``.

        Because each copy owns its random stream (``SeedSequence(seed,
        spawn_key=(first_copy + b,))``), copy ``b`` of a batch behaves exactly
        like a batch of one made with ``first_copy=b``: batched equals
        unbatched.
        """
        raise NotImplementedError

    def action_name(self, player: int, action: int) -> str:
        """A human-readable label for an action."""
        return str(action)

    def describe(self) -> dict:
        """A JSON-friendly summary for ``arena games``."""
        i = self.info
        return {
            "name": i.name,
            "players": i.num_players,
            "kind": i.kind,
            "dynamics": i.dynamics,
            "actions": list(i.actions_per_player),
            "obs_size": i.obs_size,
            "state_size": i.state_size,
            "max_episode_length": i.max_episode_length,
        }


def copy_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of copy ``index`` of an env seeded with ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def random_legal_actions(legal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uniform random legal action for every ``[B, P]`` row of a ``[B, P, A]`` mask.

    Rows with no legal action get action 0 (they are ignored by ``step``).
    """
    noise = rng.random(legal.shape)
    noise[~legal] = -1.0
    return noise.argmax(axis=-1)
