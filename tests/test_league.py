"""The league loop: determinism, resume, crash safety under SIGKILL."""

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from arena.league import League
from leagues.store import Store

CONFIG = """
[league]
name = "t"
game = "{game}"
seed = {seed}
steps = {steps}
batch = 16
rollout_len = 4
round_steps = 256

[[learner]]
name = "main"
algorithm = "mappo"
matchmaking = "{rule}"

[snapshots]
every_steps = 256
capacity = 4

[evaluation]
games_per_pair = 16
method = "exact"  # tic-tac-toe is over max_states: the reason, not a timed exploiter

[[reference]]
name = "random"
policy = "random"
"""


def write_config(
    tmp_path: Path,
    game="matrix:rock_paper_scissors",
    seed=0,
    steps=1024,
    rule="pfsp",
    name="league.toml",
):
    p = tmp_path / name
    p.write_text(CONFIG.format(game=game, seed=seed, steps=steps, rule=rule))
    return p


def table(db: Path):
    """The league table as plain data: members, matches (without times), ratings."""
    s = Store.open(db, readonly=True)
    try:
        members = [(m.id, m.name, m.kind, m.step, m.active) for m in s.members()]
        matches = [(r.step, tuple(r.seats), tuple(r.returns), r.seed, r.tag) for r in s.matches()]
        ratings = [(r.step, r.member, r.system, round(r.value, 9)) for r in s.ratings()]
        shas = [(r.member, r.sha256) for r in s.snapshots()]
        return members, matches, ratings, shas
    finally:
        s.close()


def run_league(cfg: Path, db: Path, steps=None):
    league = League.open(cfg, db)
    try:
        league.run(steps=steps)
    finally:
        league.close()


def test_same_seed_same_league_table(tmp_path):
    cfg = write_config(tmp_path)
    run_league(cfg, tmp_path / "a.db")
    run_league(cfg, tmp_path / "b.db")
    a, b = table(tmp_path / "a.db"), table(tmp_path / "b.db")
    assert a[0] == b[0] and a[1] == b[1] and a[2] == b[2]
    assert len(a[1]) > 100 and len(a[0]) >= 4  # it really played and snapshotted


def test_other_seed_other_league(tmp_path):
    run_league(write_config(tmp_path, seed=0, name="a.toml"), tmp_path / "a.db")
    run_league(write_config(tmp_path, seed=1, name="b.toml"), tmp_path / "b.db")
    assert table(tmp_path / "a.db")[1] != table(tmp_path / "b.db")[1]


@pytest.mark.parametrize(
    "algorithm, game", [("mappo", "matrix:rock_paper_scissors"), ("iql", "tic_tac_toe")]
)
@pytest.mark.slow
def test_resume_equals_uninterrupted(tmp_path, algorithm, game):
    cfg = write_config(tmp_path, game=game)
    cfg.write_text(cfg.read_text().replace('algorithm = "mappo"', f'algorithm = "{algorithm}"'))
    run_league(cfg, tmp_path / "full.db")
    run_league(cfg, tmp_path / "split.db", steps=512)
    mid = table(tmp_path / "split.db")
    run_league(cfg, tmp_path / "split.db")
    full, split = table(tmp_path / "full.db"), table(tmp_path / "split.db")
    assert len(mid[1]) < len(split[1])
    assert full[0] == split[0] and full[1] == split[1] and full[2] == split[2]


def test_resume_refuses_another_config(tmp_path):
    from leagues.config import ConfigError

    run_league(write_config(tmp_path, steps=256), tmp_path / "x.db")
    other = write_config(tmp_path, rule="uniform", name="other.toml")
    with pytest.raises(ConfigError, match="differs"):
        League.open(other, tmp_path / "x.db")


def _kill_run(cfg: Path, db: Path, kill_at: str | None, **env):
    """``arena league run`` in a subprocess (``kill_at``: ARENA_KILL_AT; ``env``: more hooks)."""
    env = dict(os.environ, **env)
    env.pop("ARENA_KILL_AT", None)
    if kill_at:
        env["ARENA_KILL_AT"] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "arena.cli", "league", "run", str(cfg), "--db", str(db), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a safety net only: every run here ends in seconds
    )


