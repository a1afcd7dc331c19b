"""Matchmaking rules, the payoff table and the pool: frequencies match the definitions."""

import numpy as np
import pytest
from scipy.stats import chisquare

from leagues.matchmaking import (
    PayoffTable,
    candidates,
    draw_opponents,
    meta_nash,
    opponent_probs,
    pfsp_weights,
    round_robin,
)
from leagues.pool import Pool, reset_due, snapshot_due

DRAWS = 20_000
P_MIN = 1e-3  # chi-square p-value below which a frequency table is rejected


def _chi_square_ok(draws: np.ndarray, ids: list[int], expected_probs: list[float]) -> float:
    expected_probs = np.asarray(expected_probs, np.float64)
    assert set(np.unique(draws)) <= {i for i, p in zip(ids, expected_probs) if p > 0}
    keep = expected_probs > 0
    observed = np.array([(draws == i).sum() for i in ids])[keep]
    return chisquare(observed, expected_probs[keep] * len(draws)).pvalue


def _league():
    """Learner 1 and frozen members 2..5 with planted win rates of the learner."""
    pool = Pool(capacity=10)
    learner = pool.add_learner("main", "mappo")
    for step in (0, 100, 200):
        pool.add_snapshot(learner.id, step)
    pool.add_reference("random")
    table = PayoffTable(decay=1.0)
    planted = {2: (9, 1), 3: (5, 5), 4: (2, 8), 5: (10, 0)}  # opponent: (learner wins, losses)
    for opp, (w, lose) in planted.items():
        for _ in range(w):
            table.add(learner.id, opp, 1.0)
        for _ in range(lose):
            table.add(learner.id, opp, 0.0)
    rates = {opp: w / (w + lose) for opp, (w, lose) in planted.items()}
    return pool, learner, table, rates


# ---------------------------------------------------------------------------
# PFSP weights


def test_pfsp_weights_equal_the_formulas():
    x = np.array([0.1, 0.5, 0.9, 1.0])
    hard = (1 - x) ** 2
    np.testing.assert_allclose(pfsp_weights(x, "hard", 2.0), hard / hard.sum())
    cubic = (1 - x) ** 3
    np.testing.assert_allclose(pfsp_weights(x, "hard", 3.0), cubic / cubic.sum())
    var = x * (1 - x)
    np.testing.assert_allclose(pfsp_weights(x, "var"), var / var.sum())
    # the learner beats everyone: no preference left, uniform
    np.testing.assert_allclose(pfsp_weights(np.ones(4), "hard"), np.full(4, 0.25))
    with pytest.raises(ValueError, match="not one of hard, var"):
        pfsp_weights(x, "soft")


# ---------------------------------------------------------------------------
# Rule frequencies (seeded chi-square tests)


def test_uniform_frequencies():
    pool, learner, table, _ = _league()
    cands = candidates(pool, learner, "main")
    assert cands == [2, 3, 4, 5]
    draws = draw_opponents("uniform", learner.id, cands, table, np.random.default_rng(0), DRAWS)
    assert _chi_square_ok(draws, cands, [0.25] * 4) > P_MIN


def test_latest_is_always_the_learner():
    pool, learner, table, _ = _league()
    draws = draw_opponents(
        "latest",
        learner.id,
        candidates(pool, learner, "main"),
        table,
        np.random.default_rng(0),
        500,
    )
    assert np.all(draws == learner.id)


def test_self_play_is_latest_80_past_20():
    pool, learner, table, _ = _league()
    cands = candidates(pool, learner, "main")
    draws = draw_opponents(
        "self_play", learner.id, cands, table, np.random.default_rng(1), DRAWS, past_prob=0.2
    )
    ids = [learner.id, *cands]
    expected = [0.8] + [0.2 / len(cands)] * len(cands)
    assert _chi_square_ok(draws, ids, expected) > P_MIN
    # with no past snapshots, plain self-play
    ids, probs = opponent_probs("self_play", learner.id, [], table)
    assert ids.tolist() == [learner.id] and probs.tolist() == [1.0]


