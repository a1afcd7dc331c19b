"""The league's population evaluation: one typed, versioned record per evaluation period.

The league loop computes it (:func:`arena.evaluation.evaluate_population`)
and stores :meth:`PopulationEvaluation.to_json` as evaluation kind
``"league"``; ``arena league eval`` computes it the same way and prints it;
``arena report`` reads the latest stored record and recomputes nothing. So
the three cannot disagree (ARCHITECTURE.md, "One computation per fact").

The frozen meta-game (payoff table, meta-Nash, Nash averaging, dominance) is
over *frozen* members (snapshots) and references only. Live learners are
separate rows (:class:`LearnerRow`): each learner's return against every
frozen member and its own NashConv. A learner is never a meta-strategy: it
changes every round, and it has no row in the frozen table to give it weight.

Payloads are JSON only (never pickle). :meth:`PopulationEvaluation.from_json`
validates and raises :class:`PopulationFormatError` (an ``ArenaError``) with
a one-line message on a malformed, older or newer payload.
"""

from __future__ import annotations

import dataclasses
import math

from games.core import ArenaError

VERSION = 1
"""Format of :meth:`PopulationEvaluation.to_json`; bump when a field changes meaning."""

EXACT = "exact"


class PopulationFormatError(ArenaError):
    """A stored population evaluation that cannot be read; the message says why and the fix."""


def _num(x) -> float | None:
    """A JSON number or None (NaN and infinities become None: JSON has neither)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclasses.dataclass(frozen=True)
class Gap:
    """NashConv of one policy: exact, or None with the reason it was not computed."""

    nash_conv: float | None
    """Sum of the players' best-response gains (None: not computed)."""
    exploitability: float | None = None
    """NashConv / players."""
    per_player: tuple[float, ...] = ()
    """Each player's best-response gain."""
    method: str | None = None
    """'exact' or 'exploiter_lower_bound' (the true value is at least this); None when not computed."""
    note: str | None = None
    """Why it was not computed, or how a lower bound was measured."""

    def to_json(self) -> dict:
        return {
            "nash_conv": _num(self.nash_conv),
            "exploitability": _num(self.exploitability),
            "per_player": [_num(x) for x in self.per_player],
            "method": self.method,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, d) -> Gap:
        _need(isinstance(d, dict), "a gap is not an object")
        pp = d.get("per_player", [])
        _need(isinstance(pp, list), "per_player is not a list")
        return cls(
            _opt_float(d.get("nash_conv"), "nash_conv"),
            _opt_float(d.get("exploitability"), "exploitability"),
            tuple(_opt_float(x, "per_player") for x in pp),
            _opt_str(d.get("method"), "method"),
            _opt_str(d.get("note"), "note"),
        )


@dataclasses.dataclass(frozen=True)
class LearnerRow:
    """A live learner against the frozen pool; not a member of the frozen meta-game."""

    name: str
    """The learner's name."""
    returns: tuple[float | None, ...]
    """``[K]`` its mean return against each frozen member (None: not measured)."""
    stderr: tuple[float | None, ...]
    """``[K]`` standard errors of ``returns`` (0 when exact)."""
    method: str
    """How ``returns`` were found: 'exact' or 'sampled (N games per pair)'."""
    vs_meta_nash: float | None
    """Its expected return against the frozen meta-Nash mixture (None: a return is missing)."""
    gap: Gap
    """Its own NashConv."""

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "returns": [_num(x) for x in self.returns],
            "stderr": [_num(x) for x in self.stderr],
            "method": self.method,
            "vs_meta_nash": _num(self.vs_meta_nash),
            "gap": self.gap.to_json(),
        }

    @classmethod
    def from_json(cls, d) -> LearnerRow:
        _need(isinstance(d, dict), "a learner row is not an object")
        return cls(
            _str(d.get("name"), "learner name"),
            tuple(_opt_float(x, "learner returns") for x in _list(d.get("returns"), "returns")),
            tuple(_opt_float(x, "learner stderr") for x in _list(d.get("stderr"), "stderr")),
            _str(d.get("method"), "learner method"),
            _opt_float(d.get("vs_meta_nash"), "vs_meta_nash"),
            Gap.from_json(d.get("gap")),
        )


