"""Grid games: tic_tac_toe, connect_four, breakthrough, hex, othello, checkers, go, ...

Which games. An OpenSpiel turn-based game whose observation tensor has shape
``[planes, rows, cols]`` is a *board* when, over a few seeded random
playouts, every cell has at most one of its non-global planes set (global
planes, such as go's "to play" plane, are constant over the board and are
dropped). Each plane is a kind of piece; the playouts also tell who owns it
(the plane a player's moves put on the board) and which plane means "empty"
(the one nobody owns that covers most cells). A few games get hints for the
looks (X and O, discs, hexagons, glyphs, rank order) in ``HINTS``.

Moves. For every legal action of the person's turn, the view applies it to a
clone of the pyspiel state and compares the boards: the cells the mover
*left* (``src``) and the cells that became occupied (``dst``). An action with
both is a move from ``src`` to ``dst`` (breakthrough, checkers, chess): click
the piece, then its destination (or the other way round). Any other action
that changes cells is played by clicking one of them (tic_tac_toe, hex, go,
othello); connect_four also takes a click anywhere in a column. When several
actions fit the clicks (pentago's rotations, chess promotions) a menu of their
action strings pops up; actions that change no cell (go's pass) are buttons
under the board.

:class:`BoardView` is pure (no pygame); :class:`BoardRenderer` lays out and draws.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from arena.render.layout import Layout, Rect, flow, px

EMPTY = -1
OFF = -2

Cell = tuple[int, int]

HINTS: dict[str, dict] = {
    "tic_tac_toe": {"style": "xo", "names": ("X", "O")},
    "mnk": {"style": "xo", "names": ("X", "O")},
    "connect_four": {"style": "discs", "flip": True, "columns": True, "names": ("red", "yellow")},
    "hex": {"skew": True, "names": ("black", "white")},
    "y": {"skew": True, "names": ("black", "white")},
    "havannah": {"skew": True, "names": ("black", "white")},
    "go": {"flip": True, "names": ("black", "white")},
    "othello": {"names": ("black", "white")},
    "breakthrough": {"names": ("black", "white")},
    "checkers": {"owner": {1: 0, 3: 1}, "glyphs": {1: "K", 3: "K"}, "names": ("white", "black")},
    "lines_of_action": {"flip": True},
    "chess": {
        # OpenSpiel's chess: player 0 is black, player 1 (white) moves first.
        "flip": True,
        "names": ("black", "white"),
        "owner": {i: 1 - i % 2 for i in range(12)},
        "glyphs": {i: "KQRBNP"[i // 2] for i in range(12)},
    },
}

STYLE_COLORS = {
    # style: (board, line, seat colours)
    "xo": ((238, 241, 246), (170, 178, 192), [(235, 87, 62), (64, 156, 230)]),
    "discs": ((38, 92, 196), (28, 70, 160), [(232, 62, 62), (246, 204, 54)]),
    "stones": ((222, 184, 122), (160, 120, 70), [(28, 30, 36), (246, 246, 246)]),
}
NEUTRAL = (128, 128, 138)


@dataclasses.dataclass(frozen=True)
class BoardSpec:
    """How to read and draw one game's board (see the module docstring)."""

    game: str
    rows: int
    cols: int
    planes: int
    keep: tuple[int, ...]
    owner: dict[int, int]
    empty: int | None
    style: str = "stones"
    flip: bool = False
    skew: bool = False
    columns: bool = False
    glyphs: dict[int, str] = dataclasses.field(default_factory=dict)
    names: tuple[str, ...] = ()


def _grid_from(spec_planes: np.ndarray, keep, empty) -> np.ndarray:
    """``[C, H, W]`` planes -> ``[H, W]`` piece codes (plane index, EMPTY or OFF)."""
    sub = spec_planes[list(keep)] > 0.5
    any_set = sub.any(axis=0)
    idx = np.asarray(keep)[sub.argmax(axis=0)]
    grid = np.where(any_set, idx, OFF if empty is not None else EMPTY)
    if empty is not None:
        grid[grid == empty] = EMPTY
    return grid.astype(np.int64)


