"""Card games: kuhn_poker and leduc_poker (cards, chips, pot, betting, action buttons).

:func:`read_table` reads a pyspiel poker state into a :class:`PokerTable`
(pure): every seat's card (hidden from the person unless it is theirs or the
hand is over; in watch mode every card shows), the public card (leduc), each
seat's chips in the pot and the betting so far. Kuhn poker: cards are the
first ``P`` chance actions (0 = J, 1 = Q, 2 = K for two players), every seat
antes 1 and each Bet puts in 1 more. Leduc poker: six cards (rank
``card // 2`` of J, Q, K, suit ``card % 2``), ante 1 from a stack of 100, so
a seat's chips in the pot are ``100 - money``; at the end of a hand they are
read from the state just before the last action (plus the call, if it was one).

The renderer draws the felt, the cards, chip stacks, the pot, the betting
history and one button per action (legal ones lit).
"""

from __future__ import annotations

import dataclasses

from arena.render.layout import Layout, Rect, flow, px

POKER_GAMES = ("kuhn_poker", "leduc_poker")
START_MONEY = 100.0


@dataclasses.dataclass
class PokerTable:
    """What the poker table shows (see the module docstring)."""

    cards: list[int | None]
    """Per seat: the card, or None when face down."""
    card_names: list[str]
    public: int | None
    has_public: bool
    contrib: list[float]
    pot: float
    betting: list[str]
    """Lines of the betting history."""


def card_name(kind: str, card: int, num_players: int) -> str:
    """Kuhn: J, Q, K (more ranks for more players); leduc: the rank of ``card // 2``."""
    ranks = ["J", "Q", "K", "A"]
    rank = card // 2 if kind == "leduc" else card
    return ranks[rank] if rank < len(ranks) else str(rank)


def suit_of(kind: str, card: int) -> int | None:
    """Leduc: 0 hearts, 1 spades; kuhn cards have no suit."""
    return card % 2 if kind == "leduc" else None


def _kuhn(state, n: int) -> tuple[list[int | None], list[float], list[str]]:
    hist = state.history()
    cards: list[int | None] = [hist[p] if p < len(hist) else None for p in range(n)]
    contrib = [1.0] * n
    lines: list[str] = []
    for i, a in enumerate(hist[n:]):
        p = i % n
        if a == 1:
            contrib[p] += 1.0
        lines.append(f"{p}:{'Bet' if a == 1 else 'Pass'}")
    return cards, contrib, [" ".join(lines)] if lines else []


def _leduc(
    state, n: int, pyspiel_game
) -> tuple[list[int | None], int | None, list[float], list[str]]:
    cards: list[int | None] = []
    for p in range(n):
        c = int(state.private_card(p))
        cards.append(c if c >= 0 else None)
    pub = int(state.public_card())
    public = pub if pub >= 0 else None
    if state.is_terminal():
        hist = state.history()
        before = pyspiel_game.new_initial_state()
        for a in hist[:-1]:
            before.apply_action(a)
        contrib = [START_MONEY - m for m in before.money()]
        last = before.action_to_string(before.current_player(), hist[-1])
        if last == "Call":
            contrib[before.current_player()] = max(contrib)
    else:
        contrib = [START_MONEY - m for m in state.money()]
    lines = []
    for line in str(state).splitlines():
        if line.startswith("Round ") and "sequence" in line:
            head, _, seq = line.partition(":")
            if seq.strip():
                lines.append(f"{head.replace(' sequence', '')}: {seq.strip()}")
    return cards, public, contrib, lines


def read_table(state, pyspiel_game, viewpoint: int | None) -> PokerTable:
    """The table of a kuhn or leduc state as ``viewpoint`` may see it (None: everything)."""
    name = pyspiel_game.get_type().short_name
    kind = "leduc" if name == "leduc_poker" else "kuhn"
    n = pyspiel_game.num_players()
    if kind == "kuhn":
        cards, contrib, lines = _kuhn(state, n)
        public, has_public = None, False
    else:
        cards, public, contrib, lines = _leduc(state, n, pyspiel_game)
        has_public = True
    if viewpoint is not None and not state.is_terminal():
        cards = [c if p == viewpoint else None for p, c in enumerate(cards)]
    names = [card_name(kind, c, n) if c is not None else "" for c in cards]
    return PokerTable(cards, names, public, has_public, contrib, float(sum(contrib)), lines)


class PokerView:
    """Keeps the current :class:`PokerTable` of a session (all clicks are action buttons)."""

    family = "cards"

    def __init__(self, pyspiel_game):
        self.pyspiel_game = pyspiel_game
        self.kind = "leduc" if pyspiel_game.get_type().short_name == "leduc_poker" else "kuhn"
        self.table: PokerTable | None = None

    def seat_name(self, seat: int) -> str:
        return f"seat {seat}"

    def update(self, session) -> None:
        self.table = read_table(session.state, self.pyspiel_game, session.viewpoint)

    def click(self, session, target: tuple):
        return None

    def buttons(self, session) -> list[tuple[int, str, bool]]:
        """(action, label, legal now) for every action, when the person must act."""
        waiting = session.waiting_humans()
        if not waiting:
            return []
        seat = waiting[0]
        legal = session.legal(seat)
        return [(a, session.action_label(seat, a), bool(legal[a])) for a in range(legal.shape[0])]


