"""Exact NashConv through our policy path, against known values and OpenSpiel oracles."""

import numpy as np
import pytest

import games
from agents.base import Act, sample_from_probs
from agents.baselines import FixedMixed, UniformRandom
from arena.evaluation import (
    ExactLimitError,
    PolicyContractError,
    exact_nash_conv,
    nash_report,
    tabulate,
)
from arena.evaluation.metagame import MixturePolicy
from games.matrix import repeated


class TableOracle:
    """An OpenSpiel TabularPolicy (e.g. CFR+'s average) as our Policy, looked up by observation."""

    def __init__(self, game, os_policy):
        from open_spiel.python import policy as os_policy_lib

        table = os_policy_lib.TabularPolicy(game.pyspiel_game)
        self.lookup = {}
        for state in table.states:
            player = state.current_player()
            probs = np.zeros(game.info.num_actions)
            for a, p in os_policy.action_probabilities(state, player).items():
                probs[a] = p
            self.lookup[game.observation(state, player).tobytes()] = probs

    def act(self, obs, legal, player, rng, explore=False):
        probs = np.stack([self.lookup[o.tobytes()] for o in obs])
        return Act(sample_from_probs(probs, rng), probs)


class CountingPolicy(UniformRandom):
    def __init__(self):
        self.calls = []

    def act(self, obs, legal, player, rng, explore=False):
        self.calls.append(np.unique(player).tolist())
        return super().act(obs, legal, player, rng, explore)


class TitForTat:
    """Iterated PD: copy the opponent's previous action."""

    def __init__(self, horizon=10):
        self.horizon = horizon

    def act(self, obs, legal, player, rng, explore=False):
        # obs: one entry per round, then the previous actions one-hot (2 per player).
        defected = obs[np.arange(len(obs)), self.horizon + 2 * (1 - player) + 1] > 0.5
        probs = np.zeros(legal.shape)
        probs[np.arange(len(obs)), defected.astype(int)] = 1.0
        return Act(sample_from_probs(probs, rng), probs)


def test_kuhn_uniform_has_nash_conv_eleven_twelfths():
    res = exact_nash_conv(games.load("kuhn_poker"), UniformRandom())
    assert res.method == "exact"
    assert res.nash_conv == pytest.approx(11 / 12, abs=1e-12)
    assert res.exploitability == pytest.approx(11 / 24, abs=1e-12)
    assert res.values == pytest.approx([1 / 8, -1 / 8], abs=1e-12)  # uniform play's value
    assert res.per_player.sum() == pytest.approx(res.nash_conv)


def test_leduc_uniform_matches_the_published_value():
    res = exact_nash_conv(games.load("leduc_poker"), UniformRandom())
    assert res.nash_conv == pytest.approx(4.747222222, abs=1e-6)


def test_one_batched_call_per_player():
    pol = CountingPolicy()
    exact_nash_conv(games.load("leduc_poker"), pol)
    assert pol.calls == [[0], [1]]


def test_cfr_plus_policy_through_our_path_is_near_nash_and_matches_openspiel():
    from open_spiel.python.algorithms import cfr, exploitability

    game = games.load("kuhn_poker")
    solver = cfr.CFRPlusSolver(game.pyspiel_game)
    for _ in range(200):
        solver.evaluate_and_update_policy()
    avg = solver.average_policy()
    oracle = exploitability.nash_conv(game.pyspiel_game, avg)
    ours = exact_nash_conv(game, TableOracle(game, avg)).nash_conv
    assert ours == pytest.approx(oracle, abs=1e-9)
    assert ours < 5e-3  # CFR+ on Kuhn: about 1e-3 after 200 iterations (measured)


def test_three_player_kuhn_and_simultaneous_goofspiel_match_openspiel():
    from open_spiel.python import policy as os_policy
    from open_spiel.python.algorithms import exploitability

    for spec in ("kuhn_poker(players=3)", "goofspiel(num_cards=3)"):
        game = games.load(spec)
        uniform = os_policy.TabularPolicy(game.pyspiel_game)
        oracle = exploitability.nash_conv(game.pyspiel_game, uniform, return_only_nash_conv=False)
        res = exact_nash_conv(game, UniformRandom())
        assert res.per_player == pytest.approx(oracle.player_improvements, abs=1e-9), spec


