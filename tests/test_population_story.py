"""The league's analysis tells one story: matchmaking, the stored record and the report agree.

Known answers on tiny leagues: ``nash`` matchmaking draws from the stored
record's meta-Nash; several learners give one NashConv series each; the
evaluation method is what ``[evaluation]`` says, and an absent gap keeps its
reason up to the report.
"""

import numpy as np
import pytest
import torch

from arena.evaluation import evaluate_population
from arena.evaluation.population import GapSettings
from arena.league import League
from arena.report import load_report_data, write_report

torch.set_num_threads(1)

BASE = """
[league]
name = "story"
game = "{game}"
seed = 5
steps = {steps}
batch = 16
rollout_len = 4
round_steps = 256

{learners}

[learner.config]
hidden = [16]
learning_starts = 16
batch_size = 16

[snapshots]
every_steps = 256
capacity = 8

[matchmaking]
nash_payoffs = "exact"

[evaluation]
games_per_pair = 8
every_steps = 256
{evaluation}

[[reference]]
name = "random"
policy = "random"
"""


def _learner(name, role="main", matchmaking="nash"):
    return f'[[learner]]\nname = "{name}"\nalgorithm = "iql"\nrole = "{role}"\nmatchmaking = "{matchmaking}"\n'


def _config(tmp_path, game="kuhn_poker", steps=768, learners=None, evaluation=""):
    learners = learners or [_learner("main")]
    # [learner.config] applies to the last [[learner]]; give every learner the same config
    blocks = []
    for lr in learners:
        blocks.append(
            lr + "[learner.config]\nhidden = [16]\nlearning_starts = 16\nbatch_size = 16\n"
        )
    text = BASE.format(game=game, steps=steps, learners="\n".join(blocks), evaluation=evaluation)
    text = text.replace(
        "\n[learner.config]\nhidden = [16]\nlearning_starts = 16\nbatch_size = 16\n\n[snapshots]",
        "\n[snapshots]",
    )
    path = tmp_path / "story.toml"
    path.write_text(text)
    return path


def test_nash_matchmaking_draws_the_stored_record_mixture(tmp_path):
    cfg = _config(tmp_path)
    league = League.open(cfg, tmp_path / "story.db")
    try:
        slot = league.slots[0]
        league.run_round(slot)  # initial snapshot + one trained snapshot, then an evaluation
        rec = league.record
        assert rec is not None and rec.members == tuple(
            m.name for m in league.pool.active() if m.kind != "learner"
        )
        ids, probs, notes = league.opponent_distribution(slot)
        names = [league.pool.get(int(i)).name for i in ids]
        assert names == list(rec.members) and notes == []
        np.testing.assert_array_equal(probs, rec.meta_nash)  # the record's mixture, as stored
        assert slot.member.name not in names  # the learner is no meta-strategy
        # A resumed league reads the same record back from the store.
        league.close()
        league = League.open(cfg, tmp_path / "story.db")
        ids2, probs2, _ = league.opponent_distribution(league.slots[0])
        assert ids2.tolist() == ids.tolist() and probs2.tolist() == probs.tolist()
    finally:
        league.close()
    # The report's meta-Nash section is that same record.
    data = load_report_data(tmp_path / "story.db")
    assert data.members == list(rec.members) and data.meta_nash == list(rec.meta_nash)


def test_nash_matchmaking_over_a_new_set_solves_with_the_same_rule(tmp_path):
    """After a snapshot the record is stale: the candidates' own meta-game, same rule."""
    from games.metastrategy import meta_strategy

    cfg = _config(tmp_path, evaluation="")
    league = League.open(cfg, tmp_path / "story.db")
    try:
        slot = league.slots[0]
        league.run_round(slot)
        league.record = dataclass_without_last_member(league.record)
        ids, probs, _ = league.opponent_distribution(slot)
        table = league._exact_payoffs(league._learner_cfgs["main"], slot, [int(i) for i in ids])
        np.testing.assert_allclose(probs, meta_strategy(table, league.kind).weights)
    finally:
        league.close()


def dataclass_without_last_member(rec):
    import dataclasses

    return dataclasses.replace(rec, members=rec.members[:-1], meta_nash=rec.meta_nash[:-1])


