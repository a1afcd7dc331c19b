"""``arena eval`` reports each seat assignment: which seats the policy held, and how often."""

import json
import subprocess
import sys

import numpy as np
import pytest

import games
from agents.baselines import UniformRandom
from arena.cli import main
from arena.cli.commands import assignments
from arena.rollout import play

K3 = "kuhn_poker(players=3)"


def _json(capsys, *args):
    assert main(["eval", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_three_players_get_one_line_per_seat_assignment(capsys):
    assert main(["eval", "random", "--game", K3, "--games", "300"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"random vs random on {K3}, 300 games: 100 per seat assignment "
        "(the policy at seat 0 / 1 / 2, the opponent at the others)"
    )
    for seat, line in zip(range(3), lines[1:4]):
        others = ",".join(str(q) for q in range(3) if q != seat)
        assert line.startswith(f"  policy at seat {seat}, opponent at seats {others}: win ")
        assert " +- " in line and "(100 games" in line
    assert lines[4].startswith("  all 300 games: mean return ") and len(lines) == 5


def test_three_player_numbers_are_the_games_of_each_assignment(capsys):
    out = _json(capsys, "random", "--game", K3, "--games", "90", "--seed", "4")
    game = games.load(K3)
    ref = play(game, [UniformRandom(), UniformRandom()], 90, seed=4, seatings=assignments(90, 3))
    assert out["games_per_seat_assignment"] == [30, 30, 30]
    for s in out["seats"]:
        rows = ref.seats[:, s["seat"]] == 0
        assert rows.sum() == s["games"] == 30 and np.all(ref.seats[rows].sum(1) == 2)
        mine = ref.returns[rows, s["seat"]]
        assert s["mean_return"] == pytest.approx(mine.mean())
        assert s["stderr"] == pytest.approx(mine.std(ddof=1) / np.sqrt(30))
        assert s["opponent_seats"] == [q for q in range(3) if q != s["seat"]]
        assert s["win"] + s["draw"] + s["loss"] == pytest.approx(1.0)
        assert 0 < s["distinct_episodes"] <= 30 and not s["deterministic"]
    assert out["mean_return"] == pytest.approx(ref.returns[ref.seats == 0].mean())


def test_an_uneven_split_is_spelled_out(capsys):
    assert main(["eval", "random", "--game", K3, "--games", "301"]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert "301 games: 101 / 100 / 100 per seat assignment (the policy at seat 0 / 1 / 2" in head


def test_two_players_keep_the_seat_rotation(capsys):
    out = _json(capsys, "random", "--game", "kuhn_poker", "--games", "40", "--seed", "3")
    ref = play(games.load("kuhn_poker"), [UniformRandom(), UniformRandom()], 40, seed=3)
    np.testing.assert_array_equal(assignments(40, 2), ref.seats)  # the same games as before
    assert [s["games"] for s in out["seats"]] == [20, 20]
    for s in out["seats"]:
        rows = ref.seats[:, s["seat"]] == 0
        assert s["mean_return"] == pytest.approx(ref.returns[rows, s["seat"]].mean())
    assert out["mean_return"] == pytest.approx(ref.mean_returns()[0])
    assert main(["eval", "random", "--game", "kuhn_poker", "--games", "40"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].endswith(
        "40 games: 20 per seat assignment (the policy at seat 0 / 1, the opponent at the other)"
    )
    assert text[1].startswith("  policy at seat 0, opponent at seat 1: win ")


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize(
    "spec, n", [("kuhn_poker", 1), (K3, 1), (K3, 2), ("matrix:rock_paper_scissors", 3)]
)
@pytest.mark.parametrize("against", ["random", "self"])
def test_few_games_raise_no_runtime_warning(capsys, spec, n, against):
    assert main(["eval", "random", "--game", spec, "--games", str(n), "--against", against]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out.lower()
    if n == 1:
        assert "one game: no standard error" in out


def test_the_command_line_prints_no_runtime_warning():
    for spec in ("kuhn_poker", K3, "matrix:rock_paper_scissors", "tic_tac_toe"):
        r = subprocess.run(
            [sys.executable, "-W", "error::RuntimeWarning", "-m", "arena.cli", "eval", "random"]
            + ["--game", spec, "--games", "50"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert "per seat assignment" in r.stdout


def test_a_deterministic_pairing_is_reported_exact(tmp_path, capsys):
    ck = tmp_path / "iql"
    assert main(["train", "iql", "tic_tac_toe", "--steps", "64", "--out", str(ck)]) == 0
    capsys.readouterr()
    out = _json(capsys, str(ck), "--against", str(ck), "--games", "10")
    for s in out["seats"]:  # a greedy policy against itself replays one game per seating
        assert s["deterministic"] and s["stderr"] == 0.0 and s["distinct_episodes"] == 1
    assert out["stderr"] == 0.0
    assert main(["eval", str(ck), "--against", str(ck), "--games", "10"]) == 0
    text = capsys.readouterr().out
    assert "exactly  (5 games, all deterministic replays of one game)" in text
    assert "all 10 games: mean return" in text and text.rstrip().endswith("exactly")
