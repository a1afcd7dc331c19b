"""What every policy and learner looks like from outside.

Learners see arrays, never a game object: a :class:`games.GameInfo` sizes
their networks, and :class:`Rollout` batches (collected by ``arena``) feed
their updates.

Axis order: ``N`` rows for acting (one row per (copy, seat) that must act),
``[T, B, P, ...]`` for rollouts (time, copy, player).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Protocol, runtime_checkable

import numpy as np

from games.core import ArenaError, GameInfo


class CheckpointError(ArenaError):
    """A checkpoint or weights file that cannot be used; one-line message."""


class HyperparameterError(ArenaError):
    """A learner config value out of range or of the wrong type; one-line message."""


class AlgorithmFitError(ArenaError):
    """An algorithm that cannot learn this game (e.g. QMIX on a zero-sum game)."""


class DeviceError(ArenaError):
    """A torch device that is malformed or not available here."""


@dataclasses.dataclass
class Act:
    """The output of :meth:`Policy.act` for ``N`` rows.

    Attributes:
        actions: ``[N]`` int64 (discrete) or ``[N, D]`` float32 (continuous).
        probs: ``[N, A]`` float action probabilities (illegal actions exactly 0),
            or None for deterministic continuous policies.
        logp: ``[N]`` log-probability of the sampled actions (0 where unknown).
    """

    actions: np.ndarray
    probs: np.ndarray | None = None
    logp: np.ndarray | None = None


@runtime_checkable
class Policy(Protocol):
    """Maps ``(obs [N, O], legal [N, A], player [N])`` to actions, batched."""

    def act(
        self,
        obs: np.ndarray,
        legal: np.ndarray,
        player: np.ndarray,
        rng: np.random.Generator,
        explore: bool = False,
    ) -> Act:
        """Sample actions; ``explore`` asks a learner for its exploration behaviour
        (e.g. epsilon-greedy) rather than its evaluation behaviour."""
        ...


@dataclasses.dataclass
class Rollout:
    """``T`` steps of ``B`` copies, time-major, as collected by ``arena``.

    Observations have ``T + 1`` entries (the last one is where the next rollout
    starts). When ``done[t, b]`` the copy was reset right after step ``t``, so
    ``obs[t + 1, b]`` is the first observation of a new episode.

    Attributes:
        obs: ``[T+1, B, P, O]`` float32.
        legal: ``[T+1, B, P, A]`` bool.
        acting: ``[T+1, B, P]`` bool.
        state: ``[T+1, B, S]`` float32 global state.
        controlled: ``[T+1, B, P]`` bool, the seats the learner plays (fixed
            within an episode; redrawn at resets).
        actions: ``[T, B, P]`` int64 (or ``[T, B, P, D]`` float32), 0 where not acting.
        logp: ``[T, B, P]`` float32 behaviour log-probabilities, 0 where not acting.
        rewards: ``[T, B, P]`` float32 rewards of step ``t``.
        done: ``[T, B]`` bool, the episode ended with step ``t``.
    """

    obs: np.ndarray
    legal: np.ndarray
    acting: np.ndarray
    state: np.ndarray
    controlled: np.ndarray
    actions: np.ndarray
    logp: np.ndarray
    rewards: np.ndarray
    done: np.ndarray

    @property
    def steps(self) -> int:
        return int(self.actions.shape[0])

    @property
    def batch(self) -> int:
        return int(self.actions.shape[1])

    def learner_decisions(self) -> int:
        """How many decisions the learner took in this rollout."""
        return int((self.acting[:-1] & self.controlled[:-1]).sum())


@runtime_checkable
class Learner(Policy, Protocol):
    """A policy that learns from rollouts, freezes snapshots and checkpoints.

    Every learner module defines ``NAME`` (e.g. ``"iql"``), a frozen config
    dataclass (in :mod:`agents.configs`), and a class with this interface,
    constructed as ``Learner(info: GameInfo, config, seed: int, device: str = "cpu")``.

    This is everything ``arena`` and ``leagues`` use of a learner;
    :func:`agents.testing.check_learner` checks each promise for every
    registered algorithm.
    """

    NAME: str
    """The algorithm's name in :data:`agents.registry.ALGORITHMS` (checkpoints record it)."""
    info: GameInfo
    """The game the networks are sized for."""
    config: Any
    """The frozen config dataclass (checkpoints record ``dataclasses.asdict`` of it)."""

    def learn(self, rollout: Rollout) -> dict[str, float]:
        """Consume one rollout; return metrics (losses, epsilon, ...) as plain floats."""
        ...

    def freeze(self) -> Policy:
        """A frozen policy with copied weights (later learning does not change it)."""
        ...

    def policy_state_dict(self) -> dict[str, Any]:
        """Only the tensors needed to act: what league snapshots store."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Every tensor of the learner (weights, optimizer moments, counters, RNG states):
        what a checkpoint stores to resume."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load :meth:`state_dict` output, or only the :meth:`policy_state_dict` subset
        (then the rest keeps its values)."""
        ...


_DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


def check_device(device: str, *, available: bool = True) -> str:
    """Refuse a torch device that is malformed or not available on this machine.

    The one device check of the CLI and the league config. Accepts 'cpu',
    'cuda', 'cuda:N' (N below the number of visible GPUs) and 'mps' (Apple
    silicon). Torch is imported only to check that a non-CPU device is
    available, and not at all with ``available=False`` (the spelling alone).

    Raises:
        DeviceError: one line naming the device and the fix.
    """
    if not isinstance(device, str) or not _DEVICE.match(device):
        raise DeviceError(f"{device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:0' or 'mps'")
    if not available or device == "cpu":
        return device
    import torch

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {device!r}: no CUDA device is available here (torch {torch.__version__}); use 'cpu'"
            )
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) here; use 'cuda:0' or 'cpu'"
            )
    else:
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError("device 'mps': Apple's MPS backend is not available here; use 'cpu'")
    return device


def sample_from_probs(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sample one action per row of ``probs [N, A]`` with inverse-CDF sampling.

    Never returns an action whose probability is 0 (the draw is strictly
    below the row total and cumulative sums are compared with ``>``).
    """
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random(probs.shape[0]) * cdf[:, -1]
    actions = (cdf > u[:, None]).argmax(axis=-1)
    return actions.astype(np.int64)
