"""The empirical meta-game: tables from records, meta-Nash, Nash averaging, dominance, mixtures."""

import numpy as np
import pytest

import games
from agents.baselines import FixedMixed, UniformRandom
from arena.evaluation import exact_nash_conv, exact_payoff_table
from arena.evaluation.metagame import (
    MixturePolicy,
    PairRecord,
    analyze,
    cross_play,
    dominance_graph,
    empirical_metagame,
    maxent_nash,
    meta_nash,
    metagame_from_table,
    mixture_policy,
    nash_averaging,
    records_from_match,
    sampling_summary,
)
from arena.rollout import play

RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])  # rock, paper, scissors


def _played_metagame(game, policies, names, n_games, seed=0):
    """Every pair (and self-play) played with seat rotation through arena.rollout.play."""
    records = []
    for i in range(len(policies)):
        for j in range(i, len(policies)):
            result = play(game, [policies[i], policies[j]], n_games, seed + 31 * i + j)
            records += records_from_match(i, j, result)
    return empirical_metagame(names, records, game.info.kind)


def test_planted_rock_paper_scissors_population_has_a_uniform_meta_nash_on_the_cycle():
    game = games.load("matrix:rock_paper_scissors")
    pure = [FixedMixed(np.eye(3)[a]) for a in range(3)]
    meta = _played_metagame(game, pure, ["rock", "paper", "scissors"], n_games=8)
    assert meta.payoffs == pytest.approx(RPS)
    assert np.all(meta.counts[~np.eye(3, dtype=bool)] == 8)
    # Pure strategies in a game without chance: one game per seating is the whole truth.
    assert meta.deterministic.all() and np.all(meta.stderr == 0)
    assert np.all(meta.distinct[~np.eye(3, dtype=bool)] == 2) and np.all(
        np.diag(meta.distinct) == 1
    )
    assert sampling_summary(meta) == (
        "sampled: 8 games per pair, all 6 pairs deterministic (computed exactly from one "
        "game per seating), 9 distinct episodes in all"
    )
    nash = meta_nash(meta)
    assert nash.method == "lp" and nash.weights == pytest.approx(np.ones(3) / 3, abs=1e-9)
    avg = nash_averaging(meta)
    assert avg.weights == pytest.approx(np.ones(3) / 3, abs=1e-6)
    assert avg.ratings == pytest.approx(np.zeros(3), abs=1e-6)
    _, dom = dominance_graph(meta)
    assert dom.edges == [(0, 2), (1, 0), (2, 1)]  # rock beats scissors, paper rock, scissors paper
    assert dom.components == [[0, 1, 2]] and dom.cycles == [[0, 2, 1]] and not dom.transitive
    # PSRO's measure: the meta-Nash mixture is exactly Nash in the full game.
    mix = mixture_policy(pure, nash.weights)
    assert exact_nash_conv(game, mix).nash_conv == pytest.approx(0.0, abs=1e-9)


def test_nash_averaging_ignores_dominated_members_and_copies():
    # RPS plus a member D that loses to everyone by 1.
    table = np.zeros((4, 4))
    table[:3, :3] = RPS
    table[:3, 3], table[3, :3] = 1.0, -1.0
    avg = nash_averaging(metagame_from_table(list("RPSD"), table, games.ZERO_SUM))
    assert avg.weights == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0], abs=1e-6)
    assert avg.ratings == pytest.approx([0, 0, 0, -1], abs=1e-6)
    assert list(avg.ranking()[-1:]) == [3]
    # A copy of rock: ratings unchanged, rock's mass split between the copies (maxent).
    dup = np.zeros((4, 4))
    idx = [0, 1, 2, 0]
    dup[:, :] = RPS[np.ix_(idx, idx)]
    avg2 = nash_averaging(metagame_from_table(["R", "P", "S", "R2"], dup, games.ZERO_SUM))
    assert avg2.ratings == pytest.approx(np.zeros(4), abs=1e-6)
    assert avg2.weights == pytest.approx([1 / 6, 1 / 3, 1 / 3, 1 / 6], abs=1e-5)


def test_maxent_nash_is_an_equilibrium_of_random_antisymmetric_games():
    rng = np.random.default_rng(0)
    for _ in range(20):
        m = rng.normal(size=(7, 7))
        a = m - m.T
        p = maxent_nash(a)
        assert p.sum() == pytest.approx(1.0) and np.all(p >= 0)
        assert np.max(a @ p) <= 1e-6  # no member beats the mixture: value 0


