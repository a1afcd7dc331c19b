"""One SQLite file per league: config, members, snapshots, matches, ratings, learner state.

Durability and atomicity:

* The database path is resolved once (``Path.resolve``: relative paths and
  symlinks), so a ``--db`` given relative to any working directory, or through
  a symlink, names one store, one lock and one weights folder.
* WAL journal, one writer. A writer holds an advisory ``flock`` on
  ``<db>.lock`` (the resolved path) for its lifetime; readers
  (``readonly=True``, e.g. ``arena league status``) never block it nor are
  blocked. A clean close checkpoints the WAL, so ``-wal`` and ``-shm`` vanish,
  and unlinks the lock file while still holding it; an opener that took the
  lock on the unlinked file sees that the path now names another inode (or
  none) and retries.
* ``synchronous=FULL``: every commit fsyncs the WAL, so a committed match
  survives a power loss too, not only a killed process. The league commits
  once per batch (``with store.batch(): ...``, one round of matches).
* A new store is built in a temporary file beside the database and renamed
  into place, so a failed creation (a full disk) leaves nothing behind; an
  SQLite file with no tables at all (left by an older arena) is replaced.
* Readers of a store on a read-only file system (or without write permission)
  open it ``mode=ro``, or ``immutable=1`` when no write-ahead log is pending.

The weights folder (schema 2):

* Weights live in a folder beside the database, by default ``<db stem>.files``;
  its name is kept in ``meta.files``, and at its creation the store writes the
  marker file ``.arena-store`` in it holding the store's random id
  (``meta.store_id``). Paths in rows are relative to that folder (POSIX
  style), so a league folder can be moved, renamed (``x.db`` and ``x.files``
  together) or copied as a whole.
* Which folder: ``<db stem>.files`` beside the database when it exists. It
  must be a folder whose marker holds this store's id, else the store is
  refused (a file, someone else's folder, another store's). When it does not
  exist, a reader falls back on the stored name ``meta.files`` (its marker
  must match too), so ``mv x.db y.db`` still reads; a writer refuses and
  says to rename the folder, since the old database may still use it (a copy
  of only the ``.db`` file must never write into the original's folder).
  A store that has recorded no file yet creates ``<db stem>.files`` on its
  first write, and refuses to create it over anything already there.
* Weights files are written with ``agents.files.atomic_write`` (fsync and
  rename) *before* the row that refers to them is inserted, and
  :meth:`Store.add_snapshot` refuses a path that does not exist. Before
  writing, :meth:`Store.claim` commits the path to the ``files`` manifest. So
  a ``kill -9`` at any moment leaves, at worst, manifest paths no row refers
  to (and ``.<name>.XXXXXXXX.tmp`` leftovers of ``atomic_write`` beside
  them). A writer's open first runs :meth:`Store.verify` and only then deletes
  those: manifest files that no snapshot or learner-state row refers to, their
  temporary leftovers, and directories that become empty. Nothing else in the
  folder is ever deleted.
* A directory (a checkpoint written by ``agents.checkpoint.save_checkpoint``)
  is hashed as the sha256 of its manifest: one ``"<relative path>\\0<sha256 of
  the file>\\n"`` line per file, sorted, hidden files skipped.
* Schema 1 (paths relative to the database's directory, no marker) is
  migrated when a writer opens it: the files are verified, the marker written
  and the paths rewritten in one transaction. Readers read schema 1 as it is.

Schema version 2 (``meta.schema_version``)::

    meta(key PRIMARY KEY, value)     schema_version, created, store_id, files
    config(id = 1, toml, json, created)
    members(id PRIMARY KEY, name UNIQUE, kind, algorithm, role, parent, step, created, active, policy)
    snapshots(member PRIMARY KEY -> members, path, sha256, step, created)
    matches(id PRIMARY KEY, step, seats JSON, returns JSON, seed, tag, created)
    match_members(match -> matches, seat, member -> members)
    ratings(step, member, system, value; PRIMARY KEY (system, member, step))
    learner_state(learner PRIMARY KEY, step, path, sha256, rng JSON, counters JSON, created)
    evaluations(id PRIMARY KEY, step, kind, payload JSON, created)
    files(path PRIMARY KEY, created)  every file the store wrote (or is about to)
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from games.core import ArenaError
from leagues.pool import Member
from leagues.ratings import RatingRow

SCHEMA_VERSION = 2
MARKER = ".arena-store"
"""The weights folder's marker file: ``{"arena_store": "<the store's id>"}``."""
SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE config (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    toml TEXT NOT NULL,
    json TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('learner', 'snapshot', 'reference')),
    algorithm TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT '',
    parent INTEGER REFERENCES members(id),
    step INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    policy TEXT NOT NULL DEFAULT ''
);
CREATE TABLE snapshots (
    member INTEGER PRIMARY KEY REFERENCES members(id),
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    step INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE matches (
    id INTEGER PRIMARY KEY,
    step INTEGER NOT NULL,
    seats TEXT NOT NULL,
    returns TEXT NOT NULL,
    seed INTEGER,
    tag TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
CREATE TABLE match_members (
    match INTEGER NOT NULL REFERENCES matches(id),
    seat INTEGER NOT NULL,
    member INTEGER NOT NULL REFERENCES members(id),
    PRIMARY KEY (match, seat)
);
CREATE INDEX match_members_member ON match_members(member);
CREATE TABLE ratings (
    step INTEGER NOT NULL,
    member INTEGER NOT NULL REFERENCES members(id),
    system TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (system, member, step)
);
CREATE TABLE learner_state (
    learner TEXT PRIMARY KEY,
    step INTEGER NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    rng TEXT NOT NULL,
    counters TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE evaluations (
    id INTEGER PRIMARY KEY,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL
);
"""

_TABLES = (
    "meta",
    "config",
    "members",
    "snapshots",
    "matches",
    "match_members",
    "ratings",
    "learner_state",
    "evaluations",
    "files",
)

_FILES_TABLE = """
CREATE TABLE files (path TEXT PRIMARY KEY, created REAL NOT NULL);
"""


class StoreError(ArenaError):
    """A league store that cannot be used; one-line message naming the file and the fix."""


@dataclasses.dataclass(frozen=True)
class SnapshotRow:
    """Where a snapshot's weights are."""

    member: int
    """The snapshot's member id."""
    path: str
    """File or checkpoint directory, relative to the database's directory."""
    sha256: str
    """sha256 of the file (or of a directory's manifest)."""
    step: int
    """Learner env steps when frozen."""
    created: float
    """Unix time the row was written."""


@dataclasses.dataclass(frozen=True)
class MatchRow:
    """One finished match."""

    id: int
    """Match id, increasing in insertion order."""
    step: int
    """League clock (learner env steps) when played."""
    seats: tuple[int, ...]
    """Member id at each seat."""
    returns: tuple[float, ...]
    """Episode return of each seat."""
    seed: int | None
    """Seed the match was played with (reproduce it)."""
    tag: str
    """What it was for, e.g. 'eval' or 'train'."""
    created: float
    """Unix time the row was written."""


@dataclasses.dataclass(frozen=True)
class LearnerState:
    """The latest resumable state of one learner."""

    learner: str
    """Learner name."""
    step: int
    """Its env steps at the checkpoint."""
    path: str
    """Checkpoint file or directory, relative to the database's directory."""
    sha256: str
    """sha256 of the checkpoint (manifest hash for a directory)."""
    rng: dict
    """JSON random-generator states (e.g. ``np.random.Generator.bit_generator.state``)."""
    counters: dict
    """JSON counters (updates, last snapshot step, last reset step, ...)."""
    created: float
    """Unix time the row was written."""


@dataclasses.dataclass(frozen=True)
class EvaluationRow:
    """A JSON evaluation result (Nash gap, meta-game, ...)."""

    id: int
    step: int
    kind: str
    payload: Any
    created: float


def sha256_path(path: str | os.PathLike) -> str:
    """sha256 of a file, or of a directory's manifest (see the module docstring)."""
    from agents.files import sha256_file

    path = Path(path)
    if path.is_dir():
        lines = []
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            rel = f.relative_to(path)
            if any(part.startswith(".") for part in rel.parts):
                continue
            lines.append(f"{rel.as_posix()}\0{sha256_file(f)}\n")
        return hashlib.sha256("".join(lines).encode()).hexdigest()
    return sha256_file(path)


class Store:
    """A league's SQLite store; build with :meth:`Store.open`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, readonly: bool, lock_fd: int | None):
        self.path = path
        """The database, resolved (absolute, no symlinks)."""
        self.files = _default_files(path)
        """The store's own folder for weights (snapshots/ and checkpoints/ under it);
        row paths are relative to it. See the module docstring for how it is found."""
        self.readonly = readonly
        self.store_id = ""
        """Random id written at creation; the weights folder's marker holds it."""
        self.schema = SCHEMA_VERSION
        self._conn = conn
        self._lock_fd = lock_fd
        self._depth = 0
        self._files_ready = False
        self.cleaned: list[Path] = []
        """Files the store wrote and no row refers to, removed when this writer opened it."""

    @property
    def root(self) -> Path:
        """The folder row paths are relative to (the weights folder)."""
        return self.files

    # -- opening -------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike,
        create: bool = False,
        readonly: bool = False,
        clean: bool = True,
    ) -> Store:
        """Open (or with ``create=True`` create) the store at ``path``.

        A writer verifies every recorded file (:meth:`verify`) and then, unless
        ``clean=False`` (the caller has more to check first and calls
        :meth:`remove_orphans` itself), removes the files it wrote that no row
        refers to (:attr:`cleaned`).

        Raises:
            StoreError: no such file, not SQLite, truncated or corrupt, not an
                arena store, a newer schema, another writer holds it, not
                writable, a weights folder that is not this store's, or a
                recorded file that is missing or changed.
        """
        given = Path(path)
        if create and readonly:
            raise StoreError(
                f"{given}: cannot create a store read-only; open it with readonly=False"
            )
        path = given.expanduser().resolve()
        if path.is_dir():
            raise StoreError(f"{path}: a directory, not a league store; pass the league's .db file")
        if not path.exists() and not create:
            raise StoreError(
                f"{path}: no league store here; check the path or create it by running the league"
            )
        lock_fd = None
        if not readonly:
            if not path.parent.exists():
                try:
                    path.parent.mkdir(parents=True)
                except OSError as e:
                    raise StoreError(
                        f"{path.parent}: cannot create the league folder ({e.strerror}); pass a --db in a writable folder"
                    ) from None
            _check_writable(path)
            lock_fd = _lock(path)
        try:
            store = cls._open_locked(path, create, readonly, lock_fd, clean)
        except BaseException:
            if lock_fd is not None:
                _unlock(path, lock_fd)
            raise
        return store

    @classmethod
    def _open_locked(
        cls, path: Path, create: bool, readonly: bool, lock_fd: int | None, clean: bool
    ) -> Store:
        exists = path.exists()
        if exists:
            _check_header(path)
            if path.stat().st_size == 0 and not create:
                raise StoreError(
                    f"{path}: an empty file, not a league store; delete it or pass the league's .db file"
                )
        if create and (not exists or path.stat().st_size == 0 or _blank_sqlite(path)):
            _check_new_files_folder(_default_files(path))
            _create(path)
        store = None
        try:
            try:
                store = cls(path, _connect(path, readonly), readonly, lock_fd)
                store._init()
            except sqlite3.DatabaseError as e:
                raise _sqlite_error(path, e) from None
            if not readonly:
                store.verify()  # before anything is deleted
                if clean:
                    store.cleaned = store.remove_orphans()
        except BaseException:
            if store is not None:
                store._conn.close()
                store._conn = None
            raise
        return store

    def _init(self) -> None:
        c = self._conn
        if not self.readonly:
            mode = c.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(
                    f"{self.path}: SQLite refused WAL mode (got {mode}); put the league on a local disk"
                )
            c.execute("PRAGMA synchronous=FULL")
        c.execute("PRAGMA foreign_keys=ON")
        check = c.execute("PRAGMA quick_check").fetchall()
        if [r[0] for r in check] != ["ok"]:
            raise StoreError(
                f"{self.path}: corrupt SQLite file (quick_check: {check[0][0]}); restore it from a backup or start a new league at another path"
            )
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in _TABLES if t not in tables and t != "files"]
        if missing:
            raise StoreError(
                f"{self.path}: an SQLite file but not an arena league store (no table {missing[0]!r}); pass the league's .db file"
            )
        meta = dict(c.execute("SELECT key, value FROM meta").fetchall())
        version = int(meta.get("schema_version", 0))
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer arena (schema {version}; this one reads {SCHEMA_VERSION}); upgrade arena"
            )
        if version < 1:
            raise StoreError(
                f"{self.path}: schema {version} is too old (this arena reads {SCHEMA_VERSION}); start a new league"
            )
        if version == 1:
            if self.readonly:
                # Schema 1: paths relative to the database's directory, read as they are.
                self.schema, self.files = 1, self.path.parent
                return
            meta = self._migrate_v1()
        self.store_id = meta["store_id"]
        self.files = self._find_files(meta["files"])
        if not self.readonly and self.files.name != meta["files"]:
            with self.batch():
                c.execute("UPDATE meta SET value = ? WHERE key = 'files'", (self.files.name,))

    def _find_files(self, stored_name: str) -> Path:
        """The weights folder (the rule is in the module docstring)."""
        own = _default_files(self.path)
        if _marker_state(own, self.store_id) == "ours":
            self._files_ready = True
            return own
        if os.path.lexists(own):
            raise _foreign_folder(own, self.path, _marker_state(own, self.store_id))
        stored = self.path.parent / stored_name
        if stored != own and _marker_state(stored, self.store_id) == "ours":
            if self.readonly:
                self._files_ready = True
                return stored
            raise StoreError(
                f"{self.path}: its weights folder is {stored} (the name it had before); rename it to {own.name} "
                f"(or copy it there if {stored.with_suffix('.db').name} still uses it)"
            )
        recorded = self._q("SELECT COUNT(*) FROM files")[0][0] if self.schema >= 2 else 0
        if recorded and not self.readonly:
            raise StoreError(
                f"{own}: missing; it holds this league's weights ({recorded} files); move the league's .files folder beside {self.path.name} as {own.name}"
            )
        return own

    def _migrate_v1(self) -> dict:
        """Schema 1 -> 2: verify the files where schema 1 put them, write the marker,
        rewrite the paths relative to the weights folder, record them in ``files``."""
        own = _default_files(self.path)
        rows = [
            ("snapshots", "member", r[0], r[1], r[2])
            for r in self._q("SELECT member, path, sha256 FROM snapshots")
        ]
        rows += [
            ("learner_state", "learner", r[0], r[1], r[2])
            for r in self._q("SELECT learner, path, sha256 FROM learner_state")
        ]
        heads = {row[3].split("/", 1)[0] for row in rows}
        if any("/" not in row[3] for row in rows) or len(heads) > 1:
            raise StoreError(
                f"{self.path}: a schema-1 store whose weights are not all in one <name>.files folder; "
                f"start a new league, or open it with the arena that wrote it"
            )
        old = heads.pop() if heads else own.name
        if rows and not os.path.lexists(own):
            raise StoreError(
                f"{self.path}: a schema-1 store whose weights are in {self.path.parent / old}; "
                f"rename that folder to {own.name} (or the database back to {Path(old).stem}.db) and run again"
            )
        if not rows and os.path.lexists(own) and _read_marker(own) is None:
            raise _foreign_folder(own, self.path, _marker_state(own, ""))
        manifest = []
        for table, _, ident, p, sha in rows:
            rel = p.split("/", 1)[1]
            full = own / rel
            if not full.exists() or sha256_path(full) != sha:
                raise StoreError(
                    f"{full}: missing or changed ({table} row {ident}); restore it, then open the league again"
                )
            if full.is_dir():
                manifest += [
                    f"{rel}/{f.relative_to(full).as_posix()}"
                    for f in sorted(full.rglob("*"))
                    if f.is_file()
                ]
            else:
                manifest.append(rel)
        # An interrupted migration already wrote the marker: keep its id.
        store_id = (_read_marker(own) if os.path.lexists(own) else None) or _new_id()
        if rows:
            _write_marker(own, store_id)
        c = self._conn
        now = time.time()
        with self.batch():
            c.execute(_FILES_TABLE)
            for table, key, ident, p, _ in rows:
                c.execute(
                    f"UPDATE {table} SET path = ? WHERE {key} = ?", (p.split("/", 1)[1], ident)
                )
            c.executemany("INSERT OR IGNORE INTO files VALUES (?, ?)", [(m, now) for m in manifest])
            c.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [
                    ("store_id", store_id),
                    ("files", own.name),
                    ("schema_version", str(SCHEMA_VERSION)),
                ],
            )
        return {"store_id": store_id, "files": own.name}

    def close(self) -> None:
        """Close; a writer checkpoints the WAL (``-wal``/``-shm`` go) and removes its lock file."""
        if self._conn is not None:
            if not self.readonly:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
            self._conn = None
        if self._lock_fd is not None:
            _unlock(self.path, self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transactions --------------------------------------------------------

    @contextlib.contextmanager
    def batch(self) -> Iterator[Store]:
        """One transaction: everything inside commits together or not at all.

        Nested batches join the outermost one. An exception rolls the whole
        outermost batch back and propagates.
        """
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only; open it with readonly=False to write")
        if self._depth == 0:
            self._conn.execute("BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._conn.execute("ROLLBACK")
            raise
        self._depth -= 1
        if self._depth == 0:
            self._conn.execute("COMMIT")

    def _q(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        return self._conn.execute(sql, args).fetchall()

    # -- paths ---------------------------------------------------------------

    def resolve(self, relpath: str) -> Path:
        """Absolute path of a path stored in a row."""
        return self.files / relpath

    def relative(self, path: str | os.PathLike) -> str:
        """``path`` (absolute, or relative to :attr:`files`) as stored in rows."""
        p = Path(path)
        full = p if p.is_absolute() else self.files / p
        try:
            rel = full.resolve().relative_to(self.files.resolve()).as_posix()
        except ValueError:
            rel = ""
        if rel in ("", "."):
            raise StoreError(
                f"{path}: outside the league's weights folder {self.files}; keep weights under it"
            )
        return rel

    def snapshot_dir(self, member: Member) -> str:
        """Where a snapshot's checkpoint should go (relative path; nothing is created)."""
        return f"snapshots/{member.id:06d}-{_safe(member.name)}"

    def checkpoint_dir(self, learner: str, step: int) -> str:
        """Where a learner checkpoint at ``step`` should go (relative path; nothing is created)."""
        return f"checkpoints/{_safe(learner)}/{int(step):012d}"

    def claim(self, *relpaths: str) -> list[Path]:
        """Record in the ``files`` manifest that the store is about to write these files.

        Call before writing them and outside a batch, so the claim is committed
        first: a claimed file no row refers to is what a later writer's open
        may delete; nothing unclaimed ever is. Creates the weights folder (with
        its marker) on the first claim. Returns the absolute paths.
        """
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only; open it with readonly=False to write")
        rels = [self.relative(r) for r in relpaths]
        self._prepare_files()
        now = time.time()
        with self.batch():
            self._conn.executemany(
                "INSERT OR IGNORE INTO files VALUES (?, ?)", [(r, now) for r in rels]
            )
        return [self.resolve(r) for r in rels]

    def _prepare_files(self) -> None:
        if self._files_ready:
            return
        state = _marker_state(self.files, self.store_id)
        if state != "ours":
            if os.path.lexists(self.files):
                raise _foreign_folder(self.files, self.path, state)
            try:
                self.files.mkdir(parents=True)
            except FileExistsError:
                raise _foreign_folder(self.files, self.path, "unmarked") from None
            _write_marker(self.files, self.store_id)
        self._files_ready = True

    def write_file(self, relpath: str, data: bytes) -> str:
        """Claim and write ``data`` atomically (``agents.files.atomic_write``); returns the relative path.

        Call before the row that refers to the file (e.g. :meth:`add_snapshot`).
        """
        from agents.files import atomic_write

        rel = self.relative(relpath)
        self.claim(rel)
        atomic_write(self.resolve(rel), data)
        return rel

    # -- config --------------------------------------------------------------

    def set_config(self, toml_text: str, parsed: Mapping[str, Any]) -> None:
        """Keep the league's TOML text and its parsed form (``leagues.config.config_to_dict``)."""
        with self.batch():
            self._conn.execute(
                "INSERT OR REPLACE INTO config VALUES (1, ?, ?, ?)",
                (toml_text, json.dumps(parsed, sort_keys=True), time.time()),
            )

    def config(self) -> tuple[str, dict] | None:
        """``(toml text, parsed dict)`` or None before :meth:`set_config`."""
        rows = self._q("SELECT toml, json FROM config WHERE id = 1")
        return (rows[0][0], json.loads(rows[0][1])) if rows else None

    # -- members -------------------------------------------------------------

    def add_member(self, m: Member) -> None:
        """Insert a member (ids come from the :class:`leagues.pool.Pool`)."""
        with self.batch():
            self._conn.execute(
                "INSERT INTO members VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    m.id,
                    m.name,
                    m.kind,
                    m.algorithm,
                    m.role,
                    m.parent,
                    m.step,
                    m.created,
                    int(m.active),
                    m.policy,
                ),
            )

    def set_active(self, member_id: int, active: bool) -> None:
        """Mark a member active or evicted."""
        with self.batch():
            self._conn.execute(
                "UPDATE members SET active = ? WHERE id = ?", (int(active), member_id)
            )

    def members(self, active: bool | None = None, kind: str | None = None) -> list[Member]:
        """Members by id (optionally only active / evicted ones, or one kind)."""
        sql, args = "SELECT * FROM members WHERE 1", []
        if active is not None:
            sql += " AND active = ?"
            args.append(int(active))
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        return [
            Member(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), r[9])
            for r in self._q(sql + " ORDER BY id", args)
        ]

    # -- snapshots -----------------------------------------------------------

    def add_snapshot(
        self,
        member_id: int,
        path: str | os.PathLike,
        step: int,
        sha256: str | None = None,
        created: float | None = None,
    ) -> SnapshotRow:
        """Record where a snapshot's weights are; the file or directory must exist already.

        Args:
            path: absolute, or relative to the database's directory; inside it.
            sha256: computed with :func:`sha256_path` when None.
        """
        rel = self.relative(path)
        full = self.resolve(rel)
        if not full.exists():
            raise StoreError(
                f"{full}: snapshot weights not found; write the file before adding its row"
            )
        row = SnapshotRow(
            int(member_id), rel, sha256 or sha256_path(full), int(step), _now(created)
        )
        with self.batch():
            self._conn.execute(
                "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?)", dataclasses.astuple(row)
            )
        return row

    def snapshots(self) -> list[SnapshotRow]:
        return [SnapshotRow(*r) for r in self._q("SELECT * FROM snapshots ORDER BY member")]

    def snapshot(self, member_id: int) -> SnapshotRow | None:
        rows = self._q("SELECT * FROM snapshots WHERE member = ?", (member_id,))
        return SnapshotRow(*rows[0]) if rows else None

    # -- matches -------------------------------------------------------------

    def add_match_rows(self, rows: Sequence[tuple], created: float | None = None) -> list[int]:
        """Record finished matches ``(step, seats, returns, seed, tag)`` in order, in one
        transaction; returns their ids (``seed`` must fit in 63 bits). Two
        ``executemany`` calls, not a statement per match and seat."""
        when = _now(created)
        checked = []
        for step, seats, returns, seed, tag in rows:
            seats = [int(x) for x in seats]
            returns = [float(r) for r in returns]
            if len(seats) != len(returns):
                raise ValueError(
                    f"{len(seats)} seats but {len(returns)} returns; give one return per seat"
                )
            seed = None if seed is None else int(seed)
            checked.append((int(step), seats, returns, seed, tag))
        if not checked:
            return []
        with self.batch():
            (last,) = self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM matches").fetchone()
            ids = [
                int(last) + 1 + k for k in range(len(checked))
            ]  # INTEGER PRIMARY KEY: next rowids
            self._conn.executemany(
                "INSERT INTO matches (id, step, seats, returns, seed, tag, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (mid, step, json.dumps(seats), json.dumps(returns), seed, tag, when)
                    for mid, (step, seats, returns, seed, tag) in zip(ids, checked)
                ],
            )
            self._conn.executemany(
                "INSERT INTO match_members VALUES (?, ?, ?)",
                [(mid, j, x) for mid, row in zip(ids, checked) for j, x in enumerate(row[1])],
            )
        return ids

    def add_match(
        self,
        step: int,
        seats: Sequence[int],
        returns: Sequence[float],
        seed: int | None = None,
        tag: str = "",
        created: float | None = None,
    ) -> int:
        """Record one finished match; returns its id (``seed`` must fit in 63 bits)."""
        return self.add_match_rows([(step, seats, returns, seed, tag)], created)[0]

    def add_matches(
        self,
        matches: Iterable[tuple[int, Sequence[int], Sequence[float], int | None]],
        tag: str = "",
    ) -> list[int]:
        """Record ``(step, seats, returns, seed)`` rows in one transaction."""
        return self.add_match_rows(
            [(st, seats, rets, seed, tag) for st, seats, rets, seed in matches]
        )

    def matches(
        self, since: int = 0, member: int | None = None, tag: str | None = None
    ) -> list[MatchRow]:
        """Matches with id > ``since`` in id order (optionally of one member / one tag)."""
        sql, args = "SELECT * FROM matches WHERE id > ?", [int(since)]
        if member is not None:
            sql += " AND id IN (SELECT match FROM match_members WHERE member = ?)"
            args.append(int(member))
        if tag is not None:
            sql += " AND tag = ?"
            args.append(tag)
        return [
            MatchRow(r[0], r[1], tuple(json.loads(r[2])), tuple(json.loads(r[3])), r[4], r[5], r[6])
            for r in self._q(sql + " ORDER BY id", args)
        ]

    def match_count(self) -> int:
        return int(self._q("SELECT COUNT(*) FROM matches")[0][0])

    # -- ratings -------------------------------------------------------------

    def add_ratings(self, step: int, system: str, ratings: Mapping[int, float]) -> None:
        """One rating per member at ``step`` (replaces an earlier value of the same step)."""
        self.add_rating_rows(
            RatingRow(int(step), int(m), system, float(v)) for m, v in ratings.items()
        )

    def add_rating_rows(self, rows: Iterable[RatingRow]) -> None:
        with self.batch():
            self._conn.executemany(
                "INSERT OR REPLACE INTO ratings VALUES (?, ?, ?, ?)",
                [(r.step, r.member, r.system, r.value) for r in rows],
            )

    def ratings(self, system: str | None = None, member: int | None = None) -> list[RatingRow]:
        """Ratings history in (step, member) order; feed it to ``RatingsHistory``."""
        sql, args = "SELECT step, member, system, value FROM ratings WHERE 1", []
        if system is not None:
            sql += " AND system = ?"
            args.append(system)
        if member is not None:
            sql += " AND member = ?"
            args.append(int(member))
        return [RatingRow(*r) for r in self._q(sql + " ORDER BY step, member, system", args)]

    def latest_ratings(self, system: str) -> dict[int, float]:
        """Each member's rating at its latest step in ``system``."""
        rows = self._q(
            "SELECT r.member, r.value FROM ratings r JOIN (SELECT member, MAX(step) AS s FROM ratings "
            "WHERE system = ? GROUP BY member) m ON r.member = m.member AND r.step = m.s WHERE r.system = ?",
            (system, system),
        )
        return {int(m): float(v) for m, v in rows}

    # -- learner state -------------------------------------------------------

    def save_learner_state(
        self,
        learner: str,
        step: int,
        path: str | os.PathLike,
        rng: Mapping[str, Any],
        counters: Mapping[str, Any],
        sha256: str | None = None,
        created: float | None = None,
    ) -> LearnerState:
        """Record a learner's latest checkpoint (already written) with its RNG state and counters.

        Replaces the learner's previous row; its old checkpoint becomes an
        orphan that the next writer open removes (when under ``self.files``).
        """
        rel = self.relative(path)
        full = self.resolve(rel)
        if not full.exists():
            raise StoreError(
                f"{full}: learner checkpoint not found; write it before saving the learner state"
            )
        st = LearnerState(
            learner,
            int(step),
            rel,
            sha256 or sha256_path(full),
            dict(rng),
            dict(counters),
            _now(created),
        )
        with self.batch():
            self._conn.execute(
                "INSERT OR REPLACE INTO learner_state VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    st.learner,
                    st.step,
                    st.path,
                    st.sha256,
                    json.dumps(st.rng),
                    json.dumps(st.counters),
                    st.created,
                ),
            )
        return st

    def learner_state(self, learner: str) -> LearnerState | None:
        rows = self._q("SELECT * FROM learner_state WHERE learner = ?", (learner,))
        return _learner_state(rows[0]) if rows else None

    def learner_states(self) -> dict[str, LearnerState]:
        return {
            r[0]: _learner_state(r) for r in self._q("SELECT * FROM learner_state ORDER BY learner")
        }

    # -- evaluations ---------------------------------------------------------

    def add_evaluation(
        self, step: int, kind: str, payload: Any, created: float | None = None
    ) -> int:
        """Record a JSON-able evaluation result (e.g. kind 'nash_gap'); returns its id."""
        with self.batch():
            cur = self._conn.execute(
                "INSERT INTO evaluations (step, kind, payload, created) VALUES (?, ?, ?, ?)",
                (int(step), kind, json.dumps(payload), _now(created)),
            )
        return int(cur.lastrowid)

    def evaluations(self, kind: str | None = None) -> list[EvaluationRow]:
        sql, args = "SELECT * FROM evaluations", []
        if kind is not None:
            sql += " WHERE kind = ?"
            args.append(kind)
        return [
            EvaluationRow(r[0], r[1], r[2], json.loads(r[3]), r[4])
            for r in self._q(sql + " ORDER BY id", args)
        ]

    # -- integrity -----------------------------------------------------------

    def verify(self) -> int:
        """Check that every snapshot and learner checkpoint exists with its sha256.

        Returns:
            The number of paths checked.

        Raises:
            StoreError: naming the first missing or mismatching file.
        """
        items = [(f"snapshot of member {s.member}", s.path, s.sha256) for s in self.snapshots()]
        items += [
            (f"checkpoint of learner {s.learner!r}", s.path, s.sha256)
            for s in self.learner_states().values()
        ]
        if items and self.schema >= 2 and not self.files.is_dir():
            raise StoreError(
                f"{self.files}: missing, the weights folder of {self.path.name} ({len(items)} files recorded); "
                f"move the league's .files folder beside it as {_default_files(self.path).name}"
            )
        for what, rel, sha in items:
            full = self.resolve(rel)
            if not full.exists():
                raise StoreError(
                    f"{full}: missing ({what}); restore the file or start a new league"
                )
            got = sha256_path(full)
            if got != sha:
                raise StoreError(
                    f"{full}: sha256 {got[:12]}... does not match the store's {sha[:12]}... ({what}); the file changed after it was saved, restore it"
                )
        return len(items)

    def referenced(self) -> set[str]:
        """Relative paths that rows refer to."""
        refs = {r[0] for r in self._q("SELECT path FROM snapshots")}
        return refs | {r[0] for r in self._q("SELECT path FROM learner_state")}

    def manifest(self) -> list[str]:
        """Relative paths of every file the store claimed (:meth:`claim`)."""
        if self.schema < 2:
            return []
        return [r[0] for r in self._q("SELECT path FROM files ORDER BY path")]

    def orphans(self) -> list[Path]:
        """Files the store claimed that no row refers to (a row may name the file
        or a directory above it), and ``atomic_write`` leftovers beside claimed files."""
        refs = self.referenced()
        out: list[Path] = []
        dirs: dict[Path, set[str]] = {}
        for rel in self.manifest():
            parts = rel.split("/")
            full = self.resolve(rel)
            dirs.setdefault(full.parent, set()).add(parts[-1])
            if any("/".join(parts[:k]) in refs for k in range(1, len(parts) + 1)):
                continue
            if full.is_file() and not full.is_symlink():
                out.append(full)
        for d, names in sorted(dirs.items()):
            if d.is_dir() and not d.is_symlink():
                out += [
                    p
                    for p in sorted(d.iterdir())
                    if _is_tmp_of(p.name, names) and p.is_file() and not p.is_symlink()
                ]
        return out

    def remove_orphans(self) -> list[Path]:
        """Delete :meth:`orphans` (and directories they leave empty); returns what was removed.

        :meth:`Store.open` calls it for a writer only after :meth:`verify` passed.
        """
        gone = self.orphans()
        top = self.files.absolute()
        for p in gone:
            p.unlink(missing_ok=True)
        dropped = []
        for rel in self.manifest():
            full = self.resolve(rel)
            if full in gone or not os.path.lexists(full):
                dropped.append(rel)
        if dropped:
            with self.batch():
                self._conn.executemany("DELETE FROM files WHERE path = ?", [(r,) for r in dropped])
        for p in gone:
            d = p.parent
            while d != top and top in d.parents:
                try:
                    d.rmdir()  # only when empty
                except OSError:
                    break
                d = d.parent
        return gone


