"""The league store: round trip, WAL, corrupt files, sha256 checks, atomic batches, kill -9."""

import os
import shutil
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


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (names relative to it) with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _full_league(folder: Path, name: str = "league") -> Path:
    """A closed store with two snapshots and two learner checkpoints (the first superseded)."""
    folder.mkdir(parents=True, exist_ok=True)
    store = Store.open(folder / f"{name}.db", create=True)
    pool = Pool(capacity=5)
    for m in (pool.add_learner("main", "mappo", created=1.0), pool.add_reference("random")):
        store.add_member(m)
    for step in (0, 100):
        _snapshot(store, pool, step, f"w{step}".encode())
        ckpt = store.checkpoint_dir("main", step)
        store.write_file(f"{ckpt}/weights.safetensors", f"learner{step}".encode())
        store.save_learner_state("main", step, ckpt, {}, {"step": step})
    store.close()
    return folder / f"{name}.db"


def test_a_league_folder_can_be_moved_renamed_and_copied(tmp_path):
    db = _full_league(tmp_path / "a")
    with Store.open(db) as store:  # removes the superseded checkpoint, which it wrote
        assert [p.name for p in store.cleaned] == ["weights.safetensors"]
        assert store.verify() == 3
    kept = _tree(tmp_path / "a" / "league.files")
    # move the folder, then rename the database and its weights folder together
    (tmp_path / "a").rename(tmp_path / "b")
    (tmp_path / "b" / "league.db").rename(tmp_path / "b" / "renamed.db")
    (tmp_path / "b" / "league.files").rename(tmp_path / "b" / "renamed.files")
    with Store.open(tmp_path / "b" / "renamed.db") as store:
        assert store.cleaned == [] and store.verify() == 3
        assert store.files == tmp_path / "b" / "renamed.files"
    assert _tree(tmp_path / "b" / "renamed.files") == kept
    # a copied backup writes into its own folder; the original stays as it was
    shutil.copy(tmp_path / "b" / "renamed.db", tmp_path / "b" / "backup.db")
    shutil.copytree(tmp_path / "b" / "renamed.files", tmp_path / "b" / "backup.files")
    original = (tmp_path / "b" / "renamed.db").read_bytes()
    with Store.open(tmp_path / "b" / "backup.db") as store:
        pool = Pool.from_members(store.members(), capacity=5)
        _, rel = _snapshot(store, pool, 200, b"w200")
        assert store.resolve(rel).is_relative_to(tmp_path / "b" / "backup.files")
    assert _tree(tmp_path / "b" / "renamed.files") == kept
    assert (tmp_path / "b" / "renamed.db").read_bytes() == original
    with Store.open(tmp_path / "b" / "backup.db", readonly=True) as ro:
        assert ro.verify() == 4


