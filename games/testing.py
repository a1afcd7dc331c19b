"""Conformance checks for any :class:`games.core.Game`, after PettingZoo's
``api_test`` and Gymnasium's ``env_checker``.

``check_game(spec_or_game)`` plays random legal actions through a small batch
and checks every promise of :mod:`games.core`: shapes and dtypes, legal masks
only where a player acts (and at least one legal action for each acting
player), one acting player per unfinished row of a sequential game, finished
rows that stay finished (nothing acts, zero rewards, same observation), the
reward structure of the game's kind, episode returns inside ``reward_range``
and within ``max_episode_length`` decisions, ``reset(mask)`` that touches only
the masked rows, ignored actions of players that do not act, and a
:class:`GameError` for an illegal action.

``check_determinism(spec_or_game)`` checks that the same seed and the same
actions give the same trajectories, and that copy ``b`` of a batch equals a
batch of one made with ``first_copy=b`` fed the same actions.

Both use only the public interface, plus optional duck-typed hooks:

* ``env.returns() -> [B, P]``: the game's own returns so far (OpenSpiel's
  ``state.returns()``); when present, the rewards of every finished episode
  must sum to it exactly (float64, summed in step order);
* ``env.render(b) -> str``: a text picture of copy ``b``, and
  ``env.action_name(b, player, action) -> str``: an action's name in copy
  ``b``'s current state, both used by :func:`random_playthrough`.

Failures raise ``AssertionError`` with a message naming the game, the step,
the copy and what was wrong. ``reward_range`` is read as bounds on an
episode's total reward (per player).

Continuous-action games (``info.continuous_actions``) are played with uniform
random actions inside ``[action_low, action_high]``; the illegal-action check
is then skipped.
"""

from __future__ import annotations

import numpy as np

from games.core import (
    CONSTANT_SUM,
    COOPERATIVE,
    KINDS,
    SEQUENTIAL,
    SIMULTANEOUS,
    ZERO_SUM,
    Game,
    GameError,
    GameInfo,
    TimeStep,
    random_legal_actions,
)

__all__ = ["check_determinism", "check_game", "random_actions", "random_playthrough"]

_FIELDS = ("obs", "legal", "acting", "rewards", "done", "state")


def _as_game(spec_or_game: str | Game) -> Game:
    if isinstance(spec_or_game, str):
        import games

        return games.load(spec_or_game)
    return spec_or_game


def random_actions(info: GameInfo, ts: TimeStep, rng: np.random.Generator) -> np.ndarray:
    """Random legal actions for a time step: ``[B, P]`` ints, or ``[B, P, D]`` floats.

    Discrete games draw uniformly among the legal actions (through
    :func:`games.random_legal_actions`); continuous games draw uniformly inside
    the action bounds.
    """
    if info.continuous_actions:
        return rng.uniform(info.action_low, info.action_high, size=ts.legal.shape)
    return random_legal_actions(ts.legal, rng)


def _tol(info: GameInfo) -> float:
    lo, hi = info.reward_range
    return 1e-9 * max(1.0, abs(lo), abs(hi))


