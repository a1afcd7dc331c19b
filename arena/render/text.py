"""The fallback for every other game: the state's text and one button per legal action.

What the text shows. OpenSpiel: the whole state (``str(state)``) in games of
perfect information, when watching, and once the game is over; otherwise
the person's own information state string (or observation string) so that
no hidden card or die shows. Other games: the name and the person's
observation vector. Under it, the last moves of this game.

Buttons. The person's legal actions, labelled with their action strings
(``state.action_to_string``), wrapped into rows and split into pages when
they do not fit (``<`` and ``>`` turn pages). In simultaneous games the
person picks an action and the agents pick theirs when the joint action is
played.
"""

from __future__ import annotations

import numpy as np

from arena.render.layout import Layout, Rect, fits, flow, px


class TextView:
    """The text to show, the person's buttons and the page they are on."""

    family = "text"

    def __init__(self, game):
        self.game = game
        self.page = 0

    def seat_name(self, seat: int) -> str:
        return f"player {seat}"

    def update(self, session) -> None:
        self.page = 0

    def text(self, session) -> str:
        state = session.state
        seat = session.viewpoint
        if state is None:
            obs = session.ts.obs[0, seat if seat is not None else 0]
            vec = np.array2string(obs, precision=2, max_line_width=70, threshold=200)
            return f"{self.game.info.name}\nobservation of player {seat or 0}:\n{vec}"
        perfect = _perfect_information(state)
        if seat is None or perfect or state.is_terminal():
            return str(state)
        t = state.get_game().get_type()
        for provided, method in (
            (t.provides_information_state_string, state.information_state_string),
            (t.provides_observation_string, state.observation_string),
        ):
            if provided:
                try:
                    return method(seat)
                except Exception:  # noqa: BLE001 - refused at this node
                    continue
        return "(this game shows nothing to its players)"

    def buttons(self, session) -> list[tuple[int, str]]:
        """(action, label) for the waiting person's legal actions."""
        waiting = session.waiting_humans()
        if not waiting:
            return []
        seat = waiting[0]
        return [
            (a, session.action_label(seat, a)) for a in np.flatnonzero(session.legal(seat)).tolist()
        ]

    def click(self, session, target: tuple):
        if target[0] == "button" and target[1] in ("page_next", "page_prev"):
            self.page += 1 if target[1] == "page_next" else -1
            return None
        return None


def _perfect_information(state) -> bool:
    import pyspiel

    t = state.get_game().get_type()
    return t.information == pyspiel.GameType.Information.PERFECT_INFORMATION


class TextRenderer:
    """Text box, recent moves and paginated action buttons."""

    def layout(self, session, area: Rect, s: float) -> Layout:
        view: TextView = session.view
        lay = Layout(scale=s)
        buttons = view.buttons(session)
        size = px(17, s)
        button_h = min(int(area.h * 0.45), max(px(56, s), _needed(buttons, area, size, s)))
        text_area, button_area = area.split_bottom(button_h if buttons else 0)
        lay.regions["text"] = text_area
        lay.regions["buttons"] = button_area
        if not buttons:
            return lay
        labels = [label for _, label in buttons]
        nav_h = px(40, s)
        inner = button_area.inset(0, px(6, s))
        rects = flow(labels, inner, size, s, min_width=px(64, s))
        per_page = fits(rects, inner)
        if per_page < len(labels):
            body, nav = inner.split_bottom(nav_h)
            rects = flow(labels, body, size, s, min_width=px(64, s))
            per_page = max(1, fits(rects, body))
            pages = -(-len(labels) // per_page)
            view.page = max(0, min(view.page, pages - 1))
            start = view.page * per_page
            page_rects = flow(labels[start : start + per_page], body, size, s, min_width=px(64, s))
            for (a, _), r in zip(buttons[start : start + per_page], page_rects):
                lay.add(r, ("action", a))
            w = px(60, s)
            if view.page > 0:
                lay.add(Rect(nav.x, nav.y + 4, w, nav.h - 8), ("button", "page_prev"))
            if view.page < pages - 1:
                lay.add(Rect(nav.right - w, nav.y + 4, w, nav.h - 8), ("button", "page_next"))
            lay.extra["page"] = (view.page + 1, pages, nav)
        else:
            for (a, _), r in zip(buttons, rects):
                lay.add(r, ("action", a))
        return lay

    def draw(self, surface, session, lay: Layout) -> None:
        from arena.render import theme

        view: TextView = session.view
        s = lay.scale
        area = lay.regions["text"]
        theme.box(surface, area, (22, 26, 35), edge=theme.PANEL_EDGE, radius=px(10, s))
        inner = area.inset(px(16, s), px(12, s))
        moves = _recent_moves(session)
        moves_h = (len(moves) + 1) * (theme.fs(15, s) + px(4, s)) if moves else 0
        words = view.text(session).rstrip("\n").split("\n")
        longest = max((len(w) for w in words), default=1)
        size = theme.fs(24, s)
        while size > 10 and (
            theme.mono_width(size) * longest > inner.w
            or len(words) * size * 1.15 > inner.h - moves_h
        ):
            size -= 1
        theme.mono_lines(
            surface, words, (inner.x, inner.y), size, theme.TEXT, max_height=inner.h - moves_h
        )
        y = inner.bottom - moves_h + px(4, s)
        if moves:
            theme.text(surface, "last moves", (inner.x, y), theme.fs(14, s), theme.MUTED, bold=True)
            y += theme.fs(15, s) + px(4, s)
            for line in moves:
                theme.text(
                    surface, line, (inner.x, y), theme.fs(15, s), theme.ACCENT, max_width=inner.w
                )
                y += theme.fs(15, s) + px(4, s)
        waiting = session.waiting_humans()
        for h in lay.hits:
            kind, what = h.target
            if kind == "action":
                theme.button(
                    surface,
                    h.rect,
                    session.action_label(waiting[0], what),
                    theme.fs(17, s),
                    state="legal",
                )
            else:
                theme.button(surface, h.rect, "<" if what == "page_prev" else ">", theme.fs(20, s))
        if "page" in lay.extra:
            page, pages, nav = lay.extra["page"]
            theme.text(
                surface,
                f"page {page} of {pages}",
                nav.center,
                theme.fs(15, s),
                theme.MUTED,
                anchor="center",
            )


def _needed(buttons, area: Rect, size: int, s: float) -> int:
    if not buttons:
        return 0
    rects = flow(
        [label for _, label in buttons],
        Rect(area.x, 0, area.w, 10_000),
        size,
        s,
        min_width=px(64, s),
    )
    return rects[-1].bottom + px(14, s)


def _recent_moves(session, n: int = 4) -> list[str]:
    lines = []
    for step in session.history[-n:]:
        parts = [f"{session.who(p)}: {step.labels[p]}" for p in np.flatnonzero(step.acted).tolist()]
        lines.append("   ".join(parts))
    return lines
