"""Every game behind one batched interface.

``games.load(spec)`` accepts:

* anything ``pyspiel.load_game`` accepts: ``"kuhn_poker"``,
  ``"goofspiel(num_cards=4)"``, ``"nfg_game(filename=...)"``;
* ``"matrix:NAME"`` or ``"matrix:NAME(key=value,...)"`` for the catalog;
* a path to a ``.toml`` matrix-game file;
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
    cacheable = not spec.endswith(".toml")
    if spec.startswith("matrix:"):
        from games.catalog import load_catalog

        game = load_catalog(spec[len("matrix:") :])
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
