"""Advantages and value normalization for on-policy learners (numpy, pure).

* :func:`gae`: generalized advantage estimation (Schulman et al. 2016,
  "High-Dimensional Continuous Control Using Generalized Advantage
  Estimation", ICLR, eq. 16)::

      delta_i = r_i + gamma * (1 - terminal_i) * V(s'_i) - V(s_i)
      A_i     = delta_i + gamma * lam * (1 - last_i) * A_{i+1}

  on flat transitions where the successor of ``i`` along its trajectory is
  ``i + 1`` unless ``last[i]`` (the order of :mod:`agents.transitions`). A
  terminal transition bootstraps from 0; a truncated one (``last`` but not
  ``terminal``) bootstraps from ``V(s'_i)`` and cuts the lambda-recursion.

* :class:`ValueNorm` with :func:`value_norm_update`, :func:`normalize_values`
  and :func:`denormalize_values`: the running mean and variance of value
  targets that MAPPO trains its critic against (Yu et al. 2022, "The
  Surprising Effectiveness of PPO in Cooperative Multi-Agent Games", NeurIPS
  Datasets and Benchmarks, Sec. 4.1 and their ``ValueNorm``): exponential
  moving averages of the batch mean and mean square, debiased like Adam's
  moments. It is PopArt (van Hasselt et al. 2016) without the output-preserving
  rescale of the last layer.
"""

from __future__ import annotations

import dataclasses

import numpy as np


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminal: np.ndarray,
    last: np.ndarray,
    gamma: float,
    lam: float,
) -> np.ndarray:
    """Generalized advantage estimates ``[N]`` (Schulman et al. 2016, eq. 16).

    Args:
        rewards: ``[N]`` reward of each transition.
        values: ``[N]`` ``V(s_i)``.
        next_values: ``[N]`` ``V(s'_i)``; read only where not ``terminal``.
        terminal: ``[N]`` bool, the episode ended (bootstrap from 0).
        last: ``[N]`` bool, the trajectory ends at ``i`` (terminal or truncated);
            otherwise transition ``i + 1`` is its successor.
        gamma: discount.
        lam: GAE lambda (0: one-step TD error, 1: Monte Carlo minus baseline).

    Returns:
        ``[N]`` float64 advantages; ``advantages + values`` are the lambda-returns.
    """
    r = np.asarray(rewards, np.float64)
    v = np.asarray(values, np.float64)
    nv = np.asarray(next_values, np.float64)
    term = np.asarray(terminal, bool)
    cut = np.asarray(last, bool) | term
    n = r.shape[0]
    if n and not cut[-1]:
        raise ValueError(
            "gae: the last transition has no successor; mark it terminal or last (truncated)"
        )
    delta = (r + gamma * np.where(term, 0.0, nv) - v).tolist()
    keep = (gamma * lam * ~cut).tolist()
    adv = [0.0] * n
    running = 0.0
    for i in range(n - 1, -1, -1):
        running = delta[i] + keep[i] * running
        adv[i] = running
    return np.asarray(adv, np.float64)


@dataclasses.dataclass(frozen=True)
class ValueNorm:
    """Running statistics of value targets (Yu et al. 2022's ``ValueNorm``).

    Attributes:
        mean: exponential moving average of batch means (biased towards 0).
        mean_sq: exponential moving average of batch mean squares (biased).
        debias: ``1 - beta^k`` after ``k`` updates; divides the two above.
    """

    mean: float = 0.0
    mean_sq: float = 0.0
    debias: float = 0.0


def value_norm_update(stats: ValueNorm, x: np.ndarray, beta: float) -> ValueNorm:
    """Fold a batch of targets ``x`` into the running moments with weight ``1 - beta``."""
    x = np.asarray(x, np.float64)
    if x.size == 0:
        return stats
    w = 1.0 - beta
    return ValueNorm(
        mean=beta * stats.mean + w * float(x.mean()),
        mean_sq=beta * stats.mean_sq + w * float((x * x).mean()),
        debias=beta * stats.debias + w,
    )


def value_norm_moments(stats: ValueNorm, min_var: float = 1e-2) -> tuple[float, float]:
    """Debiased ``(mean, std)``; ``(0, 1)`` before the first update.

    The variance is floored at ``min_var`` (as in MAPPO) so that nearly
    constant targets are not blown up.
    """
    if stats.debias <= 0.0:
        return 0.0, 1.0
    mean = stats.mean / stats.debias
    var = max(stats.mean_sq / stats.debias - mean * mean, min_var)
    return mean, float(np.sqrt(var))


def normalize_values(x, stats: ValueNorm):
    """``(x - mean) / std`` (numpy arrays or torch tensors)."""
    mean, std = value_norm_moments(stats)
    return (x - mean) / std


def denormalize_values(x, stats: ValueNorm):
    """``x * std + mean``, the inverse of :func:`normalize_values`."""
    mean, std = value_norm_moments(stats)
    return x * std + mean
