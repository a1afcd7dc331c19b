"""Normal-form solvers: known equilibria from the literature and property tests."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from games import GameError
from games.catalog import load_catalog
from games.matrix import normal_form
from games.solvers import (
    alpharank,
    best_response_values,
    deviation_payoffs,
    expected_payoffs,
    maximin,
    nash_gap,
    player_gains,
    replicator_dynamics,
    solve,
    solve_zero_sum,
    support_enumeration,
    symmetric_replicator_dynamics,
)


def one_hot(i: int, n: int) -> np.ndarray:
    v = np.zeros(n)
    v[i] = 1.0
    return v


# ---- known values -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["rock_paper_scissors", "matching_pennies"])
def test_zero_sum_classics_are_uniform_with_value_zero(name):
    A = load_catalog(name).payoff_tensor[0]
    x, y, value = solve_zero_sum(A)
    n = A.shape[0]
    np.testing.assert_allclose(x, np.full(n, 1 / n), atol=1e-9)
    np.testing.assert_allclose(y, np.full(n, 1 / n), atol=1e-9)
    assert abs(value) < 1e-9


def test_zero_sum_value_of_a_known_game():
    # Row payoffs [[2, -1], [-1, 1]]: the row player mixes (2/5, 3/5), value 1/5.
    x, y, value = solve_zero_sum(np.array([[2.0, -1.0], [-1.0, 1.0]]))
    np.testing.assert_allclose(x, [0.4, 0.6], atol=1e-9)
    np.testing.assert_allclose(y, [0.4, 0.6], atol=1e-9)
    assert value == pytest.approx(0.2, abs=1e-9)


def test_prisoners_dilemma_unique_equilibrium_is_defect():
    P = load_catalog("prisoners_dilemma").payoff_tensor
    eqs = support_enumeration(P[0], P[1])
    assert len(eqs) == 1
    x, y = eqs[0]
    np.testing.assert_allclose(x, [0, 1], atol=1e-12)
    np.testing.assert_allclose(y, [0, 1], atol=1e-12)


def test_stag_hunt_has_two_pure_and_one_mixed_equilibrium():
    P = load_catalog("stag_hunt").payoff_tensor
    A = P[0]
    # Mixed: the column's P(Stag) = q makes the row indifferent:
    # q A[0,0] + (1-q) A[0,1] = q A[1,0] + (1-q) A[1,1]
    q = (A[1, 1] - A[0, 1]) / (A[0, 0] - A[0, 1] - A[1, 0] + A[1, 1])
    B = P[1]
    p = (B[1, 1] - B[1, 0]) / (B[0, 0] - B[1, 0] - B[0, 1] + B[1, 1])
    expected = [
        (np.array([1.0, 0.0]), np.array([1.0, 0.0])),
        (np.array([0.0, 1.0]), np.array([0.0, 1.0])),
        (np.array([p, 1 - p]), np.array([q, 1 - q])),
    ]
    eqs = support_enumeration(A, B)
    assert len(eqs) == 3
    for ex, ey in expected:
        assert any(np.allclose(x, ex) and np.allclose(y, ey) for x, y in eqs)


def test_three_player_matching_pennies_uniform_is_nash():
    P = load_catalog("three_player_matching_pennies").payoff_tensor
    uniform = [np.full(2, 0.5)] * 3
    assert nash_gap(P, uniform) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(expected_payoffs(P, uniform), 0.0, atol=1e-12)
    # all Heads: player 0 matches (+1), player 1 matches (+1), player 2 matches player 0 (-1)
    heads = [one_hot(0, 2)] * 3
    np.testing.assert_array_equal(expected_payoffs(P, heads), [1, 1, -1])
    np.testing.assert_array_equal(player_gains(P, heads), [0, 0, 2])
    assert nash_gap(P, heads) == 2.0


def test_expected_payoffs_match_brute_force():
    rng = np.random.default_rng(0)
    P = rng.normal(size=(3, 2, 3, 4))
    profile = [rng.dirichlet(np.ones(n)) for n in (2, 3, 4)]
    brute = np.zeros(3)
    for a, b, c in itertools.product(range(2), range(3), range(4)):
        brute += profile[0][a] * profile[1][b] * profile[2][c] * P[:, a, b, c]
    np.testing.assert_allclose(expected_payoffs(P, profile), brute, atol=1e-12)
    dev = deviation_payoffs(P, profile, 1)
    for b in range(3):
        pure = [profile[0], one_hot(b, 3), profile[2]]
        assert dev[b] == pytest.approx(expected_payoffs(P, pure)[1], abs=1e-12)
    assert best_response_values(P, profile)[1] == pytest.approx(dev.max(), abs=1e-12)


def test_profile_shape_errors():
    P = load_catalog("rock_paper_scissors").payoff_tensor
    with pytest.raises(GameError, match="2 players"):
        nash_gap(P, [np.ones(3) / 3])
    with pytest.raises(GameError, match=r"expected \[3\]"):
        nash_gap(P, [np.ones(3) / 3, np.ones(2) / 2])


# ---- property tests on random zero-sum matrices -------------------------------------

matrices = st.tuples(st.integers(1, 20), st.integers(1, 20)).flatmap(
    lambda shape: arrays(
        np.float64,
        shape,
        elements=st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=32),
    )
)


@settings(max_examples=60, deadline=None)
@given(A=matrices)
def test_zero_sum_lp_properties(A):
    x, v_row = maximin(A)
    y, v_col_neg = maximin(-A.T)
    # both players' LPs find the same value
    assert abs(v_row - (-v_col_neg)) < 1e-7
    _, _, value = solve_zero_sum(A)
    P = np.stack([A, -A])
    # the LP profile is an equilibrium, and best responses never gain against it
    assert nash_gap(P, [x, y]) < 1e-7
    assert np.all(A @ y <= value + 1e-7)
    assert np.all(x @ A >= value - 1e-7)
    gains = player_gains(P, [x, y])
    assert np.all(gains < 1e-7) and np.all(gains > -1e-7)


@settings(max_examples=60, deadline=None)
@given(A=matrices, data=st.data())
def test_nash_gap_of_pure_profile_is_hand_computed_gain(A, data):
    m, n = A.shape
    i = data.draw(st.integers(0, m - 1))
    j = data.draw(st.integers(0, n - 1))
    # row gains max over its column j minus A[i, j]; the column (payoff -A) gains
    # max over row i of -A minus -A[i, j]
    expected = (max(A[:, j]) - A[i, j]) + (max(-A[i, :]) - (-A[i, j]))
    P = np.stack([A, -A])
    assert nash_gap(P, [one_hot(i, m), one_hot(j, n)]) == pytest.approx(expected, abs=1e-9)


bimatrices = st.tuples(st.integers(1, 5), st.integers(1, 5)).flatmap(
    lambda shape: st.tuples(
        *[
            arrays(np.float64, shape, elements=st.floats(-10, 10, allow_nan=False, width=32))
            for _ in range(2)
        ]
    )
)


@settings(max_examples=50, deadline=None)
@given(AB=bimatrices)
def test_support_enumeration_returns_equilibria(AB):
    A, B = AB
    P = np.stack([A, B])
    for x, y in support_enumeration(A, B):
        assert nash_gap(P, [x, y]) < 1e-7
        assert np.all(x >= 0) and np.all(y >= 0)
        assert x.sum() == pytest.approx(1.0) and y.sum() == pytest.approx(1.0)


def test_support_enumeration_generic_games_have_odd_count():
    # Generic (random continuous) bimatrix games are nondegenerate with probability
    # one, and nondegenerate games have an odd number of equilibria (Wilson 1971;
    # Nisan et al. 2007, Cor. 3.8 of Lemke-Howson).
    rng = np.random.default_rng(1)
    for _ in range(20):
        m, n = rng.integers(2, 6, size=2)
        A, B = rng.normal(size=(m, n)), rng.normal(size=(m, n))
        eqs = support_enumeration(A, B)
        assert len(eqs) % 2 == 1
        for x, y in eqs:
            assert nash_gap(np.stack([A, B]), [x, y]) < 1e-9


def test_support_enumeration_agrees_with_lp_on_zero_sum():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(6, 5))
    _, _, value = solve_zero_sum(A)
    eqs = support_enumeration(A, -A)
    assert len(eqs) == 1  # generic zero-sum games have a unique equilibrium
    x, y = eqs[0]
    assert x @ A @ y == pytest.approx(value, abs=1e-9)


# ---- dynamics and alpha-rank --------------------------------------------------------


def test_replicator_prisoners_dilemma_goes_to_defect():
    P = load_catalog("prisoners_dilemma").payoff_tensor
    traj = replicator_dynamics(P, x0=[np.array([0.9, 0.1])] * 2, steps=2000, dt=0.05)
    assert traj[0].shape == (2001, 2)
    assert traj[0][-1][1] > 0.99 and traj[1][-1][1] > 0.99
    np.testing.assert_allclose(traj[0].sum(axis=1), 1.0)


def test_replicator_rps_uniform_is_rest_point_and_orbits_conserve():
    P = load_catalog("rock_paper_scissors").payoff_tensor
    traj = replicator_dynamics(P, steps=100, dt=0.05)
    np.testing.assert_allclose(traj[0][-1], np.full(3, 1 / 3), atol=1e-12)
    # for zero-sum RPS the product x1 x2 x3 (and y's) is a constant of motion
    start = [np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.3, 0.5])]
    traj = replicator_dynamics(P, x0=start, steps=400, dt=0.01)
    h = np.log(traj[0]).sum(axis=1) + np.log(traj[1]).sum(axis=1)
    assert np.ptp(h) < 1e-4


def test_symmetric_replicator_hawk_dove_reaches_mixed_ess():
    # Hawk-dove with value V=2 and cost C=4: the ESS plays Hawk with V/C = 1/2
    # (Maynard Smith 1982, Evolution and the Theory of Games, ch. 2).
    V, C = 2.0, 4.0
    A = np.array([[(V - C) / 2, V], [0.0, V / 2]])
    traj = symmetric_replicator_dynamics(A, x0=np.array([0.9, 0.1]), steps=4000, dt=0.05)
    assert traj[-1][0] == pytest.approx(V / C, abs=1e-6)


def test_alpharank_known_games():
    rps = alpharank(load_catalog("rock_paper_scissors").payoff_tensor)
    np.testing.assert_allclose(rps.pi, np.full((3, 3), 1 / 9), atol=1e-9)
    pd = alpharank(load_catalog("prisoners_dilemma").payoff_tensor)
    assert pd.pi.shape == (2, 2) and pd.pi[1, 1] > 0.999
    np.testing.assert_allclose(pd.marginals[0], pd.pi.sum(axis=1))
    sym = alpharank(load_catalog("rock_paper_scissors").payoff_tensor, symmetric=True)
    np.testing.assert_allclose(sym.pi, np.full(3, 1 / 3), atol=1e-9)


def test_alpharank_matches_openspiel_where_its_eigensolver_works():
    from open_spiel.python.egt import alpharank as os_alpharank

    P = load_catalog("three_player_matching_pennies").payoff_tensor
    ours = alpharank(P, alpha=1.0)
    _, _, pi, _, _ = os_alpharank.compute([P[0], P[1], P[2]], m=50, alpha=1.0)
    np.testing.assert_allclose(ours.pi.ravel(), pi, atol=1e-9)


@pytest.mark.parametrize("eps", [1e-2, 1e-12])
def test_alpharank_infinite_alpha_limit_with_tiny_noise(eps):
    # Stag hunt's infinite-alpha chain (two populations, each deviation proposed
    # with 1/2): a strict equilibrium is left by either worse deviation with
    # eps / 2, and a miscoordinated profile moves to either equilibrium with
    # (1 - eps) / 2. Balance at the miscoordinated profiles gives exactly
    # (1 - eps) / 2 on each equilibrium and eps / 2 on each other profile; the
    # limit is [[.5, 0], [0, .5]]. At eps = 1e-12 OpenSpiel's eigensolver fails
    # and the same chain goes to GTH (before, the finite chain with alpha=1 did).
    ar = alpharank(load_catalog("stag_hunt").payoff_tensor, use_inf_alpha=True, inf_alpha_eps=eps)
    assert ar.alpha == float("inf")
    expected = np.array([[0.5, 0.0], [0.0, 0.5]]) + eps / 2 * np.array([[-1, 1], [1, -1]])
    np.testing.assert_allclose(ar.pi, expected, rtol=1e-9, atol=0)


def test_alpharank_nearly_reducible_chain_is_solved():
    # Stag hunt has two strict equilibria: OpenSpiel's eigenvector step finds two
    # stationary distributions; the GTH fallback gives the unique one, which
    # favours the risk-dominant (Hare, Hare).
    ar = alpharank(load_catalog("stag_hunt").payoff_tensor, alpha=5.0)
    assert ar.pi.sum() == pytest.approx(1.0)
    assert ar.pi[1, 1] > 0.99


# ---- solve() ---------------------------------------------------------------------------


def test_solve_default_methods():
    rps = solve(load_catalog("rock_paper_scissors"))
    assert len(rps) == 1 and rps[0]["method"] == "lp"
    assert rps[0]["nash_gap"] < 1e-9 and rps[0]["values"] == pytest.approx([0, 0], abs=1e-9)
    assert solve(load_catalog("stag_hunt"))[0]["method"] == "vertex"
    assert len(solve(load_catalog("stag_hunt"))) == 3
    three = solve(load_catalog("three_player_matching_pennies"))
    assert three[0]["method"] == "replicator" and three[0]["nash_gap"] < 1e-9


def test_solve_constant_sum_uses_lp():
    A = np.array([[2.0, -1.0], [-1.0, 1.0]])
    game = normal_form(np.stack([A + 3, 3 - A]), name="constant")
    assert game.kind == "constant_sum"
    (result,) = solve(game)
    assert result["method"] == "lp" and result["nash_gap"] < 1e-9
    assert result["values"] == pytest.approx([3.2, 2.8], abs=1e-9)


def test_solve_alpharank_result_is_json_ready():
    import json

    for name in ["climbing", "penalty", "rock_paper_scissors", "three_player_matching_pennies"]:
        (result,) = solve(load_catalog(name), "alpharank")
        json.dumps(result, allow_nan=False)
        assert np.sum(result["joint"]) == pytest.approx(1.0)


def test_solve_errors_name_the_method_to_use():
    with pytest.raises(GameError, match="use --method vertex"):
        solve(load_catalog("stag_hunt"), "lp")
    with pytest.raises(GameError, match="needs two players.*replicator"):
        solve(load_catalog("three_player_matching_pennies"), "support")
    with pytest.raises(GameError, match="did you mean: support"):
        solve(load_catalog("stag_hunt"), "suport")
    with pytest.raises(GameError, match="3 stages"):
        solve(load_catalog("two_step"))


def test_solve_repeated_game_solves_the_stage_game():
    (result,) = solve(load_catalog("iterated_prisoners_dilemma"))
    assert "stage game" in result["note"]
    assert result["strategies"] == [[0.0, 1.0], [0.0, 1.0]]


# ---------------------------------------------------------------------------
# Payoffs near the float limit: solved in scaled form, values scaled back

BIG_RPS_TOML = """
name = "rps308"
players = 2
actions = 3
payoffs = [
  [[0, -1e308, 1e308], [1e308, 0, -1e308], [-1e308, 1e308, 0]],
  [[0, 1e308, -1e308], [-1e308, 0, 1e308], [1e308, -1e308, 0]],
]
"""


@pytest.mark.parametrize("method", ["lp", "vertex", "support", "replicator", "alpharank"])
def test_solve_payoffs_of_1e308_in_scaled_form(tmp_path, method):
    from games.matrix import load_toml
    from games.solvers import solve

    path = tmp_path / "rps308.toml"
    path.write_text(BIG_RPS_TOML)
    (res,) = solve(load_toml(str(path)), method)
    np.testing.assert_allclose(res["strategies"], [[1 / 3] * 3] * 2, atol=1e-6)
    assert res["values"] == [0.0, 0.0] and res["nash_gap"] == 0.0


def test_solve_rescales_values_and_alpha():
    from games.solvers import solve

    big = normal_form(
        np.array([[[1e308, 1e308], [-1e308, 5e307]], [[-1e308, -1e308], [1e308, -5e307]]])
    )
    (res,) = solve(big, "lp")
    assert res["strategies"] == [[1.0, 0.0], [1.0, 0.0]] and res["values"] == [1e308, -1e308]
    pd = load_catalog("prisoners_dilemma")
    (small,) = solve(pd, "alpharank")
    (scaled,) = solve(normal_form(np.asarray(pd.payoffs[0]) * 1e300), "alpharank")
    np.testing.assert_allclose(scaled["strategies"], small["strategies"], atol=1e-9)
    assert scaled["alpha"] == pytest.approx(small["alpha"] / 1e300)  # in the game's own units


def test_solve_refuses_non_finite_payoffs_in_one_line():
    from types import SimpleNamespace

    from games.solvers import solve

    stub = SimpleNamespace(
        name="stub",
        num_stages=1,
        payoffs=[np.array([[[0.0, np.inf], [1.0, 0.0]], [[0.0, -1.0], [-1.0, 0.0]]])],
        num_players=2,
        kind="general_sum",
        is_repeated=False,
    )
    with pytest.raises(GameError, match=r"stub: payoff inf at \[0, 0, 1\] is not finite") as e:
        solve(stub)
    assert "\n" not in str(e.value)


def test_cli_solve_1e308(tmp_path, capsys):
    from arena.cli import main

    path = tmp_path / "rps308.toml"
    path.write_text(BIG_RPS_TOML)
    assert main(["solve", str(path)]) == 0
    out = capsys.readouterr().out
    assert "values (0.0000, 0.0000)  nash_gap 0.00e+00" in out
    bad = tmp_path / "inf.toml"
    bad.write_text(BIG_RPS_TOML.replace("-1e308", "-inf", 1))
    assert main(["solve", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("arena: error: ") and "\n" not in err and "finite" in err
