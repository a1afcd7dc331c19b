"""The pygame window behind ``arena play`` and ``arena watch``.

``arena play GAME [--against POLICY] [--seat N] [--seed S]``: play whole games
against an agent (``random``, a checkpoint directory or ``DB:MEMBER``), one
after the other, with a running score. ``arena watch GAME A B [--seed S]``:
two policies play each other (seats swap every game); space pauses, ``n`` or
the right arrow steps one move, ``+`` / ``-`` change the speed. Everywhere:
``r`` restarts, ``q`` or Esc quits, closing the window quits (exit status 0).

The project uses **pygame-ce** (``pip install pygame-ce``; it is imported as
``pygame``). Never install ``pygame`` and ``pygame-ce`` together: they share
the import name and overwrite each other's files.

How it fits together (``arena/render/``): a pure
:class:`~arena.render.session.Session` holds the game (an env of batch 1),
who sits where, whose turn it is, the person's pending action, the score and
messages, and is driven by abstract events (:class:`Click` on a target,
:class:`Key` by name, ``tick`` for time). A renderer per family of games
(board, cards, payoff table, text) computes a
:class:`~arena.render.layout.Layout` (pixels to targets) and draws. This
module only owns the window: it turns pygame events into session events
through the layout of the frame on screen, lets time pass and draws.

Headless use (tests, servers): ``SDL_VIDEODRIVER=dummy`` gives an invisible
window where posted events and screenshots still work. Without it and
without a display, opening the window fails with a one-line
:class:`NoDisplayError`. :func:`save_screenshot` draws a game after a list of
moves into a PNG without any window; ``python -m arena.render.viewer DIR`` remakes
the screenshots of the docs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402 - after the prompt is hidden

from arena.render import choose, compose, paint  # noqa: E402
from arena.render.session import Click, Key, Participant, Session  # noqa: E402
from games.core import ArenaError  # noqa: E402

DEFAULT_SIZE = (1100, 720)
FPS = 30

KEYMAP = {
    pygame.K_r: "restart",
    pygame.K_q: "quit",
    pygame.K_ESCAPE: "quit",
    pygame.K_SPACE: "pause",
    pygame.K_RIGHT: "step",
    pygame.K_n: "step",
    pygame.K_PLUS: "faster",
    pygame.K_EQUALS: "faster",
    pygame.K_KP_PLUS: "faster",
    pygame.K_MINUS: "slower",
    pygame.K_UNDERSCORE: "slower",
    pygame.K_KP_MINUS: "slower",
}


class ViewerError(ArenaError):
    """A viewer problem the user can fix (no display, a game it cannot show); one line."""


class NoDisplayError(ViewerError):
    """There is no display to open a window on."""


def translate(event: pygame.event.Event, layout) -> Click | Key | None:
    """A pygame event as a session event (a left click on a target, a mapped key), or None."""
    if event.type == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 1) == 1:
        target = layout.hit(event.pos)
        return Click(target) if target is not None else None
    if event.type == pygame.KEYDOWN:
        name = KEYMAP.get(event.key)
        if name is None and getattr(event, "unicode", "") in ("+", "-"):
            name = "faster" if event.unicode == "+" else "slower"
        return Key(name) if name else None
    return None


def _display_missing() -> bool:
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return False
    driver = os.environ.get("SDL_VIDEODRIVER", "").lower()
    if driver:
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


NO_DISPLAY = (
    "no display to open a window on{why}; run it on a desktop, or for headless use "
    "set SDL_VIDEODRIVER=dummy (nothing is shown, events and screenshots still work)"
)


def open_window(size: tuple[int, int] = DEFAULT_SIZE, title: str = "arena") -> pygame.Surface:
    """Open the resizable window.

    Raises:
        NoDisplayError: no display (``DISPLAY`` / ``WAYLAND_DISPLAY`` unset, or
            SDL cannot open one) and ``SDL_VIDEODRIVER`` does not ask for a
            headless driver.
    """
    if _display_missing():
        raise NoDisplayError(NO_DISPLAY.format(why=" (DISPLAY and WAYLAND_DISPLAY are unset)"))
    asked = os.environ.get("SDL_VIDEODRIVER", "").lower()
    try:
        pygame.display.init()
        pygame.font.init()
        surface = pygame.display.set_mode(size, pygame.RESIZABLE)
    except pygame.error as e:
        pygame.display.quit()
        raise NoDisplayError(NO_DISPLAY.format(why=f" ({e})")) from e
    if pygame.display.get_driver() in ("offscreen", "dummy") and asked not in (
        "offscreen",
        "dummy",
    ):
        pygame.display.quit()
        raise NoDisplayError(NO_DISPLAY.format(why=" (SDL found only an off-screen driver)"))
    pygame.display.set_caption(title)
    pygame.key.set_repeat(0)
    return surface


class Viewer:
    """The window's loop: pygame events -> session events, time, drawing.

    Args:
        session: the model (its ``view`` is set).
        renderer: the family's renderer.
        surface: the window surface (or any pygame Surface for off-screen use).
        realtime: wait for the frame rate (off in tests: every frame counts
            ``1000 / fps`` milliseconds and nothing sleeps).
    """

    def __init__(
        self, session: Session, renderer, surface: pygame.Surface, *, realtime: bool = True
    ):
        self.session = session
        self.renderer = renderer
        self.surface = surface
        self.realtime = realtime
        self.frames = 0
        self.closed = False
        self.clock = pygame.time.Clock()
        self.relayout()

    def relayout(self) -> None:
        """Recompute the layout for the current surface size (after a resize or a state change)."""
        self.frame, self.layout = compose(self.session, self.renderer, self.surface.get_size())

    def handle(self, event: pygame.event.Event) -> None:
        """One pygame event."""
        if event.type == pygame.QUIT:
            self.closed = True
            return
        if event.type in (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED):
            # Real drivers resize the display surface themselves; the dummy driver
            # (tests) needs set_mode. Either way the layout is recomputed.
            display = pygame.display.get_surface()
            if display is not None:
                if event.type == pygame.VIDEORESIZE and display.get_size() != (event.w, event.h):
                    display = pygame.display.set_mode((event.w, event.h), pygame.RESIZABLE)
                self.surface = display
            self.relayout()
            return
        ui = translate(event, self.layout)
        if ui is not None:
            self.session.handle(ui)
            self.relayout()

    def draw(self) -> None:
        self.relayout()
        paint(self.surface, self.session, self.renderer, self.frame, self.layout)

    def step(self, fps: int = FPS) -> bool:
        """One frame: events, time, drawing. False once the viewer should close."""
        for event in pygame.event.get():
            self.handle(event)
            if self.closed:
                return False
        dt = self.clock.tick(fps) if self.realtime else 1000.0 / fps
        self.session.tick(dt)
        if self.session.quit_requested:
            self.closed = True
            return False
        self.draw()
        if pygame.display.get_init() and pygame.display.get_surface() is not None:
            pygame.display.flip()
        self.frames += 1
        return True

    def run(self, max_frames: int | None = None, fps: int = FPS) -> str:
        """Run frames until the window closes (``"closed"``) or ``max_frames`` pass (``"frames"``)."""
        count = 0
        while max_frames is None or count < max_frames:
            if not self.step(fps):
                return "closed"
            count += 1
        return "frames"

    def screenshot(self, path: str) -> str:
        """Save the current frame as a PNG at ``path``."""
        self.draw()
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        pygame.image.save(self.surface, path)
        return path


def make_session(
    game,
    mode: str,
    policies: Sequence[tuple[object, str]],
    *,
    seat: int = 0,
    seed: int = 0,
    delay_ms: int | None = None,
) -> tuple[Session, object]:
    """A session and its renderer: ``mode`` is ``"play"`` (one policy) or ``"watch"`` (two).

    Raises:
        ViewerError: a continuous-action game, or a seat the game does not have.
    """
    info = game.info
    if info.continuous_actions:
        raise ViewerError(
            f"{info.name} has continuous actions, which the viewer cannot show; "
            "use arena eval for it, or pick a discrete game"
        )
    if mode == "play":
        if not 0 <= seat < info.num_players:
            raise ViewerError(
                f"--seat {seat}: {info.name} has {info.num_players} seat(s); use 0..{info.num_players - 1}"
            )
        policy, label = policies[0]
        people = [Participant("You")]
        if info.num_players > 1:
            people.append(Participant(label, policy))
        session = Session(
            game, people, seed=seed, human_seat=seat, delay_ms=400 if delay_ms is None else delay_ms
        )
    elif mode == "watch":
        (a, la), (b, lb) = policies
        people = [Participant(f"A: {la}", a)]
        if info.num_players > 1:
            people.append(Participant(f"B: {lb}", b))
        session = Session(
            game, people, seed=seed, watch=True, delay_ms=700 if delay_ms is None else delay_ms
        )
    else:
        raise ValueError(f"mode must be 'play' or 'watch', got {mode!r}")
    view, renderer = choose(game)
    session.view = view
    view.update(session)
    return session, renderer


def main(
    args,
    name: str,
    *,
    max_frames: int | None = None,
    realtime: bool = True,
    on_open: Callable[[Viewer], None] | None = None,
) -> int:
    """``arena play`` (``name="play"``) and ``arena watch``; returns the exit status.

    Every policy is loaded (and a bad ``DB:MEMBER`` fails) before the window
    opens. ``args.screenshot`` (when the parser has it) saves the last frame.
    ``max_frames``, ``realtime`` and ``on_open`` are for tests.
    """
    import games
    from arena.policies import load_policy

    try:
        if getattr(args, "screenshot", None):
            check_screenshot_path(args.screenshot)
        game = games.load(args.game)
        if name == "play":
            policies = [load_policy(args.against, args.game)]
        else:
            policies = [load_policy(args.a, args.game), load_policy(args.b, args.game)]
        session, renderer = make_session(
            game, name, policies, seat=getattr(args, "seat", 0), seed=getattr(args, "seed", 0)
        )
        title = f"arena {name}: {args.game}"
        surface = open_window(DEFAULT_SIZE, title)
    except ViewerError as e:
        print(f"arena: error: {e}", file=sys.stderr)
        return 2
    viewer = Viewer(session, renderer, surface, realtime=realtime)
    try:
        if on_open is not None:
            on_open(viewer)
        viewer.run(max_frames)
        shot = getattr(args, "screenshot", None)
        if shot:
            viewer.screenshot(shot)
    finally:
        pygame.display.quit()
    print(summary(session))
    return 0


def check_screenshot_path(path: str) -> None:
    """Refuse, before any window opens, a screenshot path that could not be written.

    Raises:
        ViewerError: not a .png name, a folder, or a place that is not writable.
    """
    full = os.path.abspath(path)
    if not full.lower().endswith(".png"):
        raise ViewerError(
            f"--screenshot {path}: screenshots are PNG files; give a path ending in .png"
        )
    if os.path.isdir(full):
        raise ViewerError(f"--screenshot {path}: a folder; give a file path ending in .png")
    folder = os.path.dirname(full)
    while not os.path.exists(folder):  # it is created on save: check where it would be
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise ViewerError(
            f"--screenshot {path}: {folder} is a file, not a folder; choose another path"
        )
    target = full if os.path.exists(full) else folder
    if not os.access(target, os.W_OK):
        raise ViewerError(f"--screenshot {path}: {target} is not writable; choose another path")


def summary(session: Session) -> str:
    """One line: games played and the score."""
    sc = session.score
    if sc.games == 0:
        return "arena: no game finished"
    parts = [f"{n} won {w}" for n, w in zip(sc.names, sc.wins)] if len(sc.names) > 1 else []
    parts.append(f"{sc.draws} drawn" if len(sc.names) > 1 else f"total return {sc.totals[0]:+g}")
    return f"arena: {sc.games} game(s): " + ", ".join(parts)


def play_moves(session: Session, moves: Sequence[int | str]) -> None:
    """Play the person's ``moves`` (actions or action strings); agents answer in between."""

    def let_agents_move():
        for _ in range(10_000):
            if session.over or session.waiting_humans():
                return
            session.handle(Key("step"))

    let_agents_move()
    for move in moves:
        if session.over:
            break
        seat = session.waiting_humans()[0]
        if isinstance(move, str):
            labels = {
                session.action_label(seat, a): a
                for a in range(session.legal(seat).shape[0])
                if session.legal(seat)[a]
            }
            if move not in labels:
                raise ViewerError(
                    f"move {move!r} is not legal now; legal moves: {', '.join(labels)}"
                )
            move = labels[move]
        if not session.submit(int(move)):
            raise ViewerError(f"move {move} was refused: {session.messages[-1].text}")
        let_agents_move()


