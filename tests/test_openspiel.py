"""The OpenSpiel adapter: errors, exact returns, chance, determinism, hooks."""

from __future__ import annotations

import numpy as np
import pyspiel
import pytest

import games
from games import openspiel
from games.openspiel import OpenSpielGame, exact_increment, load_openspiel

# Every game the brief names, each with at least one episode's worth of steps.
EXACT_RETURN_GAMES = [
    "tic_tac_toe",
    "connect_four",
    "kuhn_poker",
    "kuhn_poker(players=3)",
    "leduc_poker",
    "liars_dice",
    "breakthrough(rows=6,columns=6)",
    "hex(board_size=5)",
    "goofspiel(num_cards=4)",
    "oshi_zumo",
    "markov_soccer",
    "matrix_rps",
    "matrix_pd",
    "tiny_hanabi",
    "coop_box_pushing",
]


def play(env, rng, steps: int, reset: bool = True):
    """Random legal play; yields (time step before, actions, time step after)."""
    ts = env.reset()
    for _ in range(steps):
        actions = games.random_legal_actions(ts.legal, rng)
        new = env.step(actions)
        yield ts, actions, new
        ts = new
        if reset and ts.done.any():
            ts = env.reset(mask=ts.done)


# ---------------------------------------------------------------- errors


def test_unknown_name_lists_close_names():
    with pytest.raises(games.GameError) as e:
        games.load("kuhn_pokr")
    msg = str(e.value)
    assert "kuhn_pokr" in msg and "kuhn_poker" in msg and "\n" not in msg


def test_bad_parameter_names_it_and_the_accepted_ones():
    with pytest.raises(games.GameError) as e:
        load_openspiel("goofspiel(num_card=4)")
    msg = str(e.value)
    assert "num_card" in msg and "num_cards=13" in msg and "players=2" in msg


def test_bad_parameter_value_names_it():
    with pytest.raises(games.GameError) as e:
        load_openspiel("kuhn_poker(players=abc)")
    assert "players" in str(e.value) and "players=2" in str(e.value)


def test_game_without_parameters_says_so():
    with pytest.raises(games.GameError, match="no parameters"):
        load_openspiel("tic_tac_toe(size=4)")


@pytest.mark.parametrize(
    "spec, why",
    [
        ("mfg_crowd_modelling", "mean-field"),
        ("negotiation", "generator inside the game"),
        ("coin_game", "neither an information-state nor an observation tensor"),
    ],
)
def test_games_that_do_not_fit_are_rejected_clearly(spec, why):
    with pytest.raises(games.GameError, match=why):
        load_openspiel(spec)


def test_illegal_action_error_names_env_player_and_action():
    env = games.load("tic_tac_toe").vector(3, seed=0)
    ts = env.reset()
    ts = env.step(np.array([[4, 0], [0, 0], [8, 0]]))  # player 0 moves in every copy
    assert ts.acting[:, 1].all()
    actions = np.array([[0, 0], [0, 1], [0, 4]])  # copy 1 is fine; copy 2: cell 4 is free
    actions[2, 1] = 8  # cell 8 was taken by player 0 in copy 2
    with pytest.raises(games.GameError) as e:
        env.step(actions)
    msg = str(e.value)
    assert msg.startswith("illegal action 8 for player 1 in env 2: legal actions are [")
    assert "8" not in msg.split("legal actions are")[1]


def test_out_of_range_action_is_an_illegal_action():
    env = games.load("kuhn_poker").vector(2, seed=0)
    ts = env.reset()
    p = int(np.argmax(ts.acting[0]))
    actions = np.zeros((2, 2), dtype=np.int64)
    actions[0, p] = 99
    with pytest.raises(games.GameError, match=f"illegal action 99 for player {p} in env 0"):
        env.step(actions)


def test_an_illegal_action_leaves_the_env_unchanged():
    env = games.load("tic_tac_toe").vector(2, seed=0)
    env.reset()
    with pytest.raises(games.GameError):
        env.step(np.array([[4, 0], [-1, 0]]))
    ts = env.step(np.array([[4, 0], [4, 0]]))
    assert ts.legal[:, 1, 4].sum() == 0 and ts.legal[:, 1].sum() == 16


def test_actions_of_players_that_do_not_act_are_ignored():
    env = games.load("tic_tac_toe").vector(2, seed=0)
    env.reset()
    ts = env.step(np.array([[4, -5], [0, 1234]]))
    assert ts.acting[:, 1].all() and not ts.legal[0, 1, 4] and not ts.legal[1, 1, 0]


# ---------------------------------------------------------------- game info


