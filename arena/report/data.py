"""Report data: plain records, read from the league's store and its stored population evaluation."""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from arena.evaluation.record import PopulationEvaluation, PopulationFormatError

EXACT = "exact"
BOUND = "exploiter_lower_bound"

# ---------------------------------------------------------------------------
# The data


@dataclasses.dataclass(frozen=True)
class RatingPoint:
    """One rating of one member at one league step."""

    step: int
    """League clock (learner env steps)."""
    member: str
    """Member name."""
    system: str
    """Rating system: 'elo', 'melo', 'bt' (others are drawn too)."""
    value: float
    """The rating."""


@dataclasses.dataclass(frozen=True)
class GapPoint:
    """One NashConv (or exploitability) measurement at one league step."""

    step: int
    """League clock (learner env steps)."""
    who: str
    """'learner' or 'meta_nash' (the meta-Nash mixture of the population)."""
    value: float
    """The measured value."""
    method: str = EXACT
    """'exact' or 'exploiter_lower_bound' (anything not 'exact' is drawn as a bound)."""
    metric: str = "nash_conv"
    """'nash_conv' or 'exploitability'."""
    member: str = ""
    """Whose gap: the learner's name ('' where not recorded); the mixture for 'meta_nash'."""

    @property
    def series(self) -> str:
        """The curve this point belongs to: one per learner, one for the meta-Nash mixture."""
        if self.who == "meta_nash":
            return "meta-Nash mixture"
        return self.member or self.who


@dataclasses.dataclass(frozen=True)
class CFRReferenceData:
    """A CFR reference of the league and how the others do against it."""

    name: str
    """The reference member's name."""
    title: str
    """What it is, e.g. 'CFR+ average policy after 1,000 iterations'."""
    nash_conv: float | None = None
    """Exact NashConv of its stored table (from the table file; None: unreadable)."""
    players: int = 0
    """Players of the game (0: unknown)."""
    solve_seconds: float | None = None
    """How long the solve took."""
    rating: float | None = None
    """Its latest Elo rating (None: not rated)."""
    learner_returns: tuple[tuple[str, float | None, float | None], ...] = ()
    """``(learner, mean return against it, stderr)`` from the stored population evaluation."""
    rating_gaps: tuple[tuple[str, float], ...] = ()
    """``(member, its Elo minus the reference's)``, best first."""
    note: str | None = None
    """What could not be read."""


@dataclasses.dataclass
class ReportData:
    """Everything the report shows; plain data filled by the caller (the league store).

    Member-indexed arrays (``payoffs``, ``meta_nash``, ``nash_averaging``) follow
    the order of ``members``.
    """

    game: str
    """Game spec."""
    kind: str = ""
    """zero_sum, constant_sum, cooperative or general_sum."""
    algorithms: list[str] = dataclasses.field(default_factory=list)
    """Algorithms of the league's learners."""
    steps: int = 0
    """Learner env steps so far."""
    wall_seconds: float = 0.0
    """Wall time of the run so far."""
    title: str = ""
    """Heading (default: 'League report: GAME')."""
    matches: int = 0
    """Matches played."""
    members: list[str] = dataclasses.field(default_factory=list)
    """Member names, in the order of the payoff table."""
    ratings: list[RatingPoint] = dataclasses.field(default_factory=list)
    """Rating history."""
    gaps: list[GapPoint] = dataclasses.field(default_factory=list)
    """NashConv / exploitability history."""
    payoffs: np.ndarray | None = None
    """``[K, K]`` meta-game: row member's mean return against the column member."""
    payoff_stderr: np.ndarray | None = None
    """``[K, K]`` standard errors of ``payoffs``."""
    meta_nash: list[float] | None = None
    """``[K]`` meta-Nash weights."""
    meta_method: str = ""
    """How the meta-Nash was found ('lp', 'alpharank')."""
    nash_averaging: list[float] | None = None
    """``[K]`` Nash-averaging ratings (Balduzzi et al. 2018)."""
    nash_averaging_weights: list[float] | None = None
    """``[K]`` the maximum-entropy Nash behind them."""
    dominance_edges: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    """``(i, j)``: member ``i`` beats ``j`` significantly."""
    intransitive: list[list[int]] = dataclasses.field(default_factory=list)
    """Cycles of wins (member indices), e.g. from ``Dominance.cycles``."""
    cross_play: np.ndarray | None = None
    """``[K, K]`` cooperative games: common return of row with column."""
    notes: list[str] = dataclasses.field(default_factory=list)
    """Free text shown in the notes section."""
    table_method: str = ""
    """How ``payoffs`` were found: 'exact', or 'sampled: N games per pair, ...' with the
    deterministic (exact) pairs and distinct episodes (:func:`arena.evaluation.metagame.sampling_summary`)."""
    nash_averaging_note: str | None = None
    """Why there are no Nash-averaging ratings (where they are not defined)."""
    learners: list = dataclasses.field(default_factory=list)
    """:class:`arena.evaluation.record.LearnerRow` s: live learners against the frozen members."""
    meta_nash_gap: object | None = None
    """:class:`arena.evaluation.record.Gap` of the frozen meta-Nash mixture."""
    evaluation_step: int | None = None
    """League step of the population evaluation shown (None: none stored)."""
    cfr_references: list[CFRReferenceData] = dataclasses.field(default_factory=list)
    """The league's CFR references (``policy = "cfr_plus(iterations=N)"``), if any."""


