"""A policy that is a table: one row of action probabilities per information state.

``TabularPolicy(players [M], obs [M, O], probs [M, A])`` looks each acting row
up by its exact observation bytes and player (the key a
:class:`games.cfr.TabularTable` was built with, from the env's own
observation code), so it plays exactly the solved probabilities. A row the
table does not hold raises :class:`TableError` (it is not an information state
the table was solved for: another game, other parameters).

Files are safetensors (never pickled): arrays ``players`` int32 ``[M]``,
``obs`` float32 ``[M, O]``, ``probs`` float32 ``[M, A]``, ``legal`` bool
``[M, A]``, and string metadata (game, algorithm, iterations, NashConv, ...).
:meth:`TabularPolicy.from_bytes` validates everything before use: size,
dtypes, shapes, finite probabilities, zero mass on illegal actions, rows
summing to 1, one row per key. Tensors go through ``safetensors.numpy``, so a
table loads without torch.
"""

from __future__ import annotations

import json

import numpy as np

from agents.base import Act, sample_from_probs
from games.core import ArenaError

MAX_TABLE_BYTES = 512 << 20
"""Size of a table file (512 MiB), checked before parsing."""
MAX_ROWS = 1_000_000
"""Rows (information states) of one table."""
MAX_ENTRIES = 64 << 20
"""``M * (O + 2 A)`` entries of one table's arrays."""
_SUM_TOL = 1e-4


class TableError(ArenaError):
    """A table file that cannot be used, or a row the table does not hold; one-line message."""


