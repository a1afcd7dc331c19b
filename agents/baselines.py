"""Policies that do not learn: uniform random and a fixed mixed strategy."""

from __future__ import annotations

import numpy as np

from agents.base import Act, sample_from_probs


class UniformRandom:
    """Uniform over the legal actions."""

    name = "random"

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        probs = legal.astype(np.float64)
        probs /= np.maximum(probs.sum(-1, keepdims=True), 1.0)
        actions = sample_from_probs(probs, rng)
        logp = np.log(np.maximum(probs[np.arange(len(actions)), actions], 1e-300))
        return Act(actions, probs, logp.astype(np.float32))


class FixedMixed:
    """A fixed mixed strategy per seat, renormalised over the legal actions.

    Args:
        strategies: ``[P][A]`` probabilities for each seat (one row is used for
            every seat if only one is given).
    """

    name = "mixed"

    def __init__(self, strategies):
        arr = np.asarray(strategies, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if np.any(arr < 0):
            raise ValueError("a mixed strategy has a negative probability")
        self.strategies = arr

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        rows = self.strategies[np.minimum(player, len(self.strategies) - 1)]
        a = legal.shape[-1]
        probs = np.zeros(legal.shape, dtype=np.float64)
        probs[:, : rows.shape[1]] = rows[:, :a]
        probs[~legal] = 0.0
        total = probs.sum(-1, keepdims=True)
        # Where the strategy puts no mass on any legal action, fall back to uniform.
        uniform = legal / np.maximum(legal.sum(-1, keepdims=True), 1)
        probs = np.where(total > 0, probs / np.where(total > 0, total, 1.0), uniform)
        actions = sample_from_probs(probs, rng)
        logp = np.log(np.maximum(probs[np.arange(len(actions)), actions], 1e-300))
        return Act(actions, probs, logp.astype(np.float32))


class UniformContinuous:
    """Uniform actions in the box ``[low, high]^D`` for continuous-action games."""

    name = "random"

    def __init__(self, dim: int, low: float = -1.0, high: float = 1.0):
        self.dim, self.low, self.high = int(dim), float(low), float(high)

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        n = len(player)
        actions = rng.uniform(self.low, self.high, size=(n, self.dim)).astype(np.float32)
        return Act(actions, None, np.zeros(n, np.float32))


def random_policy(info):
    """The uniform-random baseline that fits a game (discrete or continuous)."""
    if info.continuous_actions:
        return UniformContinuous(info.num_actions, info.action_low, info.action_high)
    return UniformRandom()