@pytest.mark.parametrize("weighting", ["hard", "var"])
def test_pfsp_frequencies(weighting):
    pool, learner, table, rates = _league()
    cands = candidates(pool, learner, "main")
    x = np.array([rates[c] for c in cands])
    f = (1 - x) ** 2 if weighting == "hard" else x * (1 - x)
    draws = draw_opponents(
        "pfsp", learner.id, cands, table, np.random.default_rng(2), DRAWS, pfsp_weighting=weighting
    )
    assert _chi_square_ok(draws, cands, f / f.sum()) > P_MIN
    # opponent 5 is always beaten: never drawn
    assert not np.any(draws == 5)


def test_nash_frequencies_on_a_rock_paper_scissors_meta_game():
    pool = Pool()
    learner = pool.add_learner("main", "mappo")
    rock, paper, scissors, weak = (pool.add_snapshot(learner.id, s).id for s in (1, 2, 3, 4))
    table = PayoffTable()
    for a, b in [(paper, rock), (scissors, paper), (rock, scissors)]:
        for _ in range(20):
            table.add(a, b, 1.0)
    for strong in (rock, paper, scissors):
        for _ in range(20):
            table.add(strong, weak, 1.0)
    cands = candidates(pool, learner, "main")
    draws = draw_opponents("nash", learner.id, cands, table, np.random.default_rng(3), DRAWS)
    assert _chi_square_ok(draws, cands, [1 / 3, 1 / 3, 1 / 3, 0.0]) > P_MIN


def test_meta_nash_values():
    rps = np.array([[0.5, 0.0, 1.0], [1.0, 0.5, 0.0], [0.0, 1.0, 0.5]])
    np.testing.assert_allclose(meta_nash(rps), np.full(3, 1 / 3), atol=1e-8)
    dominant = np.array([[0.5, 0.9], [0.1, 0.5]])
    np.testing.assert_allclose(meta_nash(dominant), [1.0, 0.0], atol=1e-8)
    # cooperative: scores are partner returns; replicator dynamics settle on the best partner
    coop = np.array([[0.2, 0.3], [0.3, 0.9]])
    assert meta_nash(coop, "cooperative")[1] > 0.99


def test_every_rule_falls_back_to_self_play_without_candidates():
    for rule in ("uniform", "latest", "self_play", "pfsp", "nash"):
        ids, probs = opponent_probs(rule, 7, [], None)
        assert ids.tolist() == [7] and probs.tolist() == [1.0]
    with pytest.raises(ValueError, match="not one of uniform, latest"):
        opponent_probs("pfs", 7, [1], None)


def test_draws_are_seeded():
    pool, learner, table, _ = _league()
    cands = candidates(pool, learner, "main")
    a = draw_opponents("pfsp", learner.id, cands, table, np.random.default_rng(5), 50)
    b = draw_opponents("pfsp", learner.id, cands, table, np.random.default_rng(5), 50)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------
# Payoff table


def test_payoff_table_decay_by_hand():
    t = PayoffTable(decay=0.5)
    for s in (1.0, 0.0, 1.0):
        t.add(1, 2, s)
    # decayed: score 0.25*1 + 0.5*0 + 1 = 1.25 over 0.25 + 0.5 + 1 = 1.75 games
    assert t.win_rate(1, 2) == pytest.approx(1.25 / 1.75)
    assert t.win_rate(2, 1) == pytest.approx(0.5 / 1.75)
    assert t.win_rate(1, 2, decayed=False) == pytest.approx(2 / 3)
    assert t.record(1, 2) == (2, 0, 1) and t.record(2, 1) == (1, 0, 2)
    assert t.games(1, 2) == pytest.approx(1.75) and t.games(1, 2, decayed=False) == 3
    assert t.win_rate(1, 3) == 0.5  # never met
    with pytest.raises(ValueError):
        PayoffTable(decay=0.0)


