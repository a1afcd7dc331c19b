"""Colours, fonts and drawing primitives shared by every renderer (pygame-ce).

Only drawing lives here: text, buttons, rounded panels, bar charts. Text uses
a sans-serif system font (DejaVu Sans, Liberation Sans, Arial, ...) and falls
back to pygame's own default font (``freesansbold.ttf``, shipped inside
pygame-ce), so the viewer draws text everywhere, headless included.
"""

from __future__ import annotations

import functools

import pygame

from arena.render.layout import Rect

BG = (27, 32, 43)
HEADER = (20, 24, 33)
PANEL = (37, 44, 58)
PANEL_EDGE = (55, 64, 82)
TEXT = (232, 236, 243)
MUTED = (150, 160, 178)
ACCENT = (94, 179, 255)
GOOD = (76, 217, 140)
BAD = (255, 107, 107)
WARN = (255, 196, 87)
LEGAL = (76, 217, 140)
SELECT = (255, 196, 87)
LAST = (94, 179, 255)
BUTTON = (58, 68, 90)
BUTTON_LEGAL = (46, 125, 90)
BUTTON_OFF = (44, 50, 64)
BAR = (94, 179, 255)
BAR_CHOSEN = (255, 196, 87)

SEAT_COLORS = [
    (235, 87, 62),  # coral red
    (64, 156, 230),  # blue
    (76, 190, 120),  # green
    (236, 179, 58),  # amber
    (170, 110, 220),  # violet
    (60, 190, 190),  # teal
]


def seat_color(seat: int) -> tuple[int, int, int]:
    return SEAT_COLORS[seat % len(SEAT_COLORS)]


SANS_NAMES = "dejavusans,liberationsans,arial,helvetica,verdana,segoeui"


@functools.lru_cache(maxsize=2)
def _sans_path(bold: bool) -> str | None:
    try:
        return pygame.font.match_font(SANS_NAMES, bold=bold)
    except Exception:  # noqa: BLE001 - no fontconfig: pygame's own font
        return None


@functools.lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> pygame.font.Font:
    """A sans-serif system font at ``size`` pixels (pygame's default font if there is none)."""
    if not pygame.font.get_init():
        pygame.font.init()
    path = _sans_path(bold)
    if path is None:
        f = pygame.font.Font(None, max(8, int(size * 1.25)))
        f.set_bold(bold)
        return f
    return pygame.font.Font(path, max(8, int(size)))


def fs(size: float, scale: float) -> int:
    """A font size at a layout scale."""
    return max(10, int(round(size * scale)))


def text(
    surface: pygame.Surface,
    words: str,
    pos: tuple[int, int],
    size: int,
    color=TEXT,
    *,
    anchor: str = "topleft",
    bold: bool = False,
    max_width: int | None = None,
) -> pygame.Rect:
    """Draw ``words`` anchored at ``pos``; shrink (then cut with '...') to fit ``max_width``."""
    f = font(size, bold)
    if max_width is not None and max_width > 0:
        while f.size(words)[0] > max_width and size > 10:
            size -= 1
            f = font(size, bold)
        if f.size(words)[0] > max_width:
            while len(words) > 1 and f.size(words + "...")[0] > max_width:
                words = words[:-1]
            words += "..."
    img = f.render(words, True, color)
    r = img.get_rect(**{anchor: pos})
    surface.blit(img, r)
    return r


def wrap(words: str, size: int, width: int, bold: bool = False) -> list[str]:
    """Split ``words`` into lines no wider than ``width`` at font ``size``."""
    f = font(size, bold)
    out: list[str] = []
    for para in words.split("\n"):
        line = ""
        for w in para.split(" "):
            trial = w if not line else line + " " + w
            if f.size(trial)[0] <= width or not line:
                line = trial
            else:
                out.append(line)
                line = w
        out.append(line)
    return out


def rect(r: Rect) -> pygame.Rect:
    return pygame.Rect(*r.tuple())


def box(
    surface: pygame.Surface, r: Rect, fill, *, edge=None, radius: int = 8, width: int = 2
) -> None:
    """A rounded rectangle, filled, with an optional edge."""
    pygame.draw.rect(surface, fill, rect(r), border_radius=radius)
    if edge is not None:
        pygame.draw.rect(surface, edge, rect(r), width=width, border_radius=radius)