class TabularPolicy:
    """Batched lookup of a fixed table (see the module docstring).

    Args:
        players: ``[M]`` acting player per row.
        obs: ``[M, O]`` float32 observation vector per row.
        probs: ``[M, A]`` float32 action probabilities per row (rows sum to 1).
        legal: ``[M, A]`` bool legal actions per row (default: ``probs > 0``).
        metadata: strings kept with the table (game, algorithm, NashConv, ...).
        where: what the table is, for error messages.
    """

    name = "tabular"

    def __init__(self, players, obs, probs, legal=None, metadata=None, where: str = "table"):
        self.where = where
        self.players = np.ascontiguousarray(players, dtype=np.int32)
        self.obs = np.ascontiguousarray(obs, dtype=np.float32)
        self.probs = np.ascontiguousarray(probs, dtype=np.float32)
        self.legal = self.probs > 0 if legal is None else np.ascontiguousarray(legal, dtype=bool)
        self.metadata = {str(k): str(v) for k, v in (metadata or {}).items()}
        _validate(self.players, self.obs, self.probs, self.legal, where)
        self._probs64 = self.probs.astype(np.float64)
        self._probs64 /= self._probs64.sum(-1, keepdims=True)
        self._index: dict[tuple[int, bytes], int] = {}
        for row, (p, o) in enumerate(zip(self.players.tolist(), self.obs)):
            key = (p, o.tobytes())
            if key in self._index:
                raise TableError(
                    f"{where}: rows {self._index[key]} and {row} hold one observation of player {p}; "
                    "a table has one row per information state"
                )
            self._index[key] = row

    @classmethod
    def from_table(cls, table, where: str = "table") -> TabularPolicy:
        """From a :class:`games.cfr.TabularTable`."""
        return cls(table.players, table.obs, table.probs, table.legal, table.metadata, where)

    def __len__(self) -> int:
        return len(self.players)

    @property
    def obs_size(self) -> int:
        return int(self.obs.shape[1])

    @property
    def num_actions(self) -> int:
        return int(self.probs.shape[1])

    def check_fits(self, info, game_spec: str | None = None) -> None:
        """Refuse a table made for another game (sizes, players, the recorded game spec).

        Raises:
            TableError: one line naming what differs.
        """
        if self.obs_size != info.obs_size or self.num_actions != info.num_actions:
            raise TableError(
                f"{self.where}: a table of [{self.obs_size} obs, {self.num_actions} actions] does not "
                f"fit {info.name} ([{info.obs_size} obs, {info.num_actions} actions]); it was made for another game"
            )
        if len(self) and int(self.players.max()) >= info.num_players:
            raise TableError(
                f"{self.where}: the table has rows of player {int(self.players.max())}, "
                f"{info.name} has {info.num_players} players"
            )
        made_for = self.metadata.get("game")
        if game_spec is not None and made_for is not None:
            import games

            if not games.same_spec(made_for, game_spec):
                raise TableError(
                    f"{self.where}: the table was solved for {made_for!r}, not {game_spec!r}"
                )

    def rows(self, obs: np.ndarray, player: np.ndarray) -> np.ndarray:
        """``[N]`` row index of each ``(obs [N, O], player [N])``.

        Raises:
            TableError: an observation the table does not hold.
        """
        obs = np.ascontiguousarray(obs, dtype=np.float32)
        if obs.ndim != 2 or obs.shape[1] != self.obs_size:
            raise TableError(
                f"{self.where}: observations of shape {list(obs.shape)}, the table holds [N, {self.obs_size}]"
            )
        index = self._index
        out = np.empty(len(obs), dtype=np.int64)
        for i, (p, o) in enumerate(zip(np.asarray(player).tolist(), obs)):
            row = index.get((p, o.tobytes()))
            if row is None:
                shown = ", ".join(f"{x:g}" for x in o[:12]) + (", ..." if len(o) > 12 else "")
                raise TableError(
                    f"{self.where}: no row for player {p} at observation [{shown}]: not an "
                    "information state this table was solved for (another game or other parameters?)"
                )
            out[i] = row
        return out

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        legal = np.asarray(legal, dtype=bool)
        rows = self.rows(obs, player)
        probs = self._probs64[rows]
        if np.any(probs[~legal] > 0):
            i = int(np.argmax((probs * ~legal).max(-1)))
            raise TableError(
                f"{self.where}: row {int(rows[i])} puts probability on an action that is illegal here "
                f"(legal: {np.flatnonzero(legal[i]).tolist()}); the table does not fit this game"
            )
        actions = sample_from_probs(probs, rng)
        logp = np.log(np.maximum(probs[np.arange(len(actions)), actions], 1e-300))
        return Act(actions, probs, logp.astype(np.float32))

    # ------------------------------------------------------------ files

    def to_bytes(self) -> bytes:
        """Safetensors bytes: the four arrays and the metadata strings."""
        from safetensors.numpy import save

        arrays = {
            "players": self.players,
            "obs": self.obs,
            "probs": self.probs,
            "legal": self.legal,
        }
        return canonical_header(save(arrays, metadata=self.metadata))

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "table") -> TabularPolicy:
        """Read :meth:`to_bytes` output, validated (never unpickles).

        Raises:
            TableError: too large, not safetensors, missing or extra arrays,
                wrong dtypes or shapes, bad probabilities.
        """
        if len(data) > MAX_TABLE_BYTES:
            raise TableError(
                f"{where}: {len(data):,} bytes, above the limit of {MAX_TABLE_BYTES:,} for a table file"
            )
        metadata = read_metadata(data, where)
        from safetensors import SafetensorError
        from safetensors.numpy import load

        try:
            arrays = load(bytes(data))
        except (SafetensorError, ValueError, RuntimeError, TypeError) as e:
            raise TableError(
                f"{where}: not a readable safetensors table ({_first(e)}); solve it again"
            ) from None
        want = {"players": "i", "obs": "f", "probs": "f", "legal": "b"}
        if set(arrays) != set(want):
            raise TableError(
                f"{where}: a table holds the arrays {', '.join(sorted(want))}, this file holds "
                f"{', '.join(sorted(arrays)) or 'none'}"
            )
        for k, kind in want.items():
            if arrays[k].dtype.kind != kind:
                raise TableError(f"{where}: array {k!r} has dtype {arrays[k].dtype}, not a table's")
        return cls(
            arrays["players"], arrays["obs"], arrays["probs"], arrays["legal"], metadata, where
        )


