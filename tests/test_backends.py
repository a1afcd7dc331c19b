"""Backends (serial, process pool, Ray): same seeds, same games and league tables on each."""

from pathlib import Path

import numpy as np
import pytest
import torch

import games
from agents.registry import make_learner
from arena.backends import (
    RANDOM,
    BackendError,
    Match,
    ProcessBackend,
    RayBackend,
    SerialBackend,
    chunk_seed,
    make_backend,
    play_chunk,
    policy_spec,
    split,
)
from arena.cli import main
from arena.evaluation import evaluate_population
from arena.league import League
from arena.rollout import play
from leagues.store import Store

torch.set_num_threads(1)

TTT = "tic_tac_toe"


@pytest.fixture(scope="module")
def ttt():
    game = games.load(TTT)
    a = make_learner("mappo", game.info, seed=0)
    b = make_learner("iql", game.info, seed=1)
    return game, a, b


@pytest.fixture(scope="module")
def pool():
    """One process pool for the module: spawning workers (they import torch) costs seconds."""
    backend = ProcessBackend(2, chunk_games=40)
    yield backend
    backend.close()


def matches_of(a, b, specs: bool):
    """A few matches between two learners and the random reference, as live policies or specs."""
    pa = policy_spec("mappo", {}, a) if specs else a.freeze()
    pb = policy_spec("iql", {}, b) if specs else b.freeze()
    rnd = RANDOM if specs else RANDOM.build(None)
    return [
        Match((pa, pb), 130, seed=7),
        Match((pb, rnd), 41, seed=8, batch=16),
        Match((pa, pa), 3, seed=9),
        Match((pb, pa), 0, seed=10),
    ]


def same(xs, ys):
    assert len(xs) == len(ys)
    for x, y in zip(xs, ys):
        np.testing.assert_array_equal(x.seats, y.seats)
        np.testing.assert_array_equal(x.returns, y.returns)
        np.testing.assert_array_equal(x.lengths, y.lengths)
        np.testing.assert_array_equal(x.episode, y.episode)
        np.testing.assert_array_equal(x.deterministic, y.deterministic)
        assert x.episode.dtype == np.uint64 and x.deterministic.dtype == bool
        assert len(x.episode) == len(x.deterministic) == len(x.seats)


# ---------------------------------------------------------------- chunks


def test_chunks_depend_only_on_the_match():
    m = Match(("a", "b"), 2500, seed=5)
    chunks = split([m], 1000)
    assert [(c.first, c.count) for c in chunks] == [(0, 1000), (1000, 1000), (2000, 500)]
    assert chunks[0].seed == 5  # a match of one chunk is exactly play(seed)
    assert len({c.seed for c in chunks}) == 3
    assert [c.seed for c in split([m], 1000)] == [c.seed for c in chunks]
    assert chunk_seed(5, 1) != chunk_seed(6, 1)
    assert [c.count for c in split([Match(("a",), 0, 1)], 10)] == [0]
    with pytest.raises(BackendError, match="chunk_games"):
        split([m], 0)


def test_one_chunk_is_plain_play(ttt):
    game, a, b = ttt
    pols = [a.freeze(), b.freeze()]
    (res,) = SerialBackend().play(game, TTT, [Match(tuple(pols), 300, seed=3, batch=64)])
    ref = play(game, pols, 300, seed=3, batch=64)
    np.testing.assert_array_equal(res.returns, ref.returns)
    np.testing.assert_array_equal(res.seats, ref.seats)
    np.testing.assert_array_equal(res.episode, ref.episode)
    np.testing.assert_array_equal(res.deterministic, ref.deterministic)
    assert res.lengths.sum() > 300 * 4  # a tic-tac-toe game lasts 5 to 9 moves
    assert res.lengths.min() >= 5 and res.lengths.max() <= 9


