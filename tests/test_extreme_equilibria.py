"""Vertex enumeration (every extreme equilibrium, degenerate games too), pure
equilibria of n-player games, .nfg files and what `arena solve` says it found."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import games
from games import GameError
from games.catalog import load_catalog
from games.matrix import normal_form
from games.solvers import (
    extreme_equilibria,
    nash_gap,
    pure_equilibria,
    solve,
    support_enumeration,
    vertex_enumeration,
)


def same_set(eqs, expected, atol=1e-9) -> bool:
    return len(eqs) == len(expected) and all(
        any(np.allclose(x, ex, atol=atol) and np.allclose(y, ey, atol=atol) for x, y in eqs)
        for ex, ey in expected
    )


# ---- known answers ----------------------------------------------------------------


def test_duplicated_column_gives_continua_and_their_ends():
    # Row payoffs [[3, 0, 0], [0, 2, 2]], column [[2, 1, 1], [0, 3, 3]]; M and R are
    # copies. Against Bottom the column is indifferent between M and R (a segment of
    # equilibria); the mixed row (3/4, 1/4) makes L and M (= R) indifferent, and the
    # column's 2/5 on L makes the row indifferent, its other 3/5 split anyhow over M, R.
    A = np.array([[3.0, 0, 0], [0, 2, 2]])
    B = np.array([[2.0, 1, 1], [0, 3, 3]])
    ext = extreme_equilibria(A, B)
    expected = [
        ([1, 0], [1, 0, 0]),
        ([0, 1], [0, 1, 0]),
        ([0, 1], [0, 0, 1]),
        ([0.75, 0.25], [0.4, 0.6, 0]),
        ([0.75, 0.25], [0.4, 0, 0.6]),
    ]
    assert ext.degenerate
    assert same_set(ext.equilibria, expected)
    for (x, y), (ex, ey) in zip(ext.equilibria, expected):  # sorted: pure first
        np.testing.assert_allclose(x, ex, atol=1e-12)
        np.testing.assert_allclose(y, ey, atol=1e-12)
    assert ext.cliques == [[0], [1, 2], [3, 4]]


def test_extreme_equilibria_that_support_enumeration_misses():
    # The row player is indifferent everywhere (A = 0); the column's L pays 1 - p and
    # R pays 2p when the row plays Top with p. So L is a best response for p <= 1/3,
    # R for p >= 1/3: the equilibria are three segments with extreme points
    # (Top, R), (Bottom, L), (1/3, L) and (1/3, R). The last two have supports of
    # sizes 2 and 1, which support enumeration never tries.
    A = np.zeros((2, 2))
    B = np.array([[0.0, 2.0], [1.0, 0.0]])
    third = [1 / 3, 2 / 3]
    ext = extreme_equilibria(A, B)
    assert ext.degenerate
    assert same_set(
        ext.equilibria, [([1, 0], [0, 1]), ([0, 1], [1, 0]), (third, [1, 0]), (third, [0, 1])]
    )
    # segments: x from Bottom to 1/3 with L; x from 1/3 to Top with R; x = 1/3 with any y
    assert ext.cliques == [[0, 3], [1, 2], [2, 3]]
    found = support_enumeration(A, B)
    assert not any(np.allclose(x, third) for x, _ in found)


def test_nondegenerate_classics():
    P = load_catalog("stag_hunt").payoff_tensor
    ext = extreme_equilibria(P[0], P[1])
    assert not ext.degenerate and len(ext.equilibria) == 3
    assert ext.cliques == [[0], [1], [2]]  # isolated equilibria
    pd = load_catalog("prisoners_dilemma").payoff_tensor
    ((x, y),) = vertex_enumeration(pd[0], pd[1])
    assert x.tolist() == [0.0, 1.0] and y.tolist() == [0.0, 1.0]
    # a constant game: every profile is an equilibrium, the simplex's vertices pair up
    ext = extreme_equilibria(np.zeros((2, 3)), np.zeros((2, 3)))
    assert len(ext.equilibria) == 6 and ext.cliques == [list(range(6))] and ext.degenerate


def test_too_large_games_are_refused_in_one_line():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(13, 13))
    with pytest.raises(GameError, match=r"C\(26, 13\) = 10400600 bases.*--method replicator") as e:
        extreme_equilibria(A, A.T)
    assert "\n" not in str(e.value)


# ---- an independent reference: qhull's halfspace intersection ----------------------


def _qhull_vertices(M: np.ndarray):
    """Vertices of ``{z >= 0, M z <= 1}`` and their tight constraints, by scipy's qhull."""
    from scipy.spatial import HalfspaceIntersection

    r, d = M.shape
    halfspaces = np.vstack(
        [np.hstack([-np.eye(d), np.zeros((d, 1))]), np.hstack([M, -np.ones((r, 1))])]
    )
    interior = np.full(d, 0.5 / M.sum(axis=1).max())
    vertices = {}
    for z in HalfspaceIntersection(halfspaces, interior).intersections:
        slack = np.concatenate([z, 1 - M @ z])
        vertices.setdefault(tuple(np.abs(slack) <= 1e-7), z)  # qhull repeats degenerate ones
    return list(vertices.values()), [np.array(t) for t in vertices]


