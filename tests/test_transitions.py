"""Decision transitions from rollouts: turn-based bookkeeping by hand."""

import numpy as np

from agents.base import Rollout
from agents.transitions import DecisionBuilder


def _turn_based_rollout(t_n=5, done_at=4, carry_tail=False):
    """One copy, two seats alternating p0, p1, p0, ...; obs encode (t, p)."""
    b, p, o, a = 1, 2, 2, 3
    obs = np.zeros((t_n + 1, b, p, o), np.float32)
    for t in range(t_n + 1):
        for q in range(p):
            obs[t, 0, q] = (t, q)
    acting = np.zeros((t_n + 1, b, p), bool)
    for t in range(t_n + 1):
        acting[t, 0, t % 2] = True
    legal = np.repeat(acting[..., None], a, axis=-1)
    state = obs.reshape(t_n + 1, b, p * o).copy()
    controlled = np.ones((t_n + 1, b, p), bool)
    actions = np.zeros((t_n, b, p), np.int64)
    for t in range(t_n):
        actions[t, 0, t % 2] = t % 3
    rewards = np.zeros((t_n, b, p), np.float32)
    done = np.zeros((t_n, b), bool)
    if done_at is not None:
        rewards[done_at, 0] = (1.0, -1.0)
        done[done_at, 0] = True
    rewards[1, 0, 0] = 0.25  # a reward to p0 caused by p1's move
    logp = np.where(acting[:-1], -0.5, 0.0).astype(np.float32)
    return Rollout(obs, legal, acting, state, controlled, actions, logp, rewards, done)


def test_turn_based_transitions_by_hand():
    tr = DecisionBuilder(carry=True)(_turn_based_rollout())
    got = {(int(p), int(t)): i for i, (p, t) in enumerate(zip(tr.player, tr.time))}
    assert set(got) == {(0, 0), (1, 1), (0, 2), (1, 3), (0, 4)}
    i = got[(0, 0)]
    assert tr.rewards[i] == 0.25 and not tr.done[i] and tuple(tr.next_obs[i]) == (2, 0)
    i = got[(1, 3)]
    assert tr.rewards[i] == -1.0 and tr.done[i]
    i = got[(0, 4)]
    assert tr.rewards[i] == 1.0 and tr.done[i]
    # ordered by (copy, player, time): successors are adjacent
    assert list(zip(tr.player, tr.time)) == [(0, 0), (0, 2), (0, 4), (1, 1), (1, 3)]


def test_carry_completes_in_next_rollout_and_truncation_otherwise():
    r = _turn_based_rollout(t_n=5, done_at=None)
    carry = DecisionBuilder(carry=True)
    first = carry(r)
    # p0 decided at t4 and p1 at t3: their successors lie in the next rollout.
    assert len(first) == 3
    second = carry(_turn_based_rollout(t_n=5, done_at=None))
    carried = second.time < 0
    assert carried.sum() == 2
    trunc = DecisionBuilder(carry=False)(r)
    assert len(trunc) == 5 and trunc.truncated.sum() == 2
    assert not (trunc.truncated & trunc.done).any()


def test_uncontrolled_seats_are_not_learned():
    r = _turn_based_rollout()
    r.controlled[:, :, 1] = False
    tr = DecisionBuilder(carry=True)(r)
    assert set(tr.player.tolist()) == {0}
