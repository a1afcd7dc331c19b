"""The league report: one self-contained HTML file and a Markdown file with PNGs beside it.

``write_report(data, out_dir)`` draws every figure with matplotlib's Agg
canvas (no pyplot, no display: it runs headless) and writes

* ``report.html``: one file, figures embedded as base64 PNG, inline CSS, no
  script and no network access;
* ``report.md``: the same text, tables in pipe syntax, figures as PNG files
  in the same directory.

Sections: league summary; rating curves over time (Elo, mElo and any other
system present); NashConv / exploitability over time of the learner and of
the meta-Nash mixture (exact values solid, exploiter lower bounds dashed);
payoff heatmap of the meta-game; meta-Nash support; top members by Nash
averaging; dominance graph and intransitive cycles; cross-play (cooperative
games); notes on what was exact and what was a bound. A league with one
member or no matches yet still gets a report that says so.

:class:`ReportData` is plain data; ``arena report DB`` fills it from the
league's store with :func:`load_report_data`.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import math
import os
import time
from collections.abc import Sequence

import numpy as np

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
    """How ``payoffs`` were found: 'exact' or 'sampled (N games per pair)' ('': estimated)."""
    nash_averaging_note: str | None = None
    """Why there are no Nash-averaging ratings (where they are not defined)."""
    learners: list = dataclasses.field(default_factory=list)
    """:class:`arena.population.LearnerRow` s: live learners against the frozen members."""
    meta_nash_gap: object | None = None
    """:class:`arena.population.Gap` of the frozen meta-Nash mixture."""
    evaluation_step: int | None = None
    """League step of the population evaluation shown (None: none stored)."""


def with_analysis(data: ReportData, analysis) -> ReportData:
    """``data`` with the meta-game sections filled from an :class:`arena.metagame.MetaAnalysis`."""
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

    ``rec`` is an :class:`arena.population.PopulationEvaluation`; nothing is
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
# Figures (matplotlib Agg canvas, no pyplot)


def _figure(width: float = 8.0, height: float = 4.5):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


_SYSTEM_TITLES = {"elo": "Elo", "melo": "mElo", "bt": "Bradley-Terry"}


def ratings_figure(points: Sequence[RatingPoint]) -> bytes | None:
    """One panel per rating system: each member's rating against the league step."""
    if not points:
        return None
    systems = sorted(
        {p.system for p in points},
        key=lambda s: (list(_SYSTEM_TITLES).index(s) if s in _SYSTEM_TITLES else 9, s),
    )
    fig = _figure(8.0, 3.2 * len(systems))
    members = sorted({p.member for p in points})
    for k, system in enumerate(systems):
        ax = fig.add_subplot(len(systems), 1, k + 1)
        rows = [p for p in points if p.system == system]
        final = {}
        for m in members:
            mine = sorted((p.step, p.value) for p in rows if p.member == m)
            if not mine:
                continue
            x, y = zip(*mine)
            ax.plot(
                x, y, marker="o" if len(mine) < 30 else None, markersize=3, linewidth=1.2, label=m
            )
            final[m] = y[-1]
        ax.set_title(f"{_SYSTEM_TITLES.get(system, system)} ratings")
        ax.set_xlabel("learner steps")
        ax.set_ylabel("rating")
        ax.grid(alpha=0.3)
        if len(final) <= 12:
            ax.legend(fontsize=7, loc="best")
        else:  # too many to list: name the five best at their last point
            for m in sorted(final, key=final.get, reverse=True)[:5]:
                last = max((p for p in rows if p.member == m), key=lambda p: p.step)
                ax.annotate(m, (last.step, last.value), fontsize=7)
    fig.tight_layout()
    return _png(fig)