@dataclasses.dataclass(frozen=True)
class PopulationEvaluation:
    """The population at one league step: the frozen meta-game and the learners beside it.

    Member-indexed fields follow ``members`` (frozen members and references only).
    """

    step: int
    """League clock (learner env steps) of the evaluation."""
    game: str
    """Game spec."""
    kind: str
    """zero_sum, constant_sum, cooperative or general_sum."""
    members: tuple[str, ...]
    """Frozen member and reference names, in table order."""
    member_kinds: tuple[str, ...]
    """'snapshot' or 'reference' per member."""
    payoffs: tuple[tuple[float | None, ...], ...]
    """``[K, K]`` row member's mean return against the column member (None: not measured)."""
    stderr: tuple[tuple[float | None, ...], ...]
    """``[K, K]`` standard errors of ``payoffs`` (0 when exact)."""
    table_method: str
    """'exact' or 'sampled (N games per pair)'."""
    meta_nash: tuple[float, ...]
    """``[K]`` meta-Nash weights over the frozen members."""
    meta_method: str
    """Solver of the meta-Nash ('lp', 'alpharank', ... or a fallback's name)."""
    nash_averaging: tuple[float, ...] | None
    """``[K]`` Nash-averaging ratings (Balduzzi et al. 2018); None where not defined."""
    nash_averaging_weights: tuple[float, ...] | None
    """``[K]`` the maximum-entropy Nash behind them."""
    nash_averaging_note: str | None
    """Why ``nash_averaging`` is None."""
    dominance_edges: tuple[tuple[int, int], ...]
    """``(i, j)``: member ``i`` beats ``j`` significantly."""
    cycles: tuple[tuple[int, ...], ...]
    """Intransitive cycles of significant wins."""
    components: tuple[tuple[int, ...], ...]
    """Strongly connected components of the dominance graph with more than one member."""
    meta_nash_gap: Gap
    """NashConv of the meta-Nash mixture of the frozen members (PSRO's measure)."""
    learners: tuple[LearnerRow, ...] = ()
    """Each live learner against the frozen pool, with its own NashConv."""
    cross_play: dict | None = None
    """Cooperative games: ``{"self_play", "cross_play", "gap"}`` of the frozen members."""
    fallback: tuple[str, ...] = ()
    """One line per solver that failed and what was used instead."""
    note: str | None = None
    """Why there is no meta-game (e.g. no frozen member yet)."""
    seconds: float = 0.0
    """Measurement time."""
    version: int = VERSION
    """Payload format (:data:`VERSION`)."""

    @property
    def exact(self) -> bool:
        """Whether the payoff table is exact (else estimated from sampled matches)."""
        return self.table_method == EXACT

    def gap_rows(self) -> list[dict]:
        """The ``nash_gap`` evaluations the store keeps for the NashConv history (computed ones only)."""
        rows = [
            {"who": "learner", "member": r.name, **r.gap.to_json()}
            for r in self.learners
            if r.gap.nash_conv is not None
        ]
        if self.meta_nash_gap.nash_conv is not None:
            rows.append(
                {"who": "meta_nash", "member": "meta-Nash mixture", **self.meta_nash_gap.to_json()}
            )
        return rows

    def to_json(self) -> dict:
        """A JSON-friendly dict (no NaN: missing values are null)."""
        return {
            "version": self.version,
            "step": int(self.step),
            "game": self.game,
            "kind": self.kind,
            "members": list(self.members),
            "member_kinds": list(self.member_kinds),
            "payoffs": [[_num(x) for x in row] for row in self.payoffs],
            "stderr": [[_num(x) for x in row] for row in self.stderr],
            "table_method": self.table_method,
            "meta_nash": [float(x) for x in self.meta_nash],
            "meta_method": self.meta_method,
            "nash_averaging": None
            if self.nash_averaging is None
            else [float(x) for x in self.nash_averaging],
            "nash_averaging_weights": None
            if self.nash_averaging_weights is None
            else [float(x) for x in self.nash_averaging_weights],
            "nash_averaging_note": self.nash_averaging_note,
            "dominance_edges": [list(e) for e in self.dominance_edges],
            "cycles": [list(c) for c in self.cycles],
            "components": [list(c) for c in self.components],
            "meta_nash_gap": self.meta_nash_gap.to_json(),
            "learners": [r.to_json() for r in self.learners],
            "cross_play": self.cross_play,
            "fallback": list(self.fallback),
            "note": self.note,
            "seconds": float(self.seconds),
        }

    @classmethod
    def from_json(cls, d) -> PopulationEvaluation:
        """Read a stored payload back.

        Raises:
            PopulationFormatError: not an object, a version-less (older) or
                newer payload, or a field of the wrong type or size.
        """
        _need(isinstance(d, dict), "the payload is not a JSON object")
        if "version" not in d:
            raise PopulationFormatError(
                "an older evaluation format (learners inside the meta-game); "
                "rerun arena league eval DB"
            )
        v = d["version"]
        _need(isinstance(v, int) and not isinstance(v, bool), "version is not an integer")
        if v > VERSION:
            raise PopulationFormatError(
                f"population evaluation version {v} is newer than this arena reads ({VERSION}); "
                "upgrade arena"
            )
        _need(v == VERSION, f"unknown population evaluation version {v}")
        members = tuple(_str(x, "member name") for x in _list(d.get("members"), "members"))
        k = len(members)
        kinds = tuple(_str(x, "member kind") for x in _list(d.get("member_kinds"), "member_kinds"))

        def square(key):
            rows = _list(d.get(key), key)
            _need(
                len(rows) == k and all(isinstance(r, list) and len(r) == k for r in rows),
                f"{key} is not {k} x {k}",
            )
            return tuple(tuple(_opt_float(x, key) for x in r) for r in rows)

        def vector(key, optional=False):
            x = d.get(key)
            if x is None and optional:
                return None
            xs = _list(x, key)
            _need(len(xs) == k, f"{key} has {len(xs)} entries for {k} members")
            return tuple(_float(v, key) for v in xs)

        def index_lists(key):
            out = []
            for c in _list(d.get(key, []), key):
                _need(
                    isinstance(c, list) and all(isinstance(i, int) and 0 <= i < k for i in c),
                    f"{key} holds a bad member index",
                )
                out.append(tuple(c))
            return tuple(out)

        edges = index_lists("dominance_edges")
        _need(all(len(e) == 2 for e in edges), "a dominance edge is not a pair")
        learners = tuple(LearnerRow.from_json(r) for r in _list(d.get("learners", []), "learners"))
        _need(
            all(len(r.returns) == k for r in learners),
            f"a learner row does not have {k} returns",
        )
        cross = d.get("cross_play")
        _need(cross is None or isinstance(cross, dict), "cross_play is not an object")
        step = d.get("step")
        _need(isinstance(step, int) and not isinstance(step, bool), "step is not an integer")
        return cls(
            step=step,
            game=_str(d.get("game"), "game"),
            kind=_str(d.get("kind"), "kind"),
            members=members,
            member_kinds=kinds,
            payoffs=square("payoffs"),
            stderr=square("stderr"),
            table_method=_str(d.get("table_method"), "table_method"),
            meta_nash=vector("meta_nash"),
            meta_method=_str(d.get("meta_method"), "meta_method"),
            nash_averaging=vector("nash_averaging", optional=True),
            nash_averaging_weights=vector("nash_averaging_weights", optional=True),
            nash_averaging_note=_opt_str(d.get("nash_averaging_note"), "nash_averaging_note"),
            dominance_edges=edges,
            cycles=index_lists("cycles"),
            components=index_lists("components"),
            meta_nash_gap=Gap.from_json(d.get("meta_nash_gap")),
            learners=learners,
            cross_play=cross,
            fallback=tuple(_str(x, "fallback") for x in _list(d.get("fallback", []), "fallback")),
            note=_opt_str(d.get("note"), "note"),
            seconds=_float(d.get("seconds", 0.0), "seconds"),
            version=v,
        )


# ---------------------------------------------------------------------------
# Validation of stored payloads (one-line errors)


def _need(ok: bool, what: str) -> None:
    if not ok:
        raise PopulationFormatError(
            f"malformed population evaluation: {what}; rerun arena league eval DB"
        )


def _list(x, key: str) -> list:
    _need(isinstance(x, list), f"{key} is not a list")
    return x


def _str(x, key: str) -> str:
    _need(isinstance(x, str), f"{key} is not a string")
    return x


def _opt_str(x, key: str) -> str | None:
    return None if x is None else _str(x, key)


def _float(x, key: str) -> float:
    _need(isinstance(x, (int, float)) and not isinstance(x, bool), f"{key} is not a number")
    return float(x)


def _opt_float(x, key: str) -> float | None:
    return None if x is None else _float(x, key)