def _files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing_and_resumes_identically(tmp_path):
    """Killed at random points; between kills the league folder is moved, renamed
    and copied, and the run resumes from each new place (the copy last)."""
    cfg = write_config(tmp_path, steps=1536)
    ref = tmp_path / "ref.db"
    # The reference runs through the same command (same torch thread settings).
    assert _kill_run(cfg, ref, None).returncode == 0
    db = tmp_path / "one" / "killed.db"
    copied: dict[str, bytes] = {}

    def move(db):
        (tmp_path / "one").rename(tmp_path / "two")
        return tmp_path / "two" / db.name

    def rename(db):
        db.rename(db.with_name("renamed.db"))
        db.with_suffix(".files").rename(db.with_name("renamed.files"))
        return db.with_name("renamed.db")

    def copy(db):
        shutil.copytree(db.parent, tmp_path / "three")
        copied.update(_files_of(db.parent))  # the original, which work on the copy must not touch
        return tmp_path / "three" / db.name

    relocations = [move, rename, copy]
    rng = np.random.default_rng(7)
    phases = ["collect", "files", "checkpoint", "transaction"]
    # Rounds 1..6 exist; kill at increasing random points, resuming each time.
    points = sorted({(int(rng.integers(1, 6)), str(rng.choice(phases))) for _ in range(4)})
    last_matches, last_step, kills = 0, 0, 0
    for rnd, phase in points:
        r = _kill_run(cfg, db, f"{phase}:{rnd}")
        if r.returncode == -signal.SIGKILL:
            kills += 1
        else:
            assert r.returncode == 0, r.stderr
        if not db.exists():
            continue
        s = Store.open(db, readonly=True)
        try:
            s.verify()  # every snapshot / checkpoint file exists with its sha256
            ids = {m.id for m in s.members()}
            snaps = {x.member for x in s.snapshots()}
            for m in s.members():
                if m.kind == "snapshot":
                    assert m.id in snaps, f"snapshot member {m.name} has no file row"
            for row in s.matches():
                assert set(row.seats) <= ids
            n = s.match_count()
            st = s.learner_state("main")
            step = st.step if st else 0
        finally:
            s.close()
        assert n >= last_matches and step >= last_step
        last_matches, last_step = n, step
        if relocations:
            db = relocations.pop(0)(db)
    assert kills >= 2
    while relocations:
        db = relocations.pop(0)(db)
    assert db == tmp_path / "three" / "renamed.db"
    r = _kill_run(cfg, db, None)
    assert r.returncode == 0, r.stderr
    a, b = table(ref), table(db)
    assert a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and a[3] == b[3]
    assert _files_of(tmp_path / "two") == copied  # the original is untouched
    for leftover in ("renamed.db-wal", "renamed.db-shm", "renamed.db.lock"):
        assert not (tmp_path / "three" / leftover).exists()  # a clean exit removes them


def test_relative_absolute_and_symlinked_db_paths_from_other_directories(tmp_path, monkeypatch):
    from arena.league import evaluate_league

    (tmp_path / "work" / "sub").mkdir(parents=True)
    cfg = write_config(tmp_path / "work" / "sub", steps=768, name="x.toml")
    league_db = tmp_path / "work" / "sub" / "t.db"
    # a relative config from its parent: the default store goes beside the config
    monkeypatch.chdir(tmp_path / "work")
    run_league(Path("sub/x.toml"), None, steps=256)
    assert (tmp_path / "work" / "sub" / "t.files").is_dir()
    assert not (tmp_path / "work" / "sub" / "sub").exists()
    # resume with a relative --db from the config's own folder
    monkeypatch.chdir(tmp_path / "work" / "sub")
    run_league(Path("x.toml"), Path("t.db"), steps=512)
    # resume through a symlink from elsewhere, by absolute paths
    (tmp_path / "alias.db").symlink_to(league_db)
    monkeypatch.chdir(tmp_path)
    run_league(cfg, tmp_path / "alias.db")
    assert not (tmp_path / "alias.files").exists()
    # evaluate with a relative path, as printed under next:, then once more by absolute path
    monkeypatch.chdir(tmp_path / "work")
    out = evaluate_league("sub/t.db", 8)
    assert "main@544" in out["members"] and out["step"] >= 768
    monkeypatch.chdir(tmp_path / "work" / "sub")
    assert evaluate_league(league_db, 8, record=False)["members"] == out["members"]
    ref = tmp_path / "ref.db"
    run_league(cfg, ref)
    a, b = table(ref), table(league_db)
    assert a[0] == b[0] and a[1] == b[1] and a[3] == b[3]


def test_printed_next_commands_run_as_printed(tmp_path, capsys):
    from arena.cli import main

    folder = tmp_path / "the league's runs"
    folder.mkdir()
    cfg = write_config(folder, steps=256)
    db = folder / "a b.db"
    assert main(["league", "run", str(cfg), "--db", str(db), "--quiet", "--no-report"]) == 0
    out = capsys.readouterr().out
    commands = [shlex.split(line) for line in out.split("\nnext:\n")[1].splitlines()]
    kinds = [argv[1] for argv in commands]
    assert kinds[:3] == ["league", "league", "report"] and "eval" in kinds, out
    for argv in commands:
        assert argv[0] == "arena"
        if argv[1] == "eval":
            argv += ["--games", "20"]
        if argv[1] in ("league", "eval"):
            assert main(argv[1:]) == 0, capsys.readouterr().err
        elif argv[1] == "play":
            assert argv[-1] == f"{db}:" + argv[-1].rsplit(":", 1)[1]
        elif argv[1] == "report":
            assert argv[2] == str(db) and argv[4] == str(folder / "a b_report")


