"""What ``arena games`` lists and shows."""

from __future__ import annotations

import contextlib
import os


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
    from games.catalog import names

    rows = []
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


def playthrough(game, seed: int = 0) -> list[str]:
    """One game with uniform random legal actions, as readable lines."""
    from games.testing import random_playthrough

    return random_playthrough(game, seed)