class _Checker:
    """Holds the game, the env and the bookkeeping of one ``check_game`` run."""

    def __init__(self, game: Game, batch: int, seed: int):
        self.game, self.info, self.batch = game, game.info, batch
        self.where = f"{self.info.name}"
        self.step_no = -1

    def fail(self, what: str) -> AssertionError:
        at = "reset" if self.step_no < 0 else f"step {self.step_no}"
        return AssertionError(f"{self.where}, {at}: {what}")

    def check(self, ok, what: str) -> None:
        if not ok:
            raise self.fail(what)

    def check_info(self) -> None:
        i = self.info
        self.check(isinstance(i, GameInfo), f"info is {type(i).__name__}, expected GameInfo")
        self.check(i.num_players >= 1, f"num_players={i.num_players}, expected >= 1")
        self.check(i.num_actions >= 1, f"num_actions={i.num_actions}, expected >= 1")
        self.check(
            len(i.actions_per_player) == i.num_players
            and all(1 <= a <= i.num_actions for a in i.actions_per_player)
            and max(i.actions_per_player) == i.num_actions,
            f"actions_per_player={i.actions_per_player} does not fit P={i.num_players}, "
            f"A={i.num_actions} (A must be the largest)",
        )
        self.check(i.kind in KINDS, f"kind={i.kind!r}, expected one of {KINDS}")
        self.check(
            i.dynamics in (SEQUENTIAL, SIMULTANEOUS),
            f"dynamics={i.dynamics!r}, expected {SEQUENTIAL!r} or {SIMULTANEOUS!r}",
        )
        self.check(i.obs_size >= 0 and i.state_size >= 0, "negative obs_size or state_size")
        lo, hi = i.reward_range
        self.check(np.isfinite([lo, hi]).all() and lo <= hi, f"reward_range={i.reward_range}")
        self.check(i.max_episode_length >= 1, f"max_episode_length={i.max_episode_length}")
        if i.kind in (ZERO_SUM, CONSTANT_SUM):
            self.check(i.num_players >= 2, f"a {i.kind} game needs >= 2 players")

    def check_timestep(self, ts: TimeStep) -> None:
        """Shapes, dtypes, finite values and mask consistency of one time step."""
        i, B = self.info, self.batch
        P, A = i.num_players, i.num_actions
        want = {
            "obs": ((B, P, i.obs_size), np.float32),
            "legal": ((B, P, A), np.bool_),
            "acting": ((B, P), np.bool_),
            "rewards": ((B, P), np.float64),
            "done": ((B,), np.bool_),
            "state": ((B, i.state_size), np.float32),
        }
        for name, (shape, dtype) in want.items():
            x = getattr(ts, name, None)
            self.check(isinstance(x, np.ndarray), f"{name} is {type(x).__name__}, not an ndarray")
            self.check(x.shape == shape, f"{name} has shape {x.shape}, expected {shape}")
            self.check(x.dtype == dtype, f"{name} has dtype {x.dtype}, expected {np.dtype(dtype)}")
        for name in ("obs", "state", "rewards"):
            x = getattr(ts, name)
            if not np.isfinite(x).all():
                b = int(np.argwhere(~np.isfinite(x))[0][0])
                raise self.fail(f"{name} of copy {b} is not finite")
        legal, acting, done = ts.legal, ts.acting, ts.done
        bad = np.argwhere(legal.any(axis=2) != acting)
        if bad.size:
            b, p = (int(v) for v in bad[0])
            what = (
                "acts with no legal action"
                if acting[b, p]
                else "has legal actions but does not act"
            )
            raise self.fail(f"copy {b}, player {p} {what}")
        for p, n in enumerate(i.actions_per_player):
            if n < A and legal[:, p, n:].any():
                b = int(np.argwhere(legal[:, p, n:].any(axis=1))[0][0])
                raise self.fail(f"copy {b}: player {p} has a legal action >= its count {n}")
        if (acting[done]).any():
            b = int(np.flatnonzero(done & acting.any(axis=1))[0])
            raise self.fail(f"copy {b} is done but has an acting player")
        n_acting = acting.sum(axis=1)
        live = ~done
        if (n_acting[live] == 0).any():
            b = int(np.flatnonzero(live & (n_acting == 0))[0])
            raise self.fail(f"copy {b} is not done but nobody acts")
        if i.dynamics == SEQUENTIAL and (n_acting[live] != 1).any():
            b = int(np.flatnonzero(live & (n_acting != 1))[0])
            raise self.fail(f"copy {b}: {int(n_acting[b])} players act in a sequential game")
        if i.continuous_actions:
            self.check(
                (legal == acting[:, :, None]).all(),
                "continuous game: legal must be all True for acting players",
            )

    def check_rewards(self, ts: TimeStep) -> None:
        """Per-step reward structure of the game's kind."""
        r, tol = ts.rewards, _tol(self.info)
        if self.info.kind == ZERO_SUM:
            s = r.sum(axis=1)
            if (np.abs(s) > tol).any():
                b = int(np.argmax(np.abs(s)))
                raise self.fail(f"zero-sum game, but copy {b}'s rewards {r[b]} sum to {s[b]}")
        if self.info.kind == COOPERATIVE:
            gap = np.abs(r - r[:, :1]).max(axis=1)
            if (gap > tol).any():
                b = int(np.argmax(gap))
                raise self.fail(f"cooperative game, but copy {b}'s rewards differ: {r[b]}")


def _ignored_junk(info: GameInfo, actions: np.ndarray, acting: np.ndarray) -> np.ndarray:
    """Actions with a junk value for every player that does not act (must be ignored)."""
    if info.continuous_actions:
        return actions
    out = actions.copy()
    out[~acting] = info.num_actions + 7
    return out


