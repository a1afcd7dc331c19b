"""The league's analysis degrades, recorded, but never raises on a degenerate payoff table.

A default league once died at about 245k steps with "the maximal-support LP of
Nash averaging failed: (HiGHS Status 0: Not Set)", and every resume died the
same way. Here the analysis the loop runs (``evaluate_population`` ->
``analyze``) is fed planted tables and failing solvers; it must return
finite weights and say in ``fallback`` which solver failed and what it used.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.optimize

import games
import games.metanash
import games.solvers
from agents.baselines import FixedMixed
from arena.evaluation import population as evaluation
from arena.evaluation.metagame import analyze, maxent_nash_noted, meta_nash, metagame_from_table

RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
NAMES = ["rock", "paper", "scissors", "learner"]
KINDS = ["snapshot", "snapshot", "snapshot", "learner"]


def _rps_with_learner(scale: float = 1.0) -> np.ndarray:
    t = np.zeros((4, 4))
    t[:3, :3] = RPS * scale
    return t


TABLES = {
    "all zero": np.zeros((4, 4)),
    "all equal": np.full((4, 4), 7.0),
    "nan entries": np.where(np.eye(4, k=1) > 0, np.nan, _rps_with_learner()),
    "all nan": np.full((4, 4), np.nan),
    "inf entries": np.array(
        [
            [0.0, np.inf, -1.0, 0.0],
            [-np.inf, 0.0, 1.0, 0.0],
            [1.0, -1.0, 0.0, -np.inf],
            [0.0, 0.0, np.inf, 0.0],
        ]
    ),
    "1e300": _rps_with_learner(1e300),
    "1e308": _rps_with_learner(1e308),
    "mixed magnitudes": _rps_with_learner() + np.diag([0.0, 0.0, 0.0, 1e-300]),
    "rank deficient": np.outer([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0])
    - np.outer([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]),
    "tiny": _rps_with_learner(1e-300),
}


def _policies(n_actions: int = 3, count: int = 4):
    eye = np.eye(n_actions)
    return [FixedMixed(eye[i % n_actions]) for i in range(count)]


def _evaluate(monkeypatch, spec: str, table: np.ndarray, names=NAMES, kinds=KINDS) -> dict:
    """``evaluate_population`` as the league loop calls it, with ``table`` as the exact payoffs."""
    game = games.load(spec)
    monkeypatch.setattr(evaluation, "exact_payoff_table", lambda *a, **k: np.array(table))
    out = evaluation.evaluate_population(
        game, spec, names, kinds, _policies(game.info.num_actions, len(names)), 1000, 8, seed=0
    ).to_json()
    json.dumps(out, allow_nan=False)  # the store keeps it as JSON
    for key in ("meta_nash", "nash_averaging"):
        if out[key] is None:  # Nash averaging is not defined in general-sum games
            assert out["nash_averaging_note"] and key == "nash_averaging"
            continue
        w = np.asarray(out[key], dtype=np.float64)
        assert np.all(np.isfinite(w)), (key, w)
    assert np.isclose(sum(out["meta_nash"]), 1.0)
    return out


@pytest.mark.parametrize("name", list(TABLES))
@pytest.mark.parametrize("spec", ["matrix:rock_paper_scissors", "matrix:prisoners_dilemma"])
def test_degenerate_tables_never_raise(monkeypatch, spec, name):
    n_actions = games.load(spec).info.num_actions
    out = _evaluate(monkeypatch, spec, TABLES[name])
    for line in out.get("fallback", []):
        assert "\n" not in line and "used" in line
    if name == "1e308" and spec.endswith("scissors"):
        # the frozen RPS triple at 1e308 is still rock-paper-scissors: uniform
        np.testing.assert_allclose(out["meta_nash"], [1 / 3] * 3, atol=1e-6)
    assert n_actions in (2, 3)


def test_infinite_payoffs_are_clipped_and_said_so():
    meta = metagame_from_table(NAMES, TABLES["inf entries"], games.ZERO_SUM)
    analysis = analyze(meta)
    assert any("infinite payoff" in f for f in analysis.fallbacks)
    assert np.isfinite(analysis.averaging.ratings).all()


def test_one_member_is_trivial():
    meta = metagame_from_table(["a"], np.array([[np.nan]]), games.ZERO_SUM)
    analysis = analyze(meta)
    assert analysis.nash.weights.tolist() == [1.0] and analysis.averaging.weights.tolist() == [1.0]
    assert analysis.fallbacks == []


def _not_optimal(*args, **kwargs):
    return SimpleNamespace(status=4, message="HiGHS Status 0: Not Set", x=None)


def _raises(*args, **kwargs):
    raise ValueError("solver exploded")


@pytest.mark.parametrize("linprog", [_not_optimal, _raises])
def test_highs_failure_falls_back_to_the_interior_point_solver(monkeypatch, linprog):
    monkeypatch.setattr(scipy.optimize, "linprog", linprog)  # maxent_nash imports it per call
    monkeypatch.setattr(games.solvers, "linprog", linprog)  # the meta-Nash LP
    out = _evaluate(monkeypatch, "matrix:rock_paper_scissors", _rps_with_learner())
    # the frozen RPS triple only: the learner is a row beside the meta-game, not in it
    np.testing.assert_allclose(out["meta_nash"], [1 / 3] * 3, atol=1e-6)
    assert out["meta_method"] == "interior_point"
    text = " | ".join(out["fallback"])
    assert "meta-Nash: meta-Nash LP failed" in text
    assert "Nash averaging: the maximal-support LP of Nash averaging failed" in text
    assert "interior-point equilibrium of games.metanash used instead" in text


def test_every_zero_sum_solver_failing_gives_uniform(monkeypatch):
    monkeypatch.setattr(scipy.optimize, "linprog", _raises)
    monkeypatch.setattr(games.solvers, "linprog", _raises)
    monkeypatch.setattr(games.metanash, "solve_symmetric_zero_sum_large", _raises)
    out = _evaluate(monkeypatch, "matrix:rock_paper_scissors", _rps_with_learner())
    assert out["meta_method"] == "uniform"
    np.testing.assert_allclose(out["meta_nash"], [1 / 3] * 3)
    np.testing.assert_allclose(out["nash_averaging"], RPS @ np.full(3, 1 / 3))
    assert all("uniform weights used" in line for line in out["fallback"])


def test_maxent_step_failure_keeps_the_lp_equilibrium(monkeypatch):
    monkeypatch.setattr(scipy.optimize, "minimize", _raises)
    a = RPS[np.ix_([0, 1, 2, 2], [0, 1, 2, 2])]  # scissors twice: a continuum of equilibria
    p, note = maxent_nash_noted(a)
    assert "max-entropy step failed" in note and "LP's equilibrium used instead" in note
    assert (a @ p).max() <= 1e-9 and np.isclose(p.sum(), 1.0)

    def no_convergence(fun, x0, **kwargs):
        return SimpleNamespace(success=False, x=x0, message="Iteration limit reached")

    monkeypatch.setattr(scipy.optimize, "minimize", no_convergence)
    _, note = maxent_nash_noted(a)
    assert "did not converge (Iteration limit reached)" in note


def test_maxent_is_the_maximum_entropy_point():
    # Duplicating scissors splits its weight: the max-entropy equilibrium, 1/3 1/3 1/6 1/6
    # (the SLSQP step used to refuse its rank-deficient equalities and keep the LP's vertex).
    a = RPS[np.ix_([0, 1, 2, 2], [0, 1, 2, 2])]
    p, note = maxent_nash_noted(a)
    assert note is None
    np.testing.assert_allclose(p, [1 / 3, 1 / 3, 1 / 6, 1 / 6], atol=1e-6)


def test_general_sum_alpharank_failure_falls_back_to_replicator(monkeypatch):
    monkeypatch.setattr(games.solvers, "alpharank", _raises)
    meta = metagame_from_table(["a", "b"], np.array([[3.0, 0.0], [5.0, 1.0]]), games.GENERAL_SUM)
    nash = meta_nash(meta)
    assert nash.method == "replicator"
    assert "alpha-rank failed" in nash.fallback and "replicator" in nash.fallback
    np.testing.assert_allclose(nash.weights, [0.0, 1.0], atol=1e-3)  # defect dominates

    monkeypatch.setattr(games.solvers, "symmetric_replicator_dynamics", _raises)
    nash = meta_nash(meta)
    assert nash.method == "uniform" and nash.weights.tolist() == [0.5, 0.5]


# ---------------------------------------------------------------------------
# Matchmaking's nash rule and the rating fits


def test_nash_matchmaking_falls_back_and_notes_it(monkeypatch):
    from leagues.matchmaking import opponent_probs

    monkeypatch.setattr(games.solvers, "linprog", _not_optimal)
    notes: list[str] = []
    returns = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
    ids, probs = opponent_probs("nash", 9, [1, 2, 3], payoff_matrix=returns, notes=notes)
    assert ids.tolist() == [1, 2, 3]
    np.testing.assert_allclose(probs, [1 / 3] * 3, atol=1e-6)
    assert notes == [
        "nash matchmaking: meta-Nash LP failed (GameError: the zero-sum LP failed: HiGHS Status 0: "
        "Not Set); the interior-point equilibrium of games.metanash used instead"
    ]
    monkeypatch.setattr(games.metanash, "solve_symmetric_zero_sum_large", _raises)
    notes.clear()
    huge = np.array([[0.0, np.inf, 1e308], [-np.inf, 0.0, np.nan], [-1e308, np.nan, 0.0]])
    _, probs = opponent_probs("nash", 9, [1, 2, 3], payoff_matrix=huge, notes=notes)
    np.testing.assert_allclose(probs, [1 / 3] * 3)
    assert "2 infinite payoff(s)" in notes[0] and notes[0].endswith("uniform weights used")


def test_rating_fits_survive_degenerate_results():
    from leagues.ratings import bradley_terry, melo_fit

    notes: list[str] = []
    bt = bradley_terry(np.array([[0.0, np.nan], [np.inf, 0.0]]), notes=notes)
    assert bt.tolist() == [0.0, 0.0] and "non-finite" in notes[0]
    notes.clear()
    split = np.array([[0, 3, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0.0]])  # two islands
    assert np.isfinite(bradley_terry(split, prior=0.0, notes=notes)).all()
    assert notes == ["bradley_terry: singular Newton system; least squares used instead"]
    notes.clear()
    r, c = melo_fit(np.array([0, 1]), np.array([1, 0]), np.array([np.nan, 1.0]), 2, notes=notes)
    assert np.isfinite(r).all() and np.isfinite(c).all() and "dropped" in notes[0]


def test_melo_fit_failure_gives_zeros(monkeypatch):
    from leagues.ratings import melo_fit

    monkeypatch.setattr(scipy.optimize, "minimize", _raises)
    notes: list[str] = []
    r, c = melo_fit(np.array([0]), np.array([1]), np.array([1.0]), 2, notes=notes)
    assert r.tolist() == [0.0, 0.0] and (c == 0).all() and "L-BFGS failed" in notes[0]


def test_a_league_whose_solvers_all_fail_finishes_and_records_it(monkeypatch, tmp_path):
    """The loop itself: every LP of matchmaking and of the evaluation fails, yet the
    league runs to its end, stores the fallbacks, and the report lists them."""
    from arena.league import League
    from arena.report import load_report_data
    from leagues.store import Store

    monkeypatch.setattr(scipy.optimize, "linprog", _raises)
    monkeypatch.setattr(games.solvers, "linprog", _raises)
    monkeypatch.setattr(games.metanash, "solve_symmetric_zero_sum_large", _raises)
    cfg = tmp_path / "n.toml"
    cfg.write_text(
        '[league]\nname = "n"\ngame = "matrix:rock_paper_scissors"\nsteps = 512\nbatch = 16\n'
        'rollout_len = 4\nround_steps = 128\n[[learner]]\nname = "main"\nalgorithm = "mappo"\n'
        'matchmaking = "nash"\n[snapshots]\nevery_steps = 128\n[evaluation]\ngames_per_pair = 8\n'
        'every_steps = 256\n[[reference]]\nname = "random"\npolicy = "random"\n'
    )
    league = League.open(cfg, tmp_path / "n.db")
    try:
        league.run()
        assert league.finished()
    finally:
        league.close()
    store = Store.open(tmp_path / "n.db", readonly=True)
    try:
        recorded = [e for e in store.evaluations("fallback")]
        evaluated = [e.payload for e in store.evaluations("league")]
    finally:
        store.close()
    assert recorded and all("uniform" in " ".join(e.payload["notes"]) for e in recorded)
    assert evaluated and any(p.get("fallback") for p in evaluated)
    notes = " ".join(load_report_data(tmp_path / "n.db").notes)
    assert "Solver fallback at step" in notes