def _now(created: float | None) -> float:
    return time.time() if created is None else float(created)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.@" else "_" for ch in name)


def _learner_state(r: tuple) -> LearnerState:
    return LearnerState(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), r[6])


def _default_files(db: Path) -> Path:
    return db.parent / f"{db.stem}.files"


def _new_id() -> str:
    return secrets.token_hex(16)


def _read_marker(folder: Path) -> str | None:
    """The store id in ``folder``'s marker, or None (no folder, no marker, unreadable)."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    ident = data.get("arena_store") if isinstance(data, dict) else None
    return ident if isinstance(ident, str) else None


def _write_marker(folder: Path, store_id: str) -> None:
    from agents.files import atomic_write

    atomic_write(folder / MARKER, json.dumps({"arena_store": store_id}).encode() + b"\n")


def _marker_state(folder: Path, store_id: str) -> str:
    """'absent', 'file' (not a folder), 'unmarked', 'other' (another store's) or 'ours'."""
    if not os.path.lexists(folder):
        return "absent"
    if not folder.is_dir():
        return "file"
    ident = _read_marker(folder)
    if ident is None:
        return "unmarked"
    return "ours" if ident == store_id else "other"


def _foreign_folder(folder: Path, db: Path, state: str) -> StoreError:
    if state in ("file", "absent"):
        return StoreError(
            f"{folder}: not a folder, but {db.name} keeps its weights in a folder of that name; move it away or pass another --db"
        )
    if state == "other":
        return StoreError(
            f"{folder}: the weights folder of another league store (its {MARKER} does not match {db.name}); move it away or pass another --db"
        )
    return StoreError(
        f"{folder}: a folder this store did not make (no {MARKER} marker); move it away or pass another --db (arena never writes into it)"
    )


def _check_new_files_folder(folder: Path) -> None:
    """A new store makes its own weights folder: refuse anything already there."""
    state = _marker_state(folder, "")
    if state != "absent":
        raise _foreign_folder(folder, folder.with_suffix(".db"), state)


_TMP = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")


def _is_tmp_of(name: str, names: set[str]) -> bool:
    """Is ``name`` a leftover of ``atomic_write`` (``.<name>.XXXXXXXX.tmp``) for one of ``names``?"""
    m = _TMP.fullmatch(name)
    return m is not None and m["name"] in names


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create(path: Path) -> None:
    """Build a new store in a temporary file beside ``path`` and rename it into place."""
    # Leftovers of a creation that was killed (we hold the writer's lock: none is running).
    ours = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{8}}\.tmp(-journal)?")
    for p in path.parent.iterdir():
        if ours.fullmatch(p.name) and p.is_file() and not p.is_symlink():
            p.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("BEGIN")
            for stmt in (_SCHEMA + _FILES_TABLE).split(";"):
                if stmt.strip():
                    conn.execute(stmt)
            conn.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("created", repr(time.time())),
                    ("store_id", _new_id()),
                    ("files", _default_files(path).name),
                ],
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        for suffix in ("-wal", "-shm"):  # of a blank file being replaced; never a store's
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except (sqlite3.Error, OSError) as e:
        for p in (tmp, Path(f"{tmp}-journal")):
            with contextlib.suppress(OSError):
                p.unlink(missing_ok=True)
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise StoreError(
            f"{path}: cannot create the store ({reason}); free disk space or pass a --db elsewhere, then run again"
        ) from None


