"""The pygame viewer, headless: whole games driven by posted mouse and key events.

Every renderer plays a full game through the real event loop (``Viewer.run``
with a frame limit, no sleeps); outcomes are read from the game state and the
saved screenshot is checked at the cells / cards / table cells that were played.
"""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import argparse  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

import games  # noqa: E402
from agents.base import Act  # noqa: E402
from arena.policies import PolicyError  # noqa: E402
from arena.render import board as board_mod  # noqa: E402
from arena.render import (  # noqa: E402
    choose,
    theme,
    viewer,  # noqa: E402
)
from arena.render.layout import Layout, Rect, frame_layout  # noqa: E402
from arena.render.session import Click, Participant, Session  # noqa: E402


class Scripted:
    """A deterministic agent: the first (or last) legal action, with one-hot probabilities."""

    def __init__(self, pick: str = "first"):
        self.pick = pick

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        choices = np.flatnonzero(legal[0])
        a = int(choices[0] if self.pick == "first" else choices[-1])
        probs = np.zeros(legal.shape)
        probs[0, a] = 1.0
        return Act(np.array([a]), probs, np.zeros(1, np.float32))


@pytest.fixture(autouse=True)
def _close_display():
    yield
    pygame.display.quit()


def open_viewer(spec: str, agent=None, *, seat: int = 0, size=(1000, 680), watch=None, delay_ms=0):
    game = games.load(spec)
    if watch is not None:
        session, renderer = viewer.make_session(game, "watch", watch, delay_ms=delay_ms)
    else:
        session, renderer = viewer.make_session(
            game, "play", [(agent or Scripted(), "bot")], seat=seat, delay_ms=delay_ms
        )
    surface = viewer.open_window(size)
    return viewer.Viewer(session, renderer, surface, realtime=False)


def click(v: viewer.Viewer, target, frames: int = 3) -> None:
    """Post a left click at the centre of ``target`` in the layout on screen, run frames."""
    pos = v.layout.center_of(target)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))
    assert v.run(max_frames=frames) == "frames"


def press(v: viewer.Viewer, key: int, frames: int = 1, unicode: str = "") -> str:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=unicode))
    return v.run(max_frames=frames)


def color_count(img: pygame.Surface, r: Rect, color, tol: int = 12) -> int:
    """How many pixels of ``r`` are within ``tol`` of ``color``."""
    arr = pygame.surfarray.pixels3d(img)[r.x : r.right, r.y : r.bottom].astype(int)
    return int((np.abs(arr - np.array(color)).max(axis=-1) <= tol).sum())


def cell_rect(v: viewer.Viewer, cell) -> Rect:
    return v.layout.rect_of(("cell", *cell))


def shot(v: viewer.Viewer, tmp_path, name: str) -> pygame.Surface:
    path = str(tmp_path / f"{name}.png")
    v.screenshot(path)
    return pygame.image.load(path)


# ---------------------------------------------------------------- board


def test_tic_tac_toe_full_game_by_clicks(tmp_path):
    v = open_viewer("tic_tac_toe")
    s = v.session
    assert type(s.view).__name__ == "BoardView"
    click(v, ("cell", 0, 0))  # X; the agent answers O at (0, 1), its first legal action
    assert s.state.history() == [0, 1]
    click(v, ("cell", 0, 1))  # occupied: refused, game goes on
    assert s.messages[-1].kind == "error" and "Illegal move" in s.messages[-1].text
    assert s.state.history() == [0, 1] and not s.over
    click(v, ("cell", 1, 1))  # agent: (0, 2)
    click(v, ("cell", 2, 2))  # X completes the diagonal
    assert s.over and s.state.is_terminal()
    assert s.state.returns() == [1.0, -1.0]
    assert s.score.games == 1 and s.score.wins == [1, 0]
    assert "You win" in s.status()[0]
    img = shot(v, tmp_path, "ttt")
    x_color, o_color = s.view.seat_color(0), s.view.seat_color(1)
    for cell in [(0, 0), (1, 1), (2, 2)]:
        r = cell_rect(v, cell)
        assert color_count(img, r, x_color) > r.w * 2, cell
        assert color_count(img, r, o_color) == 0, cell
    for cell in [(0, 1), (0, 2)]:
        assert color_count(img, cell_rect(v, cell), o_color) > 100, cell
    for cell in [(1, 0), (2, 0)]:
        r = cell_rect(v, cell)
        assert color_count(img, r, x_color) == 0 and color_count(img, r, o_color) == 0
    # r starts the next game; q quits the loop.
    press(v, pygame.K_r)
    assert not s.over and s.state.history() == [] and s.score.games == 1
    assert press(v, pygame.K_q) == "closed"