def _qhull_extreme_equilibria(A: np.ndarray, B: np.ndarray):
    m, n = A.shape

    def shift(M):
        return M - M.min() + 1.0

    xs, tight_p = _qhull_vertices(shift(B).T)
    ys, tight_q = _qhull_vertices(shift(A))
    out = []
    for x, lp in zip(xs, tight_p):
        for y, tq in zip(ys, tight_q):
            lq = np.concatenate([tq[n:], tq[:n]])
            if x.sum() > 1e-9 and y.sum() > 1e-9 and (lp | lq).all():
                out.append((x / x.sum(), y / y.sum()))
    return out


def test_matches_qhull_on_random_degenerate_games():
    # Random integer payoffs in {0..3} tie often, like the 3x5 game (23 extreme
    # equilibria) where support enumeration found 6.
    rng = np.random.default_rng(3)
    checked = missed_by_support = 0
    while checked < 25:
        m, n = rng.integers(2, 6, size=2)
        A = rng.integers(0, 4, size=(m, n)).astype(float)
        B = rng.integers(0, 4, size=(m, n)).astype(float)
        ext = extreme_equilibria(A, B)
        if not ext.degenerate:
            continue
        checked += 1
        assert same_set(ext.equilibria, _qhull_extreme_equilibria(A, B), atol=1e-7)
        found = support_enumeration(A, B)
        missed_by_support += not same_set(found, ext.equilibria, atol=1e-7)
    assert missed_by_support > 0  # the gap this method closes


def test_matches_gambit_enummixed():
    gbt = pytest.importorskip("pygambit")
    rng = np.random.default_rng(4)
    for _ in range(10):
        m, n = rng.integers(2, 6, size=2)
        A = rng.integers(0, 4, size=(m, n))
        B = rng.integers(0, 4, size=(m, n))
        game = gbt.Game.from_arrays(A, B)
        row, col = list(game.players)
        theirs = []
        for p in gbt.nash.enummixed_solve(game, rational=True).equilibria:
            x = np.array([float(p[s]) for s in row.strategies])
            y = np.array([float(p[s]) for s in col.strategies])
            # Gambit can list one degenerate equilibrium several times
            if not any(np.allclose(x, a) and np.allclose(y, b) for a, b in theirs):
                theirs.append((x, y))
        assert same_set(vertex_enumeration(A, B), theirs, atol=1e-7)


# ---- property tests ----------------------------------------------------------------

tied_bimatrices = st.tuples(st.integers(1, 4), st.integers(1, 4)).flatmap(
    lambda shape: st.tuples(
        *[arrays(np.float64, shape, elements=st.integers(-2, 2).map(float)) for _ in range(2)]
    )
)


@settings(max_examples=60, deadline=None)
@given(AB=tied_bimatrices)
def test_every_extreme_equilibrium_is_an_equilibrium(AB):
    A, B = AB
    ext = extreme_equilibria(A, B)
    assert ext.equilibria  # every finite game has one (Nash 1951)
    for x, y in ext.equilibria:
        assert nash_gap(np.stack([A, B]), [x, y]) < 1e-9
        assert np.all(x >= 0) and np.all(y >= 0)
        assert x.sum() == pytest.approx(1.0) and y.sum() == pytest.approx(1.0)
    # every pair within a clique is an equilibrium too (here: the midpoint of the clique)
    for clique in ext.cliques:
        x = np.mean([ext.equilibria[k][0] for k in clique], axis=0)
        y = np.mean([ext.equilibria[k][1] for k in clique], axis=0)
        assert nash_gap(np.stack([A, B]), [x, y]) < 1e-9


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 5), n=st.integers(1, 5))
def test_nondegenerate_games_agree_with_support_enumeration(seed, m, n):
    # Continuous random payoffs are nondegenerate with probability one; there every
    # equilibrium is extreme and has equal-size supports, so both lists are complete.
    rng = np.random.default_rng(seed)
    A, B = rng.normal(size=(m, n)), rng.normal(size=(m, n))
    ext = extreme_equilibria(A, B)
    assert not ext.degenerate
    assert same_set(ext.equilibria, support_enumeration(A, B), atol=1e-7)
    assert ext.cliques == [[k] for k in range(len(ext.equilibria))]
    assert len(ext.equilibria) % 2 == 1  # Wilson's oddness theorem


