"""Hostile inputs to the CLI: each must give one line on stderr and exit 2.

Unbounded sizes (games, batch, rollouts, hidden widths, weights files, game
parameters) and mismatched algorithms used to crash with a traceback, hang or
exhaust memory; see docs/limits.md for the bounds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from arena.cli import main


def _one_line_rc2(capsys, argv) -> str:
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("arena: error: "), err
    return lines[0]


LEAGUE = """[league]
name = "t"
game = "{game}"
steps = 64
{league}
[[learner]]
name = "m"
algorithm = "{algo}"
{learner}
{tail}"""

LEAGUE_CASES = {
    "qmix_on_rps": (dict(algo="qmix"), "team value"),
    "games_per_pair": (
        dict(tail="[evaluation]\ngames_per_pair = 1000000000000\n"),
        "games_per_pair",
    ),
    "batch": (dict(league="batch = 1000000000000"), "league.batch"),
    "rollout_len": (dict(league="rollout_len = 100000000"), "league.rollout_len"),
    "rollout_memory": (dict(league="rollout_len = 100000\nbatch = 65536"), "GiB"),
    "past_prob_nan": (dict(tail="[matchmaking]\npast_prob = nan\n"), "past_prob"),
    "initial_inf": (dict(tail="[ratings]\ninitial = inf\n"), "initial"),
    "payoff_decay_nan": (dict(tail="[matchmaking]\npayoff_decay = nan\n"), "payoff_decay"),
    "elo_k_inf": (dict(tail="[ratings]\nelo_k = inf\n"), "elo_k"),
    "cuda": (dict(league='device = "cuda:0"'), "device"),
    "mps": (dict(league='device = "mps"'), "device"),
    "hidden_negative": (dict(learner="[learner.config]\nhidden = [-4]"), "hidden"),
    "hidden_huge": (dict(learner="[learner.config]\nhidden = [8192, 8192, 8192]"), "parameters"),
    "lr_nan": (dict(learner="[learner.config]\nlr_actor = nan"), "lr_actor"),
    "lr_negative": (dict(learner="[learner.config]\nlr_actor = -1.0"), "lr_actor"),
    "activation": (dict(learner='[learner.config]\nactivation = "sigmoid"'), "activation"),
    "iql_batch_size": (dict(algo="iql", learner="[learner.config]\nbatch_size = 0"), "batch_size"),
    "iql_loss": (dict(algo="iql", learner='[learner.config]\nloss = "l7"'), "loss"),
    "name_slash": (dict(name="a/b"), "league.name"),
    "name_dots": (dict(name=".."), "league.name"),
    "name_empty": (dict(name=""), "league.name"),
    "name_nul": (dict(name="a\\u0000b"), "league.name"),
    "goofspiel_huge": (dict(game="goofspiel(num_cards=100000)"), "limit"),
}


@pytest.mark.parametrize("case", list(LEAGUE_CASES))
def test_league_run_refuses_in_one_line_without_a_store(tmp_path, capsys, case):
    kw, needle = LEAGUE_CASES[case]
    fields = dict(game="matrix:rock_paper_scissors", algo="mappo", league="", learner="", tail="")
    fields.update({k: v for k, v in kw.items() if k != "name"})
    text = LEAGUE.format(**fields)
    if "name" in kw:
        text = text.replace('name = "t"', f'name = "{kw["name"]}"')
    cfg = tmp_path / "league.toml"
    cfg.write_text(text)
    db = tmp_path / "x.db"
    line = _one_line_rc2(capsys, ["league", "run", cfg, "--db", db, "--quiet", "--no-report"])
    assert needle in line
    assert not db.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["league.toml"]


def test_league_run_refuses_deeply_nested_toml(tmp_path, capsys):
    cfg = tmp_path / "league.toml"
    cfg.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    line = _one_line_rc2(capsys, ["league", "run", cfg, "--db", tmp_path / "x.db", "--quiet"])
    assert "nested too deeply" in line
    assert not (tmp_path / "x.db").exists()


CLI_CASES = {
    "qmix_tic_tac_toe": (["train", "qmix", "tic_tac_toe"], "cooperative"),
    "vdn_kuhn": (["train", "vdn", "kuhn_poker"], "cooperative"),
    "mappo_continuous": (["train", "mappo", "control:rendezvous"], "maddpg"),
    "steps_zero": (["train", "iql", "tic_tac_toe", "--steps", "0"], "--steps"),
    "batch_huge": (["train", "iql", "tic_tac_toe", "--batch", str(10**11)], "--batch"),
    "batch_negative": (["train", "iql", "tic_tac_toe", "--batch", "-3"], "--batch"),
    "train_cuda": (["train", "iql", "tic_tac_toe", "--device", "cuda:0"], "CUDA"),
    "eval_games_zero": (["eval", "random", "--game", "kuhn_poker", "--games", "0"], "--games"),
    "eval_games_negative": (["eval", "random", "--game", "kuhn_poker", "--games", "-5"], "--games"),
    "eval_games_huge": (
        ["eval", "random", "--game", "kuhn_poker", "--games", str(10**12)],
        "--games",
    ),
    "eval_budget_nan": (
        ["eval", "random", "--game", "kuhn_poker", "--nash", "--budget", "nan"],
        "--budget",
    ),  # fmt: skip
    "blotto_huge": (["games", "show", "blotto(coins=100000)"], "actions"),
    "goofspiel_huge": (["games", "show", "goofspiel(num_cards=100000)"], "limit"),
    "openspiel_type": (["games", "show", "blotto(coins=abc)"], "integer"),
    "openspiel_players": (["games", "show", "kuhn_poker(players=99)"], "kuhn_poker"),
    "coordination_huge": (["games", "show", "matrix:pure_coordination(n=100000)"], "limit"),
    "ipd_horizon": (
        ["games", "show", "matrix:iterated_prisoners_dilemma(horizon=1000000000)"],
        "horizon",
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_refuses_in_one_line(tmp_path, capsys, case):
    argv, needle = CLI_CASES[case]
    if argv[0] == "train":
        argv = [*argv, "--out", tmp_path / "ck"]
    line = _one_line_rc2(capsys, argv)
    assert needle in line
    assert not (tmp_path / "ck").exists()


def test_train_out_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    line = _one_line_rc2(capsys, ["train", "iql", "tic_tac_toe", "--out", f])
    assert "not a folder" in line


def test_matrix_toml_horizon_and_nesting(tmp_path, capsys):
    rep = tmp_path / "rep.toml"
    rep.write_text(
        "players = 2\nactions = [2, 2]\nzero_sum_payoff = [[1, -1], [-1, 1]]\n"
        "[repeated]\nhorizon = 1000000000\n"
    )
    assert "horizon" in _one_line_rc2(capsys, ["games", "show", rep])
    deep = tmp_path / "deep.toml"
    deep.write_text("players = 2\nzero_sum_payoff = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert "nested too deeply" in _one_line_rc2(capsys, ["games", "show", deep])


# ---------------------------------------------------------------- checkpoints


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    import games
    from agents.checkpoint import save_checkpoint
    from agents.registry import make_learner

    out = tmp_path_factory.mktemp("ck") / "iql"
    game = games.load("matrix:rock_paper_scissors")
    save_checkpoint(out, make_learner("iql", game.info, seed=0), "matrix:rock_paper_scissors")
    return out


def _copy(checkpoint: Path, tmp_path: Path) -> Path:
    import shutil

    dst = tmp_path / "ck"
    shutil.copytree(checkpoint, dst)
    return dst


def _eval(ck) -> list:
    return ["eval", ck, "--game", "matrix:rock_paper_scissors", "--games", "4"]


@pytest.mark.parametrize("spec", [[1, 2], "spec", 3, {"format": 1}, {"format": 1, "algorithm": "iql", "config": [], "game": "g", "info": {}}])  # fmt: skip
def test_checkpoint_spec_of_the_wrong_shape(checkpoint, tmp_path, capsys, spec):
    ck = _copy(checkpoint, tmp_path)
    (ck / "spec.json").write_text(json.dumps(spec))
    assert "spec" in _one_line_rc2(capsys, _eval(ck))


def test_checkpoint_spec_with_huge_hidden_is_refused_before_building(checkpoint, tmp_path, capsys):
    ck = _copy(checkpoint, tmp_path)
    spec = json.loads((ck / "spec.json").read_text())
    spec["config"]["hidden"] = [200000, 200000]
    (ck / "spec.json").write_text(json.dumps(spec))
    assert "hidden" in _one_line_rc2(capsys, _eval(ck))
    spec["config"]["hidden"] = [8192] * 3
    spec["info"]["obs_size"] = 10**6
    (ck / "spec.json").write_text(json.dumps(spec))
    assert "parameters" in _one_line_rc2(capsys, _eval(ck))


def test_checkpoint_spec_info_missing_keys(checkpoint, tmp_path, capsys):
    ck = _copy(checkpoint, tmp_path)
    spec = json.loads((ck / "spec.json").read_text())
    del spec["info"]["obs_size"]
    (ck / "spec.json").write_text(json.dumps(spec))
    assert "obs_size" in _one_line_rc2(capsys, _eval(ck))


def test_weights_linked_to_dev_zero(checkpoint, tmp_path, capsys):
    ck = _copy(checkpoint, tmp_path)
    (ck / "weights.safetensors").unlink()
    os.symlink("/dev/zero", ck / "weights.safetensors")
    assert "not a regular file" in _one_line_rc2(capsys, _eval(ck))


def test_weights_too_large(checkpoint, tmp_path, capsys, monkeypatch):
    import agents.checkpoint

    monkeypatch.setattr(agents.checkpoint, "MAX_WEIGHTS_BYTES", 16)
    ck = _copy(checkpoint, tmp_path)
    assert "limit" in _one_line_rc2(capsys, _eval(ck))