def save_screenshot(
    game_spec: str,
    path: str,
    moves: Sequence[int | str] = (),
    *,
    against: str | tuple[object, str] = "random",
    seat: int = 0,
    seed: int = 0,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> str:
    """Play ``moves`` as the person against ``against`` and save the frame as a PNG.

    Draws into an off-screen surface: no window or display is needed.
    ``against`` is a POLICY text or a ``(policy, label)`` pair.
    """
    import games
    from arena.policies import load_policy

    game = games.load(game_spec)
    policy = load_policy(against, game_spec) if isinstance(against, str) else against
    session, renderer = make_session(game, "play", [policy], seat=seat, seed=seed)
    play_moves(session, moves)
    pygame.font.init()
    viewer = Viewer(session, renderer, pygame.Surface(size), realtime=False)
    return viewer.screenshot(path)


def make_doc_screenshots(folder: str = "docs/screenshots") -> list[str]:
    """The README's screenshots: tic_tac_toe, kuhn_poker and a repeated matrix game."""
    return [
        save_screenshot("tic_tac_toe", os.path.join(folder, "tic_tac_toe.png"), [4, 0], seed=3),
        save_screenshot("kuhn_poker", os.path.join(folder, "kuhn_poker.png"), [], seat=1, seed=0),
        save_screenshot(
            "matrix:iterated_prisoners_dilemma(horizon=5)",
            os.path.join(folder, "matrix_game.png"),
            [0, 0, 1],
            seed=1,
        ),
    ]


if __name__ == "__main__":
    for p in make_doc_screenshots(*(sys.argv[1:2] or [])):
        print(p)