def test_info_of_kuhn_poker():
    g = games.load("kuhn_poker")
    assert isinstance(g, OpenSpielGame) and g.obs_type == "information_state"
    i = g.info
    assert (i.num_players, i.num_actions, i.kind, i.dynamics) == (2, 2, "zero_sum", "sequential")
    assert i.obs_size == g.pyspiel_game.information_state_tensor_size()
    assert i.state_size == 2 * i.obs_size
    assert i.reward_range == (-2.0, 2.0) and i.max_episode_length == 3


@pytest.mark.parametrize(
    "spec, kind, dynamics",
    [
        ("tic_tac_toe", "zero_sum", "sequential"),
        ("tiny_hanabi", "cooperative", "sequential"),
        ("matrix_pd", "general_sum", "simultaneous"),
        ("goofspiel(num_cards=4)", "zero_sum", "simultaneous"),
        ("coop_box_pushing", "cooperative", "simultaneous"),
    ],
)
def test_kind_and_dynamics_follow_the_game_type(spec, kind, dynamics):
    info = games.load(spec).info
    assert (info.kind, info.dynamics) == (kind, dynamics)


def test_perfect_information_games_use_the_observation_tensor():
    g = games.load("tic_tac_toe")
    assert g.obs_type == "observation" and g.info.obs_size == 27


def test_observation_matches_pyspiel_tensors():
    g = games.load("leduc_poker")
    env = g.vector(4, seed=3)
    rng = np.random.default_rng(0)
    for _, _, ts in play(env, rng, 20, reset=False):
        for b, s in enumerate(env.states):
            for p in range(2):
                if not s.is_terminal():
                    want = np.asarray(s.information_state_tensor(p), dtype=np.float32)
                    np.testing.assert_array_equal(ts.obs[b, p], want)
        np.testing.assert_array_equal(ts.state, ts.obs.reshape(4, -1))


def test_legal_mask_is_the_acting_players_legal_actions():
    env = games.load("connect_four").vector(5, seed=0)
    rng = np.random.default_rng(1)
    for _, _, ts in play(env, rng, 30, reset=False):
        for b, s in enumerate(env.states):
            if s.is_terminal():
                assert ts.done[b] and not ts.acting[b].any()
                continue
            p = s.current_player()
            assert ts.acting[b].tolist() == [q == p for q in range(2)]
            assert np.flatnonzero(ts.legal[b, p]).tolist() == s.legal_actions(p)


def test_action_names_come_from_pyspiel():
    g = games.load("kuhn_poker")
    assert (g.action_name(0, 0), g.action_name(0, 1)) == ("Pass", "Bet")
    env = g.vector(1, seed=0)
    env.reset()
    assert env.action_name(0, 0, 1) == "Bet"


def test_new_state_is_a_fresh_initial_state():
    g = games.load("kuhn_poker")
    s = g.new_state()
    assert isinstance(s, pyspiel.State) and s.is_chance_node() and s.history() == []


# ---------------------------------------------------------------- rewards


@pytest.mark.parametrize("spec", EXACT_RETURN_GAMES)
def test_episode_rewards_sum_exactly_to_state_returns(spec):
    g = games.load(spec)
    batch = 6
    env = g.vector(batch, seed=11)
    rng = np.random.default_rng(5)
    total = np.zeros((batch, g.num_players))
    finished = 0
    for before, _, ts in play(env, rng, 400, reset=False):
        total += ts.rewards
        assert not ts.rewards[before.done].any()
        ended = ts.done & ~before.done
        for b in np.flatnonzero(ended):
            assert total[b].tolist() == env.states[b].returns()  # exact, not approximate
            finished += 1
        if ts.done.all():
            break
    assert finished == batch, f"only {finished} of {batch} episodes ended"


def test_intermediate_rewards_are_paid_when_they_happen():
    # coop_box_pushing pays -0.1 per step (and more for pushes) as the game goes.
    env = games.load("coop_box_pushing").vector(2, seed=0)
    rng = np.random.default_rng(0)
    steps = list(play(env, rng, 10, reset=False))
    assert any(ts.rewards.any() for _, _, ts in steps[:-1])
    for _, _, ts in steps:
        assert (ts.rewards[:, 0] == ts.rewards[:, 1]).all()


def test_exact_increment_lands_on_the_target():
    rng = np.random.default_rng(0)
    paid = 0.0
    for target in np.cumsum(rng.normal(size=1000) * 0.1).tolist():
        paid += exact_increment(paid, target)
        assert paid == target


# ---------------------------------------------------------------- chance, seeds


def deals(seed: int, batch: int = 32) -> list[str]:
    env = games.load("kuhn_poker").vector(batch, seed=seed)
    env.reset()
    return [str(s) for s in env.states]


def test_chance_outcomes_vary_across_copies_and_seeds():
    a, b = deals(0), deals(1)
    assert len(set(a)) > 1  # copies get different deals
    assert a != b  # another seed, other deals
    assert deals(0) == a  # the same seed, the same deals