def test_chunked_match_keeps_the_global_seat_rotation(ttt):
    game, a, _ = ttt
    (res,) = SerialBackend(chunk_games=7).play(
        game, TTT, [Match((a.freeze(), RANDOM.build(None)), 30, 1)]
    )
    np.testing.assert_array_equal(res.seats[:, 0], np.arange(30) % 2)
    chunks = split([Match(("x", "y"), 30, 1)], 7)
    part = play_chunk(game, [a.freeze(), RANDOM.build(None)], chunks[2])
    np.testing.assert_array_equal(part.returns, res.returns[14:21])
    np.testing.assert_array_equal(part.episode, res.episode[14:21])  # chunks concatenated


def test_specs_play_like_live_policies(ttt):
    game, a, b = ttt
    serial = SerialBackend(chunk_games=40)
    same(
        serial.play(game, TTT, matches_of(a, b, specs=False)),
        serial.play(game, TTT, matches_of(a, b, specs=True)),
    )


# ---------------------------------------------------------------- process pool and Ray


def test_process_pool_equals_serial(ttt, pool):
    game, a, b = ttt
    ref = SerialBackend(chunk_games=40).play(game, TTT, matches_of(a, b, specs=True))
    same(pool.play(game, TTT, matches_of(a, b, specs=True)), ref)
    # A different chunk size is a different (but still deterministic) split.
    other = SerialBackend(chunk_games=1000).play(game, TTT, matches_of(a, b, specs=True))
    assert not np.array_equal(other[0].returns, ref[0].returns)


def test_process_pool_on_a_chance_game(pool):
    game = games.load("kuhn_poker")
    learner = make_learner("mappo", game.info, seed=4)
    matches = [Match((policy_spec("mappo", {}, learner), RANDOM), 200, seed=11)]
    same(
        pool.play(game, "kuhn_poker", matches),
        SerialBackend(chunk_games=40).play(game, "kuhn_poker", matches),
    )


def test_workers_refuse_live_policies(ttt, pool):
    game, a, _ = ttt
    with pytest.raises(BackendError, match="PolicySpec"):
        pool.play(game, TTT, [Match((a.freeze(), RANDOM), 4, 0)])


def test_ray_equals_serial(ttt, ray_cluster):
    game, a, b = ttt
    backend = RayBackend(chunk_games=40)
    try:
        assert backend.workers == 2
        got = backend.play(game, TTT, matches_of(a, b, specs=True))
    finally:
        backend.close()
    assert ray_cluster.is_initialized()  # joined the session's cluster, left it running
    same(got, SerialBackend(chunk_games=40).play(game, TTT, matches_of(a, b, specs=True)))


def test_a_ray_backend_that_finds_no_free_cpu_says_so(ttt, ray_cluster, monkeypatch):
    """Actors hold their CPU while they live: a second backend on a cluster whose
    CPUs the first one holds gets one line instead of waiting forever."""
    import arena.backends as backends

    game, a, b = ttt
    first = RayBackend(chunk_games=40)
    try:
        first.play(game, TTT, matches_of(a, b, specs=True))  # two actors: both CPUs
        monkeypatch.setattr(backends, "ACTOR_START_S", 2.0)
        second = RayBackend(chunk_games=40)
        try:
            with pytest.raises(BackendError, match="found no node with a free CPU"):
                second.play(game, TTT, matches_of(a, b, specs=True))
        finally:
            second.close()
    finally:
        first.close()


def test_population_evaluation_on_the_pool(ttt, pool):
    game, a, b = ttt
    names, kinds = ["a", "b", "random"], ["snapshot", "learner", "reference"]
    live = [a.freeze(), b.freeze(), RANDOM.build(None)]
    specs = [policy_spec("mappo", {}, a), policy_spec("iql", {}, b), RANDOM]
    kw = dict(max_states=10)  # too small for an exact table: sampled matches
    here = evaluate_population(game, TTT, names, kinds, live, 0, 90, seed=2, **kw)
    serial = evaluate_population(
        game, TTT, names, kinds, live, 0, 90, 2, backend=SerialBackend(chunk_games=40), **kw
    )
    pooled = evaluate_population(
        game, TTT, names, kinds, live, 0, 90, 2, backend=pool, match_policies=specs, **kw
    )
    assert here.table_method.startswith("sampled")
    assert serial.payoffs == pooled.payoffs and serial.meta_nash == pooled.meta_nash
    assert serial.learners == pooled.learners and [r.name for r in here.learners] == ["b"]
    assert here.payoffs != serial.payoffs  # 90 games in chunks of 40: another (fixed) split