def _blank_sqlite(path: Path) -> bool:
    """An SQLite file without a single table (a creation that failed in an older arena)."""
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def _read_only_reason(path: Path) -> str:
    with contextlib.suppress(OSError):
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "a read-only file system"
    return "no write permission"


def _check_writable(path: Path) -> None:
    """A writer needs to write the database, its folder (lock, WAL) and the weights."""
    for p in (path, path.parent):
        if p.exists() and not os.access(p, os.W_OK):
            raise StoreError(
                f"{path}: cannot write here ({_read_only_reason(p)}: {p}); readers still work "
                f"(arena league status/ratings/eval, arena report), or copy the league folder somewhere writable to resume it"
            )


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if not readonly:
        return sqlite3.connect(path, isolation_level=None)
    uri = path.as_uri()
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        # read-write but query-only: the last connection to close checkpoints
        # the WAL and removes -wal/-shm (a mode=ro one leaves them behind)
        conn = sqlite3.connect(f"{uri}?mode=rw", uri=True, isolation_level=None)
        conn.execute("PRAGMA query_only=ON")
        return conn
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    # A read-only WAL database without its -shm: SQLite reads it only as immutable,
    # which is right when no write-ahead log is pending.
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(
            f"{path}: read-only ({_read_only_reason(path.parent)}) with commits still in {wal.name}, "
            f"which SQLite reads only with write access; copy the league folder somewhere writable and read the copy"
        )
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)