def _observe(state, seat: int, shape) -> np.ndarray | None:
    try:
        return np.asarray(state.observation_tensor(seat), dtype=np.float32).reshape(shape)
    except Exception:  # noqa: BLE001 - pyspiel refuses at some nodes
        return None


def detect_board(
    pyspiel_game, playouts: int = 3, max_moves: int = 120, seed: int = 0
) -> BoardSpec | None:
    """A :class:`BoardSpec` if ``pyspiel_game`` is a board game (see the module docstring), else None."""
    import pyspiel

    t = pyspiel_game.get_type()
    if t.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL or not t.provides_observation_tensor:
        return None
    try:
        shape = tuple(pyspiel_game.observation_tensor_shape())
    except Exception:  # noqa: BLE001
        return None
    if len(shape) != 3 or shape[1] * shape[2] < 4 or shape[0] > 32 or min(shape[1:]) < 1:
        return None
    planes, rows, cols = shape
    rng = np.random.default_rng(seed)
    seen: list[np.ndarray] = []
    moves: list[tuple[np.ndarray, np.ndarray, int]] = []
    for _ in range(playouts):
        s = pyspiel_game.new_initial_state()
        for _ in range(max_moves):
            if s.is_terminal():
                break
            if s.is_chance_node():
                outcomes = s.chance_outcomes()
                s.apply_action(outcomes[rng.integers(len(outcomes))][0])
                continue
            before = _observe(s, 0, shape)
            p = s.current_player()
            la = s.legal_actions()
            s.apply_action(la[rng.integers(len(la))])
            after = _observe(s, 0, shape)
            if before is None or after is None:
                return None
            seen.append(before)
            moves.append((before, after, p))
    if not seen:
        return None
    stack = np.stack(seen)  # [N, C, H, W]
    flat = stack.reshape(len(seen), planes, -1)
    constant = (flat == flat[:, :, :1]).all(axis=(0, 2))
    keep = tuple(int(c) for c in range(planes) if not constant[c])
    if not keep:
        return None
    occupancy = (stack[:, list(keep)] > 0.5).sum(axis=1)
    if occupancy.max() > 1 or not np.all(np.isin(stack[:, list(keep)], (0.0, 1.0))):
        return None
    credit = np.zeros((planes, max(pyspiel_game.num_players(), 1)))
    for before, after, p in moves:
        newly = (after > 0.5) & ~(before > 0.5)
        credit[:, p] += newly.reshape(planes, -1).sum(axis=1)
    hint = HINTS.get(t.short_name, {})
    owner: dict[int, int] = {}
    for c in keep:
        total = credit[c].sum()
        if total > 0 and credit[c].max() >= 0.9 * total:
            owner[c] = int(credit[c].argmax())
        else:
            owner[c] = -1
    owner.update(hint.get("owner", {}))
    neutral = [c for c in keep if owner[c] < 0]
    empty = None
    if neutral:
        init = (stack[0] > 0.5).reshape(planes, -1).sum(axis=1)
        empty = max(neutral, key=lambda c: (init[c] + credit[c].sum(), -c))
    num_actions = pyspiel_game.num_distinct_actions()
    return BoardSpec(
        game=t.short_name,
        rows=rows,
        cols=cols,
        planes=planes,
        keep=keep,
        owner=owner,
        empty=empty,
        style=hint.get("style", "stones"),
        flip=hint.get("flip", False),
        skew=hint.get("skew", False),
        columns=hint.get("columns", num_actions == cols and rows > 1),
        glyphs=hint.get("glyphs", {}),
        names=hint.get("names", ()),
    )


