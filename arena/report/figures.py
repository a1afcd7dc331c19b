"""Report figures: matplotlib on the Agg canvas (no pyplot, no display), as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from arena.report.data import BOUND, EXACT, GapPoint, RatingPoint

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
    """NashConv / exploitability against the league step, one curve per learner and one for the
    meta-Nash mixture; bounds dashed with upward triangles."""
    if not points:
        return None
    metrics = sorted({p.metric for p in points}, key=lambda m: (m != "nash_conv", m))
    fig = _figure(8.0, 3.4 * len(metrics))
    names = sorted({p.series for p in points}, key=lambda n: (n == "meta-Nash mixture", n))
    cycle = ["tab:blue", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink"]
    colors = {
        n: cycle[i % len(cycle)] for i, n in enumerate(n for n in names if n != "meta-Nash mixture")
    }
    colors["meta-Nash mixture"] = "tab:orange"
    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(len(metrics), 1, k + 1)
        for name in names:
            for method in (EXACT, BOUND):
                mine = sorted(
                    (p.step, p.value)
                    for p in points
                    if p.metric == metric
                    and p.series == name
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
                    color=colors[name],
                    label=f"{name} ({'exact' if exact else 'lower bound'})",
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