def test_identical_policies_give_an_all_zero_zero_sum_meta_game():
    game = games.load("kuhn_poker")
    same = [UniformRandom(), UniformRandom(), UniformRandom()]
    exact = exact_payoff_table(game, same)
    assert exact == pytest.approx(np.zeros((3, 3)), abs=1e-12)
    meta = _played_metagame(game, same, ["a", "b", "c"], n_games=400)
    off = ~np.eye(3, dtype=bool)
    # Sampled: every entry within 4 standard errors of 0, and nobody dominates anybody.
    assert np.all(np.abs(meta.payoffs[off]) <= 4 * meta.stderr[off])
    assert np.all(meta.stderr[off] > 0)
    _, dom = dominance_graph(meta)
    assert dom.edges == [] and dom.transitive


def test_seats_are_balanced_when_seatings_were_played_unequally():
    # a wins every game from seat 0 (10 games) and loses every game from seat 1 (2 games):
    # a pure seat advantage, so the balanced payoff is 0 (the plain mean would be 2/3).
    recs = [PairRecord(0, 1, 0, 1.0, -1.0)] * 10 + [PairRecord(0, 1, 1, -1.0, 1.0)] * 2
    meta = empirical_metagame(["a", "b"], recs, games.ZERO_SUM)
    assert meta.payoffs == pytest.approx(np.zeros((2, 2)))
    assert meta.counts[0, 1] == meta.counts[1, 0] == 12
    recs = [PairRecord(0, 1, 0, 1.0, -1.0), PairRecord(0, 1, 0, 0.0, 0.0)]
    meta = empirical_metagame(["a", "b"], recs, games.ZERO_SUM)
    assert meta.payoffs[0, 1] == pytest.approx(0.5) and meta.payoffs[1, 0] == pytest.approx(-0.5)
    assert meta.stderr[0, 1] == pytest.approx(0.5)  # std 0.707 / sqrt(2)
    assert meta.advantage[0, 1] == pytest.approx(1.0)


def test_transitive_population_has_a_topological_order_and_pure_meta_nash():
    table = np.array([[0.0, 0.5, 0.8], [-0.5, 0.0, 0.4], [-0.8, -0.4, 0.0]])
    meta = metagame_from_table(
        ["best", "mid", "worst"], table, games.ZERO_SUM, stderr=np.full((3, 3), 0.1)
    )
    a = analyze(meta)
    assert a.dominance.order == [0, 1, 2] and a.dominance.transitive
    assert a.nash.weights == pytest.approx([1, 0, 0], abs=1e-9)
    assert a.averaging.ratings[0] == pytest.approx(0.0, abs=1e-9)
    # Below two standard errors there is no edge.
    noisy = metagame_from_table(
        ["x", "y"], [[0, 0.1], [-0.1, 0]], games.ZERO_SUM, stderr=np.full((2, 2), 0.1)
    )
    assert dominance_graph(noisy)[1].edges == []


def test_cooperative_cross_play_and_alpharank_meta_strategy():
    # Pure coordination: members who always pick A or always pick B.
    game = games.load("matrix:pure_coordination")
    n = game.info.actions_per_player[0]
    members = [FixedMixed(np.eye(n)[0]), FixedMixed(np.eye(n)[1])]
    meta = _played_metagame(game, members, ["A", "B"], n_games=4)
    assert meta.kind == games.COOPERATIVE
    cp = cross_play(meta)
    payoff_same = float(game.payoff_tensor[0][0, 0])
    payoff_cross = float(game.payoff_tensor[0][0, 1])
    assert cp.self_play == pytest.approx(0.5 * (payoff_same + float(game.payoff_tensor[0][1, 1])))
    assert cp.cross_play == pytest.approx(payoff_cross)
    assert cp.gap > 0
    a = analyze(meta)
    assert a.cross_play is not None and a.nash.method == "alpharank"
    assert a.nash.weights.sum() == pytest.approx(1.0)


def test_mixture_policy_probabilities_and_validation():
    pols = [FixedMixed([1, 0, 0]), FixedMixed([0, 1, 0]), FixedMixed([0, 0, 1])]
    mix = MixturePolicy(pols, [0.5, 0.0, 0.5])
    assert len(mix.policies) == 2
    legal = np.ones((4, 3), bool)
    act = mix.act(
        np.zeros((4, 1), np.float32), legal, np.zeros(4, np.int64), np.random.default_rng(0)
    )
    assert act.probs == pytest.approx(np.tile([0.5, 0, 0.5], (4, 1)))
    assert set(act.actions.tolist()) <= {0, 2}
    with pytest.raises(games.GameError):
        MixturePolicy(pols, [0.5, 0.5])
    with pytest.raises(games.GameError):
        MixturePolicy(pols, [-1, 1, 1])


def test_one_member_population_is_trivial():
    meta = metagame_from_table(["only"], [[0.0]], games.ZERO_SUM)
    a = analyze(meta)
    assert a.nash.weights == pytest.approx([1.0]) and a.dominance.edges == []
    assert a.averaging.ratings == pytest.approx([0.0])