def test_rock_paper_scissors_uniform_gap_zero_and_pure_rock_gap_two():
    for spec in ("matrix:rock_paper_scissors", "matrix_rps"):
        game = games.load(spec)
        assert exact_nash_conv(game, UniformRandom()).nash_conv == pytest.approx(0.0, abs=1e-12)
        # Pure rock: each player gains 1 by switching to paper.
        assert exact_nash_conv(game, FixedMixed([1, 0, 0])).nash_conv == pytest.approx(2.0)


def test_repeated_and_multistage_matrix_games_by_hand():
    ipd = games.load("examples/games/iterated_pd.toml")  # T=5, R=3, P=1, S=0, 10 rounds
    # Against tit-for-tat the best response cooperates 9 rounds, defects in the last: T - R each.
    tft = exact_nash_conv(ipd, TitForTat())
    assert tft.values == pytest.approx([30, 30]) and tft.nash_conv == pytest.approx(4.0)
    assert exact_nash_conv(ipd, FixedMixed([0, 1])).nash_conv == pytest.approx(0.0)  # always defect
    # A stationary strategy in a repeated game: H times the one-shot gap.
    rps = games.load("matrix:rock_paper_scissors")
    mixed = FixedMixed([0.5, 0.3, 0.2])
    rep = repeated(rps.payoff_tensor, 3, observe_previous=True)
    assert exact_nash_conv(rep, mixed).nash_conv == pytest.approx(
        3 * exact_nash_conv(rps, mixed).nash_conv
    )
    # Two-step game, uniform: stage 2A pays 7, 2B pays 2.5 on average -> value 4.75; player 0
    # best responds by picking 2A (7), player 1 by playing B in 2B (0.5 * 7 + 0.5 * 4.5 = 5.75).
    two = exact_nash_conv(games.load("examples/games/two_step.toml"), UniformRandom())
    assert two.values == pytest.approx([4.75, 4.75])
    assert two.per_player == pytest.approx([2.25, 1.0])


@pytest.mark.parametrize("spec", ["kuhn_poker", "goofspiel(num_cards=3)"])
def test_mixture_matches_openspiel_policy_aggregator(spec):
    from open_spiel.python.algorithms import exploitability, policy_aggregator

    game = games.load(spec)
    n = game.info.num_actions
    a, b = np.linspace(1, 2, n), np.linspace(2, 0.1, n)
    members = [FixedMixed(a / a.sum()), FixedMixed(b / b.sum())]
    weights = [0.3, 0.7]
    tables = [tabulate(game, m)[0] for m in members]
    agg = policy_aggregator.PolicyAggregator(game.pyspiel_game).aggregate(
        [0, 1], [tables, tables], [weights, weights]
    )
    oracle = exploitability.nash_conv(game.pyspiel_game, agg)
    mix = exact_nash_conv(game, MixturePolicy(members, weights)).nash_conv
    assert mix == pytest.approx(oracle, abs=1e-9)
    if spec == "kuhn_poker":  # the per-decision mixture (ignoring reach) is another strategy
        probs = [
            0.3 * p + 0.7 * q for p, q in zip(members[0].strategies[0], members[1].strategies[0])
        ]
        assert abs(exact_nash_conv(game, FixedMixed(probs)).nash_conv - mix) > 1e-3


def test_mixture_in_repeated_game_learns_the_opponent_type():
    pd = games.load("examples/games/iterated_pd.toml").payoffs[0]
    ipd = repeated(pd, 4, observe_previous=True)
    mix = MixturePolicy([TitForTat(horizon=4), FixedMixed([0, 1])], [0.5, 0.5])
    res = exact_nash_conv(ipd, mix)
    # Value: (12 + 3 + 8 + 4) / 4 over the four pairings. Best response: cooperate once to
    # learn the type, then exploit TFT (3 + 3 + 3 + 5) or defect against AllD (0 + 3).
    assert res.values == pytest.approx([6.75, 6.75])
    assert res.best_response_values == pytest.approx([8.5, 8.5])


