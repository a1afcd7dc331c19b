"""A stop signal ends any phase of a league within seconds and commits only whole rounds."""

import os
import subprocess
import sys
from pathlib import Path

from leagues.store import Store

CONFIG = """
[league]
name = "s"
game = "matrix:rock_paper_scissors"
seed = 0
steps = 1536
batch = 16
rollout_len = 4
round_steps = 256

[[learner]]
name = "main"
algorithm = "mappo"

[snapshots]
every_steps = 256

[evaluation]
games_per_pair = 16

[[reference]]
name = "random"
policy = "random"
"""


def _run(cfg: Path, db: Path, **env):
    return subprocess.run(
        [sys.executable, "-m", "arena.cli", "league", "run", str(cfg), "--db", str(db), "--quiet"],
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=300,  # a safety net only: a working stop ends in seconds
    )


def _committed(db: Path):
    s = Store.open(db, readonly=True)
    try:
        s.verify()
        st = s.learner_state("main")
        matches = [(r.step, r.seats, r.returns, r.seed, r.tag) for r in s.matches()]
        return st.counters["round"], st.step, matches
    finally:
        s.close()


def test_sigterm_in_a_phase_that_never_ends_drops_the_round_and_resumes_identically(tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text(CONFIG)
    db = tmp_path / "s.db"
    # The third round (index 2) hangs while collecting; SIGTERM arrives just before.
    r = _run(cfg, db, ARENA_SIGTERM_AT="collect:2", ARENA_HANG_AT="collect:2")
    assert r.returncode == 0, r.stderr
    assert "round in flight was dropped" in r.stdout
    assert "Traceback" not in r.stderr
    rounds, step, _ = _committed(db)
    assert rounds == 2 and 0 < step < 1536  # rounds 0 and 1 committed, none of round 2
    assert not (tmp_path / "s_report").exists()  # a stop writes no report
    # Resuming finishes the league exactly like an uninterrupted run.
    assert _run(cfg, db).returncode == 0
    ref = tmp_path / "ref.db"
    assert _run(cfg, ref).returncode == 0
    assert _committed(db) == _committed(ref)


def test_a_second_sigterm_aborts_the_round_at_once(tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text(CONFIG)
    db = tmp_path / "s.db"
    # Two SIGTERMs in the second round (index 1; its files point comes after its
    # round counter moved to 2): alone, the first would let that short round
    # finish and commit (test_league's test_sigterm_stops_cleanly_after_the_round);
    # the second drops it.
    r = _run(cfg, db, ARENA_SIGTERM_AT="collect:1,files:2")
    assert r.returncode == 0, r.stderr
    assert "round in flight was dropped" in r.stdout
    rounds, step, _ = _committed(db)
    assert rounds == 1 and 0 < step < 1536
