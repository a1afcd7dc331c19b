"""Exact meta-game payoffs by the sequence form, and Nash matchmaking on returns."""

import numpy as np
import pytest
import torch

import games
from agents.baselines import UniformRandom
from agents.registry import make_learner
from arena.evaluation import tabulate
from arena.evaluation.exact_payoffs import (
    ExactPayoffCache,
    payoff_matrix,
    realization_plans,
    sequence_tree,
)
from leagues.matchmaking import PayoffTable, meta_nash, opponent_probs


def _random_policies(info, n, seed=0):
    """MAPPO actors with large random weights: far from uniform, all different."""
    out = []
    gen = torch.Generator().manual_seed(seed)
    for k in range(n):
        pol = make_learner("mappo", info, seed=k, hidden=[16]).freeze()
        with torch.no_grad():
            for prm in pol.actor.parameters():
                prm.copy_(torch.randn(prm.shape, generator=gen))
        out.append(pol)
    return out


def _pyspiel_table(game, policies):
    """The reference: tabulate every policy, value every ordered pair with pyspiel."""
    import pyspiel

    tables = [pyspiel.TabularPolicy(tabulate(game, p)[0].to_dict()) for p in policies]
    root = game.pyspiel_game.new_initial_state()
    k = len(policies)
    u = np.zeros((k, k, 2))
    for i in range(k):
        for j in range(k):
            u[i, j] = pyspiel.expected_returns(root, [tables[i], tables[j]], -1, True)
    return u


@pytest.mark.parametrize("spec", ["kuhn_poker", "leduc_poker"])
def test_sequence_form_equals_pyspiel_expected_returns(spec):
    game = games.load(spec)
    policies = _random_policies(game.info, 3) + [UniformRandom()]
    tree = sequence_tree(game)
    plans = np.stack([realization_plans(tree, p) for p in policies])
    table = payoff_matrix(tree, plans, plans)
    u = _pyspiel_table(game, policies)
    np.testing.assert_allclose(table, (u[:, :, 0] + u[:, :, 1].T) / 2, atol=1e-6)
    # zero-sum: the seat-balanced table is antisymmetric
    np.testing.assert_allclose(table, -table.T, atol=1e-9)
    assert np.abs(table).max() > 0.05  # the policies differ


def test_kuhn_tree_and_uniform_self_play():
    game = games.load("kuhn_poker")
    tree = sequence_tree(game)
    assert tree.decisions == 24  # 6 deals x 4 decision nodes
    assert len(tree.chance) == 30  # 6 deals x 5 betting sequences
    assert tree.chance.sum() == pytest.approx(5.0)  # 5 terminals per deal, deals sum to 1
    plans = realization_plans(tree, UniformRandom())[None]
    # a policy against itself, both seatings: exactly 0 in a zero-sum game
    assert payoff_matrix(tree, plans, plans)[0, 0] == pytest.approx(0.0, abs=1e-12)


def test_cache_keeps_frozen_members_and_recomputes_live_ones():
    game = games.load("kuhn_poker")
    a, b = _random_policies(game.info, 2, seed=1)
    cache = ExactPayoffCache(game)
    policies = {10: a, 11: UniformRandom()}
    first = cache.matrix([10, 11], policies.__getitem__, live=[11])
    policies[10], policies[11] = b, b  # 10 is cached, 11 is live: only 11 changes
    second = cache.matrix([10, 11], policies.__getitem__, live=[11])
    ref = ExactPayoffCache(game).matrix([0, 1], [a, b].__getitem__)
    np.testing.assert_allclose(second, ref, atol=1e-12)
    assert not np.allclose(first, second)


def test_matrix_games_go_through_the_payoff_tensor():
    game = games.load("matrix:rock_paper_scissors")
    table = ExactPayoffCache(game).matrix([0, 1], [UniformRandom(), UniformRandom()].__getitem__)
    np.testing.assert_allclose(table, np.zeros((2, 2)), atol=1e-12)


