"""docs/tutorial.md cannot rot: every command it shows runs (tiny budgets) and every figure is drawn.

The commands are read from the tutorial's ```bash blocks by docs/make_figures.py,
the same function that regenerates the committed figures with full budgets.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _module(name: str):
    key = f"tutorial_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, DOCS / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[key] = mod
        spec.loader.exec_module(mod)
    return sys.modules[key]


@pytest.fixture(scope="module")
def mf():
    return _module("make_figures")


@pytest.fixture(scope="module")
def ex():
    return _module("experiments")


def test_the_tutorial_shows_a_command_for_every_section(mf, ex):
    commands = mf.tutorial_commands()
    text = " ".join(commands)
    for needle in (
        "arena solve",
        "arena train mappo",
        "arena train ippo",
        "arena league run",
        "arena league ratings",
    ):
        assert needle in text
    sections = [c.split()[2] for c in commands if c.startswith("python docs/experiments.py")]
    assert sorted(sections) == sorted(ex.SECTIONS)
    # every league config of the tutorial is used, and every matchmaking rule has one
    leagues = {Path(a).stem for c in commands for a in c.split() if a.startswith("docs/leagues/")}
    assert leagues == {p.stem for p in (DOCS / "leagues").glob("*.toml")} == set(mf.LEAGUES)


def test_league_configs_load_and_differ_only_in_matchmaking(mf):
    from leagues.config import config_to_dict, load_config

    dicts = {}
    for name in mf.LEAGUES:
        cfg = load_config(DOCS / "leagues" / f"{name}.toml")
        assert cfg.learners[0].matchmaking == name
        d = config_to_dict(cfg)
        d["league"].pop("name")
        d["learner"][0].pop("matchmaking")
        dicts[name] = d
    first = dicts[mf.LEAGUES[0]]
    assert all(d == first for d in dicts.values())


def test_every_figure_is_linked_and_committed(mf):
    text = (DOCS / "tutorial.md").read_text()
    linked = set(re.findall(r"figures/(tutorial_\w+\.png)", text))
    drawn = {f"tutorial_{name}.png" for name in mf.FIGURES_BY_NAME}
    assert linked == drawn
    committed = {p.name for p in (DOCS / "figures").glob("tutorial_*.png")}
    assert committed == drawn


def test_tiny_budgets_shrink_the_commands(mf):
    train = mf.command_argv(
        "arena train mappo tiny_hanabi --steps 40000 --seed 0 --out runs/tutorial/x",
        tiny=True,
        runs="/tmp/r",
    )
    assert train[train.index("--steps") + 1] == mf.TINY_TRAIN_STEPS and train[-1] == "/tmp/r/x"
    league = mf.command_argv(
        "arena league run docs/leagues/nash.toml --db runs/tutorial/leagues/nash.db", tiny=True
    )
    assert league[-2:] == ["--steps", mf.TINY_LEAGUE_STEPS]
    exp = mf.command_argv("python docs/experiments.py credit", tiny=True, runs="/tmp/r")
    assert exp == ["python", "docs/experiments.py", "credit", "--out", "/tmp/r", "--tiny"]
    assert mf.command_argv("arena solve matrix_brps", tiny=True) == [
        "arena",
        "solve",
        "matrix_brps",
    ]


@pytest.mark.slow
def test_every_tutorial_command_runs_and_every_figure_is_drawn(mf, tmp_path):
    runs, figures = tmp_path / "runs", tmp_path / "figures"
    assert mf.main(["--tiny", "--runs", str(runs), "--figures", str(figures)]) == 0
    for name in mf.FIGURES_BY_NAME:
        png = figures / f"tutorial_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for section in ("nonstationarity", "credit", "scaling"):
        assert (runs / f"{section}.json").stat().st_size > 0
    assert len(list((runs / "ctde").glob("*/metrics.jsonl"))) == 8
    from leagues.store import Store

    for name in mf.LEAGUES:
        with Store.open(runs / "leagues" / f"{name}.db", readonly=True) as store:
            whos = {r.payload["who"] for r in store.evaluations("nash_gap")}
            assert whos == {"learner", "meta_nash"}


def test_additive_fit_is_the_least_squares_sum_of_utilities(ex):
    rng = np.random.default_rng(0)
    q = rng.normal(size=(3, 4))
    design = np.array([np.r_[np.eye(3)[i], np.eye(4)[j]] for i in range(3) for j in range(4)])
    coef, *_ = np.linalg.lstsq(design, q.ravel(), rcond=None)
    np.testing.assert_allclose(ex.additive_fit(q).ravel(), design @ coef, atol=1e-10)


def _monotone_somehow(fit: np.ndarray, tol: float = 1e-3) -> bool:
    m, n = fit.shape
    for rows in itertools.permutations(range(m)):
        for cols in itertools.permutations(range(n)):
            f = fit[np.ix_(rows, cols)]
            if np.all(np.diff(f, axis=0) >= -tol) and np.all(np.diff(f, axis=1) >= -tol):
                return True
    return False


def test_monotonic_fits_are_monotonic_and_beat_the_additive_fit(ex):
    q = np.array([[8.0, -12, -12], [-12, 0, 0], [-12, 0, 0]])  # the catalog's nonmonotonic game
    fits = ex.monotonic_fits(q)
    errors = [f["squared_error"] for f in fits]
    assert errors == sorted(errors)
    for f in fits:
        assert _monotone_somehow(np.array(f["fit"]))
    # an additive table is monotonic too, so the best monotonic fit is at least as close
    assert errors[0] <= float(((ex.additive_fit(q) - q) ** 2).sum()) + 1e-6
    # and no monotonic fit reproduces the game: its best response to a depends on the partner
    assert errors[0] > 1.0


def test_coordination_game_pays_only_unanimous_choices(ex):
    game = ex.coordination(3)
    pay = game.payoffs[0]
    assert pay.shape == (3, 3, 3, 3) and game.info.kind == "cooperative"
    for joint in itertools.product(range(3), repeat=3):
        assert pay[(0, *joint)] == float(len(set(joint)) == 1)