def gaps_figure(points: Sequence[GapPoint]) -> bytes | None:
    """NashConv / exploitability against the league step; bounds dashed with upward triangles."""
    if not points:
        return None
    metrics = sorted({p.metric for p in points}, key=lambda m: (m != "nash_conv", m))
    fig = _figure(8.0, 3.4 * len(metrics))
    colors = {"learner": "tab:blue", "meta_nash": "tab:orange"}
    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(len(metrics), 1, k + 1)
        for who in sorted({p.who for p in points if p.metric == metric}):
            for method in (EXACT, BOUND):
                mine = sorted(
                    (p.step, p.value)
                    for p in points
                    if p.metric == metric
                    and p.who == who
                    and (p.method == EXACT) == (method == EXACT)
                )
                if not mine:
                    continue
                x, y = zip(*mine)
                exact = method == EXACT
                ax.plot(
                    x,
                    y,
                    linestyle="-" if exact else "--",
                    marker="o" if exact else "^",
                    markersize=4,
                    color=colors.get(who),
                    label=f"{who.replace('_', '-')} ({'exact' if exact else 'lower bound'})",
                )
        ax.set_title("NashConv" if metric == "nash_conv" else metric.replace("_", " ").capitalize())
        ax.set_xlabel("learner steps")
        ax.set_ylabel(metric.replace("_", " "))
        values = [p.value for p in points if p.metric == metric]
        if min(values) > 0 and max(values) / min(values) > 100:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return _png(fig)


def heatmap_figure(
    names: Sequence[str], table: np.ndarray, stderr: np.ndarray | None, title: str, diverging: bool
) -> bytes:
    """A member-by-member table as a heatmap, annotated when small."""
    k = len(names)
    size = min(12.0, 2.5 + 0.45 * k)
    fig = _figure(size + 1.5, size)
    ax = fig.add_subplot(1, 1, 1)
    t = np.asarray(table, dtype=np.float64)
    finite = t[np.isfinite(t)]
    lim = float(np.abs(finite).max()) if finite.size else 1.0
    if diverging:
        im = ax.imshow(t, cmap="RdBu", vmin=-lim or -1, vmax=lim or 1)
    else:
        im = ax.imshow(t, cmap="viridis")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ticks = np.arange(k)
    labels = [n if len(n) <= 18 else n[:17] + "…" for n in names]
    if k <= 40:
        ax.set_xticks(ticks, labels, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(ticks, labels, fontsize=7)
    ax.set_xlabel("column member (opponent)")
    ax.set_ylabel("row member")
    ax.set_title(title)
    if k <= 12:
        for i in range(k):
            for j in range(k):
                if not np.isfinite(t[i, j]):
                    continue
                text = f"{t[i, j]:.2f}"
                if stderr is not None and np.isfinite(stderr[i, j]) and stderr[i, j] > 0:
                    text += f"\n±{stderr[i, j]:.2f}"
                dark = diverging and abs(t[i, j]) > 0.6 * (lim or 1.0)
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )
    fig.tight_layout()
    return _png(fig)


def dominance_figure(
    names: Sequence[str],
    edges: Sequence[tuple[int, int]],
    cycles: Sequence[Sequence[int]],
    weights: Sequence[float] | None,
) -> bytes:
    """The dominance graph on a circle: arrows from winner to loser; members on a cycle in red."""
    import networkx as nx

    k = len(names)
    g = nx.DiGraph()
    g.add_nodes_from(range(k))
    g.add_edges_from(edges)
    pos = nx.circular_layout(g) if k > 1 else {0: np.zeros(2)}
    on_cycle = {i for c in cycles for i in c}
    cycle_edges = {(c[t], c[(t + 1) % len(c)]) for c in cycles for t in range(len(c))}
    w = np.asarray(weights if weights is not None else np.zeros(k), dtype=np.float64)
    sizes = 250 + 1500 * w  # marker areas in points^2
    radius = np.sqrt(sizes) / 2  # in points
    fig = _figure(7.0, 7.0)
    ax = fig.add_subplot(1, 1, 1)
    for i, j in edges:
        red = (i, j) in cycle_edges
        ax.annotate(
            "",
            xy=pos[j],
            xytext=pos[i],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "tab:red" if red else "0.45",
                "lw": 1.6 if red else 0.9,
                "shrinkA": float(radius[i]) + 2,
                "shrinkB": float(radius[j]) + 2,
                "connectionstyle": "arc3,rad=0.08",
            },
        )
    xy = np.array([pos[i] for i in range(k)])
    ax.scatter(
        xy[:, 0],
        xy[:, 1],
        s=sizes,
        c=["tab:red" if i in on_cycle else "tab:blue" for i in range(k)],
        edgecolors="black",
        zorder=3,
    )
    for i in range(k):
        label = names[i] if len(names[i]) <= 18 else names[i][:17] + "…"
        ax.annotate(
            label,
            xy[i],
            xytext=(0, -radius[i] - 4),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=8,
        )
    ax.set_title(
        "Dominance graph (arrow: beats significantly; red: on a cycle; size: meta-Nash weight)",
        fontsize=9,
    )
    ax.set_xlim(-1.35, 1.35)
    ax.set_ylim(-1.35, 1.35)
    ax.set_aspect("equal")
    ax.axis("off")
    return _png(fig)