def test_connect_four_click_anywhere_in_a_column(tmp_path):
    v = open_viewer("connect_four", Scripted("last"))
    s = v.session
    for _ in range(4):
        click(v, ("cell", 5, 0))  # the top cell: the disc drops to the bottom
    assert s.over and s.state.returns() == [1.0, -1.0]
    img = shot(v, tmp_path, "c4")
    red, yellow = s.view.seat_color(0), s.view.seat_color(1)
    # Observation row 0 is the bottom row of the board.
    for row in range(4):
        assert color_count(img, cell_rect(v, (row, 0)), red) > 200
    for row in range(3):
        assert color_count(img, cell_rect(v, (row, 6)), yellow) > 200
    assert color_count(img, cell_rect(v, (4, 0)), red) == 0
    assert v.layout.rect_of(("cell", 0, 0)).y > v.layout.rect_of(("cell", 5, 0)).y


def test_breakthrough_moves_with_two_clicks():
    v = open_viewer("breakthrough", seat=1)  # white moves second; the agent opens
    s = v.session
    v.run(max_frames=1)
    assert len(s.history) == 1 and s.waiting_humans() == [1]
    moves = s.view.moves(s)
    want = next(a for a, m in moves.items() if s.action_label(1, a) == "a2a3")
    src, dst = next(iter(moves[want].src)), next(iter(moves[want].dst))
    click(v, ("cell", *src), frames=1)
    assert s.view.selected == ("from", src)
    playable, selected = s.view.highlights(s)
    assert dst in playable and selected == src
    click(v, ("cell", *dst), frames=1)
    assert s.history[1].labels[1] == "a2a3"
    # A piece cannot jump to a far empty cell: refused, the game goes on.
    moves = s.view.moves(s)
    piece = next(iter(next(m for m in moves.values() if m.is_move).src))
    click(v, ("cell", *piece), frames=1)
    assert s.view.selected == ("from", piece)
    before = len(s.history)
    click(v, ("cell", 3, 3), frames=1)
    assert s.messages[-1].kind == "error" and "Illegal move" in s.messages[-1].text
    assert len(s.history) == before and s.view.selected is None and not s.over


def test_several_fitting_moves_open_a_menu():
    v = open_viewer("pentago")  # placing a marble comes with a quadrant rotation
    s = v.session
    click(v, ("cell", 2, 3), frames=1)
    menu = s.view.menu
    assert menu and len(menu) > 1 and not s.history
    assert [t for t in v.layout.targets() if t[0] == "action"] == [("action", a) for a in menu]
    click(v, ("button", "cancel"), frames=1)
    assert s.view.menu is None and not s.history
    click(v, ("cell", 2, 3), frames=1)
    choice = s.view.menu[-1]
    click(v, ("action", choice), frames=1)
    assert s.history[0].actions[0] == choice and s.view.menu is None


def test_board_detection_reads_planes_and_owners():
    spec = board_mod.detect_board(games.load("tic_tac_toe").pyspiel_game)
    assert (spec.rows, spec.cols, spec.empty) == (3, 3, 0)
    assert spec.owner[2] == 0 and spec.owner[1] == 1  # crosses are player 0's
    c4 = board_mod.detect_board(games.load("connect_four").pyspiel_game)
    assert c4.columns and c4.flip and c4.owner[0] == 0 and c4.empty == 2
    hexes = board_mod.detect_board(games.load("hex(board_size=5)").pyspiel_game)
    assert hexes.skew and hexes.empty is not None
    assert board_mod.detect_board(games.load("kuhn_poker").pyspiel_game) is None
    families = {
        spec: choose(games.load(spec))[0].family
        for spec in (
            "tic_tac_toe",
            "kuhn_poker",
            "leduc_poker",
            "matrix:stag_hunt",
            "matrix_rps",
            "liars_dice",
        )
    }
    assert families == {
        "tic_tac_toe": "board",
        "kuhn_poker": "cards",
        "leduc_poker": "cards",
        "matrix:stag_hunt": "payoff table",
        "matrix_rps": "payoff table",
        "liars_dice": "text",
    }