def check_game(spec_or_game: str | Game, batch: int = 8, seed: int = 0, steps: int = 200) -> None:
    """Play ``steps`` random steps of a ``batch`` and check the interface's promises.

    Raises:
        AssertionError: naming the game, step, copy and the broken promise.
    """
    game = _as_game(spec_or_game)
    c = _Checker(game, batch, seed)
    c.check_info()
    info = game.info
    P, tol = info.num_players, _tol(info)
    lo, hi = info.reward_range
    env = game.vector(batch, seed)
    c.check(env.batch == batch, f"vector({batch}) made an env with batch={env.batch}")
    c.check(env.info == info, "env.info differs from game.info")
    rng = np.random.default_rng(seed + 1)
    returns_hook = getattr(env, "returns", None)

    ts = env.reset()
    c.check_timestep(ts)
    c.check(not ts.done.any(), "a copy is done right after reset")
    c.check(not ts.rewards.any(), "reset returned nonzero rewards")

    episode_return = np.zeros((batch, P))
    episode_len = np.zeros(batch, dtype=np.int64)
    constant = None
    for t in range(steps):
        c.step_no = t
        actions = random_actions(info, ts, rng)
        before = ts
        ts = env.step(_ignored_junk(info, actions, before.acting))
        c.check_timestep(ts)
        c.check_rewards(ts)
        was_done = before.done
        if was_done.any():
            back = was_done & ~ts.done
            c.check(not back.any(), f"copy {np.argmax(back)} was done and came back without reset")
            paid = was_done & ts.rewards.any(axis=1)
            c.check(not paid.any(), f"finished copy {np.argmax(paid)} got nonzero rewards")
            for name in ("obs", "state"):
                x, y = getattr(ts, name), getattr(before, name)
                moved = was_done & (x != y).reshape(batch, -1).any(axis=1)
                c.check(not moved.any(), f"the {name} of finished copy {np.argmax(moved)} changed")
        episode_return += ts.rewards
        episode_len += ~was_done
        too_long = episode_len > info.max_episode_length
        c.check(
            not too_long.any(),
            f"copy {int(np.argmax(too_long))} played more than "
            f"max_episode_length={info.max_episode_length} decisions",
        )
        ended = ts.done & ~was_done
        if ended.any():
            game_returns = returns_hook() if returns_hook is not None else None
            for b in np.flatnonzero(ended).tolist():
                ret = episode_return[b]
                where = f"copy {b}'s episode return {ret.tolist()}"
                c.check(
                    ((ret >= lo - tol) & (ret <= hi + tol)).all(),
                    f"{where} is outside reward_range {info.reward_range}",
                )
                if info.kind == ZERO_SUM:
                    c.check(abs(ret.sum()) <= tol, f"{where} does not sum to 0 (zero-sum)")
                if info.kind == CONSTANT_SUM:
                    if constant is None:
                        constant = ret.sum()
                    c.check(
                        abs(ret.sum() - constant) <= tol * P,
                        f"{where} sums to {ret.sum()}, an earlier one to {constant} (constant-sum)",
                    )
                if game_returns is not None:
                    want = np.asarray(game_returns[b], dtype=np.float64)
                    c.check(
                        np.array_equal(ret, want),
                        f"{where} differs from the game's returns {want.tolist()} "
                        f"by {(ret - want).tolist()}",
                    )
        # Reset about half of the finished copies (the others must stay finished
        # when stepped), and now and then an unfinished one.
        u = rng.random(batch)
        mask = (ts.done & (u < 0.5)) | (u > 0.97)
        if mask.any():
            before = ts
            ts = env.reset(mask=mask)
            c.check_timestep(ts)
            c.check(not ts.rewards.any(), "reset(mask) returned nonzero rewards")
            c.check(not ts.done[mask].any(), "a reset copy is done right after reset")
            keep = ~mask
            for name in ("obs", "legal", "acting", "done", "state"):
                same = (getattr(ts, name)[keep] == getattr(before, name)[keep]).all()
                c.check(same, f"reset(mask) changed the {name} of a copy outside the mask")
            episode_return[mask] = 0.0
            episode_len[mask] = 0
    if not info.continuous_actions:
        _check_illegal_action(game, c)


def _check_illegal_action(game: Game, c: _Checker) -> None:
    """An illegal action of an acting player raises GameError naming it."""
    info = game.info
    env = game.vector(c.batch, 12345)
    ts = env.reset()
    rng = np.random.default_rng(7)
    for _ in range(info.max_episode_length):
        illegal = ts.acting[:, :, None] & ~ts.legal
        if illegal.any():
            b, p, a = (int(v) for v in np.argwhere(illegal)[0])
            actions = random_legal_actions(ts.legal, rng)
            actions[b, p] = a
            try:
                env.step(actions)
            except GameError as e:
                c.check(str(a) in str(e), f"illegal-action error does not name action {a}: {e}")
                return
            raise c.fail(f"no GameError for illegal action {a} of player {p} in copy {b}")
        ts = env.step(random_legal_actions(ts.legal, rng))
        if ts.done.all():
            ts = env.reset()
    # Every action of every acting player was always legal: nothing to check.


