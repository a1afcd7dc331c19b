"""A tiny league per registered algorithm: it finishes, and a resumed run ends where an uninterrupted one does."""

import pytest
import torch

from agents.registry import ALGORITHMS
from arena.league import League
from leagues.store import Store

torch.set_num_threads(1)

CONFIG = """
[league]
name = "t"
game = "{game}"
seed = 3
steps = 256
batch = 8
rollout_len = 4
round_steps = 128

[[learner]]
name = "main"
algorithm = "{algorithm}"
matchmaking = "self_play"

[learner.config]
{config}

[snapshots]
every_steps = 128
capacity = 4

[evaluation]
games_per_pair = 8
every_steps = 128

[[reference]]
name = "random"
policy = "random"
"""

_Q = "hidden = [16]\nlearning_starts = 16\nbatch_size = 16"

# algorithm -> (a matrix game it fits, [learner.config] lines)
CASES = {
    "iql": ("matrix:rock_paper_scissors", _Q),
    "vdn": ("matrix:climbing", _Q),
    "qmix": ("matrix:climbing", _Q + "\nmixer_embed = 8\nhypernet_embed = 8"),
    "mappo": ("matrix:matching_pennies", "hidden = [16]\nepochs = 2\nminibatches = 2"),
    "ippo": ("matrix:stag_hunt", "hidden = [16]\nepochs = 2\nminibatches = 2"),
    "maddpg": ("matrix:prisoners_dilemma", "hidden = [16]\nwarmup = 16\nbatch_size = 16"),
    "mmd": ("matrix:matching_pennies", "hidden = [16]\nepochs = 2"),
}


def table(db):
    s = Store.open(db, readonly=True)
    try:
        members = [(m.name, m.kind, m.step) for m in s.members()]
        matches = [(r.step, tuple(r.seats), tuple(r.returns), r.seed) for r in s.matches()]
        ratings = [(r.step, r.member, r.system, round(r.value, 9)) for r in s.ratings()]
        return members, matches, ratings
    finally:
        s.close()


def run(cfg, db, steps=None):
    league = League.open(cfg, db)
    try:
        league.run(steps=steps)
    finally:
        league.close()


def test_every_registered_algorithm_has_a_league_case():
    assert set(CASES) == set(ALGORITHMS)


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_league_runs_and_resumes(tmp_path, algorithm):
    _run_and_resume(tmp_path, algorithm, CONFIG)


def _run_and_resume(tmp_path, algorithm, template):
    game, config = CASES[algorithm]
    cfg = tmp_path / "league.toml"
    cfg.write_text(template.format(game=game, algorithm=algorithm, config=config))
    run(cfg, tmp_path / "full.db")
    full = table(tmp_path / "full.db")
    snapshot_steps = [step for _, kind, step in full[0] if kind == "snapshot"]
    assert max(snapshot_steps) >= 256  # it ran to the end
    assert full[1] and full[2]  # evaluation matches and ratings were stored

    run(cfg, tmp_path / "split.db", steps=128)
    mid = table(tmp_path / "split.db")
    assert len(mid[1]) < len(full[1])
    run(cfg, tmp_path / "split.db")
    assert table(tmp_path / "split.db") == full
