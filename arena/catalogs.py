"""What ``arena games`` lists and shows."""

from __future__ import annotations

import contextlib
import os

import numpy as np


@contextlib.contextmanager
def _quiet_stderr():
    """Silence OpenSpiel's C++ messages (printed to fd 2) while probing games."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_UTILITY = {
    "ZERO_SUM": "zero_sum",
    "CONSTANT_SUM": "constant_sum",
    "IDENTICAL": "cooperative",
    "GENERAL_SUM": "general_sum",
}


def list_games() -> list[dict]:
    """Catalog matrix games, then every registered OpenSpiel game with its defaults."""
    import pyspiel

    import games

    rows = []
    try:
        from games.catalog import names
    except ImportError:  # pragma: no cover - catalog missing only in a broken install
        names = list
    for n in names():
        d = games.load("matrix:" + n).describe()
        d["name"] = "matrix:" + n
        d["source"] = "catalog"
        rows.append(d)
    with _quiet_stderr():
        for gt in pyspiel.registered_games():
            row = {
                "name": gt.short_name,
                "players": gt.max_num_players
                if gt.min_num_players == gt.max_num_players
                else f"{gt.min_num_players}-{gt.max_num_players}",
                "kind": _UTILITY.get(gt.utility.name, gt.utility.name.lower()),
                "dynamics": "simultaneous" if gt.dynamics.name == "SIMULTANEOUS" else "sequential",
                "actions": "?",
                "source": "openspiel",
            }
            if gt.dynamics.name == "MEAN_FIELD":
                row["dynamics"] = "mean_field"
            try:
                g = pyspiel.load_game(gt.short_name)
                row["players"] = g.num_players()
                row["actions"] = g.num_distinct_actions()
            except Exception:  # noqa: BLE001 - games that need parameters stay listed
                row["actions"] = "needs parameters"
            rows.append(row)
    return rows


def playthrough(game, seed: int = 0, max_steps: int = 200) -> list[str]:
    """One game with uniform random legal actions, as readable lines."""
    try:
        from games.testing import random_playthrough

        return random_playthrough(game, seed)
    except ImportError:  # pragma: no cover
        pass
    import games

    env = game.vector(1, seed)
    rng = np.random.default_rng(seed)
    ts = env.reset()
    lines = []
    for _ in range(max_steps):
        if ts.done[0]:
            break
        acts = games.random_legal_actions(ts.legal, rng)
        who = np.nonzero(ts.acting[0])[0]
        lines.append(
            ", ".join(f"player {p}: {game.action_name(int(p), int(acts[0, p]))}" for p in who)
        )
        ts = env.step(acts)
    return lines