def _equal(a: TimeStep, b: TimeStep, rows_a, rows_b) -> str | None:
    for name in _FIELDS:
        x, y = getattr(a, name)[rows_a], getattr(b, name)[rows_b]
        if x.shape != y.shape or not np.array_equal(x, y):
            return name
    return None


def check_determinism(
    spec_or_game: str | Game, batch: int = 4, seed: int = 0, steps: int = 100
) -> None:
    """Same seed -> same trajectories; copy ``b`` of a batch == a batch of one.

    Actions come from a generator seeded with ``seed`` through
    :func:`games.random_legal_actions`; finished copies are reset with
    ``reset(mask=ts.done)``.

    Raises:
        AssertionError: naming the game, step, copy and the field that differs.
    """
    game = _as_game(spec_or_game)
    info = game.info
    name = info.name

    def run() -> tuple[list[TimeStep], list[np.ndarray], list[np.ndarray]]:
        env = game.vector(batch, seed)
        rng = np.random.default_rng(seed)
        ts = env.reset()
        record, acts, masks = [ts], [], []
        for _ in range(steps):
            a = random_actions(info, ts, rng)
            ts = env.step(a)
            acts.append(a)
            record.append(ts)
            mask = ts.done.copy()
            masks.append(mask)
            if mask.any():
                ts = env.reset(mask=mask)
                record.append(ts)
        return record, acts, masks

    first, acts, masks = run()
    second, _, _ = run()
    for k, (x, y) in enumerate(zip(first, second)):
        field = _equal(x, y, slice(None), slice(None))
        if field is not None:
            raise AssertionError(f"{name}: same seed, different {field} at record {k}")

    all_rows = np.arange(batch)
    for b in range(batch):
        env = game.vector(1, seed, first_copy=b)
        ts = env.reset()
        records = [ts]
        for a, mask in zip(acts, masks):
            ts = env.step(a[b : b + 1])
            records.append(ts)
            if mask.any():  # the batched run made a reset record here
                ts = env.reset(mask=mask[b : b + 1])
                records.append(ts)
        for k, (x, y) in enumerate(zip(first, records)):
            field = _equal(x, y, all_rows == b, slice(None))
            if field is not None:
                raise AssertionError(
                    f"{name}: copy {b} of a batch of {batch} differs from a batch of one "
                    f"(first_copy={b}) in {field} at record {k}"
                )


def random_playthrough(spec_or_game: str | Game, seed: int = 0, max_steps: int = 1000) -> list[str]:
    """A random game, one line per decision, for ``arena games show``.

    Uses ``env.render(0)`` and ``env.action_name`` where the env has them.
    """
    game = _as_game(spec_or_game)
    info = game.info
    env = game.vector(1, seed)
    rng = np.random.default_rng(seed)
    render = getattr(env, "render", None)
    name_in_env = getattr(env, "action_name", None)
    ts = env.reset()
    lines = [f"{info.name}: {info.num_players} players, {info.kind}, {info.dynamics}"]
    total = np.zeros(info.num_players)
    for t in range(max_steps):
        if ts.done[0]:
            break
        if render is not None:
            lines.extend(render(0).rstrip("\n").splitlines())
        actions = random_actions(info, ts, rng)
        moves = []
        for p in np.flatnonzero(ts.acting[0]).tolist():
            if info.continuous_actions:
                moves.append(f"player {p}: {np.round(actions[0, p], 3).tolist()}")
            else:
                a = int(actions[0, p])
                label = name_in_env(0, p, a) if name_in_env else game.action_name(p, a)
                moves.append(f"player {p} plays {label}")
        ts = env.step(actions)
        total += ts.rewards[0]
        reward = "" if not ts.rewards[0].any() else f"  rewards {ts.rewards[0].tolist()}"
        lines.append(f"step {t}: " + ", ".join(moves) + reward)
    if render is not None:
        lines.extend(render(0).rstrip("\n").splitlines())
    state = "finished" if ts.done[0] else f"stopped after {max_steps} steps"
    lines.append(f"{state}; returns {total.tolist()}")
    return lines
