"""The command line as a user meets it: fast help, JSON output, one-line errors."""

import json
import subprocess
import sys

import pytest

from arena.cli import main


def run_cli(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "arena.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def test_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from arena.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'arena --help imported torch'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_games_json_lists_catalog_and_openspiel(capsys):
    assert main(["games", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {r["name"] for r in rows}
    assert {"matrix:rock_paper_scissors", "kuhn_poker", "tic_tac_toe", "goofspiel"} <= names
    kuhn = next(r for r in rows if r["name"] == "kuhn_poker")
    assert kuhn["players"] == 2 and kuhn["kind"] == "zero_sum" and kuhn["dynamics"] == "sequential"


def test_games_show_plays_one_game(capsys):
    assert main(["games", "show", "matrix:prisoners_dilemma", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["players"] == 2
    assert any("plays" in line for line in out["playthrough"])
    assert "returns" in out["playthrough"][-1]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["games", "show", "kuhn_pokr"], "kuhn_poker"),
        (["solve", "matrix:rock_paper_scisors"], "rock_paper_scissors"),
        (["solve", "no_such_file.toml"], "no_such_file.toml"),
        (["solve", "tic_tac_toe"], "normal-form"),
    ],
)
def test_user_errors_are_one_line_with_exit_2(args, needle):
    r = run_cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert needle in lines[0]


def test_solve_json_schema(capsys):
    assert main(["solve", "matrix:matching_pennies", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"game", "method", "strategies", "values", "nash_gap"}
    assert out["nash_gap"] < 1e-9
    for s in out["strategies"]:
        assert s == pytest.approx([0.5, 0.5])


def test_solve_lists_several_equilibria(capsys):
    assert main(["solve", "matrix:stag_hunt", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["equilibria"]) == 3
    assert all(e["nash_gap"] < 1e-9 for e in out["equilibria"])


def test_solve_toml_file(capsys):
    assert main(["solve", "examples/games/prisoners_dilemma.toml", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # defection is the unique equilibrium
    assert [round(x) for x in out["strategies"][0]] == [0, 1]
