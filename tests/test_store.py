"""The league store: round trip, WAL, corrupt files, sha256 checks, atomic batches, kill -9."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from leagues.pool import Pool
from leagues.ratings import RatingRow, RatingsHistory
from leagues.store import Store, StoreError

REPO = Path(__file__).resolve().parents[1]


def _league(tmp_path: Path) -> tuple[Store, Pool]:
    store = Store.open(tmp_path / "league.db", create=True)
    pool = Pool(capacity=2)
    for m in (
        pool.add_learner("main", "mappo", created=1.0),
        pool.add_reference("random", created=1.0),
    ):
        store.add_member(m)
    return store, pool


def _snapshot(store: Store, pool: Pool, step: int, data: bytes = b"weights"):
    learner = pool.by_name("main")
    snap = pool.add_snapshot(learner.id, step, created=2.0)
    rel = store.write_file(f"{store.snapshot_dir(snap)}/weights.safetensors", data)
    with store.batch():
        store.add_member(snap)
        store.add_snapshot(snap.id, rel, step)
        for m in pool.evict():
            store.set_active(m.id, False)
    return snap, rel


def test_round_trip(tmp_path):
    store, pool = _league(tmp_path)
    store.set_config("[league]\nseed = 1\n", {"league": {"seed": 1}})
    snaps = [_snapshot(store, pool, step, f"w{step}".encode())[0] for step in (0, 100, 200)]
    with store.batch():
        ids = store.add_matches(
            [(100, [1, snaps[0].id], [1.0, -1.0], 7), (100, [snaps[1].id, 1], [0.0, 0.0], 8)],
            tag="eval",
        )
        store.add_ratings(100, "elo", {1: 1216.0, snaps[0].id: 1184.0})
        store.add_ratings(200, "elo", {1: 1230.0})
    ckpt = store.checkpoint_dir("main", 200)
    store.write_file(f"{ckpt}/weights.safetensors", b"learner")
    store.write_file(f"{ckpt}/spec.json", b"{}")
    rng_state = {"bit_generator": "PCG64", "state": {"state": 2**100 + 3, "inc": 5}}
    store.save_learner_state("main", 200, ckpt, rng_state, {"updates": 12, "last_snapshot": 200})
    store.add_evaluation(200, "nash_gap", {"gap": 0.25, "members": [1, 2]})
    store.close()

    ro = Store.open(tmp_path / "league.db", readonly=True)
    assert ro.config() == ("[league]\nseed = 1\n", {"league": {"seed": 1}})
    again = Pool.from_members(ro.members(), capacity=2)
    assert again.members == pool.members
    assert [m.name for m in again.snapshots()] == ["main@0", "main@200"]  # main@100 was evicted
    assert [m.name for m in ro.members(active=False)] == ["main@100"]
    assert [s.member for s in ro.snapshots()] == [s.id for s in snaps]
    assert ro.resolve(ro.snapshot(snaps[2].id).path).read_bytes() == b"w200"
    rows = ro.matches()
    assert [r.id for r in rows] == ids
    assert (
        rows[0].seats == (1, snaps[0].id) and rows[0].returns == (1.0, -1.0) and rows[0].seed == 7
    )
    assert rows[1].tag == "eval"
    assert [r.id for r in ro.matches(member=snaps[1].id)] == [ids[1]]
    assert [r.id for r in ro.matches(since=ids[0])] == [ids[1]]
    assert ro.match_count() == 2
    assert ro.latest_ratings("elo") == {1: 1230.0, snaps[0].id: 1184.0}
    history = RatingsHistory(ro.ratings("elo"))
    assert history.series(1, "elo")[1].tolist() == [1216.0, 1230.0]
    assert ro.ratings(member=snaps[0].id) == [RatingRow(100, snaps[0].id, "elo", 1184.0)]
    state = ro.learner_state("main")
    assert state.step == 200 and state.rng == rng_state and state.counters["updates"] == 12
    assert ro.resolve(state.path).is_dir()
    assert ro.evaluations("nash_gap")[0].payload == {"gap": 0.25, "members": [1, 2]}
    assert ro.verify() == 4  # three snapshots and one learner checkpoint
    with pytest.raises(StoreError, match="read-only"):
        ro.add_match(0, [1, 2], [0.0, 0.0])
    ro.close()


def test_wal_mode_and_full_sync(tmp_path):
    store, _ = _league(tmp_path)
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with sqlite3.connect(tmp_path / "league.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # a reader sees committed rows while the writer is open
    store.add_match(0, [1, 2], [1.0, -1.0])
    with Store.open(tmp_path / "league.db", readonly=True) as ro:
        assert ro.match_count() == 1
    store.close()


def test_single_writer(tmp_path):
    store, _ = _league(tmp_path)
    with pytest.raises(StoreError, match="another process is writing this league"):
        Store.open(tmp_path / "league.db")
    store.close()
    Store.open(tmp_path / "league.db").close()


def test_batch_commits_all_or_nothing(tmp_path):
    store, pool = _league(tmp_path)
    store.add_match(0, [1, 2], [1.0, -1.0])
    snap = pool.add_snapshot(1, 50)
    with pytest.raises(RuntimeError, match="boom"):
        with store.batch():
            store.add_member(snap)
            store.add_match(50, [1, snap.id], [1.0, -1.0])
            store.add_ratings(50, "elo", {1: 1300.0})
            with store.batch():  # nested: joins the outer transaction
                store.add_match(50, [snap.id, 1], [1.0, -1.0])
            raise RuntimeError("boom")
    assert store.match_count() == 1
    assert [m.id for m in store.members()] == [1, 2]
    assert store.ratings() == []
    # the store stays usable, and a clean batch commits everything
    with store.batch():
        store.add_member(snap)
        store.add_match(50, [1, snap.id], [1.0, -1.0])
    store.close()
    with Store.open(tmp_path / "league.db", readonly=True) as ro:
        assert ro.match_count() == 2 and len(ro.members()) == 3


def test_snapshot_row_needs_its_file(tmp_path):
    store, pool = _league(tmp_path)
    snap = pool.add_snapshot(1, 0)
    store.add_member(snap)
    with pytest.raises(
        StoreError, match="snapshot weights not found; write the file before adding its row"
    ):
        store.add_snapshot(snap.id, "league.files/snapshots/x/weights.safetensors", 0)
    with pytest.raises(StoreError, match="outside the league's weights folder"):
        store.add_snapshot(snap.id, tmp_path.parent / "elsewhere.bin", 0)
    assert store.snapshots() == []
    store.close()


def test_verify_names_the_changed_or_missing_file(tmp_path):
    store, pool = _league(tmp_path)
    _, rel_a = _snapshot(store, pool, 0, b"a")
    _, rel_b = _snapshot(store, pool, 1, b"b")
    assert store.verify() == 2
    store.resolve(rel_b).write_bytes(b"tampered")
    with pytest.raises(StoreError) as info:
        store.verify()
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(str(store.resolve(rel_b))) and "does not match" in msg
    store.resolve(rel_b).write_bytes(b"b")
    store.resolve(rel_a).unlink()
    with pytest.raises(StoreError, match=f"^{store.resolve(rel_a)}: missing"):
        store.verify()
    store.close()


def test_corrupt_files_give_one_line_errors(tmp_path):
    store, _ = _league(tmp_path)
    with store.batch():
        for k in range(2000):
            store.add_match(k, [1, 2], [1.0, -1.0], seed=k)
    store.close()
    good = (tmp_path / "league.db").read_bytes()
    cases = {
        "not_sqlite.db": (b"this is not a database at all" * 10, "not an SQLite file"),
        "truncated.db": (good[: len(good) // 2], "corrupt or truncated SQLite file"),
        "header_only.db": (good[:60], "truncated SQLite file"),
        "empty.db": (b"", "an empty file, not a league store"),
    }
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(StoreError) as info:
            Store.open(path)
        msg = str(info.value)
        assert "\n" not in msg and msg.startswith(f"{path}: ") and expected in msg, msg
    with pytest.raises(StoreError, match="no league store here"):
        Store.open(tmp_path / "missing.db")
    with sqlite3.connect(tmp_path / "other.db") as other:
        other.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not an arena league store"):
        Store.open(tmp_path / "other.db")
    with sqlite3.connect(tmp_path / "league.db") as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer arena"):
        Store.open(tmp_path / "league.db")


def test_only_files_the_store_wrote_are_removed_and_only_after_verify(tmp_path):
    store, pool = _league(tmp_path)
    _, rel = _snapshot(store, pool, 0)
    # a claimed file whose row never came (a kill between the file and the row)
    ghost = store.write_file("snapshots/000099-ghost/weights.safetensors", b"never committed")
    leftover = store.resolve(rel).parent / ".weights.safetensors.abcd1234.tmp"
    leftover.write_bytes(b"half")
    # the user's own files in the folder, including ones that look like leftovers
    mine = [
        store.files / "notes.txt",
        store.files / "snapshots" / "000077-mine" / "weights.safetensors",
        store.resolve(rel).parent / ".mine.abcd1234.tmp",
    ]
    for p in mine:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"mine")
    store.close()
    # verify() runs first: a changed file stops the writer before anything is deleted
    good = store.resolve(rel).read_bytes()
    store.resolve(rel).write_bytes(b"changed")
    with pytest.raises(StoreError, match="does not match"):
        Store.open(tmp_path / "league.db")
    assert store.resolve(ghost).exists() and leftover.exists()
    store.resolve(rel).write_bytes(good)
    store = Store.open(tmp_path / "league.db")
    assert sorted(store.cleaned) == sorted([store.resolve(ghost), leftover])
    assert not store.resolve(ghost).parent.exists() and not leftover.exists()
    assert all(p.read_bytes() == b"mine" for p in mine)
    assert store.resolve(rel).exists() and store.verify() == 1
    assert "snapshots/000099-ghost/weights.safetensors" not in store.manifest()
    store.close()


_WRITER = textwrap.dedent(
    """
    import sys
    from leagues.pool import Pool
    from leagues.store import Store
    store = Store.open(sys.argv[1], create=True)
    pool = Pool(capacity=1000)
    learner = pool.add_learner("main", "mappo")
    store.add_member(learner)
    for step in range(10**6):
        snap = pool.add_snapshot(learner.id, step)
        rel = store.write_file(store.snapshot_dir(snap) + "/weights.bin", bytes(50_000) + str(step).encode())
        with store.batch():
            store.add_member(snap)
            store.add_snapshot(snap.id, rel, step)
            for k in range(20):
                store.add_match(step, [learner.id, snap.id], [1.0, -1.0], seed=k)
        print(step, flush=True)
    """
)


def test_kill_9_loses_no_committed_match_and_leaves_no_dangling_row(tmp_path):
    db = tmp_path / "league.db"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db)], stdout=subprocess.PIPE, env=env, text=True
    )
    acknowledged = -1
    for line in child.stdout:
        acknowledged = int(line)
        if acknowledged >= 25:
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert acknowledged >= 25, "the writer stopped early"
    with Store.open(db) as store:
        assert store.match_count() >= 20 * (acknowledged + 1)
        assert store.match_count() % 20 == 0  # whole batches only
        snaps = store.snapshots()
        assert len(snaps) == store.match_count() // 20
        assert store.verify() == len(snaps)
        assert store.matches()[-1].seats == (1, snaps[-1].member)
