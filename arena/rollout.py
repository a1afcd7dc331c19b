"""Batched play: rollouts for learners and matches between policies.

Both step ``B`` copies of a game together and call each policy once per step
for all the (copy, seat) rows where it must act.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from agents.base import Policy, Rollout
from agents.limits import check_rollout
from games.core import ArenaError, Game, TimeStep
from games.limits import MAX_BATCH

# The engine's bounds (docs/limits.md): each refuses a request with one line
# rather than allocating for it.
MAX_GAMES = 1_000_000
"""Games in one ``play`` call (``arena eval --games``, league ``games_per_pair``)."""
MAX_ROLLOUT_LEN = 100_000
"""Steps of one rollout (league ``rollout_len``)."""
MAX_STEPS = 10**10
"""Env steps one training run asks for (``arena train --steps``, league ``steps``)."""


def check_count(name: str, value, low: int, high: int, fix: str = "") -> int:
    """``value`` must be an integer in ``[low, high]``; a one-line ArenaError otherwise."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not low <= value <= high
    ):
        raise ArenaError(
            f"{name} {value!r} is out of range; give an integer in [{low:,}, {high:,}]"
            + (f" {fix}" if fix else "")
        )
    return int(value)


@dataclasses.dataclass
class Episode:
    """A finished episode: who sat where and what each seat got."""

    seats: np.ndarray  # [P] policy index per seat
    returns: np.ndarray  # [P] float64
    length: int
    tag: Any = None


def act_all(
    policies: Sequence[Policy],
    seat_policy: np.ndarray,
    ts: TimeStep,
    rng: np.random.Generator,
    explore: Sequence[bool],
    action_shape: tuple[int, ...] = (),
    action_dtype=np.int64,
) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """One forward pass per policy for every row where it acts.

    Args:
        seat_policy: ``[B, P]`` index into ``policies`` for every seat.
        explore: per policy, whether it acts with its exploration behaviour.

    Returns:
        actions ``[B, P, ...]``, logp ``[B, P]`` and the action probabilities
        per policy index (rows in ``np.nonzero`` order of its mask), when given.
    """
    b, p = seat_policy.shape
    actions = np.zeros((b, p) + action_shape, action_dtype)
    logp = np.zeros((b, p), np.float32)
    probs = {}
    acting = ts.acting
    # bincount, not np.unique: no sort in the per-step hot path.
    present = np.flatnonzero(np.bincount(seat_policy[acting], minlength=len(policies)))
    for pid in present:
        bi, pi = np.nonzero(acting & (seat_policy == pid))
        out = policies[pid].act(ts.obs[bi, pi], ts.legal[bi, pi], pi, rng, explore=explore[pid])
        actions[bi, pi] = out.actions
        if out.logp is not None:
            logp[bi, pi] = out.logp
        if out.probs is not None:
            probs[int(pid)] = out.probs
    return actions, logp, probs