# ---- pure equilibria of n-player games ----------------------------------------------


def test_pure_equilibria_match_brute_force():
    rng = np.random.default_rng(5)
    for _ in range(20):
        P = rng.integers(0, 3, size=(3, 2, 3, 2)).astype(float)
        brute = [
            a
            for a in itertools.product(range(2), range(3), range(2))
            if nash_gap(P, [np.eye(c)[i] for c, i in zip((2, 3, 2), a)]) == 0.0
        ]
        assert pure_equilibria(P) == brute


def test_solve_three_player_coordination_lists_its_pure_equilibria():
    # Everyone gets 1 when all three choose the same action, else 0: the pure
    # equilibria are all-0 and all-1; uniform play is a (mixed) rest point too.
    P = np.zeros((3, 2, 2, 2))
    P[:, 0, 0, 0] = P[:, 1, 1, 1] = 1.0
    out = solve(normal_form(P, name="coordination3"))
    assert [r["method"] for r in out] == ["replicator", "pure", "pure"]
    assert out[0]["strategies"] == [[0.5, 0.5]] * 3 and out[0]["nash_gap"] == 0.0
    assert out[1]["strategies"] == [[1.0, 0.0]] * 3 and out[2]["strategies"] == [[0.0, 1.0]] * 3
    assert "2 pure equilibria among 8 pure profiles" in out[0]["guarantee"]
    assert "there may be others" in out[0]["guarantee"]


def test_solve_vertex_is_the_general_sum_default_and_says_what_it_guarantees():
    (r,) = solve(load_catalog("prisoners_dilemma"))
    assert r["method"] == "vertex" and "all extreme equilibria" in r["guarantee"]
    assert r["degenerate"] is False and r["cliques"] == [0]
    support = solve(normal_form(np.stack([np.zeros((2, 2)), [[0.0, 2], [1, 0]]])), "support")
    assert support[0]["degenerate"] is True and "may be incomplete" in support[0]["guarantee"]
    with pytest.raises(GameError, match="'vertex' needs two players"):
        solve(load_catalog("three_player_matching_pennies"), "vertex")


# ---- .nfg files and the CLI -----------------------------------------------------------

# Gambit's payoff format: payoffs of every profile, the first player's strategy
# changing fastest; here row payoffs [[3, 0, 0], [0, 2, 2]], column [[2, 1, 1], [0, 3, 3]].
DUPLICATE_COLUMN_NFG = """NFG 1 R "duplicated column" { "Row" "Column" } { 2 3 }

3 2 0 0 0 1 2 3 0 1 2 3
"""


def test_nfg_file_loads_through_openspiel(tmp_path):
    path = tmp_path / "dup.nfg"
    path.write_text(DUPLICATE_COLUMN_NFG)
    game = games.load(str(path))
    np.testing.assert_array_equal(
        game.payoff_tensor, [[[3, 0, 0], [0, 2, 2]], [[2, 1, 1], [0, 3, 3]]]
    )
    with pytest.raises(GameError, match="no such file"):
        games.load(str(tmp_path / "missing.nfg"))
    bad = tmp_path / "outcomes.nfg"  # Gambit's outcome format, which OpenSpiel does not read
    bad.write_text('NFG 1 R "x" { "1" "2" }\n{ { "a" "b" } { "c" } }\n""\n{ { "" 1, 2 } }\n1 0\n')
    with pytest.raises(GameError, match="payoff format") as e:
        games.load(str(bad))
    assert "\n" not in str(e.value)


def test_cli_solve_nfg_lists_extreme_equilibria_and_cliques(tmp_path, capsys):
    from arena.cli import main

    path = tmp_path / "dup.nfg"
    path.write_text(DUPLICATE_COLUMN_NFG)
    assert main(["solve", str(path)]) == 0
    out = capsys.readouterr().out
    assert "5 solution(s) by vertex (the default for this game)" in out
    assert "guarantee: all extreme equilibria" in out and "degenerate game" in out
    assert "maximal cliques" in out and "{#1, #2}, {#3, #4}" in out
    assert main(["solve", str(path), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["method"] == "vertex" and res["degenerate"] is True
    assert res["cliques"] == [[0], [1, 2], [3, 4]] and len(res["equilibria"]) == 5
    assert all(e["nash_gap"] == 0.0 for e in res["equilibria"])