def test_corrupt_store_is_one_line_error(tmp_path):
    cfg = write_config(tmp_path)
    db = tmp_path / "bad.db"
    db.write_bytes(b"this is not sqlite at all" * 40)
    r = _kill_run(cfg, db, None)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "bad.db" in r.stderr


def test_modified_snapshot_file_is_named(tmp_path):
    cfg = write_config(tmp_path, steps=512)
    db = tmp_path / "s.db"
    run_league(cfg, db)
    s = Store.open(db, readonly=True)
    path = s.resolve(s.snapshots()[0].path)
    s.close()
    data = bytearray(Path(path).read_bytes())
    data[-1] ^= 0xFF
    Path(path).write_bytes(bytes(data))
    r = _kill_run(write_config(tmp_path, steps=1024), db, None)
    assert r.returncode == 2
    assert Path(path).name in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_sigterm_stops_cleanly_after_the_round(tmp_path):
    cfg = write_config(tmp_path, steps=1536)
    db = tmp_path / "t.db"
    env = dict(os.environ, ARENA_SIGTERM_AT="collect:2")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "arena.cli",
            "league",
            "run",
            str(cfg),
            "--db",
            str(db),
            "--quiet",
            "--no-report",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "stopped early" in r.stdout
    s = Store.open(db, readonly=True)
    try:
        s.verify()
        st = s.learner_state("main")
        assert st.counters["round"] == 3  # the round in flight finished and was committed
        assert 0 < st.step < 1536
    finally:
        s.close()
    # resuming finishes the league like an uninterrupted run
    assert _kill_run(cfg, db, None).returncode == 0
    ref = tmp_path / "ref.db"
    assert _kill_run(cfg, ref, None).returncode == 0
    assert table(ref)[1] == table(db)[1]


def _committed(db: Path):
    s = Store.open(db, readonly=True)
    try:
        s.verify()
        st = s.learner_state("main")
        matches = [(r.step, r.seats, r.returns, r.seed, r.tag) for r in s.matches()]
        return st.counters["round"], st.step, matches
    finally:
        s.close()


@pytest.mark.slow
def test_sigterm_in_a_phase_that_never_ends_drops_the_round_and_resumes_identically(tmp_path):
    cfg = write_config(tmp_path, steps=1536)
    db = tmp_path / "s.db"
    # The third round (index 2) hangs while collecting; SIGTERM arrives just before.
    r = _kill_run(cfg, db, None, ARENA_SIGTERM_AT="collect:2", ARENA_HANG_AT="collect:2")
    assert r.returncode == 0, r.stderr
    assert "round in flight was dropped" in r.stdout
    assert "Traceback" not in r.stderr
    rounds, step, _ = _committed(db)
    assert rounds == 2 and 0 < step < 1536  # rounds 0 and 1 committed, none of round 2
    assert not (tmp_path / "s_report").exists()  # a stop writes no report
    # Resuming finishes the league exactly like an uninterrupted run.
    assert _kill_run(cfg, db, None).returncode == 0
    ref = tmp_path / "ref.db"
    assert _kill_run(cfg, ref, None).returncode == 0
    assert _committed(db) == _committed(ref)


def test_a_second_sigterm_aborts_the_round_at_once(tmp_path):
    cfg = write_config(tmp_path, steps=1536)
    db = tmp_path / "s.db"
    # Two SIGTERMs in the second round (index 1; its files point comes after its
    # round counter moved to 2): alone, the first would let that short round
    # finish and commit (test_league's test_sigterm_stops_cleanly_after_the_round);
    # the second drops it.
    r = _kill_run(cfg, db, None, ARENA_SIGTERM_AT="collect:1,files:2")
    assert r.returncode == 0, r.stderr
    assert "round in flight was dropped" in r.stdout
    rounds, step, _ = _committed(db)
    assert rounds == 1 and 0 < step < 1536


ROLES = """
[league]
name = "roles"
game = "matrix:rock_paper_scissors"
seed = 3
steps = 768
batch = 16
rollout_len = 4
round_steps = 128

[[learner]]
name = "main"
algorithm = "mappo"
matchmaking = "pfsp"

[[learner]]
name = "mx"
algorithm = "mappo"
role = "main_exploiter"
matchmaking = "uniform"

[[learner]]
name = "lx"
algorithm = "mappo"
role = "league_exploiter"
matchmaking = "pfsp"
reset_every = 256

[snapshots]
every_steps = 256

[evaluation]
games_per_pair = 8
every_steps = 0
"""


