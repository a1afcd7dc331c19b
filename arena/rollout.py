"""Batched play: rollouts for learners and matches between policies.

Both step ``B`` copies of a game together and call each policy once per step
for all the (copy, seat) rows where it must act.
"""

from __future__ import annotations

import dataclasses
import functools
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
    sure: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """One forward pass per policy for every row where it acts.

    Args:
        seat_policy: ``[B, P]`` index into ``policies`` for every seat.
        explore: per policy, whether it acts with its exploration behaviour.
        sure: optional ``[B, P]`` bool array, filled in at the acting rows:
            True where the policy gave the chosen action probability exactly 1
            (False where it gave no probabilities). Other rows are left as they are.

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
        if sure is not None:
            sure[bi, pi] = _certain(out)
    return actions, logp, probs


def _certain(out) -> np.ndarray | bool:
    """``[N]`` the chosen discrete action had probability exactly 1 (False: no probs known)."""
    if out.probs is None or np.ndim(out.actions) != 1:
        return False
    return np.asarray(out.probs)[np.arange(len(out.actions)), out.actions] == 1.0


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
        episode: ``[G]`` uint64 hash of each game's trajectory (see
            :func:`episode_hash`): equal trajectories have equal hashes,
            different ones differ with overwhelming probability; never 0.
            None where unknown.
        deterministic: ``[G]`` bool: the game has no chance events and every
            decision in it was taken with probability exactly 1 by its
            policy, so replaying the seating replays the game. None where unknown.
    """

    seats: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray | None = None
    episode: np.ndarray | None = None
    deterministic: np.ndarray | None = None

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


def game_has_chance(game: Game) -> bool:
    """Whether ``game`` may have chance events (True where it cannot tell).

    Matrix games have none; an OpenSpiel game has none when its chance mode is
    deterministic (``OpenSpielGame.has_chance``); any other game (PettingZoo,
    continuous control) is taken to have some.
    """
    from games.matrix import MatrixGame

    if isinstance(game, MatrixGame):
        return False
    return bool(getattr(game, "has_chance", True))


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
        The seating, returns, lengths, episode hashes and determinism flags of
        every game, in game order (see :class:`MatchResult`).
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
        return MatchResult(
            seatings.reshape(0, p),
            np.zeros((0, p)),
            np.zeros(0, np.int64),
            np.zeros(0, np.uint64),
            np.zeros(0, bool),
        )
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
    episode = np.zeros(n_games, np.uint64)
    deterministic = np.zeros(n_games, bool)
    exact = not game_has_chance(game)  # else no game is deterministic: skip the checks
    h = np.full(batch, _START)  # each copy's running trajectory hash
    det = np.full(batch, exact)  # each copy's game so far: every decision certain
    sure = np.zeros((batch, p), bool) if exact else None
    flags = [False] * len(policies)
    a_shape, a_dtype = (
        ((game.info.num_actions,), np.float32) if game.info.continuous_actions else ((), np.int64)
    )
    while True:
        ts = _only(ts, live)
        acts, _, _ = act_all(policies, seats, ts, rng, flags, a_shape, a_dtype, sure)
        hash_step(h, ts.obs, acts)
        if exact:
            det &= (sure | ~ts.acting).all(1)
        lengths[game_of] += ts.acting.any(1)
        ts = env.step(acts)
        returns[game_of[live]] += ts.rewards[live]  # game_of is distinct: no add.at needed
        finished = ts.done & live
        if finished.any():
            rows = np.flatnonzero(finished)
            done_games = game_of[rows]
            episode[done_games] = hash_end(h[rows], returns[done_games])
            deterministic[done_games] = det[rows]
            h[rows] = _START
            det[rows] = exact
            # Finished copies take the next games in copy order.
            k = min(len(rows), n_games - next_game)
            take = rows[:k]
            game_of[take] = np.arange(next_game, next_game + k)
            seats[take] = seatings[next_game : next_game + k]
            next_game += k
            live[rows[k:]] = False
            if not live.any():
                break
            ts = env.reset(mask=finished & live)
    return MatchResult(seatings, returns, lengths, episode, deterministic)


