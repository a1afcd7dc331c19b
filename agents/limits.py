"""Upper bounds on learner sizes and the checks every config uses (docs/limits.md).

Hyperparameters are checked in each config's ``__post_init__`` with the
helpers below; they raise :class:`agents.base.HyperparameterError` (an
``ArenaError``: the CLI prints one line) and are NaN-safe (``nan > 0`` is
False, so a NaN fails every range). Network sizes are checked from the game's
sizes and the config *before* any weight is allocated.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from agents.base import HyperparameterError

MAX_HIDDEN_WIDTH = 8192
"""Units in one hidden layer."""

MAX_HIDDEN_LAYERS = 64
"""Hidden layers in one network."""

MAX_PARAMETERS = 100_000_000
"""Parameters of all of a learner's networks together (400 MB of float32, before optimizer moments)."""

MAX_BATCH_SIZE = 65_536
"""Rows per gradient step (``batch_size`` of IQL, VDN, QMIX, MADDPG)."""

MAX_BUFFER_SIZE = 10_000_000
"""Rows of a replay buffer (``buffer_size``)."""

MAX_WEIGHTS_BYTES = 4 << 30
"""Size of a checkpoint's ``weights.safetensors`` file (4 GiB), checked with stat before reading."""

MAX_ROLLOUT_BYTES = 4 << 30
"""Memory of one rollout's arrays (``rollout_len`` x ``batch`` time steps), estimated before collecting."""


def rollout_bytes(info, steps: int, batch: int) -> int:
    """Bytes of a :class:`agents.base.Rollout` of ``steps`` x ``batch`` for the game ``info``.

    ``obs [T+1,B,P,O]`` f32, ``legal [T+1,B,P,A]`` bool, ``acting`` and
    ``controlled [T+1,B,P]`` bool, ``state [T+1,B,S]`` f32, ``actions``,
    ``logp`` and ``rewards [T,B,P]`` (8 + 4 + 4 bytes; continuous actions
    ``[T,B,P,D]`` f32), ``done [T,B]``.
    """
    p, o, a, s = info.num_players, info.obs_size, info.num_actions, info.state_size
    per_step = p * (4 * o + a + 2) + 4 * s
    per_step += p * (4 * a + 8 if info.continuous_actions else 16) + 1
    return (steps + 1) * batch * per_step


def check_rollout(info, steps: int, batch: int, what: str = "rollout_len x batch") -> None:
    """Refuse a rollout shape whose arrays would exceed MAX_ROLLOUT_BYTES."""
    need = rollout_bytes(info, steps, batch)
    if need > MAX_ROLLOUT_BYTES:
        raise HyperparameterError(
            f"{what} = {steps:,} x {batch:,} steps of '{info.name}' needs about {need / 2**30:.1f} GiB "
            f"per rollout, above the limit of {MAX_ROLLOUT_BYTES / 2**30:g} GiB "
            "(agents.limits; docs/limits.md); give a smaller rollout_len or batch"
        )


def _bad(algo: str, name: str, value, want: str) -> HyperparameterError:
    return HyperparameterError(f"{algo}: {name}={value!r} is not valid; give {want}")


def check_int(algo: str, name: str, value, low: int, high: int | None = None) -> int:
    """An integer (not a bool) in ``[low, high]``."""
    want = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high:,}]"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _bad(algo, name, value, want)
    if value < low or (high is not None and value > high):
        raise _bad(algo, name, value, want)
    return int(value)


def check_real(
    algo: str,
    name: str,
    value,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite number in the interval; NaN and inf always fail."""
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    want = f"a finite number in {left}{lo}, {hi}{right}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _bad(algo, name, value, want)
    v = float(value)
    ok = math.isfinite(v)
    if ok and low is not None:
        ok = v > low if low_open else v >= low
    if ok and high is not None:
        ok = v < high if high_open else v <= high
    if not ok:
        raise _bad(algo, name, value, want)
    return v


def check_choice(algo: str, name: str, value, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _bad(algo, name, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def check_bool(algo: str, name: str, value) -> bool:
    if not isinstance(value, bool):
        raise _bad(algo, name, value, "true or false")
    return value


def check_hidden(algo: str, value, name: str = "hidden") -> tuple[int, ...]:
    """Hidden layer sizes: a list of 0 to MAX_HIDDEN_LAYERS integers in [1, MAX_HIDDEN_WIDTH]."""
    want = (
        f"a list of at most {MAX_HIDDEN_LAYERS} layer widths, each an integer in "
        f"[1, {MAX_HIDDEN_WIDTH}], e.g. [64, 64]"
    )
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise _bad(algo, name, value, want)
    if len(value) > MAX_HIDDEN_LAYERS or not all(
        isinstance(h, numbers.Integral) and not isinstance(h, bool) and 1 <= h <= MAX_HIDDEN_WIDTH
        for h in value
    ):
        raise _bad(algo, name, list(value), want)
    return tuple(int(h) for h in value)


def mlp_parameters(sizes: Sequence[int]) -> int:
    """Weights and biases of :func:`agents.nn.mlp` over ``sizes``."""
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))


def check_parameters(algo: str, game: str, count: int) -> None:
    """Refuse a learner whose networks would hold more than MAX_PARAMETERS parameters."""
    if count > MAX_PARAMETERS:
        raise HyperparameterError(
            f"{algo}: its networks for '{game}' would hold {count:,} parameters, above the "
            f"limit of {MAX_PARAMETERS:,} (agents.limits; docs/limits.md); give smaller hidden sizes"
        )
