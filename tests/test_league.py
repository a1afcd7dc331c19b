"""The league loop: determinism, resume, crash safety under SIGKILL."""

import os
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


def _kill_run(cfg: Path, db: Path, kill_at: str | None):
    env = dict(os.environ)
    env.pop("ARENA_KILL_AT", None)
    if kill_at:
        env["ARENA_KILL_AT"] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "arena.cli", "league", "run", str(cfg), "--db", str(db), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_sigkill_at_random_points_loses_nothing_and_resumes_identically(tmp_path):
    cfg = write_config(tmp_path, steps=1536)
    ref = tmp_path / "ref.db"
    # The reference runs through the same command (same torch thread settings).
    assert _kill_run(cfg, ref, None).returncode == 0
    db = tmp_path / "killed.db"
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
    assert kills >= 2
    r = _kill_run(cfg, db, None)
    assert r.returncode == 0, r.stderr
    a, b = table(ref), table(db)
    assert a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and a[3] == b[3]


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