# ---------------------------------------------------------------- cards


def test_kuhn_poker_with_buttons(tmp_path):
    v = open_viewer("kuhn_poker")  # the agent always passes (its first legal action)
    s = v.session
    assert type(s.view).__name__ == "PokerView"
    mine = s.view.table.cards[0]
    assert mine is not None and s.view.table.cards[1] is None  # the agent's card is face down
    assert s.view.table.pot == 2
    click(v, ("action", 1))  # Bet; the agent folds
    assert s.over and s.state.returns() == [1.0, -1.0]
    assert s.view.table.cards[1] is not None  # cards are shown at the end
    img = shot(v, tmp_path, "kuhn")
    card = v.layout.regions["card0"]
    assert color_count(img, card, (250, 250, 247), tol=4) > card.w * card.h // 3
    pot = v.layout.regions["pot"]
    felt = (24, 104, 72)
    assert pot.w * pot.h - color_count(img, pot, felt, tol=6) > 300  # chips in the pot
    # Second hand: both pass, showdown by card rank.
    press(v, pygame.K_r, frames=2)
    cards = s.state.history()[:2]
    click(v, ("action", 0))
    assert s.over
    expected = 1.0 if cards[0] > cards[1] else -1.0
    assert s.state.returns()[0] == expected
    assert s.score.games == 2


def test_leduc_poker_refuses_an_illegal_button(tmp_path):
    v = open_viewer("leduc_poker")
    s = v.session
    assert not s.legal(0)[0]  # no bet to fold against
    click(v, ("action", 0))  # Fold: refused
    assert "Illegal move" in s.messages[-1].text and len(s.history) == 0
    for _ in range(10):
        if s.over:
            break
        click(v, ("action", 1))  # Call every time
    assert s.over and sum(s.state.returns()) == 0
    assert s.view.table.public is not None
    img = shot(v, tmp_path, "leduc")
    pub = v.layout.regions["public"]
    assert color_count(img, pub, (250, 250, 247), tol=4) > pub.w * pub.h // 3


# ---------------------------------------------------------------- payoff table


def test_matrix_game_table(tmp_path):
    v = open_viewer("matrix:prisoners_dilemma")
    s = v.session
    assert type(s.view).__name__ == "MatrixView"
    click(v, ("action", 1))  # the row player defects, the agent cooperates
    assert s.over
    assert list(s.returns) == [5.0, 0.0]
    assert s.view.last == (1, 0)
    img = shot(v, tmp_path, "pd")
    played = v.layout.regions["cell1,0"]
    other = v.layout.regions["cell0,1"]
    assert color_count(img, played, theme.SELECT, tol=10) > 100
    assert color_count(img, other, theme.SELECT, tol=10) == 0


def test_repeated_game_as_the_column_player():
    v = open_viewer("matrix:iterated_prisoners_dilemma(horizon=3)", seat=1)
    s = v.session
    rows = [h.target for h in v.layout.hits]
    assert rows == [("action", 0), ("action", 1)]
    col0 = v.layout.rect_of(("action", 0))
    assert col0.h > col0.w  # a column, not a row
    for _ in range(3):
        click(v, ("action", 1))
    assert s.over and len(s.view.rounds) == 3
    assert list(s.returns) == [0.0, 15.0]  # the agent cooperated, you defected


# ---------------------------------------------------------------- text fallback


def test_simultaneous_game_through_the_text_fallback(tmp_path):
    v = open_viewer("goofspiel(num_cards=3)")
    s = v.session
    assert s.view.family == "text"
    img = shot(v, tmp_path, "goof")
    first = v.layout.rect_of(v.layout.hits[0].target)
    assert color_count(img, first, theme.BUTTON_LEGAL, tol=8) > first.w * first.h // 3
    for _ in range(3):
        if s.over:
            break
        assert v.layout.hits[-1].target[0] == "action"
        click(v, v.layout.hits[-1].target)  # bid the highest card left
    assert s.over and s.state.is_terminal()
    assert len(s.history) >= 2 and all(st.acted.tolist() == [True, True] for st in s.history)
    assert s.history[0].labels[0] == "[P0]Bid: 3"


