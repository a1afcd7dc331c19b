"""Distinct episodes and deterministic pairings: repeats of one game are not samples."""

import numpy as np
import pytest
import torch

import games
from agents.base import Act
from agents.baselines import FixedMixed, UniformRandom
from agents.registry import make_learner
from arena.backends import RANDOM, Match, ProcessBackend, SerialBackend, policy_spec
from arena.evaluation.metagame import (
    PairRecord,
    dominance_graph,
    empirical_metagame,
    metagame_from_table,
    records_from_match,
    sampling_summary,
)
from arena.rollout import episode_hash, game_has_chance, play

torch.set_num_threads(1)


class Lowest:
    """Always the lowest legal action, with probability 1."""

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        a = legal.argmax(-1).astype(np.int64)
        probs = np.zeros(legal.shape)
        probs[np.arange(len(a)), a] = 1.0
        return Act(a, probs, np.zeros(len(a), np.float32))


class Highest:
    """Always the highest legal action, with probability 1."""

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        a = (legal.shape[-1] - 1 - legal[:, ::-1].argmax(-1)).astype(np.int64)
        probs = np.zeros(legal.shape)
        probs[np.arange(len(a)), a] = 1.0
        return Act(a, probs, np.zeros(len(a), np.float32))


class NoProbs(Lowest):
    """The lowest legal action, but it does not say with what probability."""

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        return Act(super().act(obs, legal, player, rng).actions)


def _meta(game, policies, n_games, seed=0):
    result = play(game, policies, n_games, seed)
    return result, empirical_metagame(["a", "b"], records_from_match(0, 1, result), game.info.kind)


# ---------------------------------------------------------------- play()


@pytest.mark.parametrize("spec", ["connect_four", "tic_tac_toe"])
def test_greedy_policies_replay_one_game_per_seating(spec):
    game = games.load(spec)
    assert not game_has_chance(game)
    result, meta = _meta(game, [Lowest(), Highest()], 64)
    assert result.deterministic.dtype == bool and result.deterministic.all()
    assert result.episode.dtype == np.uint64 and np.all(result.episode != 0)
    assert len(np.unique(result.episode)) == 2  # one per seating
    for seat in (0, 1):  # each seating replays one game
        assert len(np.unique(result.episode[result.seats[:, 0] == seat])) == 1
    assert meta.counts[0, 1] == 64 and meta.distinct[0, 1] == meta.distinct[1, 0] == 2
    assert meta.deterministic[0, 1] and meta.deterministic[1, 0]
    assert meta.stderr[0, 1] == 0.0 and meta.advantage_stderr[0, 1] == 0.0
    by_seat = [result.returns[result.seats[:, 0] == s][0, s] for s in (0, 1)]
    assert meta.payoffs[0, 1] == np.mean(by_seat)  # exactly the two games, seat-balanced
    assert sampling_summary(meta) == (
        "sampled: 64 games per pair, 1 of 1 pair deterministic (computed exactly from one "
        "game per seating), 2 distinct episodes in all"
    )


def test_a_greedy_learner_is_deterministic_and_random_play_is_not():
    game = games.load("tic_tac_toe")
    greedy = make_learner("iql", game.info, seed=0).freeze()
    result = play(game, [greedy, greedy], 40, seed=1)
    assert result.deterministic.all() and len(np.unique(result.episode)) <= 2
    mixed = play(game, [greedy, UniformRandom()], 40, seed=1)
    assert not mixed.deterministic.any()  # the random player's decisions are not certain
    assert not play(game, [NoProbs(), NoProbs()], 4, seed=1).deterministic.any()


def test_random_kuhn_poker_is_sampled_with_repeats():
    game = games.load("kuhn_poker")
    assert game_has_chance(game)
    result, meta = _meta(game, [UniformRandom(), UniformRandom()], 400, seed=3)
    assert not result.deterministic.any()
    # 6 deals x a handful of betting lines: far fewer trajectories than games.
    assert 10 < len(np.unique(result.episode)) < 400
    assert 10 < meta.distinct[0, 1] < 400 and not meta.deterministic[0, 1]
    assert meta.stderr[0, 1] > 0 and meta.advantage_stderr[0, 1] > 0
    # Chance makes even greedy play non-deterministic.
    assert not play(game, [Lowest(), Highest()], 20, seed=3).deterministic.any()
    summary = sampling_summary(meta)
    assert summary.startswith("sampled: 400 games per pair, no pair deterministic, ")
    assert summary.endswith(f"{meta.distinct[0, 1]} distinct episodes in all")


def test_matrix_game_with_pure_strategies_is_deterministic():
    game = games.load("matrix:rock_paper_scissors")
    assert not game_has_chance(game)
    rock, paper = FixedMixed(np.eye(3)[0]), FixedMixed(np.eye(3)[1])
    result, meta = _meta(game, [paper, rock], 10)
    assert result.deterministic.all() and len(np.unique(result.episode)) == 2
    assert meta.deterministic[0, 1] and meta.payoffs[0, 1] == 1.0 and meta.stderr[0, 1] == 0
    assert not play(game, [paper, UniformRandom()], 10, seed=0).deterministic.any()