def test_make_backend_checks_its_arguments():
    assert make_backend().name == "serial"
    assert isinstance(make_backend("serial", 2), ProcessBackend)  # --workers 2 alone: a pool
    with pytest.raises(BackendError, match="use one of"):
        make_backend("dask")
    with pytest.raises(BackendError, match="at least 1"):
        make_backend("process", 0)
    with pytest.raises(BackendError, match="above the limit of 1,024"):
        make_backend("ray", 10**9)
    with pytest.raises(BackendError, match="--backend ray"):
        make_backend("process", 2, "10.0.0.1:6379")


# ---------------------------------------------------------------- the league on every backend

LEAGUE = """
[league]
name = "b"
game = "tic_tac_toe"
seed = 3
steps = 512
batch = 16
rollout_len = 4
round_steps = 256

[[learner]]
name = "main"
algorithm = "mappo"
matchmaking = "pfsp"

[snapshots]
every_steps = 256
capacity = 4

[evaluation]
games_per_pair = 24
every_steps = 0

[[reference]]
name = "random"
policy = "random"
"""


def league_table(tmp_path: Path, name: str, backend) -> tuple:
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(LEAGUE)
    league = League.open(cfg, tmp_path / f"{name}.db", backend=backend)
    try:
        league.run()
    finally:
        league.close()
    s = Store.open(tmp_path / f"{name}.db", readonly=True)
    try:
        matches = [(r.step, tuple(r.seats), tuple(r.returns), r.seed, r.tag) for r in s.matches()]
        ratings = [(r.step, r.member, r.system, r.value) for r in s.ratings()]
        return matches, ratings
    finally:
        s.close()


def test_league_tables_match_on_every_backend(tmp_path, pool, ray_cluster, monkeypatch):
    serial = league_table(tmp_path, "serial", SerialBackend(chunk_games=40))
    matches, ratings = serial
    assert (
        sum(tag == "eval" for *_, tag in matches) == (1 + 2 + 3) * 24
    )  # three snapshots (the initial weights at step 0, then two): 1 + 2 + 3 opponents
    assert ratings
    assert league_table(tmp_path, "process", pool) == serial
    ray_backend = RayBackend(chunk_games=40)
    try:
        assert league_table(tmp_path, "ray", ray_backend) == serial
    finally:
        ray_backend.close()  # its actors hold the session cluster's CPUs until then
    # The CLI's flags reach the league: --backend ray joins the session's cluster.
    cfg = tmp_path / "cli.toml"
    cfg.write_text(LEAGUE)
    db = tmp_path / "cli.db"
    calls = []
    ray_play = RayBackend.play
    monkeypatch.setattr(RayBackend, "play", lambda self, *a: calls.append(1) or ray_play(self, *a))
    argv = [
        "league",
        "run",
        str(cfg),
        "--db",
        str(db),
        "--backend",
        "ray",
        "--quiet",
        "--no-report",
    ]
    assert main(argv) == 0
    assert len(calls) == 3  # one evaluation per snapshot, on Ray
    # Opening the finished league again plays no new round: its table is the CLI run's.
    assert league_table(tmp_path, "cli", SerialBackend()) == serial
    assert ray_cluster.is_initialized()


@pytest.mark.parametrize(
    "address, says",
    [
        ("nonsense", "expected HOST:PORT"),
        ("10.0.0.1:99999", "expected HOST:PORT"),
        ("127.0.0.1:1", "no Ray head answers there"),  # port 1: nothing listens
    ],
)
def test_a_ray_address_nothing_answers_on_is_one_line(address, says):
    from arena.backends import _check_reachable

    with pytest.raises(BackendError, match=says):
        _check_reachable(address)
    _check_reachable("auto")  # left to ray.init, which says it at once
