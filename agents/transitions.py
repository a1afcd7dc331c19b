"""Turn rollouts into per-seat decision transitions.

In a turn-based game a seat acts at steps ``t`` and ``t'`` with other seats'
moves in between. Its transition runs from one of its decisions to its next
one: the reward is the sum of everything it received in between (the
opponent's move may end the game and pay it), and ``next_obs`` / ``next_legal``
are those of its next decision. In a simultaneous game every step is a
decision for every seat, so transitions are the plain one-step ones. This is
how OpenSpiel's ``rl_environment`` agents see turn-based games, done here for
``[T, B, P]`` arrays at once.

Transitions are returned flat (``[N, ...]``), ordered by (copy, seat, time),
so the successor of transition ``i`` along the same seat's trajectory is
``i + 1`` unless ``done[i]`` or ``truncated[i]``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from agents.base import Rollout


@dataclasses.dataclass
class Transitions:
    """Flat decision transitions, ``N`` rows.

    Attributes:
        obs, legal, state: at the decision.
        player, copy, time: which seat, which copy, which step (carried-in
            decisions from an earlier rollout have negative time).
        actions, logp: what was done and its behaviour log-probability.
        rewards: summed from the decision up to the seat's next decision.
        next_obs, next_legal, next_state: at the seat's next decision (or at
            the window's end when ``truncated``; undefined when ``done``).
        done: the episode ended before the seat acted again.
        truncated: the rollout ended first; bootstrap from ``next_obs``.
    """

    obs: np.ndarray
    legal: np.ndarray
    state: np.ndarray
    player: np.ndarray
    copy: np.ndarray
    time: np.ndarray
    actions: np.ndarray
    logp: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    next_legal: np.ndarray
    next_state: np.ndarray
    done: np.ndarray
    truncated: np.ndarray

    def __len__(self) -> int:
        return int(self.player.shape[0])


class DecisionBuilder:
    """Builds :class:`Transitions` from consecutive rollouts of one collector.

    Args:
        carry: keep decisions whose successor falls after the rollout's end and
            complete them with the next rollout (off-policy learners: every
            transition has a real next decision). If False, such decisions are
            emitted as ``truncated`` with ``next_obs`` at the rollout's end
            (on-policy learners bootstrap from the value there).
    """

    def __init__(self, carry: bool):
        self.carry = carry
        self._pending: dict[str, np.ndarray] | None = None

    def _init(self, r: Rollout) -> None:
        b, p = r.acting.shape[1:3]
        self._pending = {
            "active": np.zeros((b, p), bool),
            "obs": np.zeros((b, p) + r.obs.shape[3:], r.obs.dtype),
            "legal": np.zeros((b, p) + r.legal.shape[3:], bool),
            "state": np.zeros((b, p) + r.state.shape[2:], r.state.dtype),
            "actions": np.zeros((b, p) + r.actions.shape[3:], r.actions.dtype),
            "logp": np.zeros((b, p), np.float32),
            "rewards": np.zeros((b, p), np.float64),
            "time": np.zeros((b, p), np.int64),
        }

    def __call__(self, r: Rollout) -> Transitions:
        if self._pending is None or self._pending["active"].shape != r.acting.shape[1:3]:
            self._init(r)
        pend = self._pending
        # Carried decisions are older than anything in this rollout.
        pend["time"][pend["active"]] = -1
        chunks: list[dict[str, np.ndarray]] = []
        t_max = r.steps

        def emit(mask, t_next, done, truncated):
            bi, pi = np.nonzero(mask)
            if len(bi) == 0:
                return
            chunks.append(
                {
                    "obs": pend["obs"][bi, pi],
                    "legal": pend["legal"][bi, pi],
                    "state": pend["state"][bi, pi],
                    "player": pi.astype(np.int64),
                    "copy": bi.astype(np.int64),
                    "time": pend["time"][bi, pi],
                    "actions": pend["actions"][bi, pi],
                    "logp": pend["logp"][bi, pi],
                    "rewards": pend["rewards"][bi, pi].astype(np.float32),
                    "next_obs": r.obs[t_next, bi, pi],
                    "next_legal": r.legal[t_next, bi, pi],
                    "next_state": r.state[t_next, bi],
                    "done": np.full(len(bi), done),
                    "truncated": np.full(len(bi), truncated),
                }
            )
            pend["active"][bi, pi] = False

        for t in range(t_max):
            emit(pend["active"] & r.acting[t], t, False, False)
            dec = r.acting[t] & r.controlled[t]
            if dec.any():
                bi, pi = np.nonzero(dec)
                pend["obs"][bi, pi] = r.obs[t, bi, pi]
                pend["legal"][bi, pi] = r.legal[t, bi, pi]
                pend["state"][bi, pi] = r.state[t, bi]
                pend["actions"][bi, pi] = r.actions[t, bi, pi]
                pend["logp"][bi, pi] = r.logp[t, bi, pi]
                pend["rewards"][bi, pi] = 0.0
                pend["time"][bi, pi] = t
                pend["active"] |= dec
            pend["rewards"] += np.where(pend["active"], r.rewards[t], 0.0)
            emit(pend["active"] & r.done[t][:, None], t + 1, True, False)
        if not self.carry:
            emit(pend["active"], t_max, False, True)

        if not chunks:
            return _empty(r)
        out = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
        order = np.lexsort((out["time"], out["player"], out["copy"]))
        return Transitions(**{k: v[order] for k, v in out.items()})


def _empty(r: Rollout) -> Transitions:
    o, a, s = r.obs.shape[3:], r.legal.shape[3:], r.state.shape[2:]
    z = np.zeros((0,), np.int64)
    return Transitions(
        obs=np.zeros((0,) + o, np.float32),
        legal=np.zeros((0,) + a, bool),
        state=np.zeros((0,) + s, np.float32),
        player=z,
        copy=z,
        time=z,
        actions=np.zeros((0,) + r.actions.shape[3:], r.actions.dtype),
        logp=np.zeros((0,), np.float32),
        rewards=np.zeros((0,), np.float32),
        next_obs=np.zeros((0,) + o, np.float32),
        next_legal=np.zeros((0,) + a, bool),
        next_state=np.zeros((0,) + s, np.float32),
        done=np.zeros((0,), bool),
        truncated=np.zeros((0,), bool),
    )