def button(
    surface: pygame.Surface, r: Rect, label: str, size: int, *, state: str = "normal"
) -> None:
    """A button: ``normal``, ``legal`` (a move you may play), ``off`` (illegal) or ``chosen``."""
    fill, edge, color = {
        "normal": (BUTTON, PANEL_EDGE, TEXT),
        "legal": (BUTTON_LEGAL, LEGAL, TEXT),
        "off": (BUTTON_OFF, PANEL_EDGE, MUTED),
        "chosen": (SELECT, SELECT, (30, 30, 30)),
    }[state]
    box(surface, r, fill, edge=edge, radius=max(4, r.h // 4))
    text(surface, label, r.center, size, color, anchor="center", bold=True, max_width=r.w - 10)


def glow(surface: pygame.Surface, r: Rect, color, alpha: int = 90, radius: int = 6) -> None:
    """A translucent fill over ``r`` (legal-move highlights)."""
    layer = pygame.Surface((max(1, r.w), max(1, r.h)), pygame.SRCALPHA)
    pygame.draw.rect(layer, (*color, alpha), layer.get_rect(), border_radius=radius)
    surface.blit(layer, (r.x, r.y))


def bars(
    surface: pygame.Surface,
    area: Rect,
    rows: list[tuple[str, float, bool]],
    size: int,
) -> None:
    """A horizontal bar chart: (label, value in [0, 1], highlighted) per row."""
    if not rows:
        return
    row_h = max(size + 6, area.h // max(len(rows), 1))
    row_h = min(row_h, int(size * 1.8))
    label_w = int(area.w * 0.38)
    value_w = int(size * 2.6)
    bar_w = max(10, area.w - label_w - value_w - 8)
    for i, (label, value, hot) in enumerate(rows):
        y = area.y + i * row_h
        if y + row_h > area.bottom + 2:
            break
        text(
            surface,
            label,
            (area.x, y + row_h // 2),
            size,
            TEXT if hot else MUTED,
            anchor="midleft",
            max_width=label_w - 6,
        )
        track = Rect(area.x + label_w, y + row_h // 5, bar_w, max(4, row_h * 3 // 5))
        box(surface, track, BUTTON_OFF, radius=3)
        fill = Rect(track.x, track.y, max(0, int(round(bar_w * value))), track.h)
        if fill.w:
            box(surface, fill, BAR_CHOSEN if hot else BAR, radius=3)
        text(
            surface,
            f"{value:.2f}",
            (area.right, y + row_h // 2),
            size,
            TEXT if hot else MUTED,
            anchor="midright",
        )


MONO_NAMES = "dejavusansmono,liberationmono,couriernew,consolas,menlo,monaco,ubuntumono,monospace"


@functools.lru_cache(maxsize=1)
def _mono_path() -> str | None:
    try:
        return pygame.font.match_font(MONO_NAMES)
    except Exception:  # noqa: BLE001 - no fontconfig: fall back to fixed cells
        return None


@functools.lru_cache(maxsize=32)
def mono(size: int) -> pygame.font.Font | None:
    """A monospaced system font at ``size``, or None when the system has none."""
    path = _mono_path()
    if path is None:
        return None
    if not pygame.font.get_init():
        pygame.font.init()
    return pygame.font.Font(path, max(8, int(size)))


@functools.lru_cache(maxsize=4096)
def _glyph(ch: str, size: int, color) -> pygame.Surface:
    return font(size).render(ch, True, color)


def mono_lines(
    surface: pygame.Surface,
    lines: list[str],
    pos: tuple[int, int],
    size: int,
    color=TEXT,
    *,
    max_height: int | None = None,
) -> int:
    """Draw ASCII art (a game's state text) with aligned columns; returns the height used.

    Uses a monospaced system font when there is one, otherwise draws every
    character of pygame's default font centred in a fixed-width cell.
    """
    x, y = pos
    f = mono(size)
    step = int(size * 1.15)
    used = 0
    for line in lines:
        if max_height is not None and used + step > max_height:
            break
        if f is not None:
            surface.blit(f.render(line.replace("\t", "    "), True, color), (x, y + used))
        else:
            cw = int(size * 0.6)
            for k, ch in enumerate(line):
                if ch != " ":
                    g = _glyph(ch, size, color)
                    surface.blit(g, g.get_rect(midtop=(x + k * cw + cw // 2, y + used)))
        used += step
    return used


def mono_width(size: int) -> float:
    """The advance of one character in :func:`mono_lines`."""
    f = mono(size)
    return f.size("M")[0] if f is not None else int(size * 0.6)
