"""A training signal a researcher can read: measures that move, CSV + TensorBoard, several seeds."""

import math

import pytest

from arena.cli import main
from arena.cli.league import interval, parse_seeds
from arena.metrics import MetricsLog, read_csv

LEAGUE = """
[league]
name = "t"
game = "kuhn_poker"
steps = 2048
batch = 16
rollout_len = 8
round_steps = 1024

[[learner]]
name = "main"
algorithm = "mmd"
matchmaking = "latest"

[learner.config]
hidden = [16]

[snapshots]
every_steps = 1024

[evaluation]
games_per_pair = 16
every_steps = 1024

[[reference]]
name = "random"
policy = "random"
"""


def test_metrics_log_writes_csv_and_tensorboard(tmp_path):
    with MetricsLog(tmp_path / "m") as log:
        log.add(10, {"a/loss": 1.5, "skip_nan": math.nan, "skip_none": None, "b": 2})
    with MetricsLog(tmp_path / "m") as log:  # a resumed run appends to the same file
        log.add(20, {"a/loss": 0.5})
    rows = read_csv(tmp_path / "m" / "metrics.csv")
    assert [(s, n, v) for s, _, n, v in rows] == [
        (10, "a/loss", 1.5),
        (10, "b", 2.0),
        (20, "a/loss", 0.5),
    ]
    assert list((tmp_path / "m").glob("events.out.tfevents.*"))


def test_train_reports_exact_exploitability_as_it_goes(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(
        [
            "train",
            "mmd",
            "kuhn_poker",
            "--steps",
            "4096",
            "--batch",
            "32",
            "--out",
            str(out),
            "--measure-every",
            "1024",
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "exploitability (exact):" in text and "at the start" in text
    rows = read_csv(out / "metrics.csv")
    expl = [v for _, _, n, v in rows if n == "exploitability"]
    assert len(expl) >= 4 and all(0 <= v <= 11 / 24 + 0.2 for v in expl)
    assert list(out.glob("events.out.tfevents.*"))


def test_train_falls_back_to_the_return_against_random(tmp_path, capsys):
    out = tmp_path / "ttt"
    rc = main(["train", "mmd", "tic_tac_toe", "--steps", "512", "--batch", "16", "--out", str(out)])
    assert rc == 0
    assert "return against random" in capsys.readouterr().out
    assert any(n == "return_vs_random" for _, _, n, _ in read_csv(out / "metrics.csv"))


def test_league_writes_metrics_and_prints_the_trajectory(tmp_path, capsys):
    cfg = tmp_path / "t.toml"
    cfg.write_text(LEAGUE)
    assert main(["league", "run", str(cfg), "--quiet", "--no-report"]) == 0
    text = capsys.readouterr().out
    assert "exploitability (NashConv / players" in text and "main:" in text
    rows = read_csv(tmp_path / "t_metrics" / "metrics.csv")
    names = {n for _, _, n, _ in rows}
    assert {"main/exploitability", "meta_nash/exploitability", "main/return_vs/random"} <= names


def test_several_seeds_give_a_mean_and_an_interval(tmp_path, capsys):
    cfg = tmp_path / "t.toml"
    cfg.write_text(LEAGUE)
    assert main(["league", "run", str(cfg), "--quiet", "--seeds", "0-1"]) == 0
    text = capsys.readouterr().out
    assert "2 seeds (0-1); the mean and its 95% interval" in text
    line = next(x for x in text.splitlines() if x.strip().startswith("main exploitability"))
    assert "(n=2:" in line
    assert (tmp_path / "t-seed0.db").exists() and (tmp_path / "t-seed1.db").exists()
    # Another seed is another league.
    from arena.cli.league import gap_trajectories
    from leagues.store import Store

    with (
        Store.open(tmp_path / "t-seed0.db", readonly=True) as a,
        Store.open(tmp_path / "t-seed1.db", readonly=True) as b,
    ):
        assert gap_trajectories(a)["main"] != gap_trajectories(b)["main"]


def test_seed_lists_and_intervals():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,3,7") == [0, 3, 7]
    assert parse_seeds("1-2,2,5") == [1, 2, 5]
    for bad in ("a", "3-1", "-1", "0-1000"):
        with pytest.raises(Exception, match="--seeds"):
            parse_seeds(bad)
    mean, half = interval([1.0, 2.0, 3.0])
    # t(0.975, 2) = 4.3027; sd = 1; n = 3
    assert mean == 2.0 and half == pytest.approx(4.302652729749464 / math.sqrt(3))
    assert interval([5.0]) == (5.0, 0.0)