# ---------------------------------------------------------------------------
# Episode hashes: a uint64 fingerprint of a whole trajectory, built step by
# step in wrapping uint64 arithmetic. Each step's observations (the float32
# bits of every seat's) and actions (their int64 or float32 bits) are dotted
# with fixed pseudo-random uint64 weights, xored into the running hash and
# scrambled by one multiply-xorshift round; at the end the returns' float64
# bits are folded in and the splitmix64 finaliser (Steele, Lea and Flood 2014,
# "Fast splittable pseudorandom number generators") scrambles the result.
# Equal trajectories give equal hashes on every machine and backend; two
# different ones collide with probability about 2**-64.

_START = np.uint64(0x243F6A8885A308D3)  # the hash of a game before its first step
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


@functools.lru_cache(maxsize=64)
def _weights(n: int, salt: int) -> np.ndarray:
    """``[n]`` fixed pseudo-random uint64 weights (the same in every process)."""
    rng = np.random.default_rng([0x5EED_4A54, salt, n])
    w = np.frombuffer(rng.bytes(8 * n), np.uint64).copy()
    w.flags.writeable = False
    return w


def _mix(x: np.ndarray) -> None:
    """splitmix64's finaliser on a uint64 array, in place."""
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31


def _bits(a: np.ndarray, rows: int) -> np.ndarray:
    """``[rows, N]`` uint64 of the raw bits of each row of ``a``."""
    a = np.ascontiguousarray(a).reshape(rows, -1)
    if a.dtype.itemsize == 8:
        return a.view(np.uint64)
    if a.dtype.itemsize == 4:
        return a.view(np.uint32).astype(np.uint64)
    return a.astype(np.int64).view(np.uint64)  # bool, int8, float16, ...


def hash_step(h: np.ndarray, obs: np.ndarray, actions: np.ndarray) -> None:
    """Fold one step into the running hashes ``h [B]`` (uint64, in place).

    Args:
        obs: ``[B, P, O]`` float32 every seat's observation before the step.
        actions: ``[B, P]`` int64 or ``[B, P, D]`` float32 actions (0 for seats
            that do not act).
    """
    b = len(h)
    x = _bits(obs, b)
    step = x @ _weights(x.shape[1], 1)
    y = _bits(actions, b)
    step += y @ _weights(y.shape[1], 2)
    # One multiply-xorshift round per step (a bijection of h ^ step, so a
    # difference at any step survives); the full finaliser runs in hash_end.
    h ^= step
    h *= _M1
    h ^= h >> _S31


def hash_end(h: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """The finished episodes' hashes ``[N]`` from running hashes ``h [N]`` and returns ``[N, P]``.

    Never 0, so that 0 can mean "unknown" elsewhere.
    """
    r = _bits(np.asarray(returns, np.float64), len(h))
    out = h ^ (r @ _weights(r.shape[1], 3))
    _mix(out)
    out[out == 0] = 1
    return out


def episode_hash(obs: np.ndarray, actions: np.ndarray, returns: np.ndarray) -> int:
    """The hash :func:`play` gives one episode of ``T`` steps (a pure function).

    Args:
        obs: ``[T, P, O]`` float32 every seat's observation before each step.
        actions: ``[T, P]`` int64 (or ``[T, P, D]`` float32) actions, 0 where a
            seat did not act.
        returns: ``[P]`` the episode's returns.
    """
    h = np.full(1, _START)
    for o, a in zip(obs, actions):
        hash_step(h, np.asarray(o, np.float32)[None], np.asarray(a)[None])
    return int(hash_end(h, np.asarray(returns, np.float64)[None])[0])


def _only(ts: TimeStep, live: np.ndarray) -> TimeStep:
    if live.all():
        return ts
    return dataclasses.replace(ts, acting=ts.acting & live[:, None])
