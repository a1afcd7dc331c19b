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
import math
import os
import time

import numpy as np

from arena.report.data import EXACT, GapPoint, ReportData
from arena.report.figures import (
    _SYSTEM_TITLES,
    dominance_figure,
    gaps_figure,
    heatmap_figure,
    ratings_figure,
)

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


def _sig(x: float, digits: int = 3) -> str:
    """``x`` with at least ``digits`` significant digits and no exponent (1,523; 12.3; 0.00123)."""
    if x is None or not math.isfinite(x):
        return "–"
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:,.{decimals}f}"


def _absent_gaps(data) -> list[str]:
    """One line per learner (and the mixture) of the stored evaluation whose gap is absent, with why."""
    lines = []
    for r in data.learners:
        if r.gap.nash_conv is None and r.gap.note:
            lines.append(f"No NashConv of learner {r.name}: {r.gap.note}.")
    mg = data.meta_nash_gap
    if mg is not None and mg.nash_conv is None and mg.note:
        lines.append(f"No NashConv of the meta-Nash mixture: {mg.note}.")
    return lines


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
        [
            "learner steps"
            + (f" (all {len(data.learners)} learners)" if len(data.learners) > 1 else ""),
            f"{data.steps:,}",
        ],
        ["wall time", _duration(data.wall_seconds)],
        ["frozen members and references" if data.learners else "members", str(k)],
        *([["learners", str(len(data.learners))]] if data.learners else []),
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
            [m] + [_sig(last[(m, s)][1]) if (m, s) in last else "–" for s in systems]
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
        gaps.paragraphs.extend(_absent_gaps(data))
    else:
        figures["nash_conv.png"] = png
        gaps.figures.append(
            (
                "nash_conv.png",
                "NashConv of each learner and of the meta-Nash mixture over learner steps",
            )
        )
        latest: dict[tuple[str, str], GapPoint] = {}
        for p in data.gaps:
            key = (p.series, p.metric)
            if key not in latest or p.step >= latest[key].step:
                latest[key] = p
        first = {}
        for p in sorted(data.gaps, key=lambda p: p.step):
            first.setdefault((p.series, p.metric), p)
        gaps.tables.append(
            (
                ["who", "measure", "first value", "latest value", "at step", "method"],
                [
                    [
                        name,
                        p.metric.replace("_", " "),
                        f"{_fmt(first[(name, metric)].value, 5)} (step {first[(name, metric)].step:,})",
                        _fmt(p.value, 5),
                        f"{p.step:,}",
                        "exact" if p.method == EXACT else "lower bound (exploiter)",
                    ]
                    for (name, metric), p in sorted(
                        latest.items(), key=lambda kv: (kv[0][0] == "meta-Nash mixture", kv[0])
                    )
                ],
            )
        )
        gaps.paragraphs.extend(_absent_gaps(data))
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
        if data.table_method == EXACT:
            dom.paragraphs.append(
                f"{len(data.dominance_edges)} wins: an edge where the exact expected advantage is "
                "positive (no sampling, so every edge is certain)."
            )
        else:
            dom.paragraphs.append(
                f"{len(data.dominance_edges)} significant wins (mean advantage above two standard "
                "errors; exact for deterministic pairs)."
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

    for ref in data.cfr_references:
        out.append(_cfr_section(data, ref))

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
    exact = sorted({p.series for p in data.gaps if p.method == EXACT})
    bound = sorted({p.series for p in data.gaps if p.method != EXACT})
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
        how = data.table_method.removeprefix("sampled").strip(" :")
        how = f" ({how})" if how else ""
        notes.paragraphs.append(
            "The payoff table, meta-Nash, Nash averaging and dominance graph are estimated from "
            f"sampled matches{how}, standard errors shown; a deterministic pair (both policies "
            "deterministic in a game without chance) replays one game per seating, so its entry is "
            "exact, standard error 0."
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


def _cfr_section(data: ReportData, ref) -> _Section:
    """How the learners and members do against a CFR reference (:class:`arena.report.data.CFRReferenceData`)."""
    several = len(data.cfr_references) > 1
    sec = _Section(
        f"Against the CFR reference ({ref.name})" if several else "Against the CFR reference"
    )
    what = (
        f"{ref.name}: the {ref.title} (OpenSpiel's C++ solver, solved once when the league started)"
    )
    if ref.nash_conv is not None:
        what += f"; exact NashConv of its stored table {_sig(ref.nash_conv)}"
    if ref.solve_seconds is not None:
        what += f", solved in {ref.solve_seconds:.2f} s"
    sec.paragraphs.append(what + ".")
    if ref.players == 2 and data.kind == "zero_sum" and ref.nash_conv is not None:
        sec.paragraphs.append(
            "Two-player zero-sum: with seats rotating, no policy can average more than the "
            f"reference's exploitability (NashConv / 2 = {_sig(ref.nash_conv / 2)}) against it, so "
            "a return near that is as good as any policy can do; below 0, the reference wins."
        )
    elif ref.players > 2 or data.kind in ("general_sum", "cooperative"):
        sec.paragraphs.append(
            "Outside two-player zero-sum games CFR's average policy carries no Nash guarantee "
            "(its regrets vanish, so the empirical play approaches a coarse correlated "
            "equilibrium); its NashConv above says how far from Nash it is."
        )
    if ref.note:
        sec.paragraphs.append(f"The reference's table: {ref.note}.")
    step = f" at step {data.evaluation_step:,}" if data.evaluation_step is not None else ""
    told = []
    if ref.learner_returns:
        told.append(
            f"each learner's mean return against it (the stored population evaluation{step}, "
            f"{data.table_method or 'as stored'})"
        )
        sec.tables.append(
            (
                ["learner", f"mean return vs {ref.name}", "± stderr"],
                [[n, _fmt(r), _fmt(e)] for n, r, e in ref.learner_returns],
            )
        )
    if ref.rating is not None and ref.rating_gaps:
        told.append(
            f"each rated member's Elo minus the reference's ({_sig(ref.rating)}), with the expected "
            "score against it, 1 / (1 + 10^(-difference / 400))"
            + (f"; the top 15 of {len(ref.rating_gaps)}" if len(ref.rating_gaps) > 15 else "")
        )
        sec.tables.append(
            (
                ["member", "Elo - reference's", "expected score vs reference"],
                [
                    [n, f"{d:+.1f}", _fmt(1.0 / (1.0 + 10.0 ** (-d / 400.0)), 3)]
                    for n, d in ref.rating_gaps[:15]
                ],
            )
        )
    if told:
        sec.paragraphs.append("Below: " + "; and ".join(told) + ".")
    else:
        sec.paragraphs.append("No returns or ratings against it stored yet.")
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