@pytest.mark.parametrize(
    "spec",
    [
        "liars_dice",
        "phantom_ttt",
        "oshi_zumo(coins=6,size=2,horizon=20)",
        "first_sealed_auction(max_value=4)",
        "pig(winscore=10)",
        "tiny_hanabi",
        "kuhn_poker(players=3)",
    ],
)
def test_every_family_plays_whole_games_without_pixels(spec):
    game = games.load(spec)
    session, _ = viewer.make_session(game, "play", [(Scripted(), "bot")], delay_ms=0)
    rng = np.random.default_rng(0)
    for _ in range(400):
        if session.over:
            break
        waiting = session.waiting_humans()
        if waiting:
            choices = np.flatnonzero(session.legal(waiting[0]))
            session.handle(Click(("action", int(rng.choice(choices)))))
        else:
            session.tick(1.0)
    assert session.over and session.score.games == 1


def test_text_view_paginates_many_actions():
    game = games.load("go(board_size=19)")
    session = Session(game, [Participant("You"), Participant("bot", Scripted())], delay_ms=0)
    from arena.render.text import TextRenderer, TextView

    session.view = TextView(game)
    session.view.update(session)
    r = TextRenderer()
    frame = frame_layout(1000, 680)
    lay = r.layout(session, frame.main, frame.scale)
    actions = [t for t in lay.targets() if t[0] == "action"]
    assert 0 < len(actions) < 362 and ("button", "page_next") in lay.targets()
    session.handle(Click(("button", "page_next")))
    lay2 = r.layout(session, frame.main, frame.scale)
    second = [t for t in lay2.targets() if t[0] == "action"]
    assert second and set(second).isdisjoint(actions)


# ---------------------------------------------------------------- watch mode and keys


def test_watch_pause_step_and_speed():
    v = open_viewer(
        "tic_tac_toe", watch=[(Scripted(), "first"), (Scripted("last"), "last")], delay_ms=100
    )
    s = v.session
    assert s.watch and [p.name for p in s.participants] == ["A: first", "B: last"]
    v.run(max_frames=4)  # 4 frames of 33 ms: one move after 100 ms
    assert len(s.history) == 1
    press(v, pygame.K_SPACE)
    assert s.paused
    v.run(max_frames=30)
    assert len(s.history) == 1  # nothing moves while paused
    press(v, pygame.K_n)
    assert len(s.history) == 2
    press(v, pygame.K_RIGHT)
    assert len(s.history) == 3
    delay = s.delay_ms
    press(v, pygame.K_EQUALS, unicode="+")
    assert s.delay_ms < delay
    press(v, pygame.K_MINUS, unicode="-")
    press(v, pygame.K_MINUS, unicode="-")
    assert s.delay_ms > delay
    press(v, pygame.K_SPACE)
    assert not s.paused
    v.run(max_frames=400)
    assert s.score.games >= 1  # games go on by themselves, seats alternate
    assert press(v, pygame.K_ESCAPE) == "closed"


def test_watch_swaps_seats_and_scores_per_policy():
    game = games.load("tic_tac_toe")
    session, _ = viewer.make_session(
        game, "watch", [(Scripted("first"), "first"), (Scripted("last"), "last")], delay_ms=0
    )
    for _ in range(200):
        if session.score.games == 2:
            break
        session.tick(1000.0)
    # Game 1: A (first legal) is X and wins along the top row; game 2: B is X and wins.
    assert session.score.games == 2 and session.score.wins == [1, 1] and session.score.draws == 0
    assert session.episode == 1 and session.owner(0) == 1  # seats swapped for game 2
    assert session.score.totals == [0.0, 0.0]


def test_not_your_turn_is_refused():
    game = games.load("tic_tac_toe")
    session, _ = viewer.make_session(game, "play", [(Scripted(), "bot")], delay_ms=400)
    session.handle(Click(("cell", 1, 1)))
    assert session.state.history() == [4]
    session.handle(Click(("cell", 0, 0)))  # the agent has not moved yet
    assert "Wait" in session.messages[-1].text and session.state.history() == [4]
    session.tick(399.0)
    assert session.state.history() == [4]
    session.tick(1.0)
    assert len(session.state.history()) == 2