def read_grid(spec: BoardSpec, state, seat: int) -> np.ndarray | None:
    """``[rows, cols]`` piece codes of ``state`` as ``seat`` sees it (None if the game refuses)."""
    planes = _observe(state, seat, (spec.planes, spec.rows, spec.cols))
    if planes is None:
        return None
    return _grid_from(planes, spec.keep, spec.empty)


@dataclasses.dataclass(frozen=True)
class Move:
    """What an action does to the board, for the person who plays it."""

    src: frozenset
    dst: frozenset
    changed: frozenset

    @property
    def is_move(self) -> bool:
        return bool(self.src) and bool(self.dst)

    @property
    def touch(self) -> frozenset:
        """The cells a single click may use for a non-move action."""
        return self.dst or self.src or self.changed


class BoardView:
    """Reads the board of a session's pyspiel state and turns cell clicks into actions."""

    family = "board"

    def __init__(self, spec: BoardSpec):
        self.spec = spec
        self.grid: np.ndarray | None = None
        self.last: frozenset = frozenset()
        self.selected: tuple[str, Cell] | None = None
        self.menu: list[int] | None = None
        self._moves_key = None
        self._moves: dict[int, Move] = {}

    # ---- looks
    def seat_name(self, seat: int) -> str:
        names = self.spec.names
        return names[seat] if seat < len(names) else f"player {seat}"

    def seat_color(self, seat: int):
        colors = STYLE_COLORS[self.spec.style][2]
        return colors[seat % len(colors)]

    def piece(self, code: int) -> tuple[int, str]:
        """(owner seat or -1, glyph) of a piece code."""
        return self.spec.owner.get(int(code), -1), self.spec.glyphs.get(int(code), "")

    # ---- state
    def update(self, session) -> None:
        state = session.state
        seat = session.viewpoint if session.viewpoint is not None else 0
        grid = read_grid(self.spec, state, seat) if state is not None else None
        if grid is None:
            grid = self.grid
        if session.history and self.grid is not None and grid is not None:
            self.last = frozenset(map(tuple, np.argwhere(grid != self.grid).tolist()))
        else:
            self.last = frozenset()
        self.grid = grid
        self.selected = None
        self.menu = None
        self._moves_key = None

    def moves(self, session) -> dict[int, Move]:
        """``action -> Move`` for the person whose turn it is (empty otherwise)."""
        key = (session.episode, len(session.history))
        if key == self._moves_key:
            return self._moves
        self._moves_key = key
        self._moves = {}
        waiting = session.waiting_humans()
        state = session.state
        if not waiting or state is None or self.grid is None:
            return self._moves
        seat = waiting[0]
        view_seat = session.viewpoint if session.viewpoint is not None else seat
        before = self.grid
        for a in np.flatnonzero(session.legal(seat)).tolist():
            child = state.clone()
            child.apply_action(a)
            after = read_grid(self.spec, child, view_seat)
            if after is None:
                self._moves[a] = Move(frozenset(), frozenset(), frozenset())
                continue
            diff = np.argwhere(after != before)
            src, dst, changed = set(), set(), set()
            for r, c in diff.tolist():
                b, f = int(before[r, c]), int(after[r, c])
                changed.add((r, c))
                mine_before = b >= 0 and self.spec.owner.get(b, -1) == seat
                if mine_before and f == EMPTY:
                    src.add((r, c))
                elif b in (EMPTY, OFF) and f >= 0:
                    dst.add((r, c))
                elif b >= 0 and f >= 0 and self.spec.owner.get(b, -1) != seat:
                    dst.add((r, c))
            if not src:
                # Placements (othello) flip pieces too: only the cells that were empty count.
                dst = {c for c in dst if before[c] in (EMPTY, OFF)} or dst
            self._moves[a] = Move(frozenset(src), frozenset(dst), frozenset(changed))
        return self._moves

    def button_actions(self, session) -> list[int]:
        """Legal actions that change no cell (pass, swap...): shown as buttons."""
        return [a for a, m in self.moves(session).items() if not m.changed]

    def highlights(self, session) -> tuple[set[Cell], Cell | None]:
        """(cells to highlight as playable, the selected cell)."""
        moves = self.moves(session)
        if self.selected is not None:
            kind, cell = self.selected
            if kind == "from":
                return {
                    c for m in moves.values() if m.is_move and cell in m.src for c in m.dst
                }, cell
            return {c for m in moves.values() if m.is_move and cell in m.dst for c in m.src}, cell
        cells: set[Cell] = set()
        for m in moves.values():
            cells |= set(m.src) if m.is_move else set(m.touch)
        return cells, None

    def _singles_at(self, moves, cell: Cell) -> list[int]:
        hits = [a for a, m in moves.items() if not m.is_move and cell in m.touch]
        if not hits and self.spec.columns:
            hits = [
                a
                for a, m in moves.items()
                if not m.is_move and any(c[1] == cell[1] for c in m.touch)
            ]
        return hits

    def click(self, session, target: tuple) -> int | str | None:
        """A click on a cell or a view button: an action to play, a refusal message, or None."""
        if target[0] == "button" and target[1] == "cancel":
            self.menu = None
            self.selected = None
            return None
        if target[0] != "cell":
            return None
        self.menu = None
        problem = session.turn_problem()
        if problem:
            return problem
        cell = (int(target[1]), int(target[2]))
        moves = self.moves(session)
        name = self.cell_name(cell)
        if self.selected is not None:
            kind, sel = self.selected
            if cell == sel:
                self.selected = None
                return None
            if kind == "from":
                fits = [a for a, m in moves.items() if m.is_move and sel in m.src and cell in m.dst]
            else:
                fits = [a for a, m in moves.items() if m.is_move and sel in m.dst and cell in m.src]
            if fits:
                return self._choose(fits)
            self.selected = None
            if not any(m.is_move and (cell in m.src or cell in m.dst) for m in moves.values()):
                return f"Illegal move: {self.cell_name(sel)} to {name} is not allowed"
        singles = self._singles_at(moves, cell)
        if singles:
            return self._choose(singles)
        if any(m.is_move and cell in m.src for m in moves.values()):
            self.selected = ("from", cell)
            return None
        if any(m.is_move and cell in m.dst for m in moves.values()):
            self.selected = ("to", cell)
            return None
        return f"Illegal move: nothing can be played at {name}"

    def _choose(self, actions: list[int]) -> int | None:
        if len(actions) == 1:
            self.selected = None
            return actions[0]
        self.menu = sorted(actions)
        return None

    def cell_name(self, cell: Cell) -> str:
        """A cell as 'row r, col c' counted from the drawn top-left, 1-based."""
        r, c = cell
        row = self.spec.rows - 1 - r if self.spec.flip else r
        return f"row {row + 1}, col {c + 1}"


