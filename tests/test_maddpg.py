"""MADDPG: pure pieces, legality, determinism, checkpoints, and fast learning tests.

Learning tests (fixed seeds; outcomes measured over 8 seeds, all alike):

* pure_coordination: the two seats coordinate on one action (return 1; random 0.5).
* stag_hunt (Stag together 4, Hare always 3): selfish MADDPG ends at (Hare, Hare),
  the risk-dominant equilibrium: from a uniform start a seat's gradient favours
  Stag only once the partner hunts Stag with probability above 3/4. With
  ``prosocial=1`` (Peysakhovich & Lerer 2018) it reaches the payoff-dominant
  (Stag, Stag).
* agreement: both choose 1/2 (return 0; uniform random -7/3).
* rendezvous: at least 90% of the way from random play (about -10.6) to the
  exact optimum (about -0.92), measured on the same starts.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import games
from agents.base import Rollout
from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.maddpg import (
    MADDPG,
    MADDPGConfig,
    encode_joint_action,
    policy_action,
    prosocial_rewards,
    td_target,
    with_own_action,
)
from arena.rollout import Collector, play
from arena.train import self_play_matchup, train
from games.control import rendezvous_optimal_return

torch.set_num_threads(1)


# ---- pure pieces ---------------------------------------------------------------


def test_joint_action_zeros_for_players_who_do_not_act():
    acting = torch.tensor([[True, False], [False, True]])
    joint = encode_joint_action(torch.tensor([[2, 1], [0, 1]]), acting, 3, continuous=False)
    assert joint.tolist() == [[[0, 0, 1], [0, 0, 0]], [[0, 0, 0], [0, 1, 0]]]
    cont = encode_joint_action(torch.tensor([[[0.5], [-0.5]], [[1.0], [0.25]]]), acting, 1, True)
    assert cont.tolist() == [[[0.5], [0.0]], [[0.0], [0.25]]]


def test_with_own_action_replaces_one_slot_per_row():
    joint = torch.zeros(1, 3, 2)
    own = torch.arange(6.0).reshape(1, 3, 2) + 1
    out = with_own_action(joint, own)
    assert out.shape == (1, 3, 3, 2)
    for i in range(3):
        for j in range(3):
            want = own[0, j] if i == j else joint[0, j]
            assert torch.equal(out[0, i, j], want)


def test_td_target_and_prosocial_rewards():
    r = torch.tensor([[1.0, -1.0], [4.0, 2.0]])
    y = td_target(r, torch.tensor([True, False]), torch.full((2, 2), 10.0), 0.5)
    assert y.tolist() == [[1.0, -1.0], [9.0, 7.0]]
    assert torch.equal(prosocial_rewards(r, 0.0), r)
    assert prosocial_rewards(r, 1.0).tolist() == [[0.0, 0.0], [3.0, 3.0]]  # zero-sum row -> 0
    coop = torch.tensor([[2.0, 2.0]])
    assert torch.equal(prosocial_rewards(coop, 0.7), coop)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(critic_input="global"), "critic_input='global' is not valid"),
        (dict(gamma=1.5), r"gamma=1.5 is not valid; give a finite number in \[0, 1\]"),
        (dict(batch_size=0), "batch_size=0 is not valid"),
        (dict(replay_ratio=0), "replay_ratio=0 is not valid"),
        (dict(noise_std=-0.1), "noise_std=-0.1 is not valid"),
        (dict(lr_actor=float("nan")), "lr_actor=nan is not valid"),
        (dict(tau=float("nan")), "tau=nan is not valid"),
        (dict(hidden=[-4]), "hidden=.-4. is not valid"),
        (dict(batch_size=10**9), "batch_size=1000000000 is not valid"),
    ],
)
def test_config_errors_name_the_field(kwargs, match):
    from agents.base import HyperparameterError

    with pytest.raises(HyperparameterError, match=match):
        MADDPGConfig(**kwargs)


# ---- legality --------------------------------------------------------------------


def _info(num_actions: int, num_players: int = 2, obs_size: int = 3, continuous: bool = False):
    return games.GameInfo(
        name="synthetic",
        num_players=num_players,
        num_actions=num_actions,
        actions_per_player=(num_actions,) * num_players,
        kind=games.GENERAL_SUM,
        dynamics=games.SEQUENTIAL,
        obs_size=obs_size,
        state_size=obs_size,
        reward_range=(-1.0, 1.0),
        max_episode_length=4,
        continuous_actions=continuous,
    )


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), num_actions=st.integers(2, 7), greedy=st.booleans())
def test_illegal_actions_never_chosen_under_random_masks(seed, num_actions, greedy):
    rng = np.random.default_rng(seed)
    learner = MADDPG(
        _info(num_actions), MADDPGConfig(hidden=(8,), greedy_eval=greedy), seed=seed % 1000
    )
    # Push the logits of some actions far up so an illegal favourite is tempting.
    with torch.no_grad():
        learner.actor.net[-1].bias.copy_(torch.from_numpy(rng.normal(0, 30, num_actions)).float())
    n = 64
    legal = rng.random((n, num_actions)) < 0.4
    legal[np.arange(n), rng.integers(0, num_actions, n)] = True  # at least one legal action
    obs = rng.normal(size=(n, 3)).astype(np.float32)
    player = rng.integers(0, 2, n)
    for explore in (False, True):
        out = learner.act(obs, legal, player, rng, explore=explore)
        assert np.all(out.probs[~legal] == 0.0)
        np.testing.assert_allclose(out.probs.sum(-1), 1.0, rtol=1e-9)
        assert legal[np.arange(n), out.actions].all()
    # The update path: straight-through Gumbel-softmax samples are legal one-hots.
    pre = torch.from_numpy(rng.normal(0, 30, (n, 2, num_actions))).float()
    legal_t = torch.from_numpy(np.stack([legal, legal[::-1]], axis=1))
    acting = torch.ones(n, 2, dtype=torch.bool)
    gen = torch.Generator().manual_seed(seed % 1000)
    hard = policy_action(pre, legal_t, acting, False, 0.5, gen).detach()
    assert torch.all(hard[~legal_t] == 0) and torch.all(hard.sum(-1) == 1)


def test_turn_based_zero_sum_game_learns_and_plays_legally():
    """tic_tac_toe: one seat acts per step; the other enters the critic as zeros."""
    game = games.load("tic_tac_toe")
    learner = MADDPG(game.info, MADDPGConfig(hidden=(32,), warmup=64, batch_size=64), seed=0)
    coll = Collector(game, [learner], self_play_matchup(2), 16, 0)
    metrics = [learner.learn(coll.collect(8)[0]) for _ in range(4)]
    assert all(np.isfinite(m["critic_loss"]) and np.isfinite(m["actor_loss"]) for m in metrics[1:])
    rows = learner.buffer.sample(256, np.random.default_rng(0))
    assert np.all(rows["acting"].sum(-1) == 1)  # one mover per step
    assert rows["rewards"][rows["done"]].any()  # terminal rewards reach both seats' critic heads
    play(game, [learner.freeze(), learner], 32, seed=1)  # an illegal move would raise GameError


# ---- determinism, checkpoints, snapshots ----------------------------------------


def _losses(seed: int, updates: int = 50) -> list[tuple[float, float]]:
    game = games.load("matrix:stag_hunt")
    config = MADDPGConfig(hidden=(16,), warmup=64, batch_size=32, replay_ratio=1.0)
    learner = MADDPG(game.info, config, seed=seed)
    coll = Collector(game, [learner], self_play_matchup(2), 32, seed)
    out = []
    while learner.updates < updates:
        m = learner.learn(coll.collect(1)[0])
        if "critic_loss" in m:
            out.append((m["critic_loss"], m["actor_loss"]))
    return out


def test_same_seed_same_losses_over_50_updates():
    a, b = _losses(3), _losses(3)
    assert len(a) == 50 and a == b
    assert _losses(4) != a


def _trained(spec: str, seed: int = 0) -> tuple[games.Game, MADDPG]:
    game = games.load(spec)
    learner = MADDPG(game.info, MADDPGConfig(hidden=(16,), warmup=64, batch_size=64), seed=seed)
    train(learner, game, 1024, seed, batch=32, rollout_len=8)
    return game, learner


@pytest.mark.parametrize("spec", ["matrix:stag_hunt", "control:rendezvous"])
def test_checkpoint_round_trip_gives_identical_actions(tmp_path, spec):
    game, learner = _trained(spec)
    assert learner.updates > 0
    save_checkpoint(tmp_path / "ck", learner, spec)
    loaded = load_checkpoint(tmp_path / "ck", spec)
    full = learner.state_dict()
    again = loaded.state_dict()
    assert full.keys() == again.keys()
    assert all(torch.equal(full[k], again[k]) for k in full)
    ts = game.vector(8, 5).reset()
    p = game.info.num_players
    obs, legal = ts.obs.reshape(8 * p, -1), ts.legal.reshape(8 * p, -1)
    player = np.tile(np.arange(p), 8)
    policy_only = MADDPG(game.info, learner.config, seed=99)
    policy_only.load_state_dict(learner.policy_state_dict())
    for explore in (False, True):
        want = learner.act(obs, legal, player, np.random.default_rng(7), explore)
        for other in (loaded, policy_only):
            got = other.act(obs, legal, player, np.random.default_rng(7), explore)
            np.testing.assert_array_equal(got.actions, want.actions)


def test_freeze_is_unaffected_by_later_learning():
    game, learner = _trained("matrix:stag_hunt")
    frozen = learner.freeze()
    obs, legal, player = np.ones((2, 1), np.float32), np.ones((2, 2), bool), np.arange(2)
    before = frozen.act(obs, legal, player, np.random.default_rng(0)).probs.copy()
    train(learner, game, 1024, 1, batch=32, rollout_len=8)
    after = frozen.act(obs, legal, player, np.random.default_rng(0)).probs
    moved = learner.act(obs, legal, player, np.random.default_rng(0)).probs
    np.testing.assert_array_equal(before, after)
    assert not np.allclose(moved, before)


# ---- learning ------------------------------------------------------------------


def _greedy_probs(learner: MADDPG, game: games.Game) -> np.ndarray:
    ts = game.vector(1, 0).reset()
    p = game.info.num_players
    return learner.act(ts.obs[0], ts.legal[0], np.arange(p), np.random.default_rng(0)).probs


def _learn_matrix(spec: str, seed: int = 0, **overrides) -> tuple[games.Game, MADDPG]:
    game = games.load(spec)
    learner = MADDPG(game.info, MADDPGConfig(**overrides), seed=seed)
    train(learner, game, 20_000, seed, batch=64, rollout_len=16)
    return game, learner


def test_pure_coordination_coordinates():
    game, learner = _learn_matrix("matrix:pure_coordination")
    probs = _greedy_probs(learner, game)
    a = int(probs[0].argmax())
    assert probs[0, a] > 0.9 and probs[1, a] > 0.9
    assert play(game, [learner], 512, seed=1).returns.mean() > 0.9  # random: 0.5


def test_stag_hunt_selfish_goes_to_hare_prosocial_to_stag():
    stag, hare = 0, 1
    game, selfish = _learn_matrix("matrix:stag_hunt")
    probs = _greedy_probs(selfish, game)
    assert probs[0, hare] > 0.9 and probs[1, hare] > 0.9
    _, social = _learn_matrix("matrix:stag_hunt", prosocial=1.0)
    probs = _greedy_probs(social, game)
    assert probs[0, stag] > 0.9 and probs[1, stag] > 0.9
    assert play(game, [social], 512, seed=1).returns.mean() > 3.8  # hare pays 3


def test_continuous_agreement_finds_the_optimum():
    game = games.load("control:agreement")
    learner = MADDPG(game.info, MADDPGConfig(), seed=0)
    train(learner, game, 20_000, 0, batch=64, rollout_len=16)
    x = learner.act(np.ones((2, 1), np.float32), np.ones((2, 1), bool), np.arange(2), None).actions
    np.testing.assert_allclose(x[:, 0], 0.5, atol=0.1)
    ret = play(game, [learner], 256, seed=1).returns.mean()
    assert ret > -0.05  # optimum 0, uniform random -7/3


@pytest.mark.slow
def test_continuous_rendezvous_near_optimal():
    game = games.load("control:rendezvous")
    learner = MADDPG(game.info, MADDPGConfig(batch_size=128, replay_ratio=8.0), seed=0)
    train(learner, game, 20_000, 0, batch=64, rollout_len=16)
    n = 512
    policy, rng = learner.freeze(), np.random.default_rng(0)
    env = game.vector(n, seed=123)
    ts = env.reset()
    best = rendezvous_optimal_return(
        ts.state[:, :-1].reshape(n, 2, 2).astype(np.float64), game.speed, game.horizon
    )
    learned = np.zeros(n)
    while not ts.done.all():
        a = policy.act(
            ts.obs.reshape(2 * n, -1), ts.legal.reshape(2 * n, -1), np.tile([0, 1], n), rng
        )
        ts = env.step(a.actions.reshape(n, 2, 2))
        learned += ts.rewards[:, 0]
    env = game.vector(n, seed=123)
    ts, rand = env.reset(), np.zeros(n)
    while not ts.done.all():
        ts = env.step(rng.uniform(-1, 1, (n, 2, 2)).astype(np.float32))
        rand += ts.rewards[:, 0]
    closed = (learned.mean() - rand.mean()) / (best.mean() - rand.mean())
    assert closed > 0.9, (learned.mean(), best.mean(), rand.mean())


def test_rollout_without_learner_steps_is_ignored():
    """Rows where the learner holds no seat or nobody acts never enter the buffer."""
    game = games.load("matrix:stag_hunt")
    learner = MADDPG(game.info, MADDPGConfig(warmup=10**6), seed=0)
    r = Collector(game, [learner], self_play_matchup(2), 4, 0).collect(3)[0]
    r = Rollout(**{**r.__dict__, "controlled": np.zeros_like(r.controlled)})
    learner.learn(r)
    assert len(learner.buffer) == 0