def test_a_folder_the_store_did_not_make_is_refused_and_untouched(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_bytes(b"years of work")
    cases = {
        "user": "did not make",  # user.files is the user's own folder
        "linked": "did not make",  # linked.files -> the user's folder
        "plain": "not a folder",  # plain.files is a regular file
    }
    shutil.copytree(mine, tmp_path / "user.files")
    (tmp_path / "linked.files").symlink_to(mine, target_is_directory=True)
    (tmp_path / "plain.files").write_bytes(b"a file")
    for stem, expected in cases.items():
        with pytest.raises(StoreError) as info:
            Store.open(tmp_path / f"{stem}.db", create=True)
        msg = str(info.value)
        assert "\n" not in msg and msg.startswith(f"{tmp_path / f'{stem}.files'}: ")
        assert expected in msg and "move it away" in msg, msg
        assert not (tmp_path / f"{stem}.db").exists()
    assert _tree(mine) == {"thesis.tex": b"years of work"}
    assert _tree(tmp_path / "user.files") == {"thesis.tex": b"years of work"}
    # an existing store meets a foreign folder under its own name: refused, untouched
    db = _full_league(tmp_path / "s")
    shutil.rmtree(tmp_path / "s" / "league.files")
    (tmp_path / "s" / "league.files").symlink_to(mine, target_is_directory=True)
    for readonly in (False, True):
        with pytest.raises(StoreError, match="did not make"):
            Store.open(db, readonly=readonly)
    assert _tree(mine) == {"thesis.tex": b"years of work"}


def test_a_database_moved_without_its_folder(tmp_path):
    db = _full_league(tmp_path)
    kept = _tree(tmp_path / "league.files")
    db.rename(tmp_path / "other.db")
    # readers find the folder by its stored name; a writer says how to fix it
    with Store.open(tmp_path / "other.db", readonly=True) as ro:
        assert ro.files == tmp_path / "league.files" and ro.verify() == 3
    with pytest.raises(StoreError, match="rename it to other.files"):
        Store.open(tmp_path / "other.db")
    # a copy of only the .db file never writes into the original's folder
    (tmp_path / "other.db").rename(db)
    shutil.copy(db, tmp_path / "copy.db")
    with pytest.raises(StoreError, match="rename it to copy.files"):
        Store.open(tmp_path / "copy.db")
    assert _tree(tmp_path / "league.files") == kept
    # moved elsewhere alone: the missing folder is named
    (tmp_path / "far").mkdir()
    (tmp_path / "copy.db").rename(tmp_path / "far" / "copy.db")
    with pytest.raises(StoreError, match=r"copy.files: missing.*move the league's .files folder"):
        Store.open(tmp_path / "far" / "copy.db")


def test_relative_and_symlinked_paths_name_one_store(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    monkeypatch.chdir(tmp_path / "d")
    store = Store.open("rel.db", create=True)
    assert store.path == tmp_path / "d" / "rel.db"
    pool = Pool(capacity=2)
    store.add_member(pool.add_learner("main", "mappo"))
    snap = pool.add_snapshot(1, 0)
    store.add_member(snap)
    rel = store.write_file("snapshots/x/w.bin", b"x")
    store.add_snapshot(snap.id, rel, 0)
    store.close()
    assert (tmp_path / "d" / "rel.files" / "snapshots" / "x" / "w.bin").read_bytes() == b"x"
    monkeypatch.chdir(tmp_path)
    with Store.open("d/rel.db") as again:  # from another directory: same files, none removed
        assert again.cleaned == [] and again.resolve(rel).read_bytes() == b"x"
    assert not (tmp_path / "d" / "d").exists()
    # a writer through a symlink locks the real store
    (tmp_path / "alias.db").symlink_to(tmp_path / "d" / "rel.db")
    with Store.open(tmp_path / "d" / "rel.db"):
        with pytest.raises(StoreError, match="another process is writing this league"):
            Store.open("alias.db")
    with Store.open("alias.db") as through:
        assert through.path == tmp_path / "d" / "rel.db"
        assert through.files == tmp_path / "d" / "rel.files"


def test_a_clean_close_leaves_only_the_database_and_its_folder(tmp_path):
    store, pool = _league(tmp_path)
    _snapshot(store, pool, 0)
    with Store.open(tmp_path / "league.db", readonly=True) as ro:
        assert ro.match_count() == 0
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["league.db", "league.files"]
    with Store.open(tmp_path / "league.db", readonly=True) as ro:
        assert len(ro.snapshots()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["league.db", "league.files"]


def test_lock_taken_on_a_file_its_holder_just_removed_is_retaken(tmp_path, monkeypatch):
    import fcntl

    from leagues import store as store_mod

    first = Store.open(tmp_path / "league.db", create=True)
    real_flock = fcntl.flock
    calls = []

    def flock_after_the_holder_left(fd, op):
        if not calls:  # this opener already holds an fd of the old lock file
            first.close()  # the holder unlinks it and lets go
        calls.append(os.fstat(fd).st_ino)
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock_after_the_holder_left)
    second = store_mod.Store.open(tmp_path / "league.db")
    monkeypatch.setattr(fcntl, "flock", real_flock)
    assert len(calls) == 2  # locked the removed file, saw it, retried on the new one
    lock = tmp_path / "league.db.lock"
    assert os.stat(lock).st_ino == calls[1]
    with pytest.raises(StoreError, match="another process is writing"):
        Store.open(tmp_path / "league.db")
    second.close()


_CREATE_ON_A_FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    from leagues.store import Store, StoreError
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    try:
        Store.open(sys.argv[1], create=True)
    except StoreError as e:
        print(e)
        sys.exit(3)
    except Exception as e:
        print(type(e).__name__, e)
        sys.exit(4)
    """
)


def test_a_creation_that_fails_leaves_nothing_that_is_refused_later(tmp_path):
    db = tmp_path / "league.db"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run(
        [sys.executable, "-c", _CREATE_ON_A_FULL_DISK, str(db)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 3, r.stdout + r.stderr
    assert r.stdout.startswith(f"{db}: cannot create the store") and r.stdout.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with Store.open(db, create=True) as store:
        assert store.match_count() == 0
    # an SQLite file without tables (what such a failure used to leave) is replaced
    db.unlink()
    with sqlite3.connect(db) as blank:
        blank.execute("PRAGMA user_version = 0")
    blank.close()
    with Store.open(db, create=True) as store:
        assert store.members() == [] and store.store_id


def _schema_1(db: Path) -> None:
    """Turn a schema-2 store into what schema 1 wrote: paths relative to the db's folder, no marker."""
    with sqlite3.connect(db) as c:
        prefix = f"{db.stem}.files/"
        c.execute("UPDATE snapshots SET path = ? || path", (prefix,))
        c.execute("UPDATE learner_state SET path = ? || path", (prefix,))
        c.execute("DROP TABLE files")
        c.execute("DELETE FROM meta WHERE key IN ('store_id', 'files')")
        c.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    c.close()
    (db.parent / f"{db.stem}.files" / ".arena-store").unlink()


def test_schema_1_stores_are_read_as_they_are_and_migrated_by_a_writer(tmp_path):
    db = _full_league(tmp_path)
    Store.open(db).close()  # drop the superseded checkpoint first
    _schema_1(db)
    kept = _tree(tmp_path / "league.files")
    with Store.open(db, readonly=True) as ro:
        assert ro.schema == 1 and ro.verify() == 3
        assert ro.snapshots()[0].path.startswith("league.files/")
    # the weights of a user's unrecorded file are never deleted by the migration
    (tmp_path / "league.files" / "mine.txt").write_bytes(b"mine")
    with Store.open(db) as store:
        assert store.schema == 2 and store.verify() == 3 and store.cleaned == []
        assert store.snapshots()[0].path.startswith("snapshots/")
        assert "checkpoints/main/000000000100/weights.safetensors" in store.manifest()
    assert _tree(tmp_path / "league.files") == kept | {
        "mine.txt": b"mine",
        ".arena-store": (tmp_path / "league.files" / ".arena-store").read_bytes(),
    }
    # a schema-1 store renamed with its folder migrates too (its rows name the old folder)
    db2 = _full_league(tmp_path / "x")
    _schema_1(db2)
    db2.rename(tmp_path / "x" / "y.db")
    (tmp_path / "x" / "league.files").rename(tmp_path / "x" / "y.files")
    with Store.open(tmp_path / "x" / "y.db") as store:
        assert store.verify() == 3 and store.files.name == "y.files"


def _read_only_run(folder: Path, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` (argv[1] = folder) with ``folder`` read-only: a read-only bind mount
    when root (root ignores permissions), else chmod."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        try:
            return subprocess.run(
                [sys.executable, "-c", code, str(folder)], env=env, capture_output=True, text=True
            )
        finally:
            for p, m in modes.items():
                p.chmod(m)
    mnt = folder.with_name(folder.name + "-ro")
    mnt.mkdir()
    script = (
        f"mount --bind {folder} {mnt} && mount -o remount,ro,bind {mnt} && "
        f'exec {sys.executable} -c "$0" {mnt}'
    )
    r = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, code], env=env, capture_output=True, text=True
    )
    if "mount:" in r.stderr or "unshare:" in r.stderr:
        pytest.skip(f"cannot make a read-only mount here: {r.stderr.strip()}")
    return r


_READ_ONLY = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from leagues.store import Store, StoreError
    db = Path(sys.argv[1]) / "league.db"
    with Store.open(db, readonly=True) as ro:
        print("read", ro.match_count(), ro.verify())
    try:
        Store.open(db)
    except StoreError as e:
        print("write", e)
    """
)


def test_a_healthy_store_on_a_read_only_folder_reads_and_says_why_it_cannot_write(tmp_path):
    store, pool = _league(tmp_path / "ro")
    _snapshot(store, pool, 0)
    store.add_match(0, [1, 2], [1.0, -1.0])
    store.close()
    r = _read_only_run(tmp_path / "ro", _READ_ONLY)
    assert r.returncode == 0, r.stderr
    read, write = r.stdout.splitlines()
    assert read == "read 1 1"
    assert "corrupt" not in write and "cannot write here" in write
    assert "read-only file system" in write or "no write permission" in write
    assert "copy the league folder somewhere writable" in write


def test_match_rows_in_bulk_are_the_rows_one_by_one(tmp_path):
    rows = [
        (10, [1, 2], [1.0, -1.0], 3, "train"),
        (10, [2, 2, 1], [0.5, 0.0, -0.5], None, "eval"),
        (20, [1, 2], [0.0, 0.0], 2**62, ""),
    ]
    for d in ("one", "bulk"):
        (tmp_path / d).mkdir()
    one, _ = _league(tmp_path / "one")
    ids_one = [one.add_match(*r) for r in rows]
    bulk, _ = _league(tmp_path / "bulk")
    bulk.add_match(*rows[0])  # ids continue after what is there
    ids_bulk = bulk.add_match_rows(rows[1:])
    assert [ids_one[0], *ids_bulk] == ids_one
    strip = lambda ms: [(m.id, m.step, m.seats, m.returns, m.seed, m.tag) for m in ms]  # noqa: E731
    assert strip(bulk.matches()) == strip(one.matches())
    for member in (1, 2):
        assert strip(bulk.matches(member=member)) == strip(one.matches(member=member))
    with pytest.raises(ValueError, match="one return per seat"):
        bulk.add_match_rows([(30, [1, 2], [1.0], None, "")])
    assert bulk.match_count() == 3  # the refused batch wrote nothing
    one.close()
    bulk.close()
