"""Renderers for the viewer, one per family of games, and the code that picks one.

Families (:func:`choose` tries them in this order):

* ``cards`` (:mod:`arena.render.cards`): kuhn_poker, leduc_poker;
* ``payoff table`` (:mod:`arena.render.table`): two-player matrix games, one-shot,
  repeated or multi-stage (``matrix:NAME``, TOML files, OpenSpiel ``matrix_*``);
* ``board`` (:mod:`arena.render.board`): OpenSpiel games whose observation is a
  grid of one-hot cells (tic_tac_toe, connect_four, breakthrough, hex, ...);
* ``text`` (:mod:`arena.render.text`): every other discrete game.

Each family has a pure *view* (what to show, clicks to actions; driven by the
:class:`~arena.render.session.Session`) and a *renderer* with
``layout(session, area, scale) -> Layout`` (pure geometry) and
``draw(surface, session, layout)`` (pygame only). :func:`compose` builds the
whole window's layout; :func:`paint` draws a frame.
"""

from __future__ import annotations

from arena.render.layout import Frame, Layout, frame_layout
from arena.render.session import Session


def choose(game) -> tuple[object, object]:
    """(view, renderer) for ``game``: the first family that fits (see the module docstring)."""
    from games.matrix import MatrixGame

    if isinstance(game, MatrixGame):
        if game.num_players == 2:
            from arena.render.table import MatrixView, TableRenderer

            return MatrixView(game), TableRenderer()
        return _text(game)
    pyspiel_game = getattr(game, "pyspiel_game", None)
    if pyspiel_game is None:
        return _text(game)
    short = pyspiel_game.get_type().short_name
    if short in ("kuhn_poker", "leduc_poker"):
        from arena.render.cards import PokerRenderer, PokerView

        return PokerView(pyspiel_game), PokerRenderer()
    matrix = _as_matrix(pyspiel_game)
    if matrix is not None:
        from arena.render.table import MatrixView, TableRenderer

        return MatrixView(matrix), TableRenderer()
    from arena.render.board import BoardRenderer, BoardView, detect_board

    spec = detect_board(pyspiel_game)
    if spec is not None:
        return BoardView(spec), BoardRenderer()
    return _text(game)


def _text(game):
    from arena.render.text import TextRenderer, TextView

    return TextView(game), TextRenderer()


def _as_matrix(pyspiel_game):
    """OpenSpiel's two-player normal-form games (action i is row/column i) as a MatrixGame."""
    import pyspiel

    if not isinstance(pyspiel_game, (pyspiel.MatrixGame, pyspiel.TensorGame)):
        return None
    if pyspiel_game.num_players() != 2:
        return None
    from games.matrix import from_openspiel

    return from_openspiel(pyspiel_game)


def compose(session: Session, renderer, size: tuple[int, int]) -> tuple[Frame, Layout]:
    """The window's frame and the layout of one frame (renderer hits plus the New game button)."""
    from arena.render.panel import status_hits

    frame = frame_layout(*size)
    lay = renderer.layout(session, frame.main, frame.scale)
    lay.regions.update(header=frame.header, main=frame.main, status=frame.status, panel=frame.panel)
    lay.scale = frame.scale
    status_hits(lay, session)
    return frame, lay


def paint(surface, session: Session, renderer, frame: Frame, lay: Layout) -> None:
    """Draw one whole frame."""
    from arena.render import panel, theme

    surface.fill(theme.BG)
    panel.draw_header(surface, frame.header, session, session.view.family, frame.scale)
    renderer.draw(surface, session, lay)
    panel.draw_status(surface, lay, session)
    panel.draw_panel(surface, frame.panel, session, frame.scale)
