"""A game spec never runs code the user did not allow.

``pettingzoo:os.system(command='touch FILE')`` once imported ``os`` and called
``system`` from every place a spec comes from: ``games.load``, the CLI, a league
TOML and a stored ``.db``. Every route must refuse it with one line before
importing anything, and the marker file must never appear.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import textwrap

import pytest

import games
from arena.cli import main

pytest.importorskip("pettingzoo")


def _hostile(marker) -> str:
    return f"pettingzoo:os.system(command='touch {marker}')"


@pytest.fixture
def marker(tmp_path, monkeypatch):
    monkeypatch.delenv("ARENA_PETTINGZOO_MODULES", raising=False)
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "a game spec ran a shell command"


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("arena: error: ") and "\n" not in err, err
    return err


def test_games_load_refuses_os_system_before_importing(marker, monkeypatch):
    monkeypatch.delitem(sys.modules, "shlex", raising=False)
    with pytest.raises(games.GameError, match="'os' is not a known PettingZoo") as e:
        games.load(_hostile(marker))
    msg = str(e.value)
    assert "\n" not in msg and "ARENA_PETTINGZOO_MODULES" in msg and "mpe2" in msg


@pytest.mark.parametrize(
    "target",
    [
        "subprocess.run(args='true')",
        "pettingzoo.utils.conversions.defaultdict",  # a class imported into pettingzoo
        "pettingzoo.utils.conversions.cast",  # a typing function imported into pettingzoo
        "pettingzoo..utils",
    ],
)
def test_games_load_refuses_non_factories(marker, target):
    with pytest.raises(games.GameError, match="allowed: pettingzoo|dotted module path") as e:
        games.load(f"pettingzoo:{target}")
    assert "\n" not in str(e.value)


def test_a_module_refused_is_never_imported(marker, tmp_path, monkeypatch):
    (tmp_path / "arena_evil_mod.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(games.GameError, match="'arena_evil_mod' is not a known"):
        games.load("pettingzoo:arena_evil_mod.make_env")
    assert "arena_evil_mod" not in sys.modules


def test_cli_games_show_refuses(marker, capsys):
    assert main(["games", "show", _hostile(marker)]) == 2
    assert "ARENA_PETTINGZOO_MODULES" in _one_line_error(capsys)


def test_league_toml_refuses(marker, tmp_path, capsys):
    toml = tmp_path / "l.toml"
    toml.write_text(f'[league]\ngame = "{_hostile(marker)}"\nsteps = 10\n')
    assert main(["league", "run", str(toml), "--db", str(tmp_path / "l.db")]) == 2
    assert "not a known PettingZoo" in _one_line_error(capsys)


def _crafted_db(tmp_path, spec: str):
    """A league store whose stored config names ``spec`` as its game."""
    from leagues.config import config_from_dict, config_to_dict
    from leagues.store import Store

    cfg = config_from_dict({"league": {"game": "matrix:rock_paper_scissors"}})
    parsed = config_to_dict(cfg)
    db = tmp_path / "crafted.db"
    with Store.open(db, create=True) as store:
        store.set_config('[league]\ngame = "matrix:rock_paper_scissors"\n', parsed)
    parsed["league"]["game"] = spec
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE config SET toml = ?, json = ? WHERE id = 1",
            (f'[league]\ngame = "{spec}"\n', json.dumps(parsed, sort_keys=True)),
        )
    conn.close()
    return db


@pytest.mark.parametrize(
    "argv",
    [
        ["league", "ratings", "{db}", "--system", "bt"],
        ["league", "ratings", "{db}"],
        ["league", "eval", "{db}"],
        ["report", "{db}", "--out", "{out}"],
    ],
)
def test_crafted_db_never_runs_its_game(marker, tmp_path, capsys, argv):
    db = _crafted_db(tmp_path, _hostile(marker))
    argv = [a.format(db=db, out=tmp_path / "report") for a in argv]
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    if rc != 0:  # commands that need the game refuse it in one line
        assert rc == 2 and err.startswith("arena: error: "), err
    # the marker fixture checks that the command did not run


def test_env_variable_allows_a_user_package(tmp_path, monkeypatch):
    pkg = tmp_path / "arena_user_envs"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "one.py").write_text(
        textwrap.dedent(
            """
            from os import system  # a builtin re-exported: still no env factory
            from mpe2 import simple_v3

            def make_env(**kwargs):
                return simple_v3.parallel_env(**kwargs)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("ARENA_PETTINGZOO_MODULES", raising=False)
    pytest.importorskip("mpe2")
    spec = "pettingzoo:arena_user_envs.one.make_env(max_cycles=5)"
    with pytest.raises(games.GameError, match="'arena_user_envs' is not a known"):
        games.load(spec)
    assert "arena_user_envs.one" not in sys.modules
    monkeypatch.setenv("ARENA_PETTINGZOO_MODULES", " other_pkg , arena_user_envs ")
    game = games.load(spec)
    assert game.info.num_players == 1 and game.info.max_episode_length == 5
    marker = tmp_path / "pwned"
    with pytest.raises(games.GameError, match="callable from 'posix'|callable from 'nt'"):
        games.load(f"pettingzoo:arena_user_envs.one.system(command='touch {marker}')")
    assert not marker.exists()
    # a prefix allows its package only, not every name that starts with the same letters
    monkeypatch.setenv("ARENA_PETTINGZOO_MODULES", "arena_user")
    with pytest.raises(games.GameError, match="'arena_user_envs' is not a known"):
        games.load("pettingzoo:arena_user_envs.one.make_env(max_cycles=6)")