def with_analysis(data: ReportData, analysis) -> ReportData:
    """``data`` with the meta-game sections filled from an :class:`arena.evaluation.metagame.MetaAnalysis`."""
    meta = analysis.meta
    return dataclasses.replace(
        data,
        members=list(meta.names),
        payoffs=meta.payoffs,
        payoff_stderr=meta.stderr,
        meta_nash=[float(x) for x in analysis.nash.weights],
        meta_method=analysis.nash.method,
        nash_averaging=[float(x) for x in analysis.averaging.ratings],
        nash_averaging_weights=[float(x) for x in analysis.averaging.weights],
        dominance_edges=list(analysis.dominance.edges),
        intransitive=[list(c) for c in analysis.dominance.cycles]
        or [list(c) for c in analysis.dominance.components],
        cross_play=None if analysis.cross_play is None else analysis.cross_play.table,
        notes=data.notes
        + [f"Solver fallback in this report's meta-game: {line}" for line in analysis.fallbacks],
    )


def with_population(data: ReportData, rec) -> ReportData:
    """``data`` with the meta-game sections read from a stored population evaluation.

    ``rec`` is an :class:`arena.evaluation.record.PopulationEvaluation`; nothing is
    recomputed, so the report shows exactly what the league (or ``arena league
    eval``) stored.
    """

    def table(rows):
        return np.array([[np.nan if x is None else x for x in r] for r in rows], dtype=np.float64)

    k = len(rec.members)
    return dataclasses.replace(
        data,
        members=list(rec.members),
        payoffs=table(rec.payoffs) if k else None,
        payoff_stderr=table(rec.stderr) if k else None,
        meta_nash=list(rec.meta_nash) if k else None,
        meta_method=rec.meta_method,
        nash_averaging=None if rec.nash_averaging is None else list(rec.nash_averaging),
        nash_averaging_weights=None
        if rec.nash_averaging_weights is None
        else list(rec.nash_averaging_weights),
        nash_averaging_note=rec.nash_averaging_note,
        dominance_edges=[tuple(e) for e in rec.dominance_edges],
        intransitive=[list(c) for c in rec.cycles] or [list(c) for c in rec.components],
        cross_play=None,
        table_method=rec.table_method,
        learners=list(rec.learners),
        meta_nash_gap=rec.meta_nash_gap,
        evaluation_step=rec.step,
        notes=data.notes
        + [f"Solver fallback in the stored evaluation: {line}" for line in rec.fallback]
        + ([rec.note] if rec.note else []),
    )


# ---------------------------------------------------------------------------
# From the league store (the lead connects this)