# ---------------------------------------------------------------------------
# Sections as (title, paragraphs, tables, figures); rendered twice


@dataclasses.dataclass
class _Section:
    title: str
    paragraphs: list[str] = dataclasses.field(default_factory=list)
    tables: list[tuple[list[str], list[list[str]]]] = dataclasses.field(default_factory=list)
    figures: list[tuple[str, str]] = dataclasses.field(
        default_factory=list
    )  # (file name, alt text)


def _fmt(x: float, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}f}"


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def _has_metagame(data: ReportData) -> bool:
    return (
        len(data.members) >= 2
        and data.payoffs is not None
        and np.isfinite(
            np.asarray(data.payoffs, dtype=np.float64)[~np.eye(len(data.members), dtype=bool)]
        ).any()
    )


def _sections(data: ReportData) -> tuple[list[_Section], dict[str, bytes]]:
    figures: dict[str, bytes] = {}
    out: list[_Section] = []
    k = len(data.members)

    summary = _Section("League summary")
    rows = [
        ["game", data.game],
        ["kind", data.kind or "–"],
        ["algorithms", ", ".join(data.algorithms) or "–"],
        ["learner steps", f"{data.steps:,}"],
        ["wall time", _duration(data.wall_seconds)],
        ["members", str(k)],
        ["matches", f"{data.matches:,}"],
    ]
    summary.tables.append((["", ""], rows))
    if k <= 1 or data.matches == 0:
        who = f"one member ({data.members[0]})" if k == 1 else f"{k} members"
        summary.paragraphs.append(
            f"This league has {who} and {data.matches} matches so far: there is no meta-game "
            "to analyse yet, so the payoff, meta-Nash, Nash-averaging and dominance sections are empty."
        )
    out.append(summary)

    ratings = _Section("Ratings over time")
    png = ratings_figure(data.ratings)
    if png is None:
        ratings.paragraphs.append(
            "No ratings yet: members are rated once they have played matches."
        )
    else:
        figures["ratings.png"] = png
        ratings.figures.append(("ratings.png", "Rating curves (Elo, mElo) over learner steps"))
        last: dict[tuple[str, str], tuple[int, float]] = {}
        for p in data.ratings:
            key = (p.member, p.system)
            if key not in last or p.step >= last[key][0]:
                last[key] = (p.step, p.value)
        systems = sorted({p.system for p in data.ratings})
        members = sorted(
            {p.member for p in data.ratings},
            key=lambda m: -last.get((m, systems[0]), (0, -1e300))[1],
        )
        table = [
            [m] + [_fmt(last[(m, s)][1], 1) if (m, s) in last else "–" for s in systems]
            for m in members[:15]
        ]
        ratings.tables.append((["member"] + [_SYSTEM_TITLES.get(s, s) for s in systems], table))
        if len(members) > 15:
            ratings.paragraphs.append(f"Latest ratings of the top 15 of {len(members)} members.")
    out.append(ratings)

    gaps = _Section("NashConv and exploitability over time")
    png = gaps_figure(data.gaps)
    if png is None:
        gaps.paragraphs.append("No NashConv or exploitability measurements yet.")
    else:
        figures["nash_conv.png"] = png
        gaps.figures.append(
            (
                "nash_conv.png",
                "NashConv of the learner and of the meta-Nash mixture over learner steps",
            )
        )
        latest: dict[tuple[str, str], GapPoint] = {}
        for p in data.gaps:
            if (p.who, p.metric) not in latest or p.step >= latest[(p.who, p.metric)].step:
                latest[(p.who, p.metric)] = p
        gaps.tables.append(
            (
                ["who", "measure", "latest value", "at step", "method"],
                [
                    [
                        p.who,
                        p.metric,
                        _fmt(p.value, 5),
                        f"{p.step:,}",
                        "exact" if p.method == EXACT else "lower bound (exploiter)",
                    ]
                    for _, p in sorted(latest.items())
                ],
            )
        )
    out.append(gaps)

    has_meta = _has_metagame(data)
    payoff = _Section("Payoff table (empirical meta-game)")
    if has_meta:
        diverging = data.kind in ("zero_sum", "constant_sum", "")
        figures["payoffs.png"] = heatmap_figure(
            data.members,
            np.asarray(data.payoffs, dtype=np.float64),
            None
            if data.payoff_stderr is None
            else np.asarray(data.payoff_stderr, dtype=np.float64),
            "Mean return of the row member against the column member",
            diverging,
        )
        payoff.figures.append(("payoffs.png", "Payoff heatmap of the meta-game"))
        payoff.paragraphs.append(
            "Frozen members and references only (live learners have their own section). "
            "Entry (row, column): the row member's mean return against the column member, "
            "averaged over seats (each seating counts equally); "
            + (
                "exact expected returns, no sampling noise."
                if data.table_method == EXACT
                else "estimated from sampled matches; annotations show ± one standard error."
            )
        )
    else:
        payoff.paragraphs.append(
            "No meta-game of two or more frozen members stored yet (see the notes)."
        )
    out.append(payoff)

    support = _Section("Meta-Nash support")
    if has_meta and data.meta_nash is not None:
        w = np.asarray(data.meta_nash, dtype=np.float64)
        order = [i for i in np.argsort(-w, kind="stable") if w[i] > 1e-6]
        method = {"lp": "linear programming (zero-sum)", "alpharank": "alpha-rank"}.get(
            data.meta_method, data.meta_method or "–"
        )
        support.paragraphs.append(
            f"{len(order)} of {k} frozen members and references have positive weight; "
            f"solved by {method}. Live learners are not meta-strategies: see their own section."
        )
        support.tables.append(
            (["member", "weight"], [[data.members[i], _fmt(w[i], 4)] for i in order])
        )
    else:
        support.paragraphs.append("No meta-Nash yet.")
    out.append(support)

    averaging = _Section("Top members by Nash averaging")
    if has_meta and data.nash_averaging is not None:
        r = np.asarray(data.nash_averaging, dtype=np.float64)
        nw = np.asarray(
            data.nash_averaging_weights if data.nash_averaging_weights is not None else np.zeros(k)
        )
        order = np.lexsort((-nw, -r))[:15]
        averaging.paragraphs.append(
            "Nash averaging (Balduzzi et al. 2018): each member's mean payoff against the "
            "maximum-entropy Nash mixture of the antisymmetric meta-game. 0 is the best possible; "
            "copies of a member do not change anyone's rating."
        )
        averaging.tables.append(
            (
                ["rank", "member", "rating", "maxent Nash weight"],
                [
                    [str(n + 1), data.members[i], _fmt(r[i], 4), _fmt(nw[i], 4)]
                    for n, i in enumerate(order)
                ],
            )
        )
    elif has_meta and data.nash_averaging_note:
        averaging.paragraphs.append(f"No Nash-averaging ratings: {data.nash_averaging_note}.")
    else:
        averaging.paragraphs.append("No Nash-averaging ratings yet.")
    out.append(averaging)

    dom = _Section("Dominance graph and intransitivity")
    if has_meta:
        figures["dominance.png"] = dominance_figure(
            data.members, data.dominance_edges, data.intransitive, data.meta_nash
        )
        dom.figures.append(("dominance.png", "Dominance graph of the population"))
        dom.paragraphs.append(
            f"{len(data.dominance_edges)} significant wins (mean advantage above two standard errors)."
        )
        if data.intransitive:
            dom.paragraphs.append(
                "Intransitive cycles (each member beats the next, the last beats the first):"
            )
            dom.tables.append(
                (
                    ["cycle"],
                    [
                        [" → ".join(data.members[i] for i in c + [c[0]])]
                        for c in data.intransitive[:20]
                    ],
                )
            )
        else:
            dom.paragraphs.append(
                "No cycle of significant wins: the population is transitive so far."
            )
    else:
        dom.paragraphs.append("No dominance graph yet.")
    out.append(dom)

    if data.learners:
        out.append(_learner_section(data))

    if data.kind == "cooperative":
        cross = _Section("Cross-play (cooperative game)")
        table = data.cross_play if data.cross_play is not None else data.payoffs
        if has_meta and table is not None:
            t = np.asarray(table, dtype=np.float64)
            diag = np.diag(t)[np.isfinite(np.diag(t))]
            off = t[~np.eye(k, dtype=bool)]
            off = off[np.isfinite(off)]
            figures["cross_play.png"] = heatmap_figure(
                data.members, t, None, "Common return: row member with column member", False
            )
            cross.figures.append(("cross_play.png", "Cross-play heatmap"))
            sp = float(diag.mean()) if diag.size else float("nan")
            xp = float(off.mean()) if off.size else float("nan")
            cross.tables.append(
                (
                    ["self-play (diagonal)", "cross-play (off-diagonal)", "gap"],
                    [[_fmt(sp), _fmt(xp), _fmt(sp - xp)]],
                )
            )
            cross.paragraphs.append(
                "A large gap means members learned conventions that only work with themselves "
                "(Hu et al. 2020, Other-Play)."
            )
        else:
            cross.paragraphs.append("No cross-play results yet.")
        out.append(cross)

    notes = _Section("Notes: what is exact and what is a bound")
    exact = sorted({p.who for p in data.gaps if p.method == EXACT})
    bound = sorted({p.who for p in data.gaps if p.method != EXACT})
    if exact:
        notes.paragraphs.append(
            "Exact: NashConv of " + ", ".join(exact) + " computed by exhaustive best responses "
            "(OpenSpiel's best-response code on the policy's full table, or backward induction in matrix games)."
        )
    if bound:
        notes.paragraphs.append(
            "Lower bounds: NashConv of " + ", ".join(bound) + " measured by a trained exploiter "
            "(the true value is at least this; the game is too large to enumerate)."
        )
    if not data.gaps:
        notes.paragraphs.append("No Nash-gap measurement was made.")
    if has_meta and data.table_method == EXACT:
        notes.paragraphs.append(
            "The payoff table, meta-Nash, Nash averaging and dominance graph are exact: "
            "computed from exact expected returns, no sampling."
        )
    elif has_meta:
        how = data.table_method.removeprefix("sampled").strip()
        how = f" {how}" if how else ""
        notes.paragraphs.append(
            "The payoff table, meta-Nash, Nash averaging and dominance graph are estimated from "
            f"sampled matches{how}, standard errors shown, not exact."
        )
    notes.paragraphs.extend(data.notes)
    out.append(notes)
    return out, figures