def test_nash_on_returns_differs_from_nash_on_win_rates():
    # b wins 3 games in 4 against a, but by 1 chip, and loses the 4th by 4 chips:
    # b is the better player by win rate and the worse one by expected return.
    table = PayoffTable(decay=1.0)
    for r_b in (1.0, 1.0, 1.0, -4.0):
        s_b = 1.0 if r_b > 0 else 0.0
        table.add(1, 2, 1.0 - s_b, s_b, -r_b, r_b)
    assert table.win_rate(2, 1) == pytest.approx(0.75)
    assert table.mean_return(2, 1) == pytest.approx(-0.25)
    ids, probs = opponent_probs("nash", 0, [1, 2], table, kind="zero_sum")
    assert ids.tolist() == [1, 2] and probs.tolist() == pytest.approx([1.0, 0.0])
    # an exact table passed in wins over the sampled one
    exact = np.array([[0.0, -1.0], [1.0, 0.0]])
    _, probs = opponent_probs("nash", 0, [1, 2], table, kind="zero_sum", payoff_matrix=exact)
    assert probs.tolist() == pytest.approx([0.0, 1.0])


def test_meta_nash_on_rock_paper_scissors_with_unequal_stakes():
    # R beats S by 1, S beats P by 1, P beats R by 2: the Nash is (1/4, 1/4, 1/2) over (R, P, S).
    r = np.array([[0.0, -2.0, 1.0], [2.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
    np.testing.assert_allclose(meta_nash(r), [0.25, 0.25, 0.5], atol=1e-8)


def test_payoff_table_replays_returns_from_matches():
    table = PayoffTable(decay=1.0)
    table.add_match([4, 7], [2.0, -2.0], "zero_sum")
    table.add_match([7, 4], [1.0, -1.0], "zero_sum")
    assert table.mean_return(4, 7) == pytest.approx(0.5)
    np.testing.assert_allclose(table.return_matrix([4, 7]), [[0.0, 0.5], [-0.5, 0.0]])
    assert table.win_rate(4, 7) == pytest.approx(0.5)


PSRO_CONFIG = """
[league]
name = "psro"
game = "kuhn_poker"
seed = 3
steps = 768
batch = 16
rollout_len = 4
round_steps = 256

[[learner]]
name = "br"
algorithm = "iql"
matchmaking = "nash"

[learner.config]
hidden = [16]
learning_starts = 32

[snapshots]
every_steps = 256

[matchmaking]
nash_payoffs = "exact"

[evaluation]
games_per_pair = 8
every_steps = 256

[[reference]]
name = "random"
policy = "random"
"""


def _league_table(db):
    from leagues.store import Store

    s = Store.open(db, readonly=True)
    try:
        return [(r.step, tuple(r.seats), tuple(r.returns)) for r in s.matches()]
    finally:
        s.close()


def test_psro_league_draws_from_the_exact_meta_nash_and_is_deterministic(tmp_path):
    from arena.evaluation import exact_payoff_table
    from arena.league import League
    from leagues.matchmaking import candidates

    tables = []
    for run in ("a", "b"):
        cfg = tmp_path / f"{run}.toml"
        cfg.write_text(PSRO_CONFIG)
        league = League.open(cfg, tmp_path / f"{run}.db")
        try:
            league.run()
            slot = league.slots[0]
            lc = league.cfg.learners[0]
            cands = candidates(league.pool, slot.member, lc.role)
            assert len(cands) >= 3  # random and two snapshots
            exact = league._exact_payoffs(lc, slot, cands)
            ref = exact_payoff_table(league.game, [league.policy(c) for c in cands])
            np.testing.assert_allclose(exact, ref, atol=1e-9)
            ids, probs = opponent_probs(
                "nash", slot.member.id, cands, league.payoffs, payoff_matrix=exact
            )
            np.testing.assert_allclose(probs, meta_nash(ref), atol=1e-6)
        finally:
            league.close()
        tables.append(_league_table(tmp_path / f"{run}.db"))
    assert tables[0] == tables[1] and len(tables[0]) > 0
