"""Training one learner by self-play (every seat is the learner's).

The league (``arena.league``) trains against pools of frozen opponents; this is
the plain loop behind ``arena train`` and the learning tests.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from agents.base import Policy
from arena.rollout import Collector, Episode
from games.core import Game


def self_play_matchup(num_players: int):
    """Every seat is the learner's (policy index 0)."""
    seats = np.zeros(num_players, np.int64)

    def draw(rng: np.random.Generator):
        return seats, None

    return draw


def versus_matchup(num_players: int):
    """The learner at one seat drawn uniformly per episode, policy 1 at the others."""

    def draw(rng: np.random.Generator):
        seats = np.ones(num_players, np.int64)
        seats[rng.integers(num_players)] = 0
        return seats, None

    return draw


def train(
    learner,
    game: Game,
    steps: int,
    seed: int,
    batch: int = 64,
    rollout_len: int = 16,
    opponent: Policy | None = None,
    on_update: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Train ``learner`` for about ``steps`` env steps (summed over copies).

    Args:
        opponent: None for self-play (the learner holds every seat); else the
            learner takes one random seat per episode and ``opponent`` the rest.
        on_update: called after every update with its metrics (progress bars).

    Returns:
        One metrics dict per update, with ``env_steps`` and the mean episode
        return of the learner's seats over the episodes that finished.
    """
    p = game.info.num_players
    if opponent is None:
        collector = Collector(game, [learner], self_play_matchup(p), batch, seed)
    else:
        collector = Collector(game, [learner, opponent], versus_matchup(p), batch, seed)
    history: list[dict] = []
    while collector.total_steps < steps:
        rollout, episodes = collector.collect(rollout_len, explore=True)
        metrics = dict(learner.learn(rollout))
        metrics["env_steps"] = collector.total_steps
        metrics["episodes"] = len(episodes)
        if episodes:
            metrics["return"] = float(np.mean([_learner_return(e) for e in episodes]))
        history.append(metrics)
        if on_update is not None:
            on_update(metrics)
    return history


def _learner_return(e: Episode) -> float:
    return float(e.returns[e.seats == 0].mean())