def _learner_section(data: ReportData) -> _Section:
    """Each live learner against the frozen members, and its own NashConv."""
    sec = _Section("Learners against the frozen pool")
    sec.paragraphs.append(
        "Live learners are not members of the frozen meta-game: each row is the learner's "
        "mean return against each frozen member"
        + (f" ({data.table_method})" if data.table_method else "")
        + " and against the frozen meta-Nash mixture, with its own NashConv."
    )
    k = len(data.members)
    shown = data.members if k <= 8 else []
    rows = []
    for r in data.learners:
        g = r.gap
        gap = (
            f"{_fmt(g.nash_conv, 5)} ({g.method})"
            if g.nash_conv is not None
            else f"not computed ({g.note})"
        )
        rows.append(
            [r.name, _fmt(r.vs_meta_nash)] + [_fmt(r.returns[i]) for i in range(len(shown))] + [gap]
        )
    sec.tables.append(
        (["learner", "vs meta-Nash"] + [f"vs {m}" for m in shown] + ["NashConv"], rows)
    )
    mg = data.meta_nash_gap
    if mg is not None:
        sec.paragraphs.append(
            "NashConv of the frozen meta-Nash mixture: "
            + (
                f"{_fmt(mg.nash_conv, 5)} ({mg.method})."
                if mg.nash_conv is not None
                else f"not computed ({mg.note})."
            )
        )
    return sec


