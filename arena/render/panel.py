"""The parts of the window every game shares: header, status line and side panel.

The side panel shows the running score, the agent's last decision as a bar
chart of its action probabilities (``Act.probs``), recent messages and the
keyboard shortcuts.
"""

from __future__ import annotations

import numpy as np
import pygame

from arena.render import theme
from arena.render.layout import Layout, Rect, px
from arena.render.session import Session, fmt

PLAY_KEYS = [
    ("click", "play a move"),
    ("r", "restart / next game"),
    ("space", "pause the agent"),
    ("n  /  right", "step once"),
    ("+  /  -", "agent speed"),
    ("q  /  Esc", "quit"),
]
WATCH_KEYS = [
    ("space", "pause / resume"),
    ("n  /  right", "single step"),
    ("+  /  -", "faster / slower"),
    ("r", "restart the game"),
    ("q  /  Esc", "quit"),
]


def draw_header(surface: pygame.Surface, r: Rect, session: Session, family: str, s: float) -> None:
    theme.box(surface, r, theme.HEADER, radius=0)
    parts = session.participants
    if session.watch:
        mode = "watch  " + "  vs  ".join(p.name for p in parts)
    else:
        mode = f"play  You vs {parts[1].name}" if len(parts) > 1 else "play"
    size = theme.fs(24, s)
    pad = px(16, s)
    left = theme.text(
        surface,
        session.info.name,
        (pad, r.center[1]),
        size,
        theme.TEXT,
        anchor="midleft",
        bold=True,
        max_width=r.w // 2,
    )
    theme.text(
        surface,
        f"{family}",
        (left.right + pad, r.center[1]),
        theme.fs(16, s),
        theme.MUTED,
        anchor="midleft",
    )
    theme.text(
        surface,
        mode,
        (r.right - pad, r.center[1]),
        theme.fs(18, s),
        theme.ACCENT,
        anchor="midright",
        max_width=r.w // 2 - pad,
    )


def draw_status(surface: pygame.Surface, lay: Layout, session: Session) -> None:
    r = lay.regions["status"]
    s = lay.scale
    words, kind = session.status()
    color = {"result": theme.WARN, "turn": theme.GOOD, "wait": theme.TEXT}[kind]
    theme.box(
        surface,
        r,
        theme.PANEL,
        edge=color if kind != "wait" else theme.PANEL_EDGE,
        radius=px(10, s),
    )
    x = r.x + px(16, s)
    acting = session.acting()
    if acting and not session.over:
        color_of = getattr(session.view, "seat_color", theme.seat_color)
        for p in acting[:4]:
            pygame.draw.circle(surface, color_of(p), (x + px(8, s), r.center[1]), px(9, s))
            pygame.draw.circle(surface, theme.TEXT, (x + px(8, s), r.center[1]), px(9, s), 1)
            x += px(22, s)
    right = r.right - px(12, s)
    if ("button", "new_game") in lay.targets():
        b = lay.rect_of(("button", "new_game"))
        theme.button(surface, b, "New game", theme.fs(17, s), state="legal")
        right = b.x - px(8, s)
    theme.text(
        surface,
        words,
        (x + px(4, s), r.center[1]),
        theme.fs(21, s),
        color,
        anchor="midleft",
        bold=kind != "wait",
        max_width=right - x - px(4, s),
    )


def status_hits(lay: Layout, session: Session) -> None:
    """Add the New game button to the status line when the game is over."""
    if session.over:
        r = lay.regions["status"]
        s = lay.scale
        w, h = px(130, s), r.h - px(16, s)
        lay.add(Rect(r.right - w - px(10, s), r.y + px(8, s), w, h), ("button", "new_game"))


def _section(surface, x: int, y: int, title: str, s: float, width: int) -> int:
    theme.text(surface, title.upper(), (x, y), theme.fs(14, s), theme.MUTED, bold=True)
    y += theme.fs(14, s) + px(4, s)
    pygame.draw.line(surface, theme.PANEL_EDGE, (x, y), (x + width, y), 1)
    return y + px(6, s)