def read_metadata(data: bytes, where: str = "table") -> dict[str, str]:
    """The string metadata of safetensors bytes (the JSON header; no arrays are read).

    Raises:
        TableError: a header that is not safetensors.
    """
    if len(data) < 8:
        raise TableError(f"{where}: {len(data)} bytes, too short for a safetensors table")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8 or n > 100 << 20:
        raise TableError(f"{where}: a safetensors header of {n:,} bytes does not fit the file")
    try:
        header = json.loads(bytes(data[8 : 8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise TableError(
            f"{where}: the safetensors header is not JSON; solve the table again"
        ) from None
    meta = header.get("__metadata__", {}) if isinstance(header, dict) else None
    if not isinstance(meta, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
    ):
        raise TableError(f"{where}: the table metadata is not a table of strings")
    return dict(meta)


def _validate(players, obs, probs, legal, where: str) -> None:
    if players.ndim != 1 or obs.ndim != 2 or probs.ndim != 2 or legal.shape != probs.shape:
        raise TableError(
            f"{where}: arrays of shapes players {list(players.shape)}, obs {list(obs.shape)}, probs "
            f"{list(probs.shape)}, legal {list(legal.shape)}; a table holds [M], [M, O], [M, A], [M, A]"
        )
    m, a = probs.shape
    if len(players) != m or len(obs) != m:
        raise TableError(
            f"{where}: {len(players)} players, {len(obs)} observations and {m} probability rows; "
            "a table has one of each per row"
        )
    if not 1 <= m <= MAX_ROWS or a < 1 or m * (obs.shape[1] + 2 * a) > MAX_ENTRIES:
        raise TableError(
            f"{where}: {m:,} rows of {obs.shape[1]:,} observations and {a:,} actions; a table has "
            f"1 to {MAX_ROWS:,} rows and at most {MAX_ENTRIES:,} entries"
        )
    if players.min() < 0:
        raise TableError(f"{where}: a row of player {int(players.min())}; players are 0, 1, ...")
    if not np.all(np.isfinite(obs)):
        raise TableError(f"{where}: non-finite observations")
    if not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise TableError(f"{where}: negative or non-finite probabilities")
    if np.any(probs[~legal] > 0):
        raise TableError(f"{where}: probability on an illegal action")
    total = probs.astype(np.float64).sum(-1)
    bad = np.abs(total - 1.0) > _SUM_TOL
    if bad.any():
        i = int(np.argmax(bad))
        raise TableError(
            f"{where}: row {i}'s probabilities sum to {total[i]:.6f}, not 1, over the legal actions"
        )


def _first(e: BaseException) -> str:
    return " ".join(str(e).split()) or e.__class__.__name__


def cfr_policy(game, spec: str, where: str | None = None) -> TabularPolicy:
    """Solve ``spec`` (``"cfr_plus(iterations=N)"`` or ``"cfr(iterations=N)"``) on ``game``.

    Raises:
        games.cfr.CFRError: not a CFR spec, bad arguments, or a game CFR cannot solve here.
    """
    from games.cfr import CFRError, parse_cfr_spec, solve_cfr

    parsed = parse_cfr_spec(spec)
    if parsed is None:
        raise CFRError(
            f"{spec!r} is not a CFR spec; write cfr_plus(iterations=N) or cfr(iterations=N)"
        )
    table = solve_cfr(game, parsed.algorithm, parsed.iterations)
    return TabularPolicy.from_table(table, where or parsed.text)


def canonical_header(data: bytes) -> bytes:
    """The same safetensors file with its JSON header's keys sorted.

    safetensors writes ``__metadata__`` in hash-map order, which changes from one
    process to the next; sorted, the same table gives the same bytes (and
    sha256) in every run. Tensor offsets are relative to the data section, so
    rewriting the header moves nothing else.
    """
    import json
    import struct

    (n,) = struct.unpack("<Q", data[:8])
    header = json.dumps(json.loads(data[8 : 8 + n]), sort_keys=True, separators=(",", ":"))
    raw = header.encode()
    raw += b" " * (-len(raw) % 8)  # the data section stays 8-byte aligned
    return struct.pack("<Q", len(raw)) + raw + data[8 + n :]
