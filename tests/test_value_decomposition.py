"""The value-decomposition core (IQL, VDN, QMIX): maths, buffers, contracts, matrix games.

Matrix-game outcomes are the literature's: all three find 12 on the positive
control (the nonmonotonic layout with a -0.1 miscoordination cost); on the
two-step game QMIX reaches 8 while VDN settles on 7 (Rashid et al. 2018,
Sec. 6.1); QMIX finds 10 on the penalty game with k = 0 (Claus & Boutilier
1998). Where the literature says a method fails (climbing, nonmonotonic)
nothing is tested; ``bench/vd_matrix_table.py`` records what each reaches.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import games
from agents.base import Rollout
from agents.buffers import ReplayBuffer, joint_step_rows
from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.iql import IQL, IQLConfig
from agents.qmix import QMIX, QMIXConfig, QMixer, monotonic_mix
from agents.registry import make_learner
from agents.value_decomposition import (
    bootstrap_values,
    epsilon_greedy_probs,
    linear_epsilon,
    td_target,
)
from agents.vdn import VDN, VDNConfig, VDNMixer
from arena.rollout import Collector, play
from arena.train import self_play_matchup, train

torch.set_num_threads(1)

ALGORITHMS = {"iql": (IQL, IQLConfig), "vdn": (VDN, VDNConfig), "qmix": (QMIX, QMIXConfig)}
# Small settings for matrix games (also bench/vd_matrix_table.py's).
MATRIX = dict(hidden=(32, 32), lr=2e-3, target_period=20, steps_per_update=4.0, batch_size=128)
STEPS = 1000  # env steps of training: 1000 one-shot games, 500 two-step games


def exploration(protocol: str, steps: int) -> dict:
    """'uniform': epsilon stays 1; 'annealed': 1 -> 0.05 over the first 75% of the steps."""
    if protocol == "uniform":
        return dict(eps_start=1.0, eps_end=1.0)
    return dict(eps_start=1.0, eps_end=0.05, eps_decay_steps=int(0.75 * steps))


# ---------------------------------------------------------------------------
# Pure maths


def test_bootstrap_values_ignore_illegal_actions():
    q_target = torch.tensor([[1.0, 100.0, 3.0], [5.0, 2.0, 7.0], [9.0, 9.0, 9.0]])
    q_online = torch.tensor([[0.0, 50.0, 1.0], [0.0, 9.0, 1.0], [1.0, 2.0, 3.0]])
    legal = torch.tensor([[True, False, True], [True, True, False], [False, False, False]])
    # Plain max over legal actions only; a row with no legal action gives 0.
    assert bootstrap_values(q_target, legal).tolist() == [3.0, 5.0, 0.0]
    # Double Q: the online argmax over legal actions (2, then 1), valued by the target.
    assert bootstrap_values(q_target, legal, q_online).tolist() == [3.0, 2.0, 0.0]


def test_td_target_stops_at_done():
    r = torch.tensor([1.0, 1.0])
    done = torch.tensor([False, True])
    assert td_target(r, done, 0.5, torch.tensor([4.0, 4.0])).tolist() == [3.0, 1.0]


def test_epsilon_schedule_and_greedy_probs():
    assert linear_epsilon(0, 1.0, 0.1, 100) == 1.0
    assert linear_epsilon(50, 1.0, 0.1, 100) == pytest.approx(0.55)
    assert linear_epsilon(10_000, 1.0, 0.1, 100) == pytest.approx(0.1)
    q = torch.tensor([[5.0, 9.0, 1.0, 0.0]], dtype=torch.float64)
    legal = torch.tensor([[True, False, True, True]])
    p = epsilon_greedy_probs(q, legal, 0.3)[0].tolist()
    assert p == pytest.approx([0.7 + 0.1, 0.0, 0.1, 0.1])
    assert p[1] == 0.0


def test_vdn_mixer_sums():
    q = torch.tensor([[1.0, 2.0, -0.5]])
    assert VDNMixer()(q, torch.zeros(1, 4)).item() == pytest.approx(2.5)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_qmix_mixer_is_monotonic(seed):
    """dQ_tot/dQ_i >= 0 for any state and weights (Rashid et al. 2018, eq. 5)."""
    gen = torch.Generator().manual_seed(seed)
    n, p, e = 16, 3, 8
    q = torch.randn(n, p, generator=gen, requires_grad=True)
    w1, b1 = torch.randn(n, p, e, generator=gen), torch.randn(n, e, generator=gen)
    w2, v = torch.randn(n, e, generator=gen), torch.randn(n, generator=gen)
    monotonic_mix(q, w1, b1, w2, v).sum().backward()
    assert (q.grad >= 0).all()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mixer = QMixer(p, 5, 8, 16)
    s = torch.randn(n, 5, generator=gen)
    q2 = torch.randn(n, p, generator=gen, requires_grad=True)
    mixer(q2, s).sum().backward()
    assert (q2.grad >= 0).all()


# ---------------------------------------------------------------------------
# Buffers


def test_replay_buffer_ring_and_round_trip():
    buf = ReplayBuffer(5)
    buf.add({"x": np.arange(3), "y": np.arange(3) * 10.0})
    buf.add({"x": np.arange(3, 7), "y": np.arange(3, 7) * 10.0})
    assert len(buf) == 5
    assert sorted(buf.data["x"].tolist()) == [2, 3, 4, 5, 6]  # 0 and 1 overwritten
    s = buf.sample(100, np.random.default_rng(0))
    assert set(s["x"].tolist()) <= {2, 3, 4, 5, 6}
    assert np.all(s["y"] == s["x"] * 10.0)
    other = ReplayBuffer(5)
    other.load_arrays(buf.arrays())
    assert other.next == buf.next and len(other) == 5
    assert np.array_equal(other.data["x"], buf.data["x"])


def _synthetic_rollout() -> Rollout:
    """T=3, B=2, P=2, turn-based: copy 0 ends at t=1, copy 1 is left finished after t=0."""
    t, b, p, o, a, s = 3, 2, 2, 2, 3, 4
    rng = np.random.default_rng(0)
    acting = np.zeros((t + 1, b, p), bool)
    acting[0, :, 0] = True
    acting[1, 0, 1] = True
    acting[2, 0, 0] = True
    acting[3, 0, 1] = True
    done = np.zeros((t, b), bool)
    done[1, 0] = True
    done[0, 1] = True
    rewards = np.zeros((t, b, p), np.float32)
    rewards[1, 0] = [2.0, 2.0]
    rewards[0, 1] = [-1.0, -1.0]
    return Rollout(
        obs=rng.random((t + 1, b, p, o)).astype(np.float32),
        legal=np.repeat(acting[..., None], a, -1),
        acting=acting,
        state=rng.random((t + 1, b, s)).astype(np.float32),
        controlled=np.ones((t + 1, b, p), bool),
        actions=np.where(acting[:-1], 1, 0).astype(np.int64),
        logp=np.zeros((t, b, p), np.float32),
        rewards=rewards,
        done=done,
    )


def test_joint_step_rows():
    r = _synthetic_rollout()
    rows = joint_step_rows(r)
    # (t, b) with someone acting: (0,0), (0,1), (1,0), (2,0); copy 1 sits finished after t=0.
    assert len(rows["done"]) == 4
    assert rows["done"].tolist() == [False, True, True, False]
    assert rows["reward"].tolist() == [0.0, -1.0, 2.0, 0.0]
    assert rows["acting"].tolist() == [[True, False], [True, False], [False, True], [True, False]]
    assert rows["next_acting"][0].tolist() == [False, True]
    assert np.array_equal(rows["next_obs"][0], r.obs[1, 0])
    assert np.array_equal(rows["next_state"][3], r.state[3, 0])
    assert rows["obs"].shape == (4, 2, 2) and rows["legal"].shape == (4, 2, 3)


def test_idle_seats_contribute_nothing_to_the_mix():
    """A seat that does not act enters the mixer with Q = 0, whatever its observation."""
    info = games.load("matrix:two_step").info
    learner = QMIX(info, QMIXConfig(), seed=0)
    n, p = 8, info.num_players
    gen = torch.Generator().manual_seed(0)
    batch = {
        "obs": torch.rand(n, p, info.obs_size, generator=gen),
        "actions": torch.randint(0, 2, (n, p), generator=gen),
        "acting": torch.tensor([[True, False]] * n),
        "reward": torch.zeros(n),
        "state": torch.rand(n, info.state_size, generator=gen),
        "next_obs": torch.rand(n, p, info.obs_size, generator=gen),
        "next_legal": torch.tensor([[[False, False], [True, True]]] * n),
        "next_acting": torch.tensor([[False, True]] * n),
        "next_state": torch.rand(n, info.state_size, generator=gen),
        "done": torch.zeros(n, dtype=torch.bool),
    }
    q_tot, target = learner._joint_td(batch)
    changed = dict(batch)
    changed["obs"] = batch["obs"].clone()
    changed["obs"][:, 1] += 5.0  # the idle seat's observation and action
    changed["actions"] = batch["actions"].clone()
    changed["actions"][:, 1] = 1 - batch["actions"][:, 1]
    changed["next_obs"] = batch["next_obs"].clone()
    changed["next_obs"][:, 0] -= 3.0  # the seat idle at the next step
    q_tot2, target2 = learner._joint_td(changed)
    assert torch.equal(q_tot, q_tot2)
    assert torch.equal(target, target2)
    # ...while the acting seat's observation does matter.
    moved = dict(batch, obs=batch["obs"] + 1.0)
    assert not torch.equal(q_tot, learner._joint_td(moved)[0])


# ---------------------------------------------------------------------------
# Contracts every algorithm keeps

SPECS = {"iql": "tic_tac_toe", "vdn": "matrix:two_step", "qmix": "matrix:two_step"}


def _learner(name: str, seed: int = 0, **overrides):
    info = games.load(SPECS[name]).info
    cls, cfg = ALGORITHMS[name]
    base = dict(
        hidden=(32,), batch_size=32, learning_starts=32, steps_per_update=12.0, target_period=10
    )
    return cls(info, cfg(**{**base, **overrides}), seed=seed)


def _rollouts(name: str, n: int, seed: int = 0, learner=None):
    game = games.load(SPECS[name])
    learner = learner or _learner(name, seed)
    coll = Collector(game, [learner], self_play_matchup(game.info.num_players), 16, seed)
    return [coll.collect(4)[0] for _ in range(n)]


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_illegal_actions_never_chosen(name):
    learner = _learner(name)
    info = learner.info
    for r in _rollouts(name, 3, learner=learner):  # some learning, so Q is not the init
        learner.learn(r)

    @settings(max_examples=30, deadline=None)
    @given(seed=st.integers(0, 2**31 - 1), explore=st.booleans())
    def check(seed, explore):
        rng = np.random.default_rng(seed)
        n = 64
        legal = rng.random((n, info.num_actions)) < rng.uniform(0.1, 0.9)
        legal[np.arange(n), rng.integers(0, info.num_actions, n)] = True  # at least one legal
        obs = rng.normal(size=(n, info.obs_size)).astype(np.float32) * 3
        player = rng.integers(0, info.num_players, n)
        for policy in (learner, learner.freeze()):
            out = policy.act(obs, legal, player, rng, explore=explore)
            assert legal[np.arange(n), out.actions].all()
            assert np.all(out.probs[~legal] == 0.0)
            assert np.allclose(out.probs.sum(-1), 1.0)

    check()


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_same_seed_same_losses(name):
    def losses(seed):
        learner = _learner(name, seed)
        out = []
        for r in _rollouts(name, 12, seed=0):
            m = learner.learn(r)
            if "loss" in m:
                out.append(m["loss"])
        assert learner.updates >= 50
        return out

    a, b = losses(3), losses(3)
    assert a == b
    assert a != losses(4)


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_checkpoint_round_trip(name, tmp_path):
    spec = SPECS[name] if name != "iql" else "matrix:two_step"
    game = games.load(spec)
    cls, cfg = ALGORITHMS[name]
    config = cfg(
        hidden=(16,), batch_size=32, learning_starts=32, steps_per_update=8.0, save_buffer=True
    )
    learner = cls(game.info, config, seed=1)
    coll = Collector(game, [learner], self_play_matchup(2), 16, 0)
    for _ in range(5):
        learner.learn(coll.collect(2)[0])
    save_checkpoint(tmp_path / "ck", learner, spec)
    loaded = load_checkpoint(tmp_path / "ck", spec)
    assert type(loaded) is cls and loaded.config == config
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(50, game.info.obs_size)).astype(np.float32)
    legal = rng.random((50, game.info.num_actions)) < 0.7
    legal[:, 0] = True
    player = rng.integers(0, 2, 50)
    for explore in (False, True):
        a = learner.act(obs, legal, player, np.random.default_rng(5), explore=explore)
        b = loaded.act(obs, legal, player, np.random.default_rng(5), explore=explore)
        assert np.array_equal(a.actions, b.actions) and np.array_equal(a.probs, b.probs)
    # The full state came back: learning goes on exactly as it would have.
    r = coll.collect(2)[0]
    assert learner.learn(r) == loaded.learn(r)
    # The policy subset alone is enough to act.
    fresh = cls(game.info, config, seed=9)
    fresh.load_state_dict(learner.policy_state_dict())
    assert np.array_equal(
        fresh.act(obs, legal, player, rng).actions, learner.act(obs, legal, player, rng).actions
    )


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_freeze_is_unaffected_by_learning(name):
    learner = _learner(name, lr=1e-2)
    rollouts = _rollouts(name, 8, learner=learner)
    learner.learn(rollouts[0])
    frozen = learner.freeze()
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(40, learner.info.obs_size)).astype(np.float32)
    legal = np.ones((40, learner.info.num_actions), bool)
    player = rng.integers(0, learner.info.num_players, 40)
    q_before = learner.q_values(obs, player)
    before = frozen.act(obs, legal, player, rng).probs
    weights = {k: v.clone() for k, v in frozen.state_dict().items()}
    for r in rollouts[1:]:
        learner.learn(r)
    assert not np.allclose(learner.q_values(obs, player), q_before)  # the learner moved on
    assert np.array_equal(frozen.act(obs, legal, player, rng).probs, before)
    assert all(torch.equal(v, frozen.state_dict()[k]) for k, v in weights.items())


@pytest.mark.parametrize("cls", [VDN, QMIX])
def test_team_learners_refuse_non_cooperative_games_and_foreign_seats(cls):
    with pytest.raises(ValueError, match="needs a cooperative game"):
        cls(games.load("matrix:prisoners_dilemma").info)
    learner = cls(games.load("matrix:climbing").info)
    r = _synthetic_rollout()
    r.controlled[:, :, 1] = False
    with pytest.raises(ValueError, match="does not control"):
        learner.learn(r)


# ---------------------------------------------------------------------------
# Where they settle on cooperative matrix games


def settle(name: str, spec: str, seed: int, protocol: str) -> float:
    """Train by self-play (64 copies); return the greedy joint policy's return."""
    game = games.load(spec)
    learner = make_learner(name, game.info, seed, **MATRIX, **exploration(protocol, STEPS))
    train(learner, game, STEPS, seed, batch=64, rollout_len=game.info.max_episode_length)
    return float(play(game, [learner], 1, seed, batch=1).returns[0, 0])


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_positive_control_all_find_12(name):
    assert [settle(name, "matrix:positive_control", s, "uniform") for s in range(3)] == [12.0] * 3


def test_two_step_qmix_reaches_8_vdn_settles_on_7():
    """Rashid et al. 2018, Sec. 6.1: with uniform exploration VDN's additive Q_tot
    undervalues stage 2B, QMIX's state-conditioned mixer does not."""
    assert [settle("qmix", "matrix:two_step", s, "uniform") for s in range(3)] == [8.0] * 3
    assert [settle("vdn", "matrix:two_step", s, "uniform") for s in range(3)] == [7.0] * 3


def test_penalty_k0_qmix_finds_10():
    """Claus & Boutilier's penalty game without a penalty: two optima to coordinate on.
    With epsilon-greedy exploration QMIX settles on one; with uniform data it
    often leaves the two tied and picks neither (see the README table)."""
    assert [settle("qmix", "matrix:penalty(k=0)", s, "annealed") for s in range(3)] == [10.0] * 3