def _sqlite_error(path: Path, e: sqlite3.DatabaseError) -> StoreError:
    msg = str(e)
    if "readonly" in msg or "read-only" in msg:
        return StoreError(
            f"{path}: cannot write here ({_read_only_reason(path.parent)}); open it read-only, or copy the league folder somewhere writable"
        )
    if "unable to open" in msg:
        return StoreError(
            f"{path}: SQLite cannot open it ({msg}); check the permissions of the file and of its folder"
        )
    if "disk is full" in msg:
        return StoreError(f"{path}: the disk is full; free some space and run again")
    if "locked" in msg or "busy" in msg:
        return StoreError(
            f"{path}: another process holds the database locked ({msg}); wait for it or stop it"
        )
    return StoreError(
        f"{path}: corrupt or truncated SQLite file ({msg}); restore it from a backup or start a new league at another path"
    )


def _check_header(path: Path) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as e:
        raise StoreError(
            f"{path}: cannot read ({e.strerror}); check the path and its permissions"
        ) from None
    if head and head != SQLITE_MAGIC:
        raise StoreError(
            f"{path}: not an SQLite file; pass the league's .db file (or restore it from a backup)"
        )
    if head and path.stat().st_size < 100:
        raise StoreError(
            f"{path}: truncated SQLite file ({path.stat().st_size} bytes); restore it from a backup or start a new league at another path"
        )


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _lock(path: Path) -> int:
    """Take the single-writer lock ``<db>.lock`` (advisory ``flock``, released on close or exit).

    The lock file is unlinked on a clean close (:func:`_unlock`); an opener
    that locked the file just before it was unlinked finds that the path now
    names another inode (or none) and tries again on the new file.
    """
    import fcntl

    lock_path = _lock_path(path)
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise StoreError(
                f"{lock_path}: cannot create the writer's lock ({e.strerror}); "
                f"open the store read-only, or copy the league folder somewhere writable"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(
                f"{path}: another process is writing this league; stop it first, or open the store read-only"
            ) from None
        try:
            st = os.stat(lock_path)
        except FileNotFoundError:
            st = None
        mine = os.fstat(fd)
        if st is not None and (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino):
            return fd
        os.close(fd)  # locked a lock file that its last holder removed: try the new one


def _unlock(path: Path, fd: int) -> None:
    """Remove the lock file while still holding it, then release it."""
    lock_path = _lock_path(path)
    with contextlib.suppress(OSError):
        st, mine = os.stat(lock_path), os.fstat(fd)
        if (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino):
            lock_path.unlink()
    os.close(fd)