def test_resize_recomputes_the_layout():
    v = open_viewer("tic_tac_toe", size=(1000, 680))
    before = v.layout.center_of(("cell", 1, 1))
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=(700, 500), w=700, h=500))
    v.run(max_frames=1)
    assert v.surface.get_size() == (700, 500)
    after = v.layout.center_of(("cell", 1, 1))
    assert after != before
    assert all(
        0 <= h.rect.x and h.rect.right <= 700 and h.rect.bottom <= 500 for h in v.layout.hits
    )
    click(v, ("cell", 1, 1))
    assert v.session.state.history()[0] == 4


def test_layout_hits_and_frame():
    for w, h in [(640, 440), (1000, 680), (1920, 1080)]:
        f = frame_layout(w, h)
        for r in (f.header, f.main, f.status, f.panel):
            assert r.x >= 0 and r.y >= 0 and r.right <= w and r.bottom <= h and r.w > 0 and r.h > 0
        assert f.main.right <= f.panel.x
    lay = Layout()
    lay.add(Rect(0, 0, 10, 10), ("cell", 0, 0))
    lay.add(Rect(5, 5, 10, 10), ("button", "cancel"))
    assert lay.hit((2, 2)) == ("cell", 0, 0) and lay.hit((6, 6)) == ("button", "cancel")
    assert lay.hit((50, 50)) is None


# ---------------------------------------------------------------- entry point and errors


def _args(**kw):
    base = dict(game="tic_tac_toe", against="random", seat=0, seed=0)
    base.update(kw)
    return argparse.Namespace(**base)


def test_closing_the_window_exits_with_zero(capsys):
    seen = {}

    def on_open(v):
        seen["viewer"] = v
        pos = v.layout.center_of(("cell", 1, 1))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
        pygame.event.post(pygame.event.Event(pygame.QUIT))

    code = viewer.main(_args(), "play", max_frames=200, realtime=False, on_open=on_open)
    assert code == 0
    v = seen["viewer"]
    assert v.closed and v.frames == 0
    assert v.session.state.history() == [4] and not v.session.over  # closed mid-game
    assert "no game finished" in capsys.readouterr().out
    assert not pygame.display.get_init()


def test_missing_db_member_fails_before_the_window(tmp_path):
    pygame.display.quit()
    with pytest.raises(PolicyError):
        viewer.main(
            _args(against=f"{tmp_path}/league.db:ghost"), "play", max_frames=1, realtime=False
        )
    assert not pygame.display.get_init()


def test_bad_seat_is_one_line(capsys):
    assert viewer.main(_args(seat=5), "play", max_frames=1, realtime=False) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("arena: error: --seat 5") and "\n" not in err
    assert not pygame.display.get_init()


def test_no_display_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(viewer.sys, "platform", "linux")
    with pytest.raises(viewer.NoDisplayError, match="SDL_VIDEODRIVER=dummy"):
        viewer.open_window()
    assert viewer.main(_args(), "play", max_frames=1, realtime=False) == 2
    err = capsys.readouterr().err.strip()
    assert "SDL_VIDEODRIVER=dummy" in err and "\n" not in err
    # SDL itself failing (a driver that cannot open) is caught the same way.
    monkeypatch.setenv("SDL_VIDEODRIVER", "no_such_driver")
    with pytest.raises(viewer.NoDisplayError, match="SDL_VIDEODRIVER=dummy"):
        viewer.open_window()
    assert isinstance(viewer.NoDisplayError("x"), ValueError)


def test_save_screenshot_without_a_window(tmp_path):
    pygame.display.quit()
    path = viewer.save_screenshot("tic_tac_toe", str(tmp_path / "t.png"), [4], size=(800, 560))
    img = pygame.image.load(path)
    assert img.get_size() == (800, 560)
    assert not pygame.display.get_init()
    with pytest.raises(viewer.ViewerError, match="not legal"):
        viewer.save_screenshot("tic_tac_toe", str(tmp_path / "u.png"), ["x(5,5)"])
