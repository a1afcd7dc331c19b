"""CFR references: the solved table, its file, the league member, the CLI and hostile specs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyspiel
import pytest

import games
import games.cfr
from agents.baselines import UniformRandom
from agents.tabular import TableError, TabularPolicy
from arena.backends import RANDOM, Match, PolicySpec, ProcessBackend, SerialBackend
from arena.cli import main
from arena.evaluation.tabular import exact_nash_conv, tabulate
from arena.league import League
from arena.league.members import TABLE_FILE
from games.cfr import CFRError, check_cfr_game, parse_cfr_spec, solve_cfr
from leagues.config import ConfigError, load_config
from leagues.store import Store, StoreError

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def kuhn():
    return games.load("kuhn_poker")


@pytest.fixture(scope="module")
def kuhn_table(kuhn):
    return solve_cfr(kuhn, "cfr_plus", 1000)


@pytest.fixture(scope="module")
def pool():
    backend = ProcessBackend(2, chunk_games=40)
    yield backend
    backend.close()


# ---------------------------------------------------------------- the table


def test_cfr_plus_on_kuhn_is_near_nash(kuhn, kuhn_table):
    policy = TabularPolicy.from_table(kuhn_table)
    result = exact_nash_conv(kuhn, policy)
    assert result.method == "exact"
    assert result.nash_conv < 1e-3
    # The NashConv stored with the table is the table's own, exactly.
    assert float(kuhn_table.metadata["nash_conv"]) == pytest.approx(result.nash_conv, abs=1e-7)
    assert kuhn_table.metadata["iterations"] == "1000"
    assert len(policy) == 12  # Kuhn has 12 information states, 6 per player
    # Kuhn's value for player 0 is -1/18 (Kuhn 1950).
    assert result.values[0] == pytest.approx(-1 / 18, abs=2e-3)


def test_table_matches_openspiel_average_policy_state_by_state(kuhn, kuhn_table):
    solver = pyspiel.CFRPlusSolver(kuhn.pyspiel_game)
    for _ in range(1000):
        solver.evaluate_and_update_policy()
    average = solver.average_policy()
    # tabulate walks the tree on its own and asks the policy with the env's observations.
    table, _ = tabulate(kuhn, TabularPolicy.from_table(kuhn_table))
    assert len(table.states) == 12
    for i, state in enumerate(table.states):
        theirs = average.action_probabilities(state)
        for a in range(kuhn.info.num_actions):
            assert table.action_probability_array[i, a] == pytest.approx(
                theirs.get(a, 0.0), abs=1e-6
            ), (state.information_state_string(), a)


def test_vanilla_cfr_and_three_player_kuhn():
    kuhn = games.load("kuhn_poker")
    t = solve_cfr(kuhn, "cfr", 1000)
    assert float(t.metadata["nash_conv"]) < 5e-3  # measured 1.9e-3
    three = games.load("kuhn_poker(players=3)")
    t3 = solve_cfr(three, "cfr_plus", 100)
    policy = TabularPolicy.from_table(t3)
    assert set(policy.players.tolist()) == {0, 1, 2}
    # n-player: no Nash guarantee, but the stored NashConv is exact.
    nc = exact_nash_conv(three, policy).nash_conv
    assert float(t3.metadata["nash_conv"]) == pytest.approx(nc, abs=1e-6)
    from arena.rollout import play

    res = play(three, [policy, UniformRandom()], 60, seed=1)
    assert np.isfinite(res.returns).all()


def test_leduc_solves_and_loads():
    leduc = games.load("leduc_poker")
    table = solve_cfr(leduc, "cfr_plus", 20)
    assert table.metadata["decision_nodes"] == "3780"
    policy = TabularPolicy.from_bytes(TabularPolicy.from_table(table).to_bytes(), "leduc table")
    policy.check_fits(leduc.info, "leduc_poker")
    assert len(policy) == 936
    nc = exact_nash_conv(leduc, policy).nash_conv
    assert float(policy.metadata["nash_conv"]) == pytest.approx(nc, abs=1e-6)
    from arena.rollout import play

    res = play(leduc, [policy, UniformRandom()], 200, seed=3)
    assert res.returns.shape == (200, 2)


def test_bytes_round_trip_and_lookup(kuhn, kuhn_table):
    policy = TabularPolicy.from_table(kuhn_table)
    back = TabularPolicy.from_bytes(policy.to_bytes())
    np.testing.assert_array_equal(back.probs, policy.probs)
    np.testing.assert_array_equal(back.obs, policy.obs)
    assert back.metadata == policy.metadata
    ts = kuhn.vector(8, seed=0).reset()
    rows = np.flatnonzero(ts.acting[:, 0])
    out = back.act(
        ts.obs[rows, 0], ts.legal[rows, 0], np.zeros(len(rows), int), np.random.default_rng(0)
    )
    assert np.allclose(out.probs.sum(-1), 1.0) and (out.probs[~ts.legal[rows, 0]] == 0).all()
    with pytest.raises(TableError, match="no row for player 1"):  # player 1 never acts first
        back.act(
            ts.obs[rows, 0], ts.legal[rows, 0], np.ones(len(rows), int), np.random.default_rng(0)
        )
    with pytest.raises(TableError, match="does not fit"):
        back.check_fits(games.load("leduc_poker").info)


def _bad(policy: TabularPolicy, **change) -> bytes:
    from safetensors.numpy import save

    arrays = {
        "players": policy.players,
        "obs": policy.obs,
        "probs": policy.probs,
        "legal": policy.legal,
    }
    arrays.update(change)
    return save({k: v for k, v in arrays.items() if v is not None}, metadata=policy.metadata)


def test_the_same_solve_gives_the_same_bytes_in_every_process():
    """A table file is a pure function of game and iterations (no wall-clock time,
    metadata in sorted order, whatever the process's hash seed), so a league's
    snapshot sha256s repeat from run to run."""
    import os
    import subprocess
    import sys

    code = (
        "import hashlib, games; from agents.tabular import TabularPolicy; "
        "from games.cfr import solve_cfr; "
        "t = solve_cfr(games.load('kuhn_poker'), 'cfr_plus', 50); "
        "print(hashlib.sha256(TabularPolicy.from_table(t).to_bytes()).hexdigest())"
    )
    digests = set()
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_table_files_are_validated(kuhn_table):
    policy = TabularPolicy.from_table(kuhn_table)
    probs = policy.probs.copy()
    nan = probs.copy()
    nan[0, 0] = np.nan
    illegal = probs.copy()
    illegal[:, :] = 0.5
    cases = {
        "not a readable safetensors": policy.to_bytes()[:-5],
        "too short": b"abc",
        "does not fit the file": (10**9).to_bytes(8, "little") + b"{}",
        "sum to": _bad(policy, probs=probs * 0.5),
        "non-finite": _bad(policy, probs=nan),
        "holds the arrays": _bad(policy, legal=None),
        "one of each per row": _bad(policy, players=policy.players[:-1]),
        "one observation of player": _bad(policy, obs=np.zeros_like(policy.obs)),
        "dtype": _bad(policy, players=policy.players.astype(np.float32)),
        "illegal action": _bad(policy, legal=np.zeros_like(policy.legal), probs=illegal),
    }
    for needle, data in cases.items():
        with pytest.raises(TableError, match=needle) as e:
            TabularPolicy.from_bytes(data, "t.safetensors")
        assert "\n" not in str(e.value)


def test_specs_parse_with_the_one_spec_parser():
    assert parse_cfr_spec("random") is None
    assert parse_cfr_spec("runs/ck") is None
    assert parse_cfr_spec("cfr_plus").text == "cfr_plus(iterations=1000)"
    assert parse_cfr_spec(" cfr( iterations = 7 )").text == "cfr(iterations=7)"
    for bad, needle in [
        ("cfr_plus(iterations=0)", "out of range"),
        ("cfr_plus(iterations=10**12)", "not an integer"),
        ("cfr_plus(iterations=1000001)", "out of range"),
        ('cfr_plus(iterations="x")', "not an integer"),
        ("cfr_plus(iterations=true)", "not an integer"),
        ("cfr_plus(iters=5)", "unknown parameter"),
        ("cfr_plus(5)", "has no name"),
        ("cfr_plus(iterations=1", "bad CFR spec"),
    ]:
        with pytest.raises(CFRError, match=needle):
            parse_cfr_spec(bad)


def test_games_cfr_cannot_solve_are_refused():
    for spec, needle in [
        ("chess", "information-state tensor"),
        ("tic_tac_toe", "information-state tensor"),
        ("matrix:rock_paper_scissors", "OpenSpiel game"),
        ("matrix_rps", "simultaneous"),
        ("leduc_poker(players=3)", "200,000 decision nodes"),
    ]:
        with pytest.raises(CFRError, match=needle):
            check_cfr_game(games.load(spec), 1000)
    with pytest.raises(CFRError, match="MAX_SOLVE_SECONDS"):
        check_cfr_game(games.load("leduc_poker"), 1_000_000)
    assert check_cfr_game(games.load("kuhn_poker"), 1000) == 24


# ---------------------------------------------------------------- the league

LEAGUE = """
[league]
name = "c"
game = "kuhn_poker"
seed = 2
steps = 256
batch = 16
rollout_len = 8
round_steps = 128

[[learner]]
name = "main"
algorithm = "mappo"
matchmaking = "pfsp"

[learner.config]
hidden = [16]

[snapshots]
every_steps = 128

[evaluation]
games_per_pair = 40
every_steps = 128

[[reference]]
name = "random"
policy = "random"

[[reference]]
name = "cfr"
policy = "{policy}"
"""


def league_config(folder: Path, policy="cfr_plus(iterations=300)", name="c.toml") -> Path:
    path = folder / name
    path.write_text(LEAGUE.replace("{policy}", policy))
    return path


def run_league(cfg: Path, db: Path, backend=None) -> tuple:
    league = League.open(cfg, db, backend=backend)
    try:
        league.run()
    finally:
        league.close()
    with Store.open(db, readonly=True) as s:
        matches = [(r.step, tuple(r.seats), tuple(r.returns), r.seed, r.tag) for r in s.matches()]
        ratings = [(r.step, r.member, r.system, r.value) for r in s.ratings()]
    return matches, ratings


def cfr_row(db: Path):
    with Store.open(db, readonly=True) as s:
        ref = next(m for m in s.members() if m.name == "cfr")
        return ref, s.snapshot(ref.id), s.resolve(s.snapshot(ref.id).path)


@pytest.mark.slow
def test_league_with_a_cfr_reference(tmp_path, monkeypatch, pool):
    cfg = league_config(tmp_path)
    assert load_config(cfg).references[1].policy == "cfr_plus(iterations=300)"
    db = tmp_path / "c.db"
    serial = run_league(cfg, db, SerialBackend(chunk_games=40))
    ref, row, path = cfr_row(db)
    assert ref.kind == "reference" and ref.policy == "cfr_plus(iterations=300)"
    assert path.name == TABLE_FILE and path.is_file()
    assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    files = [p for p in (tmp_path / "c.files").rglob("*.safetensors") if "cfr" in p.parent.name]
    assert files == [path]
    table = TabularPolicy.from_bytes(path.read_bytes())
    assert table.metadata["algorithm"] == "cfr_plus" and table.metadata["game"] == "kuhn_poker"
    # The reference played: matchmaking, evaluation matches, the stored meta-game, ratings.
    matches, ratings = serial
    assert any(ref.id in seats for _, seats, *_ in matches)
    assert any(m == ref.id for _, m, _, _ in ratings)
    with Store.open(db, readonly=True) as s:
        rec = s.evaluations("league")[-1].payload
    assert "cfr" in rec["members"]

    # The report says how everyone does against it.
    from arena.report import load_report_data, write_report

    data = load_report_data(db)
    (ref_data,) = data.cfr_references
    assert ref_data.title == "CFR+ average policy after 300 iterations"
    assert ref_data.nash_conv == pytest.approx(float(table.metadata["nash_conv"]))
    assert ref_data.players == 2
    assert [n for n, *_ in ref_data.learner_returns] == ["main"]
    k = data.members.index("cfr")
    assert ref_data.learner_returns[0][1] == data.learners[0].returns[k]
    assert {n for n, _ in ref_data.rating_gaps} >= {"main", "random"}
    html_path, md_path = write_report(data, tmp_path / "report")
    md = Path(md_path).read_text()
    assert "## Against the CFR reference" in md and "exploitability (NashConv / 2" in md
    assert "Against the CFR reference" in Path(html_path).read_text()

    # Resuming solves nothing again and keeps the same file.
    def no_solve(*a, **k):
        raise AssertionError("the reference was solved again on resume")

    monkeypatch.setattr(games.cfr, "solve_cfr", no_solve)
    league = League.open(cfg, db)
    try:
        assert league.policy(ref.id).metadata["nash_conv"] == table.metadata["nash_conv"]
    finally:
        league.close()
    assert cfr_row(db)[1].sha256 == row.sha256
    monkeypatch.undo()

    # The process backend plays the same league (the reference travels as a tabular spec).
    assert run_league(cfg, tmp_path / "p.db", pool) == serial


def test_tabular_spec_plays_like_the_live_table(kuhn, kuhn_table, pool):
    live = TabularPolicy.from_table(kuhn_table)
    spec = PolicySpec("tabular", {}, live.to_bytes())
    live_matches = [Match((live, UniformRandom()), 130, seed=5), Match((live, live), 50, seed=6)]
    spec_matches = [Match((spec, RANDOM), 130, seed=5), Match((spec, spec), 50, seed=6)]
    want = SerialBackend(chunk_games=40).play(kuhn, "kuhn_poker", live_matches)
    for got in (
        SerialBackend(chunk_games=40).play(kuhn, "kuhn_poker", spec_matches),
        pool.play(kuhn, "kuhn_poker", spec_matches),
    ):
        for x, y in zip(want, got):
            np.testing.assert_array_equal(x.seats, y.seats)
            np.testing.assert_array_equal(x.returns, y.returns)
            np.testing.assert_array_equal(x.episode, y.episode)


def test_a_tampered_table_is_refused(tmp_path, capsys):
    cfg = league_config(tmp_path, "cfr_plus(iterations=50)")
    db = tmp_path / "c.db"
    run_league(cfg, db)
    _, _, path = cfr_row(db)
    data = bytearray(path.read_bytes())
    data[-4] ^= 0xFF  # one probability changes
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="sha256"):
        League.open(cfg, db)
    capsys.readouterr()
    for argv in (
        ["league", "run", str(cfg), "--quiet", "--no-report"],
        ["eval", f"{db}:cfr", "--game", "kuhn_poker", "--games", "10"],
    ):
        assert main(argv) == 2, argv
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and "sha256" in lines[0], lines


# ---------------------------------------------------------------- the CLI


def test_arena_eval_against_cfr(capsys):
    argv = ["eval", "random", "--game", "kuhn_poker", "--against", "cfr_plus(iterations=200)"]
    assert main(argv + ["--games", "400"]) == 0
    out = capsys.readouterr().out
    assert "random vs cfr_plus(iterations=200) on kuhn_poker" in out
    assert main(["eval", "cfr(iterations=100)", "--game", "kuhn_poker", "--games", "40"]) == 0


HOSTILE = [
    ("cfr_plus(iterations=0)", "kuhn_poker", "out of range"),
    ("cfr_plus(iterations=10**12)", "kuhn_poker", "not an integer"),
    ('cfr_plus(iterations=\\"x\\")', "kuhn_poker", "not an integer"),
    ("cfr_plus(iters=3)", "kuhn_poker", "unknown parameter"),
    ("cfr_plus", "chess", "information-state tensor"),
    ("cfr_plus", "matrix:rock_paper_scissors", "OpenSpiel game"),
    ("cfr_plus", "matrix_rps", "simultaneous"),
    ("cfr_plus", "pettingzoo:mpe2.simple_spread_v3(N=2,max_cycles=5)", "OpenSpiel game"),
    ("cfr_plus", "leduc_poker(players=3)", "decision nodes"),
    ("cfr_plus(iterations=1000000)", "leduc_poker", "MAX_SOLVE_SECONDS"),
]


@pytest.mark.parametrize("policy,game,needle", HOSTILE)
def test_hostile_cfr_specs_are_one_line_and_exit_2(policy, game, needle, tmp_path, capsys):
    text = LEAGUE.replace("{policy}", policy).replace('"kuhn_poker"', f'"{game}"')
    cfg = tmp_path / "h.toml"
    cfg.write_text(text)
    if game == "kuhn_poker" or "pettingzoo" not in game:
        with pytest.raises(ConfigError, match=needle):
            load_config(cfg)
    before = sorted(p.name for p in tmp_path.iterdir())
    capsys.readouterr()
    plain = policy.replace('\\"', '"')
    for argv in (
        ["league", "run", str(cfg), "--quiet", "--no-report"],
        ["eval", "random", "--game", game, "--against", plain, "--games", "4"],
    ):
        try:
            rc = main(argv)
        except SystemExit as e:
            rc = e.code
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert rc == 2, (argv, err)
        assert len(lines) == 1 and lines[0].startswith("arena: error: "), err
        assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no store was created