def test_alphastar_roles(tmp_path):
    cfg = tmp_path / "roles.toml"
    cfg.write_text(ROLES)
    db = tmp_path / "roles.db"
    run_league(cfg, db)
    s = Store.open(db, readonly=True)
    try:
        members = {m.id: m for m in s.members()}
        by_name = {m.name: m for m in members.values()}
        mains = {by_name["main"].id} | {
            m.id for m in members.values() if m.parent == by_name["main"].id
        }
        mx = by_name["mx"].id
        trained = [r for r in s.matches(tag="train") if mx in r.seats]
        assert trained
        for r in trained:
            others = set(r.seats) - {mx}
            assert others <= mains, (
                "a main exploiter plays only the main agents and their snapshots"
            )
        assert s.learner_state("lx").counters["resets"] >= 1
        assert s.learner_state("main").counters["resets"] == 0
    finally:
        s.close()


def test_tables_show_learner_steps_and_say_when_truncated(tmp_path, capsys):
    from arena.cli.league import _print_ratings, _ratings_rows

    db = tmp_path / "x.db"
    run_league(write_config(tmp_path, steps=768), db)
    s = Store.open(db, readonly=True)
    try:
        rows = {r["name"]: r for r in _ratings_rows(s, "elo")}
        assert rows["main"]["step"] == s.learner_state("main").step > 0
        capsys.readouterr()
        _print_ratings(s, "elo", limit=2)
        out = capsys.readouterr().out
        assert f"{len(rows) - 2} more" in out
    finally:
        s.close()


def test_the_initial_weights_are_frozen_before_any_training(tmp_path):
    db = tmp_path / "x.db"
    league = League.open(write_config(tmp_path, steps=256), db)
    try:
        fresh = league.slots[0].learner.policy_state_dict()
        league.run()
    finally:
        league.close()
    s = Store.open(db, readonly=True)
    try:
        first = next(m for m in s.members() if m.kind == "snapshot")
        assert first.step == 0 and s.snapshot(first.id).step == 0
        from agents.checkpoint import tensors_from_bytes

        path = s.resolve(s.snapshot(first.id).path)
        frozen = tensors_from_bytes(path.read_bytes(), str(path))
    finally:
        s.close()
    assert set(frozen) == set(fresh)
    assert all(np.array_equal(frozen[k].numpy(), fresh[k].numpy()) for k in fresh)


def test_eval_infers_the_game_and_accepts_the_same_file_named_another_way(
    tmp_path, capsys, monkeypatch
):
    from arena.cli import main

    game = tmp_path / "pd.toml"
    game.write_text(Path("examples/games/prisoners_dilemma.toml").read_text())
    db = tmp_path / "x.db"
    run_league(write_config(tmp_path, game=str(game), steps=256), db)
    monkeypatch.chdir(tmp_path)
    member = f"{db}:main@0"
    assert main(["eval", member, "--games", "8", "--json"]) == 0  # no --game: the league's
    assert json.loads(capsys.readouterr().out)["game"] == str(game)
    assert main(["eval", member, "--games", "8", "--game", "pd.toml"]) == 0  # relative
    (tmp_path / "sub").mkdir()
    assert main(["eval", member, "--games", "8", "--game", "./sub/../pd.toml"]) == 0
    assert main(["eval", "random", "--games", "8"]) == 2
    assert "pass --game" in capsys.readouterr().err


def test_the_population_is_evaluated_once_per_period_not_once_per_learner(tmp_path):
    text = CONFIG.format(game="matrix:rock_paper_scissors", seed=0, steps=512, rule="pfsp")
    text = text.replace(
        "[snapshots]",
        '[[learner]]\nname = "b"\nalgorithm = "mappo"\n\n'
        '[[learner]]\nname = "c"\nalgorithm = "mappo"\n\n[snapshots]',
    )
    text = text.replace("games_per_pair = 16", "games_per_pair = 16\nevery_steps = 256")
    cfg = tmp_path / "three.toml"
    cfg.write_text(text)
    db = tmp_path / "three.db"
    run_league(cfg, db)
    s = Store.open(db, readonly=True)
    try:
        steps = [e.step for e in s.evaluations("league")]
        learners = {k: v.step for k, v in s.learner_states().items()}
    finally:
        s.close()
    assert sorted(learners) == ["b", "c", "main"] and min(learners.values()) >= 512
    # One evaluation before any training (step 0), the slowest learner passes 256 once,
    # then the league reaches its target: three evaluations of the whole population
    # (one per learner per period would be six, plus the initial one).
    assert len(steps) == 3 and steps[0] == 0
