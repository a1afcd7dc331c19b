"""One SQLite file per league: config, members, snapshots, matches, ratings, learner state.

Durability and atomicity:

* WAL journal, one writer. A writer holds an advisory lock on ``<db>.lock``
  for its lifetime; readers (``readonly=True``, e.g. ``arena league status``)
  never block it nor are blocked.
* ``synchronous=FULL``: every commit fsyncs the WAL, so a committed match
  survives a power loss too, not only a killed process (``NORMAL`` in WAL mode
  survives ``kill -9`` but may roll back the last commits on an OS crash). The
  league commits once per batch (``with store.batch(): ...``, one round of
  matches), so the extra fsync per commit costs nothing measurable.
* Weights files are written with ``agents.checkpoint.atomic_write`` (fsync and
  rename) *before* the row that refers to them is inserted, and
  :meth:`Store.add_snapshot` refuses a path that does not exist; so a
  ``kill -9`` at any moment leaves, at worst, files no row refers to. Those
  orphans (and ``.tmp`` leftovers) inside the store's own folder
  ``<db stem>.files/`` are removed when a writer opens the store.
* Paths in rows are relative to the database's directory (POSIX style), so a
  league folder can be moved. A directory (a checkpoint written by
  ``agents.checkpoint.save_checkpoint``) is hashed as the sha256 of its
  manifest: one ``"<relative path>\\0<sha256 of the file>\\n"`` line per file,
  sorted, hidden files skipped.

Schema version 1 (``meta.schema_version``)::

    meta(key PRIMARY KEY, value)
    config(id = 1, toml, json, created)
    members(id PRIMARY KEY, name UNIQUE, kind, algorithm, role, parent, step, created, active, policy)
    snapshots(member PRIMARY KEY -> members, path, sha256, step, created)
    matches(id PRIMARY KEY, step, seats JSON, returns JSON, seed, tag, created)
    match_members(match -> matches, seat, member -> members)
    ratings(step, member, system, value; PRIMARY KEY (system, member, step))
    learner_state(learner PRIMARY KEY, step, path, sha256, rng JSON, counters JSON, created)
    evaluations(id PRIMARY KEY, step, kind, payload JSON, created)
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from games.core import ArenaError
from leagues.pool import Member
from leagues.ratings import RatingRow

SCHEMA_VERSION = 1
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
)


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
        self.root = path.parent.absolute()
        self.files = path.parent / f"{path.stem}.files"
        """The store's own folder for weights: snapshots/ and checkpoints/ under it."""
        self.readonly = readonly
        self._conn = conn
        self._lock_fd = lock_fd
        self._depth = 0
        self.cleaned: list[Path] = []
        """Orphan files removed when this writer opened the store."""

    # -- opening -------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike, create: bool = False, readonly: bool = False) -> Store:
        """Open (or with ``create=True`` create) the store at ``path``.

        Raises:
            StoreError: no such file, not SQLite, truncated or corrupt, not an
                arena store, a newer schema, or another writer holds it.
        """
        path = Path(path)
        if create and readonly:
            raise StoreError(
                f"{path}: cannot create a store read-only; open it with readonly=False"
            )
        exists = path.exists()
        if not exists and not create:
            raise StoreError(
                f"{path}: no league store here; check the path or create it by running the league"
            )
        if exists:
            _check_header(path)
            if path.stat().st_size == 0 and not create:
                raise StoreError(
                    f"{path}: an empty file, not a league store; delete it or pass the league's .db file"
                )
        elif not path.parent.exists():
            path.parent.mkdir(parents=True)
        lock_fd = None if readonly else _lock(path)
        try:
            if readonly:
                conn = sqlite3.connect(
                    f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
                )
            else:
                conn = sqlite3.connect(path, isolation_level=None)
            store = cls(path, conn, readonly, lock_fd)
            try:
                store._init(new=not exists or path.stat().st_size == 0)
            except sqlite3.DatabaseError as e:
                conn.close()
                raise StoreError(
                    f"{path}: corrupt or truncated SQLite file ({e}); restore it from a backup or start a new league at another path"
                ) from None
            except BaseException:
                conn.close()
                raise
        except BaseException:
            if lock_fd is not None:
                os.close(lock_fd)
            raise
        if not readonly:
            store.cleaned = store.remove_orphans()
        return store

    def _init(self, new: bool) -> None:
        c = self._conn
        if not self.readonly:
            mode = c.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(
                    f"{self.path}: SQLite refused WAL mode (got {mode}); put the league on a local disk"
                )
            c.execute("PRAGMA synchronous=FULL")
        c.execute("PRAGMA foreign_keys=ON")
        if new:
            with self.batch():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                c.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                c.execute("INSERT INTO meta VALUES ('created', ?)", (repr(time.time()),))
            return
        check = c.execute("PRAGMA quick_check").fetchall()
        if [r[0] for r in check] != ["ok"]:
            raise StoreError(
                f"{self.path}: corrupt SQLite file (quick_check: {check[0][0]}); restore it from a backup or start a new league at another path"
            )
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in _TABLES if t not in tables]
        if missing:
            raise StoreError(
                f"{self.path}: an SQLite file but not an arena league store (no table {missing[0]!r}); pass the league's .db file"
            )
        row = c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer arena (schema {version}; this one reads {SCHEMA_VERSION}); upgrade arena"
            )
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: schema {version} is too old (this arena reads {SCHEMA_VERSION}); start a new league"
            )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
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
        return self.root / relpath

    def relative(self, path: str | os.PathLike) -> str:
        """``path`` (absolute, or relative to the database's directory) as stored in rows."""
        p = Path(path)
        full = p if p.is_absolute() else self.root / p
        try:
            return full.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            raise StoreError(
                f"{path}: outside the league folder {self.root}; keep weights under it (e.g. {self.files})"
            ) from None

    def snapshot_dir(self, member: Member) -> str:
        """Where a snapshot's checkpoint should go (relative path; nothing is created)."""
        return self.relative(self.files / "snapshots" / f"{member.id:06d}-{_safe(member.name)}")

    def checkpoint_dir(self, learner: str, step: int) -> str:
        """Where a learner checkpoint at ``step`` should go (relative path; nothing is created)."""
        return self.relative(self.files / "checkpoints" / _safe(learner) / f"{int(step):012d}")

    def write_file(self, relpath: str, data: bytes) -> str:
        """Write ``data`` atomically (``agents.checkpoint.atomic_write``) and return the relative path.

        Call before the row that refers to the file (e.g. :meth:`add_snapshot`).
        """
        from agents.files import atomic_write

        rel = self.relative(relpath)
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
        seats = [int(s) for s in seats]
        returns = [float(r) for r in returns]
        if len(seats) != len(returns):
            raise ValueError(
                f"{len(seats)} seats but {len(returns)} returns; give one return per seat"
            )
        with self.batch():
            cur = self._conn.execute(
                "INSERT INTO matches (step, seats, returns, seed, tag, created) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    int(step),
                    json.dumps(seats),
                    json.dumps(returns),
                    None if seed is None else int(seed),
                    tag,
                    _now(created),
                ),
            )
            mid = int(cur.lastrowid)
            self._conn.executemany(
                "INSERT INTO match_members VALUES (?, ?, ?)",
                [(mid, k, s) for k, s in enumerate(seats)],
            )
        return mid

    def add_matches(
        self,
        matches: Iterable[tuple[int, Sequence[int], Sequence[float], int | None]],
        tag: str = "",
    ) -> list[int]:
        """Record ``(step, seats, returns, seed)`` rows in one transaction."""
        with self.batch():
            return [self.add_match(st, seats, rets, seed, tag) for st, seats, rets, seed in matches]

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

    def orphans(self) -> list[Path]:
        """Entries under ``self.files`` that no row refers to, and ``.tmp`` leftovers."""
        if not self.files.is_dir():
            return []
        refs = self.referenced()
        out: list[Path] = []

        def walk(d: Path) -> None:
            for p in sorted(d.iterdir()):
                rel = p.relative_to(self.root).as_posix()
                if p.name.startswith(".") and p.name.endswith(".tmp"):
                    out.append(p)
                elif rel in refs:
                    continue  # a referenced file or checkpoint directory: keep all of it
                elif p.is_dir() and not p.is_symlink():
                    if any(r.startswith(rel + "/") for r in refs):
                        walk(p)
                    else:
                        out.append(p)
                else:
                    out.append(p)

        walk(self.files)
        return out

    def remove_orphans(self) -> list[Path]:
        """Delete :meth:`orphans`; returns what was removed."""
        gone = self.orphans()
        for p in gone:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink(missing_ok=True)
        return gone


def _now(created: float | None) -> float:
    return time.time() if created is None else float(created)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.@" else "_" for ch in name)


def _learner_state(r: tuple) -> LearnerState:
    return LearnerState(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), r[6])


def _check_header(path: Path) -> None:
    if path.is_dir():
        raise StoreError(f"{path}: a directory, not a league store; pass the league's .db file")
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


def _lock(path: Path) -> int:
    """Take the single-writer lock ``<db>.lock`` (advisory ``flock``, released on close or exit)."""
    import fcntl

    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreError(
            f"{path}: another process is writing this league; stop it first, or open the store read-only"
        ) from None
    return fd
