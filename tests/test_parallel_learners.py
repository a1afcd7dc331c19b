"""Learners in parallel: a league's rounds of one generation run side by side on
workers, and the league is the same on every backend, with any number of workers,
after a worker is killed, and after the coordinator is killed between two commits."""

import os
import subprocess
import sys

import pytest
import torch

from arena.backends import ProcessBackend, SerialBackend
from arena.league import League
from leagues.store import Store

torch.set_num_threads(1)

# AlphaStar's roles on Kuhn poker: the main exploiter plays the live main agent,
# the league exploiter (IQL: its replay buffer travels in its state) resets.
CONFIG = """
[league]
name = "par"
game = "kuhn_poker"
seed = 5
steps = {steps}
batch = 8
rollout_len = 8
round_steps = 128

[[learner]]
name = "main"
algorithm = "mappo"
matchmaking = "pfsp"

[learner.config]
hidden = [16]
epochs = 1

[[learner]]
name = "mx"
algorithm = "mappo"
role = "main_exploiter"
matchmaking = "uniform"

[learner.config]
hidden = [16]
epochs = 1

[[learner]]
name = "lx"
algorithm = "iql"
role = "league_exploiter"
matchmaking = "pfsp"
reset_every = 256

[learner.config]
hidden = [16]
learning_starts = 16
batch_size = 16

[snapshots]
every_steps = 128

[evaluation]
games_per_pair = 8
every_steps = 256

[[reference]]
name = "random"
policy = "random"
"""


def write_config(tmp_path, steps=384):
    cfg = tmp_path / "par.toml"
    cfg.write_text(CONFIG.format(steps=steps))
    return cfg


def table(db):
    """Everything a league stored that its seeds decide (not wall-clock times)."""
    s = Store.open(db, readonly=True)
    try:
        members = [(m.id, m.name, m.kind, m.step, m.active, m.parent) for m in s.members()]
        matches = [(r.step, tuple(r.seats), tuple(r.returns), r.seed, r.tag) for r in s.matches()]
        ratings = [(r.step, r.member, r.system, round(r.value, 9)) for r in s.ratings()]
        snapshots = [(r.member, r.path, r.sha256, r.step) for r in s.snapshots()]
        learners = {k: (v.step, v.sha256, v.counters) for k, v in s.learner_states().items()}
        evaluations = [(e.step, e.kind) for e in s.evaluations()]
        return members, matches, ratings, snapshots, learners, evaluations
    finally:
        s.close()


def run(cfg, db, backend=None):
    league = League.open(cfg, db, backend=backend)
    try:
        league.run()
    finally:
        league.close()
        if backend is not None:
            backend.close()


@pytest.fixture(scope="module")
def serial_league(tmp_path_factory):
    d = tmp_path_factory.mktemp("serial")
    run(write_config(d), d / "serial.db", SerialBackend())
    return table(d / "serial.db")


def test_a_generation_runs_every_learner_once(serial_league):
    _, _, _, snapshots, learners, _ = serial_league
    assert set(learners) == {"main", "mx", "lx"}
    assert all(counters["round"] == 3 for _, _, counters in learners.values())
    assert len(snapshots) >= 3 + 3  # the initial weights of each, then one per round


@pytest.mark.slow
def test_a_process_pool_of_two_workers_gives_the_serial_league(tmp_path, serial_league):
    cfg = write_config(tmp_path)
    run(cfg, tmp_path / "process.db", ProcessBackend(2))
    got = table(tmp_path / "process.db")
    names = ("members", "matches", "ratings", "snapshots (sha256)", "learner states", "evaluations")
    for name, a, b in zip(names, serial_league, got):
        assert a == b, name


@pytest.mark.slow
def test_a_killed_worker_costs_only_its_round(tmp_path, serial_league, monkeypatch):
    """SIGKILL a worker in the middle of round 1: the pool restarts, the round is
    replayed from the learner's last committed state, the league is the same."""
    monkeypatch.setenv("ARENA_WORKER_KILL_AT", "collect:1")
    backend = ProcessBackend(2)
    league = League.open(write_config(tmp_path), tmp_path / "killed.db", backend=backend)
    try:
        league.run()
        restarts = backend.restarts
    finally:
        league.close()
        backend.close()
    assert restarts >= 1
    assert table(tmp_path / "killed.db") == serial_league


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["serial", "process", "ray"])
def test_a_league_killed_between_two_commits_of_a_generation_resumes_it(
    tmp_path, serial_league, backend, request
):
    """Killed after the main agent committed its round 2 and before the main exploiter
    (who played the main agent's weights of the start of that generation) committed;
    on every backend (the coordinator is the process killed)."""
    flags = {"serial": [], "process": ["--workers", "2"]}.get(backend)
    if flags is None:  # join the session's Ray cluster (the test's own backends are closed)
        ray = request.getfixturevalue("ray_cluster")
        flags = ["--backend", "ray", "--address", ray.get_runtime_context().gcs_address]
    cfg = write_config(tmp_path)
    db = tmp_path / "resumed.db"
    env = dict(os.environ, ARENA_KILL_AT="files:2:mx")
    cmd = [sys.executable, "-m", "arena.cli", "league", "run", str(cfg), "--db", str(db), *flags]
    r = subprocess.run([*cmd, "--quiet", "--no-report"], env=env, capture_output=True, timeout=300)
    assert r.returncode == -9, r.stderr
    s = Store.open(db, readonly=True)
    try:
        rounds = {k: v.counters["round"] for k, v in s.learner_states().items()}
    finally:
        s.close()
    assert rounds == {"main": 2, "mx": 1, "lx": 1}
    env.pop("ARENA_KILL_AT")
    r = subprocess.run([*cmd, "--quiet", "--no-report"], env=env, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert table(db) == serial_league


# ---------------------------------------------------------------------------
# Ray: the same league on a pool of Ray actors, and after an actor is lost.


def ray_league(cfg, db, **kw):
    from arena.backends import RayBackend

    backend = RayBackend(**kw)
    league = League.open(cfg, db, backend=backend)
    try:
        league.run()
        return backend.restarts
    finally:
        league.close()
        backend.close()


@pytest.mark.slow
def test_ray_actors_give_the_serial_league(tmp_path, serial_league, ray_cluster):
    restarts = ray_league(write_config(tmp_path), tmp_path / "ray.db")
    assert restarts == 0
    names = ("members", "matches", "ratings", "snapshots (sha256)", "learner states", "evaluations")
    for name, a, b in zip(names, serial_league, table(tmp_path / "ray.db")):
        assert a == b, name


@pytest.mark.slow
@pytest.mark.parametrize("kill", ["collect:1", "ray.kill:2"])
def test_a_lost_ray_actor_costs_only_its_round(
    tmp_path, serial_league, ray_cluster, monkeypatch, kill
):
    """The actor's process SIGKILLed in round 1, or ``ray.kill`` of the actor in
    round 2: the actor is replaced, the round replayed, the league the same."""
    monkeypatch.setenv("ARENA_WORKER_KILL_AT", kill)
    restarts = ray_league(write_config(tmp_path), tmp_path / "killed.db")
    assert restarts >= 1
    assert table(tmp_path / "killed.db") == serial_league
