"""Large symmetric zero-sum meta-Nash (games.metanash): certified gaps, agreement with the LP."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from games.metanash import (
    MetaNashError,
    lcp_equilibrium,
    solve_symmetric_zero_sum_large,
    symmetric_gap,
)
from games.solvers import maximin


def random_antisymmetric(n: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).uniform(-1, 1, (n, n))
    return np.triu(a, 1) - np.triu(a, 1).T


def league_like(n: int, seed: int) -> np.ndarray:
    """Win probabilities minus 1/2 of an mElo population: mostly transitive, a little cyclic."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 1, n)
    c = rng.normal(0, 0.7, (n, 2))
    z = r[:, None] - r[None, :] + np.outer(c[:, 0], c[:, 1]) - np.outer(c[:, 1], c[:, 0])
    return 1 / (1 + np.exp(-z)) - 0.5


def test_rock_paper_scissors_is_uniform():
    rps = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], float)
    res = solve_symmetric_zero_sum_large(rps)
    np.testing.assert_allclose(res.strategy, np.full(3, 1 / 3), atol=1e-9)
    assert res.gap <= 1e-9


@pytest.mark.parametrize("n,seed", [(5, 0), (40, 1), (120, 2)])
def test_random_games_match_the_lp(n, seed):
    a = random_antisymmetric(n, seed)
    res = solve_symmetric_zero_sum_large(a)
    assert res.strategy.min() >= 0 and abs(res.strategy.sum() - 1) < 1e-12
    assert res.gap <= 1e-9
    assert res.gap == pytest.approx(symmetric_gap(a, res.strategy), abs=1e-15)
    x, value = maximin(a)  # random games have a unique equilibrium
    assert value == pytest.approx(0.0, abs=1e-8)
    np.testing.assert_allclose(res.strategy, x, atol=1e-6)


def test_double_oracle_stays_small_on_a_transitive_league():
    a = league_like(400, 3)
    res = solve_symmetric_zero_sum_large(a)
    assert res.gap <= 1e-9
    assert res.restricted < 100  # far below the 400 members: the support is small
    x, _ = maximin(a)
    assert symmetric_gap(a, x) <= 1e-7


def test_duplicated_members_still_certify():
    base = random_antisymmetric(12, 4)
    idx = np.r_[np.arange(12), np.arange(12)]  # every member twice: a continuum of equilibria
    a = base[np.ix_(idx, idx)]
    res = solve_symmetric_zero_sum_large(a)
    assert res.gap <= 1e-9


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 30), st.integers(0, 10_000))
def test_property_best_responses_never_gain(n, seed):
    a = random_antisymmetric(n, seed) * np.random.default_rng(seed).uniform(0.01, 100)
    res = solve_symmetric_zero_sum_large(a, tol=1e-9 * max(1.0, np.abs(a).max()))
    assert (a @ res.strategy).max() <= 1e-8 * max(1.0, np.abs(a).max())


def test_ipm_alone_reaches_the_equilibrium():
    a = random_antisymmetric(60, 5)
    p, support = lcp_equilibrium(a)
    assert symmetric_gap(a, p) <= 1e-9
    assert support.sum() == (p > 1e-9).sum()


def test_trivial_games():
    assert solve_symmetric_zero_sum_large(np.zeros((1, 1))).strategy.tolist() == [1.0]
    res = solve_symmetric_zero_sum_large(np.zeros((4, 4)))
    assert res.gap == 0.0 and res.strategy.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "bad,needle",
    [
        (np.ones((2, 3)), "square"),
        (np.array([[0.0, 1.0], [1.0, 0.0]]), "antisymmetric"),
        (np.array([[0.0, np.nan], [np.nan, 0.0]]), "NaN"),
    ],
)
def test_bad_matrices_name_the_fix(bad, needle):
    with pytest.raises(MetaNashError, match=needle):
        solve_symmetric_zero_sum_large(bad)