def load_report_data(db_path: str | os.PathLike) -> ReportData:
    """Fill a :class:`ReportData` from a league's SQLite store (read-only).

    What is read (``leagues.store.Store``):

    * summary: the config's ``league.game`` and ``league.name`` and the
      learners' algorithms; the game's kind from ``games.load``; learner steps
      as the largest step of any match, rating or evaluation; wall time from
      the first member's creation to the last match or evaluation;
    * ratings: every ratings row (all systems), members by name;
    * NashConv history: every evaluation whose payload is a dict with a
      ``nash_conv`` value (``arena.evaluation.nash_report`` output), with
      ``who`` (default ``learner``) and ``method`` (default ``exact``);
      exploitability is NashConv / players, so it is not drawn again;
    * meta-game: the latest stored population evaluation (kind ``league``,
      an :class:`arena.evaluation.record.PopulationEvaluation`), as stored: nothing
      is recomputed. None stored, or one in an older format: the report says
      so and leaves the meta-game sections empty.

    Raises:
        leagues.store.StoreError: not a league store.
    """
    from leagues.store import Store

    with Store.open(db_path, readonly=True) as store:
        cfg = store.config()
        parsed = cfg[1] if cfg else {}
        members = store.members()
        all_matches = store.matches()
        rating_rows = store.ratings()
        evaluations = store.evaluations()
        cfr_tables = _cfr_tables(store, members)
    league = parsed.get("league", {})
    game_spec = league.get("game", "?")
    name_of = {m.id: m.name for m in members}
    algorithms = sorted({lr.get("algorithm", "") for lr in parsed.get("learner", [])} - {""})
    kind = ""
    try:
        import games

        kind = games.load(game_spec).info.kind
    except Exception:  # noqa: BLE001 - a report of a league whose game no longer loads still works
        kind = ""

    ratings = [
        RatingPoint(r.step, name_of.get(r.member, str(r.member)), r.system, r.value)
        for r in rating_rows
    ]
    gaps = []
    for ev in evaluations:
        p = ev.payload
        if not isinstance(p, dict) or "nash_conv" not in p:
            continue
        who, method = str(p.get("who", "learner")), str(p.get("method", EXACT))
        if p["nash_conv"] is not None:
            member = str(p.get("member") or "")
            gaps.append(GapPoint(ev.step, who, float(p["nash_conv"]), method, "nash_conv", member))

    active = [m for m in members if m.active]
    steps = (
        [m.step for m in all_matches]
        + [r.step for r in rating_rows]
        + [e.step for e in evaluations]
    )
    ends = [m.created for m in all_matches] + [e.created for e in evaluations]
    starts = [m.created for m in members if m.created]
    wall = max(ends) - min(starts) if ends and starts else 0.0
    data = ReportData(
        game=game_spec,
        kind=kind,
        algorithms=algorithms,
        steps=max(steps, default=0),
        wall_seconds=max(0.0, wall),
        title=f"League report: {league.get('name', 'league')} on {game_spec}",
        matches=len(all_matches),
        members=[m.name for m in active],
        ratings=ratings,
        gaps=gaps,
    )
    data.cfr_references = _cfr_references(cfr_tables, rating_rows, name_of, None)
    for e in evaluations:
        if e.kind == "fallback":  # a solver inside the league loop fell back (recorded there)
            for line in e.payload.get("notes", []):
                data.notes.append(
                    f"Solver fallback at step {e.step:,} ({e.payload.get('where')}): {line}"
                )
    league_rows = [e for e in evaluations if e.kind == "league"]
    if not league_rows:
        data.notes.append(f"No population evaluation stored yet; run arena league eval {db_path}")
        return data
    try:
        rec = PopulationEvaluation.from_json(league_rows[-1].payload)
    except PopulationFormatError as e:
        data.notes.append(f"The latest population evaluation is not shown: {e}")
        return data
    data = with_population(data, rec)
    data.cfr_references = _cfr_references(cfr_tables, rating_rows, name_of, rec)
    data.notes.append(
        f"Meta-game sections: the population evaluation stored at step {rec.step:,} "
        f"({len(league_rows)} stored in all); payoff table "
        + ("exact." if rec.exact else f"estimated, {rec.table_method}.")
    )
    if len(members) > len(active):
        data.notes.append(
            f"{len(members) - len(active)} evicted members appear in the rating curves "
            "but not in the meta-game."
        )
    return data


# ---------------------------------------------------------------------------
# CFR references


def _cfr_tables(store, members) -> list[tuple]:
    """``(member, table metadata or None, why not)`` of each CFR reference (file headers only)."""
    from games.cfr import ALGORITHMS

    out = []
    for m in members:
        if m.kind != "reference" or m.policy.split("(", 1)[0].strip() not in ALGORITHMS:
            continue
        row = store.snapshot(m.id)
        if row is None:
            out.append((m, None, "no table file recorded"))
            continue
        from agents.tabular import read_metadata
        from games.core import ArenaError

        path = store.resolve(row.path)
        try:
            with open(path, "rb") as f:  # the JSON header only, not the arrays
                head = f.read(8)
                n = int.from_bytes(head, "little") if len(head) == 8 else 0
                head += f.read(min(n, 1 << 20))
            out.append((m, read_metadata(head, str(path)), None))
        except (OSError, ArenaError) as e:
            out.append((m, None, f"its table file is unreadable ({e})"))
    return out


def _cfr_references(tables, rating_rows, name_of, rec) -> list[CFRReferenceData]:
    """Each CFR reference with the learners' returns against it (``rec``) and Elo gaps."""
    from games.cfr import parse_cfr_spec
    from games.core import ArenaError

    elo: dict[str, tuple[int, float]] = {}
    for r in rating_rows:
        if r.system != "elo":
            continue
        name = name_of.get(r.member, str(r.member))
        if name not in elo or r.step >= elo[name][0]:
            elo[name] = (r.step, r.value)
    out = []
    for m, meta, why in tables:
        try:
            spec = parse_cfr_spec(m.policy)
        except ArenaError:  # an odd stored spec still gets its line
            spec = None
        title = spec.title if spec is not None else m.policy
        meta = meta or {}
        nash_conv = _maybe_float(meta.get("nash_conv"))
        returns = ()
        if rec is not None and m.name in rec.members:
            k = list(rec.members).index(m.name)
            returns = tuple((r.name, r.returns[k], r.stderr[k]) for r in rec.learners)
        mine = elo.get(m.name)
        gaps = ()
        if mine is not None:
            gaps = tuple(
                sorted(
                    ((n, v - mine[1]) for n, (_, v) in elo.items() if n != m.name),
                    key=lambda x: -x[1],
                )
            )
        out.append(
            CFRReferenceData(
                m.name,
                title,
                nash_conv,
                int(meta["players"]) if str(meta.get("players", "")).isdigit() else 0,
                _maybe_float(meta.get("seconds")),
                None if mine is None else mine[1],
                returns,
                gaps,
                why,
            )
        )
    return out


def _maybe_float(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None