def test_too_large_game_raises_and_points_to_the_budget():
    game = games.load("leduc_poker")
    with pytest.raises(ExactLimitError, match="--budget"):
        exact_nash_conv(game, UniformRandom(), max_states=100)
    with pytest.raises(ExactLimitError, match="--budget"):
        nash_report(game, "leduc_poker", UniformRandom(), "random", budget=0, max_states=100)
    with pytest.raises(ExactLimitError, match="--budget"):
        exact_nash_conv(
            games.load("examples/games/iterated_pd.toml"), UniformRandom(), max_states=10
        )
    assert issubclass(ExactLimitError, games.GameError)  # the CLI prints it as one line


def test_policy_contract_is_checked():
    class Illegal:
        def act(self, obs, legal, player, rng, explore=False):
            probs = np.full(legal.shape, 1.0 / legal.shape[1])
            return Act(np.zeros(len(obs), np.int64), probs)

    with pytest.raises(PolicyContractError, match="illegal"):
        exact_nash_conv(games.load("leduc_poker"), Illegal())


def test_nash_report_keys_and_json():
    import json

    out = nash_report(games.load("kuhn_poker"), "kuhn_poker", UniformRandom(), "random")
    assert {
        "game",
        "policy",
        "nash_conv",
        "exploitability",
        "per_player",
        "method",
        "seconds",
    } <= set(out)
    assert out["method"] == "exact" and out["nash_conv"] == pytest.approx(11 / 12)
    json.dumps(out)


def test_exploiter_lower_bound_never_exceeds_the_exact_value_on_kuhn():
    pytest.importorskip("agents.iql")
    import torch

    torch.set_num_threads(1)
    from arena.evaluation import ExploiterConfig

    game = games.load("kuhn_poker")
    exact = exact_nash_conv(game, UniformRandom())
    # max_states=10 makes Kuhn "too large", so the report falls back to the exploiter.
    out = nash_report(
        game,
        "kuhn_poker",
        UniformRandom(),
        "random",
        budget=2.5,
        max_states=10,
        exploiter=ExploiterConfig(algo="iql", eval_games=2000),
    )
    assert out["method"] == "exploiter_lower_bound" and "note" in out
    assert np.all(np.array(out["per_player"]) <= exact.per_player + 1e-12)
    assert out["nash_conv"] <= exact.nash_conv
    # IQL finds a good part of the gap in seconds (measured: 0.70 of 0.92 after 3 s).
    assert out["nash_conv"] > 0.1
    assert out["values"] == pytest.approx(exact.values, abs=0.1)


def test_league_eval_measures_the_population_and_records_for_the_report(tmp_path, capsys):
    from arena.cli.league import league_eval_command
    from arena.league import evaluate_league
    from arena.report import load_report_data
    from leagues.config import LeagueConfig, ReferenceConfig, RunConfig, config_to_dict
    from leagues.pool import Member
    from leagues.store import Store

    db = tmp_path / "refs.db"
    cfg = LeagueConfig(
        league=RunConfig(name="refs", game="kuhn_poker"),
        references=(ReferenceConfig("random", "random"),),
    )
    with Store.open(db, create=True) as store:
        store.set_config("", config_to_dict(cfg))
        store.add_member(Member(1, "random", "reference", policy="random", created=1.0))
        store.add_member(Member(2, "random2", "reference", policy="random", created=2.0))
    out = evaluate_league(db)
    assert out["table_method"] == "exact" and out["members"] == ["random", "random2"]
    assert np.array(out["payoffs"]) == pytest.approx(np.zeros((2, 2)), abs=1e-12)
    assert out["learners"] == []  # no learner yet: only the meta-Nash mixture's gap
    gap = out["meta_nash_gap"]
    assert gap["method"] == "exact" and gap["nash_conv"] == pytest.approx(11 / 12)
    assert out["recorded"]
    data = load_report_data(db)
    assert [(g.who, g.method) for g in data.gaps] == [("meta_nash", "exact")]
    assert data.table_method == "exact" and data.meta_nash == out["meta_nash"]  # the stored record

    class Args:
        games = None
        json = False

    Args.db = str(db)
    assert league_eval_command(Args) == 0
    printed = capsys.readouterr().out
    assert "NashConv of meta-Nash mixture: 0.916667 (exact)" in printed
    assert "payoff table: exact;" in printed