class BoardRenderer:
    """Draws a :class:`BoardView`: cells, pieces, highlights, menu and extra buttons."""

    def layout(self, session, area: Rect, s: float) -> Layout:
        view: BoardView = session.view
        spec = view.spec
        lay = Layout(scale=s)
        extra = view.button_actions(session)
        labels = (
            [session.action_label(session.waiting_humans()[0], a) for a in extra] if extra else []
        )
        board_area = area
        if labels:
            board_area, strip = area.split_bottom(px(48, s))
            for a, r in zip(
                extra, flow(labels, strip.inset(0, px(6, s)), px(17, s), s, min_width=px(90, s))
            ):
                lay.add(r, ("action", a))
        rows, cols = spec.rows, spec.cols
        pad = px(14, s)
        inner = board_area.inset(pad)
        if spec.skew:
            # Pointy-top hexagons: width w, rows 0.866 w apart, each row shifted by w / 2.
            w = min(inner.w / (cols + (rows - 1) / 2 + 0.2), inner.h / (0.866 * (rows - 1) + 1.2))
            step_y = 0.866 * w
            bw, bh = w * (cols + (rows - 1) / 2), step_y * (rows - 1) + w
        else:
            w = min(inner.w / cols, inner.h / rows)
            step_y = w
            bw, bh = w * cols, w * rows
        x0 = inner.x + (inner.w - bw) / 2
        y0 = inner.y + (inner.h - bh) / 2
        lay.extra.update(
            cell=w, origin=(x0, y0), step_y=step_y, board=Rect(int(x0), int(y0), int(bw), int(bh))
        )
        centers: dict[Cell, tuple[int, int]] = {}
        for r in range(rows):
            dr = rows - 1 - r if spec.flip else r
            for c in range(cols):
                if view.grid is not None and view.grid[r, c] == OFF:
                    continue
                cx = x0 + (c + (dr / 2 if spec.skew else 0) + 0.5) * w
                cy = y0 + dr * step_y + w / 2
                centers[(r, c)] = (int(cx), int(cy))
                hw, hh = int(w / 2), int(step_y / 2) if spec.skew else int(w / 2)
                lay.add(Rect(int(cx) - hw, int(cy) - hh, 2 * hw, 2 * hh), ("cell", r, c))
        lay.extra["centers"] = centers
        lay.regions["board"] = Rect(int(x0), int(y0), int(bw), int(bh))
        if view.menu:
            menu_labels = (
                [session.action_label(session.waiting_humans()[0], a) for a in view.menu]
                if session.waiting_humans()
                else [str(a) for a in view.menu]
            )
            box_w = min(area.w - 2 * pad, px(420, s))
            body = Rect(area.x + (area.w - box_w) // 2, 0, box_w, 0)
            rects = flow(
                menu_labels + ["Cancel"],
                Rect(body.x + pad, 0, box_w - 2 * pad, 10_000),
                px(17, s),
                s,
                min_width=px(70, s),
            )
            height = rects[-1].bottom + pad + px(36, s)
            top = area.y + (area.h - height) // 2
            lay.regions["menu"] = Rect(body.x, top, box_w, height)
            shift = top + px(36, s)
            for a, r in zip(view.menu + [None], rects):
                rr = Rect(r.x, r.y + shift, r.w, r.h)
                lay.add(rr, ("action", a) if a is not None else ("button", "cancel"))
        return lay

    def draw(self, surface, session, lay: Layout) -> None:
        import pygame

        from arena.render import theme

        view: BoardView = session.view
        spec = view.spec
        s = lay.scale
        board_col, line_col, _ = STYLE_COLORS[spec.style]
        w = lay.extra["cell"]
        centers = lay.extra["centers"]
        board = lay.regions["board"]
        margin = px(10, s)
        if not spec.skew:
            theme.box(
                surface,
                Rect(
                    board.x - margin, board.y - margin, board.w + 2 * margin, board.h + 2 * margin
                ),
                board_col,
                radius=px(12, s),
            )
        playable, selected = view.highlights(session)

        def hexagon(center, radius):
            cx, cy = center
            return [
                (
                    cx + radius * math.cos(math.radians(60 * k - 30)),
                    cy + radius * math.sin(math.radians(60 * k - 30)),
                )
                for k in range(6)
            ]

        # Cells.
        for (r, c), center in centers.items():
            if spec.skew:
                pts = hexagon(center, w / math.sqrt(3) - 0.5)
                pygame.draw.polygon(surface, _shade(board_col, (r + c) % 2), pts)
                pygame.draw.polygon(surface, line_col, pts, 1)
            elif spec.style == "discs":
                pygame.draw.circle(surface, theme.BG, center, int(w * 0.40))
            else:
                cell = pygame.Rect(0, 0, int(w), int(w))
                cell.center = center
                if spec.style == "stones" and spec.game in (
                    "chess",
                    "checkers",
                    "breakthrough",
                    "lines_of_action",
                    "clobber",
                    "amazons",
                ):
                    pygame.draw.rect(surface, _shade(board_col, (r + c) % 2 * 2), cell)
                pygame.draw.rect(surface, line_col, cell, 1)

        # Highlights under the pieces.
        for cell in view.last:
            if cell in centers:
                _ring(surface, centers[cell], w, theme.LAST, spec.skew, px(3, s))
        for cell in playable:
            if cell not in centers:
                continue
            occupied = view.grid is not None and view.grid[cell] >= 0
            if occupied:
                _ring(surface, centers[cell], w, theme.LEGAL, spec.skew, px(3, s))
            else:
                d = max(4, int(w * 0.13))
                theme.glow(
                    surface,
                    Rect(centers[cell][0] - d, centers[cell][1] - d, 2 * d, 2 * d),
                    theme.LEGAL,
                    170,
                    radius=d,
                )
        if selected is not None and selected in centers:
            _ring(surface, centers[selected], w, theme.SELECT, spec.skew, px(4, s))

        # Pieces.
        if view.grid is not None:
            for (r, c), center in centers.items():
                code = int(view.grid[r, c])
                if code < 0:
                    continue
                owner, glyph = view.piece(code)
                color = view.seat_color(owner) if owner >= 0 else NEUTRAL
                _piece(surface, spec.style, center, w, color, glyph, owner)

        if view.menu and "menu" in lay.regions:
            theme.glow(
                surface,
                lay.regions["main"] if "main" in lay.regions else board,
                theme.BG,
                150,
                radius=0,
            )
            m = lay.regions["menu"]
            theme.box(surface, m, theme.PANEL, edge=theme.SELECT, radius=px(12, s))
            theme.text(
                surface,
                "Several moves fit: choose one",
                (m.center[0], m.y + px(18, s)),
                theme.fs(18, s),
                theme.TEXT,
                anchor="center",
                bold=True,
            )
        waiting = session.waiting_humans()
        for h in lay.hits:
            if h.target[0] == "action":
                label = (
                    session.action_label(waiting[0], h.target[1]) if waiting else str(h.target[1])
                )
                theme.button(surface, h.rect, label, theme.fs(17, s), state="legal")
            elif h.target == ("button", "cancel"):
                theme.button(surface, h.rect, "Cancel", theme.fs(17, s))


def _shade(color, k: int):
    return tuple(max(0, min(255, v - 10 * k)) for v in color)


def _ring(surface, center, w: float, color, skew: bool, width: int) -> None:
    import pygame

    pygame.draw.circle(surface, color, center, int(w * 0.46), width)


def _piece(surface, style: str, center, w: float, color, glyph: str, owner: int) -> None:
    import pygame

    from arena.render import theme

    cx, cy = center
    if style == "xo":
        r = w * 0.30
        thick = max(3, int(w * 0.09))
        if owner == 0:
            pygame.draw.line(surface, color, (cx - r, cy - r), (cx + r, cy + r), thick)
            pygame.draw.line(surface, color, (cx - r, cy + r), (cx + r, cy - r), thick)
        else:
            pygame.draw.circle(surface, color, center, int(r * 1.05), thick)
        return
    radius = int(w * (0.38 if style == "discs" else 0.36))
    shadow = tuple(max(0, v - 60) for v in color)
    pygame.draw.circle(
        surface, shadow, (cx + max(1, int(w * 0.03)), cy + max(1, int(w * 0.04))), radius
    )
    pygame.draw.circle(surface, color, center, radius)
    light = sum(color) > 380
    pygame.draw.circle(
        surface,
        (150, 150, 150) if light else tuple(min(255, v + 40) for v in color),
        center,
        radius,
        max(1, int(w * 0.03)),
    )
    if glyph:
        theme.text(
            surface,
            glyph,
            center,
            max(10, int(w * 0.42)),
            (30, 30, 30) if light else (240, 240, 240),
            anchor="center",
            bold=True,
        )