def test_chance_follows_the_outcome_probabilities():
    env = games.load("kuhn_poker").vector(3000, seed=2)
    env.reset()
    cards = np.array([[int(c) for c in s.history()[:2]] for s in env.states])
    counts = np.bincount(cards[:, 0], minlength=3) / len(cards)
    assert np.abs(counts - 1 / 3).max() < 0.04
    assert (cards[:, 0] != cards[:, 1]).all()


def test_same_seed_same_trajectories_and_batched_equals_unbatched():
    g = games.load("leduc_poker")
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    run_a = list(play(g.vector(5, seed=9), rng_a, 40))
    run_b = list(play(g.vector(5, seed=9), rng_b, 40))
    for (_, _, x), (_, _, y) in zip(run_a, run_b):
        np.testing.assert_array_equal(x.obs, y.obs)
        np.testing.assert_array_equal(x.rewards, y.rewards)
    # copy 3 on its own, fed the same actions, sees the same game
    single = g.vector(1, seed=9, first_copy=3)
    ts1 = single.reset()
    for before, actions, ts in run_a[:6]:
        np.testing.assert_array_equal(ts1.obs[0], before.obs[3])
        ts1 = single.step(actions[3:4])
        np.testing.assert_array_equal(ts1.rewards[0], ts.rewards[3])
        if ts.done[3]:
            break


@pytest.mark.parametrize("spec", ["kuhn_poker", "leduc_poker", "liars_dice"])
def test_opening_cache_changes_nothing(spec, monkeypatch):
    g = games.load(spec)

    def deals_and_obs(env):
        rng = np.random.default_rng(0)
        obs = [ts.obs for _, _, ts in play(env, rng, 30)]
        return obs + [np.array([str(s) for s in env.states])]

    cached = deals_and_obs(g.vector(16, seed=4))
    monkeypatch.setattr(openspiel, "_OPENING_CACHE", 3)  # fills up at once
    small = deals_and_obs(g.vector(16, seed=4))
    monkeypatch.setattr(openspiel, "_OPENING_CACHE", 0)
    none = deals_and_obs(g.vector(16, seed=4))
    for a, b, c in zip(cached, small, none):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_reset_mask_restarts_only_the_masked_rows():
    env = games.load("kuhn_poker").vector(4, seed=0)
    ts = env.reset()
    ts = env.step(games.random_legal_actions(ts.legal, np.random.default_rng(0)))
    before = [str(s) for s in env.states]
    mask = np.array([False, True, False, True])
    new = env.reset(mask=mask)
    after = [str(s) for s in env.states]
    assert after[0] == before[0] and after[2] == before[2]
    np.testing.assert_array_equal(new.obs[~mask], ts.obs[~mask])
    assert not new.rewards.any() and not new.done[mask].any()
    assert all(len(env.states[b].history()) == 2 for b in (1, 3))  # two cards dealt


def test_simultaneous_nodes_let_every_player_act():
    env = games.load("goofspiel(num_cards=4)").vector(3, seed=0)
    ts = env.reset()
    assert ts.acting.all() and ts.legal.sum(axis=2).tolist() == [[4, 4]] * 3
    ts = env.step(np.array([[0, 1], [2, 2], [3, 0]]))
    assert ts.acting.all() and ts.legal.sum(axis=2).tolist() == [[3, 3]] * 3


def test_one_player_games_fit():
    g = games.load("catch")
    assert g.num_players == 1 and g.kind == "general_sum"
    env = g.vector(2, seed=0)
    rng = np.random.default_rng(0)
    total = np.zeros((2, 1))
    for _, _, ts in play(env, rng, 20, reset=False):
        total += ts.rewards
    assert ts.done.all() and np.abs(total).tolist() == [[1.0], [1.0]]


def test_games_pickle_and_play_the_same_after():
    import pickle

    g = games.load("leduc_poker")
    g2 = pickle.loads(pickle.dumps(g))
    assert g2.info == g.info
    a, b = g.vector(3, seed=1).reset(), g2.vector(3, seed=1).reset()
    np.testing.assert_array_equal(a.obs, b.obs)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda g: g.vector(2, seed=-1), "seed"),
        (lambda g: g.vector(0, seed=0), "batch"),
        (lambda g: g.vector(2, seed=0).reset(mask=np.ones(3, bool)), "mask"),
        (lambda g: (e := g.vector(2, seed=0), e.reset(), e.step(np.zeros((2, 2))))[-1], "integers"),
        (
            lambda g: (e := g.vector(2, seed=0), e.reset(), e.step(np.zeros((2, 3), int)))[-1],
            "shape",
        ),
    ],
)
def test_bad_arguments_raise_game_errors(make, match):
    with pytest.raises(games.GameError, match=match):
        make(games.load("kuhn_poker"))
