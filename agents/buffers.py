"""Replay buffers for off-policy learners: a ring of named arrays, sampled uniformly.

Two kinds of rows go in, built by the functions below from a :class:`Rollout`:

* **decision transitions** (:func:`decision_rows`, IQL): one row per decision
  of a controlled seat, from :class:`agents.transitions.DecisionBuilder` with
  ``carry=True`` (turn-based games: from a seat's decision to its next one,
  rewards summed in between);
* **joint steps** (:func:`joint_step_rows`, VDN and QMIX): one row per time
  step of a copy, holding every seat's observation, legal mask, acting flag
  and action, the team reward, the global state, the next step's joint
  observation / legal mask / acting flags / state, and ``done``. Feed-forward
  agent networks need nothing more than these one-step rows, so "episode
  replay" here is replay of the joint steps of whole episodes.

Everything is numpy; the learner turns samples into tensors.
"""

from __future__ import annotations

import numpy as np

from agents.base import Rollout
from agents.transitions import Transitions

DECISION_FIELDS = ("obs", "legal", "player", "actions", "rewards", "next_obs", "next_legal", "done")
JOINT_FIELDS = (
    "obs",
    "legal",
    "acting",
    "actions",
    "reward",
    "state",
    "next_obs",
    "next_legal",
    "next_acting",
    "next_state",
    "done",
)


class ReplayBuffer:
    """A fixed-capacity ring of rows with named fields, sampled uniformly.

    The arrays are allocated on the first :meth:`add` (shapes and dtypes are
    taken from it); once full, the oldest rows are overwritten.

    Args:
        capacity: the most rows kept.
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"replay buffer capacity={capacity} must be >= 1")
        self.capacity = int(capacity)
        self.data: dict[str, np.ndarray] = {}
        self.size = 0
        self.next = 0  # where the next row goes

    def __len__(self) -> int:
        return self.size

    def add(self, rows: dict[str, np.ndarray]) -> None:
        """Append ``rows`` (every field with the same first axis ``N``)."""
        n = len(next(iter(rows.values())))
        if n == 0:
            return
        if not self.data:
            self.data = {
                k: np.zeros((self.capacity,) + v.shape[1:], v.dtype) for k, v in rows.items()
            }
        if n > self.capacity:  # only the newest rows fit
            rows = {k: v[-self.capacity :] for k, v in rows.items()}
            n = self.capacity
        idx = (self.next + np.arange(n)) % self.capacity
        for k, arr in self.data.items():
            arr[idx] = rows[k]
        self.next = int((self.next + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` rows drawn uniformly with replacement."""
        idx = rng.integers(0, self.size, size=n)
        return {k: v[idx] for k, v in self.data.items()}

    def arrays(self) -> dict[str, np.ndarray]:
        """The stored rows in ring order, plus ``_next`` (for checkpoints)."""
        out = {k: v[: self.size] for k, v in self.data.items()}
        out["_next"] = np.array([self.next], np.int64)
        return out

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Inverse of :meth:`arrays`."""
        rows = {k: v for k, v in arrays.items() if k != "_next"}
        self.data, self.size, self.next = {}, 0, 0
        if rows and len(next(iter(rows.values()))) > 0:
            n = len(next(iter(rows.values())))
            self.data = {
                k: np.zeros((self.capacity,) + v.shape[1:], v.dtype) for k, v in rows.items()
            }
            for k, v in rows.items():
                self.data[k][:n] = v
            self.size = n
            self.next = (
                int(arrays["_next"][0]) % self.capacity if "_next" in arrays else n % self.capacity
            )


def decision_rows(tr: Transitions) -> dict[str, np.ndarray]:
    """IQL rows from carried decision transitions (every row has a real successor or ``done``)."""
    return {
        "obs": tr.obs.astype(np.float32),
        "legal": tr.legal.astype(bool),
        "player": tr.player.astype(np.int64),
        "actions": tr.actions.astype(np.int64),
        "rewards": tr.rewards.astype(np.float32),
        "next_obs": tr.next_obs.astype(np.float32),
        "next_legal": tr.next_legal.astype(bool),
        "done": tr.done.astype(bool),
    }


def joint_step_rows(r: Rollout, team_player: int = 0) -> dict[str, np.ndarray]:
    """Joint transitions, one per ``(t, b)`` where some seat acted.

    The team reward is seat ``team_player``'s (cooperative games pay every
    seat the same). When ``done[t, b]`` the ``next_*`` fields hold the first
    step of the next episode and must not be bootstrapped from (``done`` says
    so). Steps of a copy left finished (nobody acts) are skipped.

    Returns:
        ``obs [N,P,O]``, ``legal [N,P,A]``, ``acting [N,P]``, ``actions [N,P]``,
        ``reward [N]``, ``state [N,S]``, the ``next_`` versions and ``done [N]``.
    """
    t_idx, b_idx = np.nonzero(r.acting[:-1].any(-1))
    nt = t_idx + 1
    return {
        "obs": r.obs[t_idx, b_idx],
        "legal": r.legal[t_idx, b_idx],
        "acting": r.acting[t_idx, b_idx],
        "actions": r.actions[t_idx, b_idx].astype(np.int64),
        "reward": r.rewards[t_idx, b_idx, team_player].astype(np.float32),
        "state": r.state[t_idx, b_idx],
        "next_obs": r.obs[nt, b_idx],
        "next_legal": r.legal[nt, b_idx],
        "next_acting": r.acting[nt, b_idx],
        "next_state": r.state[nt, b_idx],
        "done": r.done[t_idx, b_idx],
    }