# ---------------------------------------------------------------------------
# Rendering

_CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:980px;margin:2em auto;
padding:0 1em;color:#222;background:#fff;line-height:1.45}
h1{border-bottom:2px solid #446;padding-bottom:.2em}h2{margin-top:1.6em;color:#335}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#eef}img{max-width:100%;height:auto;display:block;margin:.8em 0;border:1px solid #ddd}
.meta{color:#666;font-size:.9em}
"""


def _html(title: str, sections: list[_Section], figures: dict[str, bytes], created: str) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="meta">Generated {e(created)} by arena report.</p>',
    ]
    for s in sections:
        slug = s.title.lower().replace(" ", "-").replace(":", "").replace("(", "").replace(")", "")
        parts.append(f'<section id="{e(slug)}"><h2>{e(s.title)}</h2>')
        for p in s.paragraphs:
            parts.append(f"<p>{e(p)}</p>")
        for header, rows in s.tables:
            parts.append("<table>")
            if any(header):
                parts.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
            for row in rows:
                parts.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
            parts.append("</table>")
        for name, alt in s.figures:
            data = base64.b64encode(figures[name]).decode("ascii")
            parts.append(
                f'<img alt="{e(alt)}" data-name="{e(name)}" src="data:image/png;base64,{data}">'
            )
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown(title: str, sections: list[_Section], created: str) -> str:
    lines = [f"# {title}", "", f"_Generated {created} by arena report._", ""]
    for s in sections:
        lines += [f"## {s.title}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        for header, rows in s.tables:
            head = [_md_cell(h) or " " for h in header]
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "|".join("---" for _ in head) + "|")
            for row in rows:
                lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
            lines.append("")
        for name, alt in s.figures:
            lines += [f"![{alt}]({name})", ""]
    return "\n".join(lines)


def write_report(data: ReportData, out_dir: str | os.PathLike) -> tuple[str, str]:
    """Write ``report.html`` (self-contained) and ``report.md`` (+ PNGs) into ``out_dir``.

    Returns:
        ``(html_path, md_path)``.
    """
    os.makedirs(out_dir, exist_ok=True)
    sections, figures = _sections(data)
    title = data.title or f"League report: {data.game}"
    created = time.strftime("%Y-%m-%d %H:%M:%S")
    for name, png in figures.items():
        _atomic_write(os.path.join(out_dir, name), png)
    html_path = os.path.join(out_dir, "report.html")
    md_path = os.path.join(out_dir, "report.md")
    _atomic_write(html_path, _html(title, sections, figures, created).encode("utf-8"))
    _atomic_write(md_path, _markdown(title, sections, created).encode("utf-8"))
    return html_path, md_path


def _atomic_write(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


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
      an :class:`arena.population.PopulationEvaluation`), as stored: nothing
      is recomputed. None stored, or one in an older format: the report says
      so and leaves the meta-game sections empty.

    Raises:
        leagues.store.StoreError: not a league store.
    """
    from arena.population import PopulationEvaluation, PopulationFormatError
    from leagues.store import Store

    with Store.open(db_path, readonly=True) as store:
        cfg = store.config()
        parsed = cfg[1] if cfg else {}
        members = store.members()
        all_matches = store.matches()
        rating_rows = store.ratings()
        evaluations = store.evaluations()
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
            gaps.append(GapPoint(ev.step, who, float(p["nash_conv"]), method, "nash_conv"))

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


def report_command(args) -> int:
    """``arena report DB [--out DIR]``: write the report and print where it is."""
    db = os.fspath(args.db)
    if not os.path.exists(db):
        raise FileNotFoundError(f"{db}: no such league database; give the .db file of a league run")
    out = args.out or os.path.splitext(db)[0] + "_report"
    if os.path.exists(out) and not os.path.isdir(out):
        from games.core import ArenaError

        raise ArenaError(f"--out {out}: a file, not a folder; give a folder for the report")
    data = load_report_data(db)
    html_path, md_path = write_report(data, out)
    print(f"report: {html_path}")
    print(f"markdown: {md_path}")
    return 0
