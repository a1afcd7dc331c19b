"""Pixels to targets: rectangles, hit boxes and the window's frame, without pygame.

Every renderer turns the window size into a :class:`Layout`: a list of hit
boxes (a rectangle and the *target* a click there means) plus named regions
it draws into. The event loop asks ``layout.hit(pos)`` which target a mouse
click landed on and hands the target to the session; tests ask the layout
where a cell's centre is and post a click there. Nothing here imports pygame,
so the geometry is testable without a display.

Targets are small tuples:

* ``("action", a)``: play action ``a`` (buttons, payoff-table rows/columns);
* ``("cell", row, col)``: a board cell (the board view turns it into an action);
* ``("button", name)``: a viewer button (``"new_game"``, ``"cancel"``,
  ``"page_next"``, ``"page_prev"``).

Text widths are estimated (``text_width``) instead of measured, so layouts are
the same with or without fonts; renderers shrink a label that does not fit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

Target = tuple


@dataclasses.dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle in window pixels (``x, y`` is the top-left)."""

    x: int
    y: int
    w: int
    h: int

    @property
    def center(self) -> tuple[int, int]:
        return (self.x + self.w // 2, self.y + self.h // 2)

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def contains(self, pos: tuple[int, int]) -> bool:
        px, py = pos
        return self.x <= px < self.x + self.w and self.y <= py < self.y + self.h

    def inset(self, dx: int, dy: int | None = None) -> Rect:
        """This rectangle shrunk by ``dx`` on the left and right, ``dy`` on top and bottom."""
        dy = dx if dy is None else dy
        return Rect(self.x + dx, self.y + dy, max(0, self.w - 2 * dx), max(0, self.h - 2 * dy))

    def split_top(self, h: int) -> tuple[Rect, Rect]:
        """(the top ``h`` pixels, the rest)."""
        h = max(0, min(h, self.h))
        return Rect(self.x, self.y, self.w, h), Rect(self.x, self.y + h, self.w, self.h - h)

    def split_bottom(self, h: int) -> tuple[Rect, Rect]:
        """(the rest, the bottom ``h`` pixels)."""
        h = max(0, min(h, self.h))
        return Rect(self.x, self.y, self.w, self.h - h), Rect(self.x, self.bottom - h, self.w, h)

    def tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)


@dataclasses.dataclass(frozen=True)
class Hit:
    """A clickable rectangle and what a click there means."""

    rect: Rect
    target: Target


@dataclasses.dataclass
class Layout:
    """Hit boxes and named regions of one frame.

    Attributes:
        hits: clickable boxes; the last added wins where boxes overlap (menus
            are added after the board they cover).
        regions: named rectangles the renderer draws into.
        scale: the font and spacing scale of this frame.
        extra: renderer-specific geometry (cell size, board origin, ...).
    """

    hits: list[Hit] = dataclasses.field(default_factory=list)
    regions: dict[str, Rect] = dataclasses.field(default_factory=dict)
    scale: float = 1.0
    extra: dict = dataclasses.field(default_factory=dict)

    def add(self, rect: Rect, target: Target) -> None:
        self.hits.append(Hit(rect, target))

    def hit(self, pos: tuple[int, int]) -> Target | None:
        """The target under ``pos``, or None."""
        for h in reversed(self.hits):
            if h.rect.contains(pos):
                return h.target
        return None

    def rect_of(self, target: Target) -> Rect:
        """The (last) rectangle of ``target``; KeyError if nothing has it."""
        for h in reversed(self.hits):
            if h.target == target:
                return h.rect
        raise KeyError(f"no hit box for target {target!r}")

    def center_of(self, target: Target) -> tuple[int, int]:
        """Where to click for ``target`` (tests post mouse events there)."""
        return self.rect_of(target).center

    def targets(self) -> list[Target]:
        return [h.target for h in self.hits]


def ui_scale(width: int, height: int) -> float:
    """Font and spacing scale for a window: 1.0 at 1000x680, clamped to [0.7, 1.6]."""
    return max(0.7, min(1.6, min(width / 1000.0, height / 680.0)))


def px(value: float, scale: float) -> int:
    """``value`` design pixels at ``scale`` (at least 1)."""
    return max(1, int(round(value * scale)))


def text_width(text: str, size: int) -> int:
    """An estimate of the rendered width of ``text`` at font ``size`` (pygame's default font)."""
    return int(len(text) * size * 0.52) + 2


@dataclasses.dataclass(frozen=True)
class Frame:
    """The window split into its standing parts.

    ``header`` (game and mode), ``main`` (the renderer's area), ``status``
    (whose turn / the result, under ``main``), ``panel`` (the side panel:
    score, the agent's probabilities, messages, keys).
    """

    header: Rect
    main: Rect
    status: Rect
    panel: Rect
    scale: float


def frame_layout(width: int, height: int) -> Frame:
    """Split a ``width x height`` window into header, main area, status line and panel."""
    s = ui_scale(width, height)
    width, height = max(width, 200), max(height, 160)
    pad = px(12, s)
    header_h = px(48, s)
    status_h = px(56, s)
    panel_w = max(px(230, s), min(px(340, s), int(width * 0.32)))
    body = Rect(0, header_h, width, height - header_h)
    header = Rect(0, 0, width, header_h)
    left = Rect(body.x + pad, body.y + pad, body.w - panel_w - 2 * pad, body.h - 2 * pad)
    panel = Rect(left.right + pad, body.y + pad, panel_w - pad, body.h - 2 * pad)
    main, status = left.split_bottom(status_h)
    return Frame(header, main.inset(0, 0), status, panel, s)


def flow(
    labels: Sequence[str],
    area: Rect,
    font_size: int,
    scale: float,
    *,
    min_width: int = 0,
    align: str = "center",
) -> list[Rect]:
    """Lay out one button per label left to right, wrapping into rows inside ``area``.

    Returns one rectangle per label, in order; labels that do not fit below
    the bottom of ``area`` still get rectangles (callers paginate with
    :func:`fits`).
    """
    gap = px(8, scale)
    h = px(font_size * 1.9, 1.0)
    widths = [max(min_width, text_width(t, font_size) + px(24, scale)) for t in labels]
    widths = [min(w, area.w) for w in widths]
    rows: list[list[int]] = [[]]
    used = 0
    for i, w in enumerate(widths):
        if rows[-1] and used + gap + w > area.w:
            rows.append([])
            used = 0
        used += (gap if rows[-1] else 0) + w
        rows[-1].append(i)
    rects: list[Rect] = [Rect(0, 0, 0, 0)] * len(labels)
    y = area.y
    for row in rows:
        total = sum(widths[i] for i in row) + gap * (len(row) - 1)
        x = area.x + ((area.w - total) // 2 if align == "center" else 0)
        for i in row:
            rects[i] = Rect(x, y, widths[i], h)
            x += widths[i] + gap
        y += h + gap
    return rects


def fits(rects: Iterable[Rect], area: Rect) -> int:
    """How many of ``rects`` (in order) end inside ``area``'s bottom edge."""
    n = 0
    for r in rects:
        if r.bottom > area.bottom:
            break
        n += 1
    return n
