"""Two-player matrix games (one-shot, repeated, multi-stage) as a payoff table.

Rows are player 0's actions, columns player 1's; each cell shows both payoffs
(row player's first). The person clicks a row (seat 0) or a column (seat 1);
the agent picks its action at the same time, then the played cell lights up
with both choices and payoffs. Repeated and multi-stage games show the stage
being played, the round, and the rounds so far. OpenSpiel's normal-form games
(``matrix_rps``, ``matrix_pd``, ...) are shown through
``games.matrix.from_openspiel``.

:class:`MatrixView` is pure: the stage being played is found by following the
game's ``next_stage`` tables through the joint actions of this game.
"""

from __future__ import annotations

import numpy as np

from arena.render.layout import Layout, Rect, px
from arena.render.session import fmt


class MatrixView:
    """Which stage is on the table, the last joint action and the rounds so far."""

    family = "payoff table"

    def __init__(self, matrix):
        self.matrix = matrix
        self.stage = 0
        self.shown_stage = 0
        self.last: tuple[int, int] | None = None
        self.rounds: list[tuple[int, tuple[int, int], tuple[float, float]]] = []

    def seat_name(self, seat: int) -> str:
        return ("row", "column")[seat] if seat < 2 else f"player {seat}"

    def update(self, session) -> None:
        stage = 0
        self.rounds = []
        for step in session.history:
            joint = (int(step.actions[0]), int(step.actions[1]))
            self.rounds.append((stage, joint, (float(step.rewards[0]), float(step.rewards[1]))))
            nxt = int(self.matrix.next_stage[stage][joint])
            if nxt < 0:
                break
            stage = nxt
        self.stage = stage
        if self.rounds:
            last_stage, joint, _ = self.rounds[-1]
            self.last = joint if last_stage == stage or session.over else None
            self.shown_stage = last_stage if session.over else stage
        else:
            self.last = None
            self.shown_stage = 0

    def click(self, session, target: tuple):
        return None

    def payoffs(self) -> np.ndarray:
        """``[2, A0, A1]`` payoffs of the stage on screen."""
        return self.matrix.payoffs[self.shown_stage]


