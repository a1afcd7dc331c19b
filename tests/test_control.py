"""Continuous-action control tasks: interface contract, known optima, determinism."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import games
from games.control import Agreement, Rendezvous, rendezvous_optimal_return

SPECS = ["control:rendezvous", "control:rendezvous(players=3,dim=1,horizon=5)", "control:agreement"]


def _random_actions(info, batch, rng):
    shape = (batch, info.num_players, info.num_actions)
    return rng.uniform(info.action_low, info.action_high, shape).astype(np.float32)


def _greedy_rendezvous(state: np.ndarray, speed: float) -> np.ndarray:
    """The optimal two-agent policy: close every coordinate of the gap as fast as possible."""
    pos = state[:, :-1].reshape(len(state), 2, -1).astype(np.float64)
    gap = pos[:, 1] - pos[:, 0]
    move = np.clip(gap / (2 * speed), -1.0, 1.0)
    return np.stack([move, -move], axis=1).astype(np.float32)


@pytest.mark.parametrize("spec", SPECS)
def test_interface_shapes_and_no_autoreset(spec):
    game = games.load(spec)
    info = game.info
    assert info.continuous_actions and info.kind == games.COOPERATIVE
    assert info.dynamics == games.SIMULTANEOUS
    assert info.actions_per_player == (info.num_actions,) * info.num_players
    b, p, d = 5, info.num_players, info.num_actions
    env = game.vector(b, seed=3)
    ts = env.reset()
    assert ts.obs.shape == (b, p, info.obs_size) and ts.obs.dtype == np.float32
    assert ts.state.shape == (b, info.state_size) and ts.state.dtype == np.float32
    assert ts.legal.shape == (b, p, d) and ts.legal.dtype == bool and ts.legal.all()
    assert ts.acting.all() and not ts.done.any()
    rng = np.random.default_rng(0)
    total = np.zeros((b, p))
    for _ in range(info.max_episode_length):
        assert not ts.done.any()
        ts = env.step(_random_actions(info, b, rng))
        assert ts.rewards.shape == (b, p) and ts.rewards.dtype == np.float64
        total += ts.rewards
    assert ts.done.all() and not ts.acting.any() and not ts.legal.any()
    lo, hi = info.reward_range
    assert np.all(total >= lo - 1e-9) and np.all(total <= hi + 1e-9)
    assert np.all(total == total[:, :1]), "cooperative: every player gets the same reward"
    # Finished copies stay finished and pay nothing, whatever is passed.
    again = env.step(_random_actions(info, b, rng))
    assert again.done.all() and not again.rewards.any()
    np.testing.assert_array_equal(again.obs, ts.obs)
    # reset(mask) restarts only the masked copies.
    mask = np.array([True, False, True, False, False])
    ts = env.reset(mask=mask)
    np.testing.assert_array_equal(ts.done, ~mask)
    np.testing.assert_array_equal(ts.acting, np.repeat(mask[:, None], p, axis=1))
    np.testing.assert_array_equal(ts.legal.any(-1), ts.acting)


@pytest.mark.parametrize("spec", SPECS)
def test_deterministic_per_seed_and_batched_equals_unbatched(spec):
    game = games.load(spec)
    info = game.info

    def run(batch, seed, first_copy=0, episodes=2):
        env = game.vector(batch, seed, first_copy=first_copy)
        rng = np.random.default_rng(1)
        acts = _random_actions(info, 4, rng)[:batch]  # same actions whatever the batch
        out = []
        for _ in range(episodes):
            ts = env.reset()
            out.append(ts.obs.copy())
            while not ts.done.all():
                ts = env.step(acts)
                out.append(np.concatenate([ts.obs.reshape(batch, -1), ts.rewards], axis=1))
        return out

    a, b = run(4, seed=11), run(4, seed=11)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    if spec.startswith("control:rendezvous"):
        c = run(4, seed=12)
        assert not np.array_equal(a[0], c[0]), "another seed gives other starts"
    # Copy 2 of a batch behaves like a batch of one with first_copy=2 (same actions row).
    env4, env1 = game.vector(4, 5), game.vector(1, 5, first_copy=2)
    for _ in range(2):
        t4, t1 = env4.reset(), env1.reset()
        np.testing.assert_array_equal(t4.obs[2], t1.obs[0])


def test_rendezvous_observation_layout():
    game = Rendezvous(players=3, dim=2, horizon=4)
    ts = game.vector(2, 0).reset()
    pos = ts.state[:, :6].reshape(2, 3, 2)
    np.testing.assert_allclose(ts.obs[:, :, :2], pos)
    np.testing.assert_allclose(ts.obs[:, 1, 2:4], pos[:, 0] - pos[:, 1])  # player 0 seen by 1
    np.testing.assert_allclose(ts.obs[:, 1, 4:6], pos[:, 2] - pos[:, 1])
    np.testing.assert_allclose(ts.obs[:, :, -1], 1.0)
    np.testing.assert_allclose(ts.state[:, -1], 1.0)


def test_rendezvous_optimum_is_reached_by_the_greedy_policy_and_beats_random():
    game = games.load("control:rendezvous")
    speed, horizon, n = game.speed, game.horizon, 256
    env = game.vector(n, seed=0)
    ts = env.reset()
    starts = ts.state[:, :-1].reshape(n, 2, 2).astype(np.float64)
    best = rendezvous_optimal_return(starts, speed, horizon)
    ret = np.zeros(n)
    while not ts.done.all():
        ts = env.step(_greedy_rendezvous(ts.state, speed))
        ret += ts.rewards[:, 0]
    np.testing.assert_allclose(ret, best, atol=1e-5)
    # Random play and standing still are far worse (measured: about -10.6 and -10.1 vs -0.92).
    env = game.vector(n, seed=0)
    ts, rnd, rng = env.reset(), np.zeros(n), np.random.default_rng(0)
    while not ts.done.all():
        ts = env.step(_random_actions(game.info, n, rng))
        rnd += ts.rewards[:, 0]
    assert best.mean() > -1.2 and rnd.mean() < -9.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), actions_seed=st.integers(0, 2**31 - 1))
def test_no_action_sequence_beats_the_rendezvous_optimum(seed, actions_seed):
    game = Rendezvous(players=2, dim=2, horizon=6, speed=0.3)
    env = game.vector(8, seed)
    ts = env.reset()
    best = rendezvous_optimal_return(ts.state[:, :-1].reshape(8, 2, 2).astype(np.float64), 0.3, 6)
    rng, ret = np.random.default_rng(actions_seed), np.zeros(8)
    while not ts.done.all():
        ts = env.step(
            _random_actions(game.info, 8, rng) * rng.uniform(0, 1, (8, 1, 1)).astype(np.float32)
        )
        ret += ts.rewards[:, 0]
    assert np.all(ret <= best + 1e-9)


def test_agreement_known_values():
    game = games.load("control:agreement")
    assert game.optimum == (0.5, 0.5)
    env = game.vector(3, 0)
    env.reset()
    acts = np.array([[[0.5], [0.5]], [[1.0], [1.0]], [[-1.0], [-1.0]]], np.float32)
    ts = env.step(acts)
    np.testing.assert_allclose(ts.rewards[:, 0], [0.0, -1.0, -9.0])
    assert ts.done.all() and game.info.max_episode_length == 1
    assert game.info.reward_range == (-9.0, 0.0)
    # Uniform random play: -4/3 - target^2 = -7/3.
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 200_000))
    assert abs(game.payoff(x[0], x[1]).mean() - game.random_return) < 0.02
    assert game.random_return == pytest.approx(-7 / 3)
    assert Agreement(target=0.4).optimum == (0.2, 0.2)


def test_illegal_actions_rejected_with_clear_errors():
    game = games.load("control:rendezvous")
    env = game.vector(2, 0)
    env.reset()
    ok = np.zeros((2, 2, 2), np.float32)
    with pytest.raises(games.GameError, match="expected \\[2, 2, 2\\]"):
        env.step(np.zeros((2, 2), np.float32))
    with pytest.raises(games.GameError, match="float"):
        env.step(ok.astype(np.int64))
    bad = ok.copy()
    bad[1, 0, 1] = 1.5
    with pytest.raises(games.GameError, match="player 0 \\(component 1\\) in copy 1"):
        env.step(bad)
    bad[1, 0, 1] = np.nan
    with pytest.raises(games.GameError, match="nan"):
        env.step(bad)
    with pytest.raises(games.GameError, match="reset mask"):
        env.reset(mask=np.ones(3, bool))


def test_unknown_names_and_parameters():
    with pytest.raises(games.GameError, match="did you mean: rendezvous"):
        games.load("control:rendevous")
    with pytest.raises(games.GameError, match="accepted: players=2"):
        games.load("control:rendezvous(agents=3)")
    with pytest.raises(games.GameError, match="players must be an integer"):
        games.load("control:rendezvous(players=1)")
    with pytest.raises(games.GameError, match="must be a number"):
        games.load("control:agreement(target=abc)")
    with pytest.raises(games.GameError, match="target must be a number in \\[-2, 2\\]"):
        games.load("control:agreement(target=3)")
    assert games.load("control:rendezvous(horizon=25)").info.max_episode_length == 25
    assert games.load("control:rendezvous(horizon=25)").name == "rendezvous(horizon=25)"
