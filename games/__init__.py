"""Every game behind one batched interface.

``games.load(spec)`` accepts:

* anything ``pyspiel.load_game`` accepts: ``"kuhn_poker"``,
  ``"goofspiel(num_cards=4)"``, ``"nfg_game(filename=...)"``;
* ``"matrix:NAME"`` or ``"matrix:NAME(key=value,...)"`` for the catalog;
* a path to a ``.toml`` matrix-game file;
* a path to a Gambit ``.nfg`` normal-form file (read by OpenSpiel's parser);
* ``"control:NAME"`` for small continuous-action tasks;
* ``"pettingzoo:MODULE.ENV(key=value,...)"`` for PettingZoo parallel envs.
"""

from __future__ import annotations

import difflib
import os

from games.core import (
    CONSTANT_SUM,
    COOPERATIVE,
    GENERAL_SUM,
    KINDS,
    SEQUENTIAL,
    SIMULTANEOUS,
    ZERO_SUM,
    ArenaError,
    Game,
    GameError,
    GameInfo,
    TimeStep,
    VectorEnv,
    copy_rng,
    random_legal_actions,
)

__all__ = [
    "ArenaError",
    "COOPERATIVE",
    "CONSTANT_SUM",
    "GENERAL_SUM",
    "KINDS",
    "SEQUENTIAL",
    "SIMULTANEOUS",
    "ZERO_SUM",
    "Game",
    "GameError",
    "GameInfo",
    "TimeStep",
    "VectorEnv",
    "closest",
    "copy_rng",
    "load",
    "random_legal_actions",
    "to_pettingzoo",
    "to_pettingzoo_aec",
]

_CACHE: dict[str, Game] = {}


def closest(name: str, known: list[str], n: int = 5) -> str:
    """'did you mean a, b, c?' text for an unknown ``name`` among ``known``."""
    close = difflib.get_close_matches(name, known, n=n, cutoff=0.5)
    if not close:
        close = [k for k in known if name and (name in k or k in name)][:n]
    return f"did you mean: {', '.join(close)}?" if close else ""


def load(spec: str) -> Game:
    """Load a game from a spec string (see the module docstring).

    Raises:
        GameError: unknown game, bad parameters or a malformed game file; the
            message names the closest known names or the bad key.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise GameError(
            "empty game spec: give a name like 'kuhn_poker' or 'matrix:rock_paper_scissors'"
        )
    spec = spec.strip()
    if spec in _CACHE:
        return _CACHE[spec]
    cacheable = not spec.endswith((".toml", ".nfg"))
    if spec.startswith("matrix:"):
        from games.catalog import load_catalog

        game = load_catalog(spec[len("matrix:") :])
    elif spec.endswith(".nfg"):
        game = _load_nfg(spec)
    elif spec.endswith(".toml") or os.sep in spec and os.path.exists(spec):
        from games.matrix import load_toml

        game = load_toml(spec)
    elif spec.startswith("control:"):
        from games.control import load_control

        game = load_control(spec[len("control:") :])
    elif spec.startswith("pettingzoo:"):
        try:
            from games.pettingzoo import load_pettingzoo
        except ImportError as e:
            raise GameError(
                f"{spec}: PettingZoo support is not installed; run pip install -e '.[pettingzoo]'"
            ) from e
        game = load_pettingzoo(spec[len("pettingzoo:") :])
    else:
        from games.openspiel import load_openspiel

        game = load_openspiel(spec)
    if cacheable:
        _CACHE[spec] = game
    return game


def same_spec(a: str, b: str) -> bool:
    """Whether two game specs name the same game: equal text, or two paths to one file
    (``examples/games/pd.toml`` and ``./examples/../examples/games/pd.toml``)."""
    a, b = a.strip(), b.strip()
    if a == b:
        return True
    try:
        return os.path.isfile(a) and os.path.isfile(b) and os.path.samefile(a, b)
    except OSError:
        return False


_MAX_NFG_BYTES = 64 * 2**20


def _load_nfg(path: str) -> Game:
    """A Gambit ``.nfg`` file as a matrix game, parsed by ``pyspiel.load_nfg_game``.

    Raises:
        GameError: the file is missing, unreadable, too large or not NFG text.
    """
    import pyspiel

    from games.matrix import from_openspiel
    from games.openspiel import _quiet_stderr

    if not os.path.isfile(path):
        raise GameError(f"{path}: no such file; check the path to the Gambit .nfg file")
    if os.path.getsize(path) > _MAX_NFG_BYTES:
        raise GameError(
            f"{path}: {os.path.getsize(path)} bytes, over the limit of {_MAX_NFG_BYTES} for a .nfg file"
        )
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise GameError(f"{path}: not UTF-8 text; save the .nfg file as UTF-8") from None
    except OSError as e:
        raise GameError(f"{path}: cannot read the .nfg file: {e.strerror}") from None
    try:
        with _quiet_stderr():
            game = pyspiel.load_nfg_game(text)
    except (pyspiel.SpielError, RuntimeError, ValueError, IndexError) as e:
        why = " ".join(str(e).split()) or e.__class__.__name__
        raise GameError(
            f"{path}: OpenSpiel cannot parse this .nfg file ({why}); it reads Gambit's payoff "
            'format: NFG 1 R "title" { "P1" "P2" } { 2 2 } then every profile\'s payoffs'
        ) from None
    return from_openspiel(game, name=path)


def to_pettingzoo(game: Game | str, render_mode: str | None = None):
    """``game`` (a Game or a spec) as a PettingZoo ParallelEnv; see :mod:`games.pettingzoo_export`.

    Raises:
        GameError: PettingZoo is not installed (names the install command).
    """
    return _to_pettingzoo_module().to_pettingzoo(game, render_mode=render_mode)


def to_pettingzoo_aec(game: Game | str, render_mode: str | None = None):
    """``game`` (a Game or a spec) as a PettingZoo AECEnv; see :mod:`games.pettingzoo_export`."""
    return _to_pettingzoo_module().to_pettingzoo_aec(game, render_mode=render_mode)


def _to_pettingzoo_module():
    try:
        from games import pettingzoo_export as module
    except ImportError as e:
        raise GameError(
            "exporting to PettingZoo needs PettingZoo; run pip install -e '.[pettingzoo]'"
        ) from e
    return module