def draw_panel(surface: pygame.Surface, r: Rect, session: Session, s: float) -> None:
    theme.box(surface, r, theme.PANEL, edge=theme.PANEL_EDGE, radius=px(12, s))
    inner = r.inset(px(14, s), px(12, s))
    x, w = inner.x, inner.w
    body = theme.fs(17, s)
    small = theme.fs(15, s)
    line = body + px(5, s)

    # Score.
    games = session.score.games
    y = _section(surface, x, inner.y, f"Score  ({games} game{'' if games == 1 else 's'})", s, w)
    sc = session.score
    for i, name in enumerate(sc.names):
        color = theme.TEXT if i == 0 else theme.MUTED
        theme.text(surface, name, (x, y), body, color, bold=i == 0, max_width=int(w * 0.5))
        right = (
            f"{sc.wins[i]} won   {fmt(sc.totals[i])}" if len(sc.names) > 1 else fmt(sc.totals[i])
        )
        theme.text(surface, right, (inner.right, y), body, color, anchor="topright")
        y += line
    if len(sc.names) > 1:
        theme.text(
            surface, f"{sc.draws} drawn", (inner.right, y), small, theme.MUTED, anchor="topright"
        )
        y += line
    y += px(8, s)

    # Keys at the bottom, messages above them, probabilities in between.
    keys = WATCH_KEYS if session.watch else PLAY_KEYS
    keys_h = (len(keys) + 1) * (small + px(4, s)) + px(12, s)
    keys_top = inner.bottom - keys_h
    msg_h = 4 * (small + px(5, s)) + px(26, s)
    msg_top = keys_top - msg_h

    y = _section(surface, x, y, "Last agent move", s, w)
    chart = Rect(x, y, w, max(0, msg_top - y - px(10, s)))
    _draw_decision(surface, chart, session, s)

    y = _section(surface, x, msg_top, "Messages", s, w)
    color = {"info": theme.TEXT, "error": theme.BAD, "result": theme.WARN}
    for m in list(session.messages)[::-1][:4]:
        theme.text(surface, m.text, (x, y), small, color[m.kind], max_width=w)
        y += small + px(5, s)

    y = _section(surface, x, keys_top, "Keys", s, w)
    for k, what in keys:
        theme.text(surface, k, (x, y), small, theme.ACCENT, bold=True)
        theme.text(
            surface, what, (x + int(w * 0.42), y), small, theme.TEXT, max_width=int(w * 0.58)
        )
        y += small + px(4, s)


def _draw_decision(surface, area: Rect, session: Session, s: float) -> None:
    d = session.decision
    small = theme.fs(15, s)
    if d is None:
        theme.text(surface, "no agent move yet", (area.x, area.y), small, theme.MUTED)
        return
    head = f"{d.who} ({session.seat_name(d.player)}) played {d.label}"
    theme.text(surface, head, (area.x, area.y), small, theme.TEXT, max_width=area.w)
    top = area.y + small + px(8, s)
    if d.probs is None:
        theme.text(
            surface, "(this policy gives no probabilities)", (area.x, top), small, theme.MUTED
        )
        return
    choices = np.flatnonzero(d.legal)
    order = sorted(choices.tolist(), key=lambda a: (-d.probs[a], a))
    room = max(1, (area.bottom - top) // int(small * 1.6))
    shown = order[: min(10, room)]
    if d.action not in shown and shown:
        shown[-1] = d.action
    rows = [(d.labels.get(a, str(a)), float(d.probs[a]), a == d.action) for a in shown]
    theme.bars(surface, Rect(area.x, top, area.w, area.bottom - top), rows, small)
    if len(order) > len(shown):
        rest = float(sum(d.probs[a] for a in order if a not in shown))
        y = top + len(shown) * min(
            max(small + 6, (area.bottom - top) // max(len(rows), 1)), int(small * 1.8)
        )
        if y + small <= area.bottom:
            theme.text(
                surface,
                f"+{len(order) - len(shown)} more moves ({rest:.2f})",
                (area.x, y),
                small,
                theme.MUTED,
            )