class Collector:
    """Collects rollouts of a learner (policy index 0) against opponents.

    Environments persist across rollouts; at every reset of a copy,
    ``matchup(rng)`` draws who sits where for its next episode: an int array
    ``[P]`` of indices into ``policies`` and a tag (e.g. the opponent's id).
    Seats holding index 0 are the learner's.

    Args:
        game: the game.
        policies: index 0 is the learner; the list may be replaced between
            rollouts with :meth:`set_policies` (e.g. new opponents).
        matchup: draws the seating of an episode.
        batch: number of copies.
        seed: seeds the environments, the policies' sampling and the matchups.
    """

    def __init__(
        self,
        game: Game,
        policies: Sequence[Policy],
        matchup: Callable[[np.random.Generator], tuple[np.ndarray, Any]],
        batch: int,
        seed: int,
    ):
        check_count("batch", batch, 1, MAX_BATCH)
        self.game = game
        self.info = game.info
        self.policies = list(policies)
        self.matchup = matchup
        self.env = game.vector(batch, seed)
        ss = np.random.SeedSequence(seed, spawn_key=(1 << 30,))
        act_seed, match_seed = ss.spawn(2)
        self.rng = np.random.default_rng(act_seed)
        self.match_rng = np.random.default_rng(match_seed)
        self.batch = batch
        p = self.info.num_players
        self.seats = np.zeros((batch, p), np.int64)
        self.tags: list[Any] = [None] * batch
        self.returns = np.zeros((batch, p), np.float64)
        self.lengths = np.zeros(batch, np.int64)
        self.ts = self.env.reset()
        for b in range(batch):
            self._draw(b)
        self.total_steps = 0

    def set_policies(self, policies: Sequence[Policy]) -> None:
        self.policies = list(policies)

    def _draw(self, b: int) -> None:
        seats, tag = self.matchup(self.match_rng)
        self.seats[b] = seats
        self.tags[b] = tag

    def _action_layout(self):
        if self.info.continuous_actions:
            return (self.info.num_actions,), np.float32
        return (), np.int64

    @property
    def all_done(self) -> bool:
        """Every copy has finished its episode (only after ``reset_finished=False``)."""
        return bool(self.ts.done.all())

    def collect(
        self, steps: int, explore: bool = True, reset_finished: bool = True
    ) -> tuple[Rollout, list[Episode]]:
        """Run ``steps`` batched steps; return the rollout and finished episodes.

        Args:
            reset_finished: restart copies as they finish (the default). With
                False, finished copies stay finished: the way to drain every
                episode at the end of a league round, so that no episode spans
                two rounds.
        """
        check_count("rollout length", steps, 1, MAX_ROLLOUT_LEN)
        check_rollout(self.info, steps, self.batch)
        t_n, b, p = steps, self.batch, self.info.num_players
        if reset_finished and self.ts.done.any():  # copies left finished by a drain
            stale = self.ts.done
            for bi in np.nonzero(stale)[0]:
                self._draw(bi)
            self.returns[stale] = 0.0
            self.lengths[stale] = 0
            self.ts = self.env.reset(mask=stale)
        ts = self.ts
        o, a, s = ts.obs.shape[-1], ts.legal.shape[-1], ts.state.shape[-1]
        a_shape, a_dtype = self._action_layout()
        obs = np.zeros((t_n + 1, b, p, o), np.float32)
        legal = np.zeros((t_n + 1, b, p, a), bool)
        acting = np.zeros((t_n + 1, b, p), bool)
        state = np.zeros((t_n + 1, b, s), np.float32)
        controlled = np.zeros((t_n + 1, b, p), bool)
        actions = np.zeros((t_n, b, p) + a_shape, a_dtype)
        logp = np.zeros((t_n, b, p), np.float32)
        rewards = np.zeros((t_n, b, p), np.float32)
        done = np.zeros((t_n, b), bool)
        episodes: list[Episode] = []
        flags = [explore] + [False] * (len(self.policies) - 1)
        for t in range(t_n):
            obs[t], legal[t], acting[t], state[t] = ts.obs, ts.legal, ts.acting, ts.state
            controlled[t] = self.seats == 0
            act, lp, _ = act_all(self.policies, self.seats, ts, self.rng, flags, a_shape, a_dtype)
            actions[t], logp[t] = act, lp
            was_done = ts.done
            ts = self.env.step(act)
            rewards[t] = ts.rewards
            finished = ts.done & ~was_done
            done[t] = finished
            self.returns += ts.rewards
            self.lengths += ~was_done
            if finished.any():
                for bi in np.nonzero(finished)[0]:
                    episodes.append(
                        Episode(
                            self.seats[bi].copy(),
                            self.returns[bi].copy(),
                            int(self.lengths[bi]),
                            self.tags[bi],
                        )
                    )
                    if reset_finished:
                        self._draw(bi)
                if reset_finished:
                    self.returns[finished] = 0.0
                    self.lengths[finished] = 0
                    ts = self.env.reset(mask=finished)
        obs[t_n], legal[t_n], acting[t_n], state[t_n] = ts.obs, ts.legal, ts.acting, ts.state
        controlled[t_n] = self.seats == 0
        self.ts = ts
        self.total_steps += int(acting[:-1].any(-1).sum())
        rollout = Rollout(obs, legal, acting, state, controlled, actions, logp, rewards, done)
        return rollout, episodes


