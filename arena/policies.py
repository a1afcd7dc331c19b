"""Resolve the POLICY argument of the CLI: ``random``, ``cfr_plus(iterations=N)``, a checkpoint, ``DB:MEMBER``."""

from __future__ import annotations

import os

from arena.league.members import load_member_policy
from games.core import ArenaError


class PolicyError(ArenaError):
    """A POLICY argument that names nothing usable; one-line message."""


def game_of(text: str) -> str | None:
    """The game spec a POLICY argument was made for (a checkpoint's or a league's), or None."""
    import json

    if os.path.isdir(text):
        try:
            with open(os.path.join(text, "spec.json"), encoding="utf-8") as f:
                spec = json.load(f)
        except (OSError, ValueError):
            return None  # load_policy says what is wrong with it
        game = spec.get("game") if isinstance(spec, dict) else None
        return game if isinstance(game, str) else None
    if ":" in text:
        db = text.rsplit(":", 1)[0]
        if os.path.isfile(db):
            from leagues.store import Store

            with Store.open(db, readonly=True) as store:
                stored = store.config()
            if stored is not None:
                return stored[1].get("league", {}).get("game")
    return None


def load_policy(text: str, game_spec: str, device: str = "cpu"):
    """Return ``(policy, label)`` for a POLICY argument.

    ``random`` is uniform over legal actions; a directory is a checkpoint written
    by ``arena train`` (its game must match); ``DB:MEMBER`` is a member of a
    league database (``league.db:main@3`` or ``league.db:7``);
    ``cfr_plus(iterations=N)`` / ``cfr(iterations=N)`` is OpenSpiel's CFR+ / CFR
    average policy, solved now (:mod:`games.cfr`; nothing is stored).
    """
    if text == "random":
        import games
        from agents.baselines import random_policy

        return random_policy(games.load(game_spec).info), "random"
    from games.cfr import parse_cfr_spec

    cfr = parse_cfr_spec(text)  # CFRError (one line) for a CFR name with bad arguments
    if cfr is not None and not os.path.isdir(text):
        import games
        from agents.tabular import TabularPolicy
        from games.cfr import solve_cfr

        table = solve_cfr(games.load(game_spec), cfr.algorithm, cfr.iterations)
        return TabularPolicy.from_table(table, cfr.text), cfr.text
    if os.path.isdir(text):
        from agents.checkpoint import load_checkpoint

        learner = load_checkpoint(text, game_spec=game_spec, device=device)
        return learner.freeze(), os.path.basename(os.path.normpath(text))
    if ":" in text:
        db, member = text.rsplit(":", 1)
        if os.path.exists(db):
            return load_member_policy(
                db, member, game_spec, device=device
            ), f"{os.path.basename(db)}:{member}"
    raise PolicyError(
        f"policy '{text}' is neither 'random', 'cfr_plus(iterations=N)', a checkpoint directory, nor DB:MEMBER of an existing league database"
    )