def test_payoff_table_from_matches():
    t = PayoffTable()
    t.add_matches([([1, 2], [1.0, -1.0]), ([2, 1], [0.0, 0.0]), ([1, 1], [1.0, -1.0])], "zero_sum")
    assert t.record(1, 2) == (1, 1, 0)
    scores, counts = t.totals([1, 2])
    np.testing.assert_allclose(scores, [[0.0, 1.5], [0.5, 0.0]])
    np.testing.assert_allclose(counts, [[0.0, 2.0], [2.0, 0.0]])
    np.testing.assert_allclose(t.matrix([1, 2]), [[0.5, 0.75], [0.25, 0.5]])
    assert round_robin([1, 2, 3]) == [(1, 2), (1, 3), (2, 3)]


# ---------------------------------------------------------------------------
# Pool and roles


def test_candidates_by_role():
    pool = Pool()
    main = pool.add_learner("main", "mappo", "main")
    mx = pool.add_learner("mx", "mappo", "main_exploiter")
    lx = pool.add_learner("lx", "mappo", "league_exploiter")
    main_snap = pool.add_snapshot(main.id, 10)
    mx_snap = pool.add_snapshot(mx.id, 10)
    lx_snap = pool.add_snapshot(lx.id, 10)
    ref = pool.add_reference("random")
    frozen = {main_snap.id, mx_snap.id, lx_snap.id, ref.id}
    assert set(candidates(pool, main, "main")) == frozen
    assert set(candidates(pool, lx, "league_exploiter")) == frozen
    assert set(candidates(pool, mx, "main_exploiter")) == {main.id, main_snap.id}


def test_pool_eviction_oldest_keeps_first_and_latest():
    pool = Pool(capacity=3, eviction="oldest")
    learner = pool.add_learner("main", "mappo")
    ref = pool.add_reference("random")
    evicted = []
    for step in range(0, 600, 100):
        pool.add_snapshot(learner.id, step)
        evicted += pool.evict()
    names = [m.name for m in pool.snapshots()]
    assert names == ["main@0", "main@400", "main@500"]
    assert [m.name for m in evicted] == ["main@100", "main@200", "main@300"]
    assert all(not m.active for m in evicted)
    assert len(pool.snapshots(active_only=False)) == 6  # history kept
    assert pool.get(ref.id).active and pool.get(learner.id).active
    assert pool.latest_snapshot(learner.id).name == "main@500"


def test_pool_eviction_lowest_rating():
    pool = Pool(capacity=3, eviction="lowest_rating", keep_first=False)
    learner = pool.add_learner("main", "mappo")
    snaps = [pool.add_snapshot(learner.id, s) for s in (0, 1, 2, 3)]
    ratings = {snaps[0].id: 1300.0, snaps[1].id: 1100.0, snaps[2].id: 1250.0}
    evicted = pool.evict(ratings)
    assert [m.id for m in evicted] == [snaps[1].id]
    with pytest.raises(ValueError, match="already"):
        pool.add_snapshot(learner.id, 3)


def test_pool_rebuilds_from_members():
    pool = Pool(capacity=2)
    learner = pool.add_learner("main", "mappo", created=1.0)
    for s in (0, 1, 2):
        pool.add_snapshot(learner.id, s, created=2.0)
    pool.evict()
    again = Pool.from_members(pool.members, capacity=2)
    assert again.members == pool.members
    assert again.add_reference("random").id == 5


def test_snapshot_and_reset_schedules():
    assert snapshot_due(0, None, 1000)
    assert not snapshot_due(900, 0, 1000)
    assert snapshot_due(1000, 0, 1000)
    assert snapshot_due(300, 0, 1000, win_rate=0.75, win_rate_threshold=0.7)
    assert not snapshot_due(300, 0, 1000, win_rate=0.65, win_rate_threshold=0.7)
    assert not snapshot_due(300, 300, 0, win_rate=0.9, win_rate_threshold=0.7)
    assert not reset_due(10**9, 0, 0)
    assert reset_due(5000, 1000, 4000) and not reset_due(4999, 1000, 4000)