class PokerRenderer:
    """Felt, cards, chips, pot, betting and buttons."""

    def layout(self, session, area: Rect, s: float) -> Layout:
        view: PokerView = session.view
        lay = Layout(scale=s)
        n = session.num_players
        me = session.viewpoint if session.viewpoint is not None else 0
        others = [p for p in range(n) if p != me]
        buttons = view.buttons(session)
        felt, strip = area.split_bottom(px(64, s) if buttons else 0)
        lay.regions["felt"] = felt
        label_h = px(30, s)
        edge = px(18, s)
        card_h = int(min((felt.h - 2 * edge - 2 * label_h) / 3.2, felt.w * 0.2))
        card_w = int(card_h * 0.7)
        lay.extra["card"] = (card_w, card_h)
        # Seats: the person (or seat 0) at the bottom, the others spread along the top;
        # the public card and the pot sit in the band between them.
        top_y = felt.y + edge
        bottom_y = felt.bottom - card_h - edge
        for i, p in enumerate(others):
            cx = felt.x + felt.w * (i + 1) // (len(others) + 1)
            lay.regions[f"card{p}"] = Rect(cx - card_w // 2, top_y, card_w, card_h)
        lay.regions[f"card{me}"] = Rect(felt.center[0] - card_w // 2, bottom_y, card_w, card_h)
        band_top = top_y + card_h + label_h
        band_bottom = bottom_y - label_h
        mid_h = min(card_h, band_bottom - band_top - px(8, s))
        mid_w = int(mid_h * 0.7)
        mid_y = (band_top + band_bottom - mid_h) // 2
        if view.table is not None and view.table.has_public:
            lay.regions["public"] = Rect(felt.center[0] - mid_w // 2, mid_y, mid_w, mid_h)
            lay.regions["pot"] = Rect(felt.center[0] + card_w, mid_y, int(card_w * 1.2), mid_h)
        else:
            lay.regions["pot"] = Rect(
                felt.center[0] - int(card_w * 0.6), mid_y, int(card_w * 1.2), mid_h
            )
        if buttons:
            labels = [label for _, label, _ in buttons]
            for (a, _, _), r in zip(
                buttons, flow(labels, strip.inset(0, px(8, s)), px(20, s), s, min_width=px(120, s))
            ):
                lay.add(r, ("action", a))
        lay.extra["buttons"] = {a: legal for a, _, legal in buttons}
        return lay

    def draw(self, surface, session, lay: Layout) -> None:
        import pygame

        from arena.render import theme

        view: PokerView = session.view
        table = view.table
        s = lay.scale
        felt = lay.regions["felt"]
        theme.box(surface, felt, (24, 104, 72), edge=(16, 78, 54), radius=px(40, s), width=px(6, s))
        if table is None:
            return
        card_w, card_h = lay.extra["card"]
        n = session.num_players
        for p in range(n):
            r = lay.regions[f"card{p}"]
            _card(surface, r, table.cards[p], table.card_names[p], view.kind, s)
            label = f"{session.who(p)}  ({session.seat_name(p)})"
            acting = p in session.acting() and not session.over
            color = theme.WARN if acting else theme.TEXT
            top = r.y < felt.center[1]
            ly = r.bottom + px(15, s) if top else r.y - px(15, s)
            theme.text(
                surface,
                label,
                (r.center[0], ly),
                theme.fs(17, s),
                color,
                anchor="center",
                bold=acting,
            )
            _chips(
                surface,
                Rect(r.right + px(14, s), r.y, card_w, card_h),
                table.contrib[p],
                s,
                f"in: {table.contrib[p]:g}",
            )
            if session.over:
                ret = session.returns[p]
                col = theme.GOOD if ret > 0 else theme.BAD if ret < 0 else theme.TEXT
                theme.text(
                    surface,
                    f"{ret:+g}",
                    (r.x - px(12, s), r.center[1]),
                    theme.fs(26, s),
                    col,
                    anchor="midright",
                    bold=True,
                )
        if "public" in lay.regions:
            r = lay.regions["public"]
            if table.public is None:
                pygame.draw.rect(
                    surface, (20, 84, 58), theme.rect(r), width=2, border_radius=px(8, s)
                )
                theme.text(
                    surface, "public", r.center, theme.fs(15, s), (140, 190, 160), anchor="center"
                )
            else:
                _card(surface, r, table.public, card_name(view.kind, table.public, n), view.kind, s)
        pot = lay.regions["pot"]
        _chips(surface, pot, table.pot, s, f"pot {table.pot:g}")
        # Betting history, top-left of the felt.
        y = felt.y + px(16, s)
        for line in table.betting[-4:]:
            if view.kind == "kuhn":
                line = "   ".join(_kuhn_line(session, tok) for tok in line.split())
            theme.text(
                surface,
                line,
                (felt.x + px(26, s), y),
                theme.fs(15, s),
                (205, 230, 215),
                max_width=felt.w // 3,
            )
            y += theme.fs(15, s) + px(4, s)
        for h in lay.hits:
            a = h.target[1]
            legal = lay.extra["buttons"].get(a, False)
            theme.button(
                surface,
                h.rect,
                session.action_label(session.waiting_humans()[0], a)
                if session.waiting_humans()
                else str(a),
                theme.fs(20, s),
                state="legal" if legal else "off",
            )


def _kuhn_line(session, token: str) -> str:
    p, _, what = token.partition(":")
    return f"{session.who(int(p))}: {what}"


HEARTS = (214, 48, 64)
SPADES = (30, 34, 44)


def _card(surface, r: Rect, card: int | None, name: str, kind: str, s: float) -> None:
    import pygame

    from arena.render import theme

    radius = px(8, s)
    shadow = Rect(r.x + px(3, s), r.y + px(4, s), r.w, r.h)
    theme.box(surface, shadow, (12, 60, 40), radius=radius)
    if card is None:
        theme.box(surface, r, (52, 84, 190), edge=(240, 240, 250), radius=radius, width=px(4, s))
        inner = r.inset(px(10, s))
        pygame.draw.rect(surface, (72, 108, 215), theme.rect(inner), border_radius=radius)
        clip = surface.get_clip()
        surface.set_clip(theme.rect(inner))
        for k in range(-inner.h, inner.w, px(10, s)):
            pygame.draw.line(
                surface,
                (96, 132, 232),
                (inner.x + k, inner.y),
                (inner.x + k + inner.h, inner.bottom),
                2,
            )
        surface.set_clip(clip)
        return
    theme.box(surface, r, (250, 250, 247), edge=(200, 200, 205), radius=radius, width=1)
    suit = suit_of(kind, card)
    color = HEARTS if suit == 0 else SPADES
    theme.text(
        surface,
        name,
        (r.center[0], r.center[1] - r.h // 12),
        max(12, int(r.h * 0.45)),
        color,
        anchor="center",
        bold=True,
    )
    theme.text(
        surface, name, (r.x + px(8, s), r.y + px(6, s)), max(10, int(r.h * 0.16)), color, bold=True
    )
    mark = (r.center[0], r.bottom - r.h // 5)
    size = max(5, r.h // 10)
    if suit is None:
        pygame.draw.polygon(
            surface,
            (200, 160, 60),
            [
                (mark[0], mark[1] - size),
                (mark[0] + size, mark[1]),
                (mark[0], mark[1] + size),
                (mark[0] - size, mark[1]),
            ],
        )
    else:
        _suit(surface, suit, mark, size, color)


def _suit(surface, suit: int, center, size: int, color) -> None:
    """A heart (suit 0) or a spade (suit 1) drawn from circles and a triangle."""
    import pygame

    cx, cy = center
    r = max(2, size // 2)
    sign = 1 if suit == 0 else -1
    pygame.draw.circle(surface, color, (cx - r, cy - sign * r // 2), r)
    pygame.draw.circle(surface, color, (cx + r, cy - sign * r // 2), r)
    pygame.draw.polygon(
        surface,
        color,
        [
            (cx - 2 * r, cy - sign * r // 4),
            (cx + 2 * r, cy - sign * r // 4),
            (cx, cy + sign * size),
        ],
    )
    if suit == 1:
        pygame.draw.polygon(surface, color, [(cx, cy), (cx - r, cy + size), (cx + r, cy + size)])


CHIP_COLORS = [(236, 236, 236), (214, 48, 64), (52, 104, 214), (40, 160, 90), (30, 30, 30)]


def _chips(surface, r: Rect, amount: float, s: float, label: str) -> None:
    """A stack of chips (one per unit, up to 14) with a label under it."""
    import pygame

    from arena.render import theme

    count = int(min(14, max(0, round(amount))))
    cw = min(r.w, px(46, s))
    ch = max(4, cw // 4)
    x = r.x + (r.w - cw) // 2
    base = r.bottom - px(26, s)
    for i in range(count):
        color = CHIP_COLORS[i % len(CHIP_COLORS)]
        ell = pygame.Rect(x, base - i * (ch // 2 + 2) - ch, cw, ch)
        pygame.draw.ellipse(surface, tuple(max(0, v - 60) for v in color), ell.move(0, 2))
        pygame.draw.ellipse(surface, color, ell)
        pygame.draw.ellipse(surface, (90, 90, 90), ell, 1)
    theme.text(
        surface,
        label,
        (r.center[0], r.bottom - px(8, s)),
        theme.fs(16, s),
        theme.TEXT,
        anchor="center",
        bold=True,
    )
