"""Every example league config runs (tiny budgets) and every example game loads."""

from pathlib import Path

import pytest

import games
from arena.league import League
from leagues.config import load_config
from leagues.store import Store

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LEAGUES = sorted(p.name for p in EXAMPLES.glob("*.toml"))


def test_there_are_example_leagues():
    assert {
        "quickstart.toml",
        "tic_tac_toe_iql.toml",
        "rps_mappo.toml",
        "coop_qmix.toml",
        "ipd.toml",
        "kuhn3p.toml",
        "maddpg.toml",
    } <= set(LEAGUES)


@pytest.mark.slow
@pytest.mark.parametrize("name", LEAGUES)
def test_example_league_runs_a_round(name, tmp_path):
    text = (EXAMPLES / name).read_text()
    # Same config, tiny budget: one short round with a snapshot and an evaluation.
    lines = []
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        if key in (
            "steps",
            "round_steps",
            "every_steps",
            "games_per_pair",
            "batch",
            "exploiter_seconds",
        ):
            continue
        lines.append(line)
        if line.strip() == "[league]":
            lines += ["steps = 64", "round_steps = 64", "batch = 8"]
        if line.strip() == "[snapshots]":
            lines.append("every_steps = 64")
        if line.strip() == "[evaluation]":
            lines += ["games_per_pair = 8", "every_steps = 64", "exploiter_seconds = 0.5"]
    cfg_path = tmp_path / name
    cfg_path.write_text("\n".join(lines) + "\n")
    cfg = load_config(cfg_path)
    assert cfg.league.game == load_config(EXAMPLES / name).league.game
    league = League.open(cfg_path, tmp_path / "league.db")
    try:
        league.run()
        assert league.finished()
    finally:
        league.close()
    store = Store.open(tmp_path / "league.db", readonly=True)
    try:
        assert store.match_count() > 0
        assert any(m.kind == "snapshot" for m in store.members())
        assert store.evaluations("league")
    finally:
        store.close()


@pytest.mark.parametrize("path", sorted((EXAMPLES / "games").glob("*.toml")), ids=lambda p: p.name)
def test_example_games_load(path):
    game = games.load(str(path))
    assert game.info.num_players >= 2
