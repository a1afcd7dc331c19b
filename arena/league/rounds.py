"""One learner's round of play and learning, as plain data in and out.

A league's learners are independent within a *generation* (every learner that
has not reached the target runs one round; AlphaStar's main agent, main
exploiters and league exploiters train side by side), so the unit a league
distributes is a learner's whole round: the collect/learn loop of
:meth:`arena.league.loop.League.run_round`.

* :func:`play_round` is that loop, on live objects. The league's serial path
  calls it on its own learner; workers call it on a learner rebuilt from data.
* :class:`RoundTask` is what a worker receives: the learner as its algorithm,
  config and ``state_dict()`` bytes (safetensors), the opponents as
  :class:`arena.backends.PolicySpec` s, the opponent distribution drawn by the
  coordinator, and the round's seed. :func:`run_task` plays it and returns a
  :class:`RoundResult`: the learner's new ``state_dict()`` bytes, the finished
  episodes, the last learning metrics and the env steps played.

Workers never open the league's store; the coordinator alone writes it. A
task is a pure function of its data, so a round lost with its worker is
replayed by sending the same task again (``attempt`` counts the tries).
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections.abc import Callable, Sequence

import numpy as np

from arena.rollout import Collector, Episode


def matchup(
    ids: Sequence[int],
    probs: Sequence[float],
    index: dict[int, int],
    learner_id: int,
    num_players: int,
    cooperative: bool,
):
    """The seating draw of a learner's round: an opponent from ``(ids, probs)``;
    the learner (policy index 0) at one random seat, the opponent at the others.

    Cooperative games and self-play draws seat the learner everywhere.
    """
    ids = np.asarray(ids, np.int64)
    probs = np.asarray(probs, np.float64)
    p = num_players

    def draw(rng: np.random.Generator):
        opp = int(ids[rng.choice(len(ids), p=probs)])
        if cooperative or opp == learner_id:
            return np.zeros(p, np.int64), opp
        seats = np.full(p, index[opp], np.int64)
        seats[rng.integers(p)] = 0
        return seats, opp

    return draw


def play_round(
    game,
    learner,
    opponents: Sequence,
    draw: Callable,
    batch: int,
    seed: int,
    round_steps: int,
    rollout_len: int,
    on_rollout: Callable[[], None] | None = None,
) -> tuple[int, list[Episode], dict]:
    """Collect and learn until ``round_steps`` env steps, then drain every episode.

    Returns ``(env steps, finished episodes, the last learn() metrics)``.
    """
    collector = Collector(game, [learner, *opponents], draw, batch, seed)
    episodes: list[Episode] = []
    metrics: dict = {}
    while collector.total_steps < round_steps:
        rollout, eps = collector.collect(rollout_len)
        metrics = learner.learn(rollout)
        episodes += eps
        if on_rollout is not None:
            on_rollout()
    while not collector.all_done:
        rollout, eps = collector.collect(rollout_len, reset_finished=False)
        metrics = learner.learn(rollout)
        episodes += eps
    return collector.total_steps, episodes, metrics


@dataclasses.dataclass(frozen=True)
class RoundTask:
    """One learner's round as plain data (what a worker receives).

    Attributes:
        game_spec: the game (``games.load`` spec, file paths absolute).
        algorithm: the learner's algorithm name (:mod:`agents.registry`).
        config: the learner's config overrides, as the league builds it.
        state: safetensors bytes of the learner's ``state_dict()`` at its last commit.
        opponents: a :class:`arena.backends.PolicySpec` per opponent (policy index 1..).
        ids: member ids of the opponent distribution (may hold the learner: self-play).
        probs: their probabilities.
        index: ``[member id, policy index]`` pairs (the learner is index 0).
        learner_id: the learner's member id.
        cooperative: the learner holds every seat.
        batch: env copies.
        seed: the round's seed.
        round_steps: env steps before the drain.
        rollout_len: steps per rollout.
        round: the learner's round index (for the test hook).
        device: the learner's torch device.
        kill_at: test hook ``ARENA_WORKER_KILL_AT`` (``collect:ROUND,...``): a worker
            SIGKILLs itself after its first rollout of that round, on the first try
            only; ``ray.kill:ROUND`` instead has Ray kill the worker's actor there.
        opponent_device: torch device of the opponents (the league's ``actor_device``).
    """

    game_spec: str
    algorithm: str
    config: dict
    state: bytes
    opponents: tuple
    ids: tuple
    probs: tuple
    index: tuple
    learner_id: int
    cooperative: bool
    batch: int
    seed: int
    round_steps: int
    rollout_len: int
    round: int
    device: str = "cpu"
    kill_at: str | None = None
    opponent_device: str = "cpu"


@dataclasses.dataclass(frozen=True)
class RoundResult:
    """What a worker sends back: the learner's new ``state_dict()`` bytes and the round's play."""

    state: bytes
    steps: int
    episodes: list
    metrics: dict


def build_learner(algorithm: str, info, config: dict, state: bytes, device: str):
    """A learner rebuilt from its ``state_dict()`` bytes (weights, optimizer, counters, RNGs)."""
    from agents.checkpoint import tensors_from_bytes
    from agents.registry import make_learner

    learner = make_learner(algorithm, info, seed=0, device=device, **dict(config))
    learner.load_state_dict(tensors_from_bytes(state, f"learner state ({algorithm})"))
    return learner


def run_task(task: RoundTask, attempt: int = 0) -> RoundResult:
    """Play one :class:`RoundTask` in this process (what a worker runs)."""
    from agents.checkpoint import tensors_to_bytes
    from arena import backends

    backends.one_thread()
    game = backends._game(task.game_spec)
    info = game.info
    learner = build_learner(task.algorithm, info, task.config, task.state, task.device)
    opponents = [backends._policy(s, info, task.opponent_device) for s in task.opponents]
    draw = matchup(
        task.ids, task.probs, dict(task.index), task.learner_id, info.num_players, task.cooperative
    )
    hook = None
    marks = task.kill_at.split(",") if task.kill_at and attempt == 0 else []
    if f"collect:{task.round}" in marks:

        def hook():
            os.kill(os.getpid(), signal.SIGKILL)

    elif f"ray.kill:{task.round}" in marks:

        def hook():
            import threading

            import ray

            ray.kill(ray.get_runtime_context().current_actor)
            if not threading.Event().wait(120):  # ends when Ray kills this process
                raise RuntimeError("ray.kill did not end this worker's actor in 120 s")

    steps, episodes, metrics = play_round(
        game,
        learner,
        opponents,
        draw,
        task.batch,
        task.seed,
        task.round_steps,
        task.rollout_len,
        hook,
    )
    return RoundResult(tensors_to_bytes(learner.state_dict()), steps, episodes, metrics)