class TableRenderer:
    """The payoff table, the last round and the history."""

    def layout(self, session, area: Rect, s: float) -> Layout:
        view: MatrixView = session.view
        lay = Layout(scale=s)
        pay = view.payoffs()
        n_rows, n_cols = pay.shape[1], pay.shape[2]
        title_h = px(44, s)
        info_h = px(130, s) if view.matrix.info.max_episode_length > 1 else px(64, s)
        _, rest = area.split_top(title_h)
        grid_area, info = rest.split_bottom(info_h)
        lay.regions["title"] = Rect(area.x, area.y, area.w, title_h)
        lay.regions["info"] = info
        head_w = min(px(150, s), grid_area.w // 4)
        head_h = px(40, s)
        cell_w = min(px(170, s), (grid_area.w - head_w) // max(n_cols, 1))
        cell_h = min(px(84, s), (grid_area.h - head_h) // max(n_rows, 1))
        total_w = head_w + cell_w * n_cols
        total_h = head_h + cell_h * n_rows
        x0 = grid_area.x + (grid_area.w - total_w) // 2
        y0 = grid_area.y + (grid_area.h - total_h) // 2
        lay.extra.update(x0=x0, y0=y0, head_w=head_w, head_h=head_h, cell_w=cell_w, cell_h=cell_h)
        lay.regions["grid"] = Rect(x0, y0, total_w, total_h)
        for i in range(n_rows):
            for j in range(n_cols):
                lay.regions[f"cell{i},{j}"] = Rect(
                    x0 + head_w + j * cell_w, y0 + head_h + i * cell_h, cell_w, cell_h
                )
        seat = session.waiting_humans()[0] if session.waiting_humans() else None
        if seat == 0:
            for i in range(n_rows):
                lay.add(Rect(x0, y0 + head_h + i * cell_h, total_w, cell_h), ("action", i))
        elif seat == 1:
            for j in range(n_cols):
                lay.add(Rect(x0 + head_w + j * cell_w, y0, cell_w, total_h), ("action", j))
        return lay

    def draw(self, surface, session, lay: Layout) -> None:
        from arena.render import theme

        view: MatrixView = session.view
        m = view.matrix
        s = lay.scale
        pay = view.payoffs()
        names = m.action_names
        e = lay.extra
        x0, y0, hw, hh, cw, ch = (
            e["x0"],
            e["y0"],
            e["head_w"],
            e["head_h"],
            e["cell_w"],
            e["cell_h"],
        )
        c_row, c_col = theme.seat_color(0), theme.seat_color(1)

        title = lay.regions["title"]
        parts = []
        if m.num_stages > 1:
            parts.append(f"stage {m.stage_names[view.shown_stage]}")
        if m.info.max_episode_length > 1:
            played = len(view.rounds)
            upto = "" if m.is_repeated else "up to "
            now = min(played + (0 if session.over else 1), m.info.max_episode_length)
            parts.append(f"round {now} of {upto}{m.info.max_episode_length}")
        else:
            parts.append("one-shot game")
        parts.append(f"{m.info.kind.replace('_', '-')}")
        words = "   |   ".join(parts)
        theme.text(
            surface,
            words,
            (title.x, title.center[1]),
            theme.fs(22, s),
            theme.TEXT,
            anchor="midleft",
            bold=True,
            max_width=title.w,
        )

        # Headers: the row player's actions down the left, the column player's along the top.
        theme.text(
            surface,
            f"{session.who(0)} (rows)",
            (x0 + hw // 2, y0 + hh // 2),
            theme.fs(15, s),
            c_row,
            anchor="center",
            bold=True,
            max_width=hw - 8,
        )
        waiting = session.waiting_humans()
        for j in range(pay.shape[2]):
            r = Rect(x0 + hw + j * cw, y0, cw, hh)
            theme.text(
                surface,
                names[1][j],
                r.center,
                theme.fs(19, s),
                c_col,
                anchor="center",
                bold=True,
                max_width=cw - 8,
            )
        for i in range(pay.shape[1]):
            r = Rect(x0, y0 + hh + i * ch, hw, ch)
            theme.text(
                surface,
                names[0][i],
                (r.x + px(10, s), r.center[1]),
                theme.fs(19, s),
                c_row,
                anchor="midleft",
                bold=True,
                max_width=hw - 12,
            )
        theme.text(
            surface,
            f"{session.who(1)} (columns)",
            (x0 + hw + cw * pay.shape[2] // 2, y0 - px(14, s)),
            theme.fs(15, s),
            c_col,
            anchor="center",
            bold=True,
        )

        for i in range(pay.shape[1]):
            for j in range(pay.shape[2]):
                r = lay.regions[f"cell{i},{j}"]
                played = view.last == (i, j)
                fill = (64, 58, 30) if played else theme.PANEL
                theme.box(
                    surface,
                    r.inset(2),
                    fill,
                    edge=theme.SELECT if played else theme.PANEL_EDGE,
                    radius=px(8, s),
                    width=px(4, s) if played else 1,
                )
                size = theme.fs(22, s)
                a = theme.text(
                    surface,
                    fmt_pay(pay[0, i, j]),
                    (r.center[0] - px(6, s), r.center[1]),
                    size,
                    c_row,
                    anchor="midright",
                    bold=True,
                )
                theme.text(
                    surface, ",", (a.right + 1, r.center[1]), size, theme.MUTED, anchor="midleft"
                )
                theme.text(
                    surface,
                    fmt_pay(pay[1, i, j]),
                    (r.center[0] + px(6, s), r.center[1]),
                    size,
                    c_col,
                    anchor="midleft",
                    bold=True,
                )
        # Clickable rows / columns glow.
        for h in lay.hits:
            theme.glow(surface, h.rect, theme.LEGAL, 38, radius=px(8, s))

        info = lay.regions["info"]
        y = info.y + px(8, s)
        if view.rounds:
            stage, (i, j), (r0, r1) = view.rounds[-1]
            line = (
                f"{session.who(0)}: {names[0][i]}    {session.who(1)}: {names[1][j]}    "
                f"->  {fmt(r0)} / {fmt(r1)}"
            )
            theme.text(
                surface,
                line,
                (info.center[0], y),
                theme.fs(21, s),
                theme.WARN,
                anchor="midtop",
                bold=True,
                max_width=info.w,
            )
            y += theme.fs(21, s) + px(10, s)
        elif waiting:
            hint = "click a row" if waiting[0] == 0 else "click a column"
            theme.text(
                surface,
                f"You are the {view.seat_name(waiting[0])} player: {hint}",
                (info.center[0], y),
                theme.fs(19, s),
                theme.GOOD,
                anchor="midtop",
            )
            y += theme.fs(19, s) + px(10, s)
        if m.info.max_episode_length > 1 and view.rounds:
            shown = view.rounds[-4:]
            first = len(view.rounds) - len(shown)
            for k, (stage, (i, j), (r0, r1)) in enumerate(shown):
                tag = f"  [{m.stage_names[stage]}]" if m.num_stages > 1 else ""
                theme.text(
                    surface,
                    f"round {first + k + 1}: {names[0][i]} / {names[1][j]}  ->  {fmt(r0)} / {fmt(r1)}{tag}",
                    (info.center[0], y),
                    theme.fs(16, s),
                    theme.MUTED,
                    anchor="midtop",
                    max_width=info.w,
                )
                y += theme.fs(16, s) + px(4, s)
            tot = session.returns
            theme.text(
                surface,
                f"this game so far: {fmt(tot[0])} / {fmt(tot[1])}",
                (info.center[0], y),
                theme.fs(16, s),
                theme.TEXT,
                anchor="midtop",
            )


def fmt_pay(x: float) -> str:
    """A payoff for a table cell (``-0`` shows as ``0``)."""
    x = float(x) + 0.0
    return f"{x:g}" if abs(x) < 1e5 else f"{x:.3g}"