def test_three_learners_store_three_series(tmp_path):
    learners = [
        _learner("main", "main", "pfsp"),
        _learner("exploiter", "main_exploiter", "latest"),
        _learner("league_exploiter", "league_exploiter", "pfsp"),
    ]
    cfg = _config(tmp_path, steps=512, learners=learners)
    league = League.open(cfg, tmp_path / "three.db")
    try:
        league.run()
        evaluations = league.store.evaluations("league")
    finally:
        league.close()
    # One population evaluation per period for the whole population, not one per learner.
    assert [e.step for e in evaluations] == sorted({e.step for e in evaluations})
    assert len(evaluations) == 3  # before training, at 256 steps each (one period), at the target
    data = load_report_data(tmp_path / "three.db")
    series = {p.series for p in data.gaps}
    assert series == {"main", "exploiter", "league_exploiter", "meta-Nash mixture"}
    for name in ("main", "exploiter", "league_exploiter"):
        assert len([p for p in data.gaps if p.series == name]) == len(evaluations)
    _, md = write_report(data, tmp_path / "report")
    text = open(md, encoding="utf-8").read()
    gaps = text.split("## NashConv and exploitability over time")[1].split("\n## ")[0]
    for name in ("main", "exploiter", "league_exploiter", "meta-Nash mixture"):
        assert f"| {name} | nash conv |" in gaps


@pytest.mark.parametrize(
    "method, expect",
    [
        ("exact", "decision nodes"),
        ("off", "evaluation.method = 'off'"),
    ],
)
def test_absent_gaps_keep_their_reason_to_the_report(tmp_path, method, expect):
    cfg = _config(tmp_path, evaluation=f'method = "{method}"\nmax_states = 5')
    league = League.open(cfg, tmp_path / "gap.db")
    try:
        league.run_round(league.slots[0])
        rec = league.record
    finally:
        league.close()
    assert rec.learners[0].gap.nash_conv is None and expect in rec.learners[0].gap.note
    assert rec.meta_nash_gap.nash_conv is None and expect in rec.meta_nash_gap.note
    _, md = write_report(load_report_data(tmp_path / "gap.db"), tmp_path / "report")
    text = open(md, encoding="utf-8").read()
    assert "No NashConv of learner main:" in text and expect in text


def test_exploiter_method_stores_lower_bounds_labelled_as_such():
    import games
    from agents.baselines import FixedMixed

    game = games.load("matrix:rock_paper_scissors")
    eye = np.eye(3)
    rec = evaluate_population(
        game,
        "matrix:rock_paper_scissors",
        ["rock", "paper", "main"],
        ["snapshot", "snapshot", "learner"],
        [FixedMixed(eye[0]), FixedMixed(eye[1]), FixedMixed(eye[0])],
        10,
        8,
        gaps=GapSettings("exploiter", exploiter_seconds=1.0),
    )
    gap = rec.learners[0].gap
    # A pure-rock learner: a best responder gains 1 per seat (NashConv 2); the bound is below.
    assert gap.method == "exploiter_lower_bound" and 0.5 < gap.nash_conv <= 2.0 + 1e-9
    assert "lower bound from an exploiter trained 1 s" in gap.note
    rows = rec.gap_rows()
    assert {r["method"] for r in rows} == {"exploiter_lower_bound"}


@pytest.mark.slow
def test_deterministic_pairings_in_connect_four_are_exact_not_64_samples():
    """Two deterministic snapshots in a game without chance replay one game per seating:
    the population evaluation says so, and their entries carry no sampling error."""
    import games
    from tests.test_distinct_episodes import Highest, Lowest

    game = games.load("connect_four")
    rec = evaluate_population(
        game,
        "connect_four",
        ["low", "high", "main"],
        ["snapshot", "snapshot", "learner"],
        [Lowest(), Highest(), Lowest()],
        10,
        64,
    )
    assert rec.table_method == (
        "sampled: 64 games per pair, 1 of 1 pair deterministic (computed exactly from one game "
        "per seating), 2 distinct episodes in all"
    )
    assert rec.stderr[0][1] == 0.0 and rec.stderr[1][0] == 0.0
    (row,) = rec.learners
    assert "2 of 2 pairs deterministic" in row.method and row.stderr == (0.0, 0.0)