def test_the_hash_tells_trajectories_apart_and_matches_equal_ones():
    game = games.load("tic_tac_toe")
    low = play(game, [Lowest(), Lowest()], 3, seed=0, rotate=False)
    high = play(game, [Highest(), Highest()], 3, seed=5, batch=1, rotate=False)
    assert len(set(low.episode)) == 1 and len(set(high.episode)) == 1  # same moves, same hash
    assert low.episode[0] != high.episode[0]
    # The pure function gives play()'s hash of a trajectory recorded by hand.
    env = game.vector(1, 0)
    ts = env.reset()
    obs, actions, ret = [], [], np.zeros(2)
    while not ts.done[0]:
        a = np.where(ts.acting, ts.legal.argmax(-1), 0)
        obs.append(ts.obs[0])
        actions.append(a[0])
        ts = env.step(a)
        ret += ts.rewards[0]
    assert episode_hash(np.array(obs), np.array(actions), ret) == int(low.episode[0])
    moved = [a.copy() for a in actions]
    moved[-1] = moved[-1] + 1  # one different action
    assert episode_hash(np.array(obs), np.array(moved), ret) != int(low.episode[0])
    assert episode_hash(np.array(obs), np.array(actions), -ret) != int(low.episode[0])


def test_backends_give_the_same_episodes_and_flags():
    game = games.load("tic_tac_toe")
    greedy = policy_spec("iql", {}, make_learner("iql", game.info, seed=2))
    matches = [Match((greedy, greedy), 50, seed=4), Match((greedy, RANDOM), 50, seed=5)]
    serial = SerialBackend(chunk_games=20).play(game, "tic_tac_toe", matches)
    pool = ProcessBackend(2, chunk_games=20)
    try:
        pooled = pool.play(game, "tic_tac_toe", matches)
    finally:
        pool.close()
    for s, p in zip(serial, pooled):
        np.testing.assert_array_equal(s.episode, p.episode)
        np.testing.assert_array_equal(s.deterministic, p.deterministic)
    assert serial[0].deterministic.all() and not serial[1].deterministic.any()
    assert len(serial[0].episode) == 50  # three chunks, concatenated


# ---------------------------------------------------------------- the meta-game


def test_a_pair_flagged_deterministic_with_several_episodes_per_seating_is_sampled():
    # A policy that changes between games: certain decisions, yet two games from seat 0.
    recs = [PairRecord(0, 1, 0, 1.0, -1.0, 11, True), PairRecord(0, 1, 0, -1.0, 1.0, 12, True)]
    recs += [PairRecord(0, 1, 1, 0.0, 0.0, 13, True)] * 3
    meta = empirical_metagame(["a", "b"], recs, games.ZERO_SUM)
    assert not meta.deterministic[0, 1] and meta.distinct[0, 1] == 3
    assert meta.stderr[0, 1] > 0


def test_records_without_hashes_count_every_game_as_distinct():
    recs = [PairRecord(0, 1, 0, 1.0, -1.0)] * 4 + [PairRecord(0, 1, 1, 1.0, -1.0, 0, True)]
    meta = empirical_metagame(["a", "b"], recs, games.ZERO_SUM)
    assert meta.distinct[0, 1] == 5 and not meta.deterministic.any()


def test_a_small_deterministic_advantage_is_a_certain_edge():
    # a beats b by 0.01 from each seating, every game deterministic: an edge with no noise.
    recs = [PairRecord(0, 1, s, 0.01, -0.01, 100 + s, True) for s in (0, 1)] * 8
    meta = empirical_metagame(["a", "b"], recs, games.ZERO_SUM)
    assert meta.deterministic[0, 1] and meta.advantage_stderr[0, 1] == 0.0
    assert dominance_graph(meta)[1].edges == [(0, 1)]
    assert meta.distinct[0, 1] == 2 and meta.counts[0, 1] == 16


def test_self_play_of_a_deterministic_member_is_one_episode():
    game = games.load("tic_tac_toe")
    result = play(game, [Lowest(), Lowest()], 6, seed=0)
    meta = empirical_metagame(["a"], records_from_match(0, 0, result), game.info.kind)
    assert meta.distinct[0, 0] == 1 and meta.deterministic[0, 0] and meta.stderr[0, 0] == 0


def test_ready_tables_are_exact_without_episodes():
    exact = metagame_from_table(["x", "y"], [[0, 1], [-1, 0]], games.ZERO_SUM)
    assert exact.deterministic.all() and not exact.distinct.any()
    assert sampling_summary(exact) == "exact: 3 pairs computed without sampling"
    given = metagame_from_table(
        ["x", "y"], [[0, 1], [-1, 0]], games.ZERO_SUM, stderr=[[0, 0.1], [0.1, 0]]
    )
    assert not given.deterministic[0, 1] and given.deterministic[0, 0]
    assert (
        sampling_summary(given)
        == "given table: 2 of 3 pairs exact, 1 with standard errors as given"
    )
    assert sampling_summary(empirical_metagame(["x"], [], games.ZERO_SUM)) == "no pair played"


def test_restricted_meta_game_cuts_every_table():
    recs = [PairRecord(0, 1, s, 1.0, -1.0, 7 + s, True) for s in (0, 1)]
    recs += [PairRecord(1, 2, 0, 0.5, -0.5, 9, False), PairRecord(1, 2, 1, 0.0, 0.0, 10, False)]
    meta = empirical_metagame(["a", "b", "c"], recs, games.ZERO_SUM)
    sub = meta.restricted([1, 2])
    assert sub.names == ("b", "c") and sub.distinct.shape == sub.deterministic.shape == (2, 2)
    assert sub.distinct[0, 1] == 2 and not sub.deterministic[0, 1]
    assert sampling_summary(meta) == (
        "sampled: 2 games per pair, 1 of 2 pairs deterministic (computed exactly from one "
        "game per seating), 4 distinct episodes in all"
    )