@dataclasses.dataclass
class MatchResult:
    """Outcome of :func:`play`.

    Attributes:
        seats: ``[G, P]`` policy index at each seat of each game.
        returns: ``[G, P]`` returns per seat.
        lengths: ``[G]`` decisions (steps with an acting player) of each game,
            or None where unknown.
    """

    seats: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray | None = None

    def policy_returns(self) -> np.ndarray:
        """``[G, K]`` mean return of each policy in each game (over its seats;
        NaN where a policy did not play)."""
        k = int(self.seats.max()) + 1
        out = np.full((len(self.seats), k), np.nan)
        for pid in range(k):
            mask = self.seats == pid
            n = mask.sum(1)
            tot = np.where(mask, self.returns, 0.0).sum(1)
            out[:, pid] = np.where(n > 0, tot / np.maximum(n, 1), np.nan)
        return out

    def mean_returns(self) -> np.ndarray:
        """``[K]`` mean return of each policy over all games it played."""
        return np.nanmean(self.policy_returns(), axis=0)

    def win_draw_loss(self, pid: int = 0) -> tuple[float, float, float]:
        """Fractions of games policy ``pid`` won, drew and lost (by return rank)."""
        r = self.policy_returns()
        mine = r[:, pid]
        others = np.where(self.seats != pid, self.returns, -np.inf).max(1)
        win = float(np.mean(mine > others))
        draw = float(np.mean(mine == others))
        return win, draw, 1.0 - win - draw


def rotation(num_players: int, num_policies: int, game_index: int) -> np.ndarray:
    """Seating of game ``game_index`` under seat rotation.

    With as many policies as seats, game ``g`` shifts the seating by ``g``: every
    policy plays every seat equally often over ``P`` consecutive games. With
    fewer policies than seats, the seats cycle through the policies.
    """
    return (np.arange(num_players) + game_index) % num_policies


def rotations(num_players: int, num_policies: int, first_game: int, n_games: int) -> np.ndarray:
    """``[n_games, P]``: :func:`rotation` of games ``first_game .. first_game + n_games - 1``."""
    games_ = np.arange(first_game, first_game + n_games, dtype=np.int64)[:, None]
    return (np.arange(num_players, dtype=np.int64)[None, :] + games_) % num_policies


def play(
    game: Game,
    policies: Sequence[Policy],
    n_games: int,
    seed: int,
    batch: int = 256,
    rotate: bool = True,
    seatings: np.ndarray | None = None,
) -> MatchResult:
    """Play ``n_games`` whole games between ``policies``.

    Args:
        policies: policy ``k`` sits at seat ``k`` (before rotation).
        rotate: rotate seats so that every policy plays every seat.
        seatings: ``[n_games, P]`` explicit seating (overrides ``rotate``).
        batch: copies stepped together.

    Returns:
        The seating and the returns of every game, in game order.
    """
    check_count("number of games", n_games, 0, MAX_GAMES)
    p = game.info.num_players
    if seatings is None:
        if rotate:
            seatings = rotations(p, len(policies), 0, n_games)
        else:
            seatings = np.tile(np.arange(p) % len(policies), (n_games, 1))
    seatings = np.asarray(seatings, np.int64)
    if n_games == 0:
        return MatchResult(seatings.reshape(0, p), np.zeros((0, p)), np.zeros(0, np.int64))
    batch = max(1, min(batch, n_games))
    env = game.vector(batch, seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1 << 30,)))
    ts = env.reset()
    game_of = np.arange(batch)  # distinct at all times: each game gets one copy
    next_game = batch
    live = np.ones(batch, bool)
    seats = seatings[game_of].copy()
    returns = np.zeros((n_games, p), np.float64)
    lengths = np.zeros(n_games, np.int64)
    flags = [False] * len(policies)
    a_shape, a_dtype = (
        ((game.info.num_actions,), np.float32) if game.info.continuous_actions else ((), np.int64)
    )
    while True:
        ts = _only(ts, live)
        acts, _, _ = act_all(policies, seats, ts, rng, flags, a_shape, a_dtype)
        lengths[game_of] += ts.acting.any(1)
        ts = env.step(acts)
        returns[game_of[live]] += ts.rewards[live]  # game_of is distinct: no add.at needed
        finished = ts.done & live
        if finished.any():
            # Finished copies take the next games in copy order.
            rows = np.flatnonzero(finished)
            k = min(len(rows), n_games - next_game)
            take = rows[:k]
            game_of[take] = np.arange(next_game, next_game + k)
            seats[take] = seatings[next_game : next_game + k]
            next_game += k
            live[rows[k:]] = False
            if not live.any():
                break
            ts = env.reset(mask=finished & live)
    return MatchResult(seatings, returns, lengths)


def _only(ts: TimeStep, live: np.ndarray) -> TimeStep:
    if live.all():
        return ts
    return dataclasses.replace(ts, acting=ts.acting & live[:, None])
