"""MatrixGame: stepping, observations, kinds, the catalog, TOML files and OpenSpiel conversion."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyspiel
import pytest

from games import GameError
from games.catalog import load_catalog, names
from games.matrix import (
    MatrixGame,
    detect_kind,
    from_openspiel,
    load_toml,
    loads_toml,
    normal_form,
    repeated,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "games"

EXPECTED_KIND = {
    "rock_paper_scissors": "zero_sum",
    "matching_pennies": "zero_sum",
    "prisoners_dilemma": "general_sum",
    "stag_hunt": "general_sum",
    "battle_of_sexes": "general_sum",
    "chicken": "general_sum",
    "shapleys_game": "general_sum",
    "pure_coordination": "cooperative",
    "climbing": "cooperative",
    "penalty": "cooperative",
    "nonmonotonic": "cooperative",
    "positive_control": "cooperative",
    "three_player_matching_pennies": "general_sum",
    "volunteers_dilemma": "general_sum",
    "iterated_prisoners_dilemma": "general_sum",
    "two_step": "cooperative",
}


def all_joint_actions(counts):
    return np.array(list(itertools.product(*[range(c) for c in counts])), dtype=np.int64)


# ---- the catalog -------------------------------------------------------------


def test_catalog_lists_every_expected_entry():
    assert sorted(EXPECTED_KIND) == names()


@pytest.mark.parametrize("name", sorted(EXPECTED_KIND))
def test_catalog_kind_and_source(name):
    game = load_catalog(name)
    assert game.kind == EXPECTED_KIND[name]
    assert game.source, f"{name} must cite its source"
    assert game.dynamics == "simultaneous"


def test_catalog_cooperative_games_give_identical_payoffs():
    for name in names():
        game = load_catalog(name)
        if game.kind == "cooperative":
            for table in game.payoffs:
                assert np.array_equal(table[0], table[1])


def test_catalog_climbing_and_penalty_tables():
    climbing = load_catalog("climbing").payoff_tensor[0]
    assert climbing.tolist() == [[11, -30, 0], [-30, 7, 6], [0, 0, 5]]
    penalty = load_catalog("penalty(k=-50)").payoff_tensor[0]
    assert penalty.tolist() == [[-50, 0, 10], [0, 2, 0], [10, 0, -50]]
    assert load_catalog("penalty").payoff_tensor[0, 0, 0] == -10


def test_catalog_unknown_name_suggests_close_names():
    with pytest.raises(GameError, match="did you mean: penalty"):
        load_catalog("penalti")


def test_catalog_unknown_parameter_lists_accepted():
    with pytest.raises(GameError, match="unknown parameter 'j'.*k="):
        load_catalog("penalty(j=1)")
    with pytest.raises(GameError, match="horizon"):
        load_catalog("iterated_prisoners_dilemma(horizon=0)")


# ---- stepping one-shot games -----------------------------------------------------


@pytest.mark.parametrize(
    "name", ["rock_paper_scissors", "climbing", "three_player_matching_pennies"]
)
def test_one_shot_rewards_equal_payoff_tensor(name):
    game = load_catalog(name)
    joint = all_joint_actions(game.info.actions_per_player)
    env = game.vector(len(joint), seed=0)
    ts = env.reset()
    assert ts.obs.shape == (len(joint), game.num_players, 1) and ts.obs.dtype == np.float32
    assert np.all(ts.obs == 1.0) and np.all(ts.acting) and not ts.done.any()
    assert ts.legal.shape == (len(joint), game.num_players, game.num_actions)
    ts = env.step(joint)
    expected = np.stack([game.payoff_tensor[(slice(None), *a)] for a in joint])
    assert ts.rewards.dtype == np.float64
    np.testing.assert_array_equal(ts.rewards, expected)
    assert ts.done.all() and not ts.acting.any() and not ts.legal.any()


def test_finished_copies_stay_finished_until_reset():
    game = load_catalog("prisoners_dilemma")
    env = game.vector(3, seed=0)
    env.reset()
    env.step(np.array([[1, 1], [0, 0], [0, 1]]))
    ts = env.step(np.array([[0, 0], [0, 0], [0, 0]]))  # ignored: all finished
    assert ts.done.all() and np.all(ts.rewards == 0.0)
    ts = env.reset(mask=np.array([False, True, False]))
    assert ts.done.tolist() == [True, False, True]
    assert ts.acting.tolist() == [[False, False], [True, True], [False, False]]
    assert ts.legal[1].all() and not ts.legal[0].any()
    ts = env.step(np.array([[5, 5], [1, 0], [-3, 7]]))  # finished rows may hold junk
    assert ts.rewards.tolist() == [[0, 0], [5, 0], [0, 0]]


def test_unequal_action_counts_and_illegal_actions():
    payoffs = np.arange(2 * 2 * 3, dtype=np.float64).reshape(2, 2, 3)
    game = normal_form(payoffs, name="uneven")
    assert game.info.actions_per_player == (2, 3) and game.num_actions == 3
    env = game.vector(2, seed=0)
    ts = env.reset()
    assert ts.legal[0].tolist() == [[True, True, False], [True, True, True]]
    with pytest.raises(GameError, match="illegal action 2 for player 0 in copy 1"):
        env.step(np.array([[0, 0], [2, 0]]))
    with pytest.raises(GameError, match="illegal action -1 for player 1 in copy 0"):
        env.step(np.array([[0, -1], [0, 0]]))
    with pytest.raises(GameError, match=r"expected \[2, 2\]"):
        env.step(np.zeros((2, 3), dtype=np.int64))
    ts = env.step(np.array([[1, 2], [0, 1]], dtype=np.int32))
    assert ts.rewards.tolist() == [[5, 11], [1, 7]]


def test_step_does_not_alias_caller_arrays():
    game = load_catalog("iterated_prisoners_dilemma(horizon=3)")
    env = game.vector(2, seed=0)
    env.reset()
    actions = np.array([[1, 0], [0, 1]])
    env.step(actions)
    env.reset()
    assert actions.tolist() == [[1, 0], [0, 1]]


def test_batched_equals_unbatched():
    game = load_catalog("iterated_prisoners_dilemma(horizon=4)")
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 2, size=(4, 5, 2))  # [T, B, P]
    big = game.vector(5, seed=3)
    big_steps = [big.reset()] + [big.step(a) for a in actions]
    for b in range(5):
        one = game.vector(1, seed=3, first_copy=b)
        steps = [one.reset()] + [one.step(a[b : b + 1]) for a in actions]
        for s_big, s_one in zip(big_steps, steps):
            for field in ("obs", "legal", "acting", "rewards", "done", "state"):
                np.testing.assert_array_equal(
                    getattr(s_big, field)[b : b + 1], getattr(s_one, field)
                )


@pytest.mark.parametrize("name", sorted(EXPECTED_KIND))
def test_conformance_with_games_testing(name):
    from games.testing import check_determinism, check_game

    game = load_catalog(name)
    check_game(game)
    check_determinism(game)


def test_render_names_stage_round_and_last_actions():
    game = load_catalog("two_step")
    env = game.vector(1, seed=0)
    env.reset()
    assert env.render(0) == "stage 1, round 1 of at most 2"
    env.step(np.array([[1, 0]]))
    assert env.render(0) == "stage 2B, round 2 of at most 2; last joint action (B, A)"
    env.step(np.array([[1, 1]]))
    assert env.render(0) == "finished; last joint action (B, B)"


# ---- repeated and multi-stage games ----------------------------------------------


def test_iterated_pd_returns_and_observation_layout():
    horizon = 5
    game = load_catalog(f"iterated_prisoners_dilemma(horizon={horizon})")
    assert game.info.max_episode_length == horizon and game.is_repeated
    # round one-hot (horizon entries) then each player's previous action (2 + 2)
    assert game.info.obs_size == horizon + 4 and game.info.state_size == horizon + 4
    env = game.vector(3, seed=0)
    ts = env.reset()
    returns = np.zeros((3, 2))
    # copy 0: all-defect vs all-defect, copy 1: all-cooperate vs all-defect,
    # copy 2: tit-for-tat (player 0, reads player 1's last action from obs) vs all-defect
    for t in range(horizon):
        assert ts.obs[:, 0, :horizon].argmax(axis=1).tolist() == [t] * 3
        prev_p1 = ts.obs[2, 0, horizon + 2 : horizon + 4]
        tft = 0 if t == 0 else int(prev_p1.argmax())
        ts = env.step(np.array([[1, 1], [0, 1], [tft, 1]]))
        returns += ts.rewards
        assert ts.done.all() == (t == horizon - 1)
        np.testing.assert_array_equal(ts.state, ts.obs[:, 1])
    # defect/defect pays P=1, sucker/temptation S=0/T=5
    assert returns.tolist() == [
        [horizon * 1, horizon * 1],
        [0, horizon * 5],
        [0 + (horizon - 1) * 1, 5 + (horizon - 1) * 1],
    ]
    lo, hi = game.info.reward_range
    assert (lo, hi) == (0.0, 5.0 * horizon)


def test_two_step_paths():
    game = load_catalog("two_step")
    assert game.num_stages == 3 and game.info.max_episode_length == 2
    assert game.info.obs_size == 3 and not game.observe_round  # stage one-hot only
    first = all_joint_actions((2, 2))
    second = all_joint_actions((2, 2))
    pairs = np.array([(f, s) for f in first for s in second])  # [16, 2 steps, 2 players]
    env = game.vector(len(pairs), seed=0)
    ts = env.reset()
    assert np.all(ts.obs[:, :, 0] == 1) and np.all(ts.obs[:, :, 1:] == 0)
    ts = env.step(pairs[:, 0])
    assert np.all(ts.rewards == 0) and not ts.done.any()
    stage_2b = pairs[:, 0, 0] == 1  # player 0's first action picks the stage
    assert np.array_equal(ts.obs[:, 0].argmax(axis=1), np.where(stage_2b, 2, 1))
    ts = env.step(pairs[:, 1])
    assert ts.done.all() and np.all(ts.obs == 0)
    table_2b = np.array([[0, 1], [1, 8]])
    expected = np.where(stage_2b, table_2b[pairs[:, 1, 0], pairs[:, 1, 1]], 7)
    np.testing.assert_array_equal(ts.rewards[:, 0], expected)
    np.testing.assert_array_equal(ts.rewards[:, 1], expected)
    assert game.info.reward_range == (0.0, 8.0)


def test_horizon_cuts_cycle_and_round_is_observed():
    stage = np.zeros((2, 2, 2))
    stage[:, 1, 1] = 1.0
    game = repeated(stage, 3, observe_previous=False)
    assert game.observe_round and game.info.obs_size == 3
    env = game.vector(1, seed=0)
    ts = env.reset()
    rounds = []
    while not ts.done.all():
        rounds.append(int(ts.obs[0, 0].argmax()))
        ts = env.step(np.array([[1, 1]]))
    assert rounds == [0, 1, 2]


def test_payoff_tensor_only_for_one_shot():
    with pytest.raises(GameError, match=r"payoffs\[s\]"):
        _ = load_catalog("two_step").payoff_tensor


# ---- kind detection ----------------------------------------------------------------


def test_kind_detection_edge_cases():
    zero = np.array([[[0.1, 0.2]], [[-0.1, -0.2]]])
    assert detect_kind([zero]) == "zero_sum"
    three = np.stack([np.full((2, 2, 2), 0.1), np.full((2, 2, 2), 0.2), np.full((2, 2, 2), -0.3)])
    three[:, 0, 0, 0] = [1.0, -0.5, -0.5]
    assert detect_kind([three]) == "zero_sum"
    const = np.array([[[1.0, 2.0]], [[4.0, 3.0]]])
    assert detect_kind([const]) == "constant_sum"
    coop = np.array([[[1.0, 2.0]], [[1.0, 2.0]]])
    assert detect_kind([coop]) == "cooperative"
    general = np.array([[[1.0, 2.0]], [[1.0, 2.5]]])
    assert detect_kind([general]) == "general_sum"
    # kinds hold across stages: zero-sum in one stage, cooperative in another
    assert detect_kind([zero, np.array([[[1.0, 2.0]], [[1.0, 2.0]]])]) == "general_sum"


# ---- TOML ---------------------------------------------------------------------------

CATALOG_OF_EXAMPLE = {
    "prisoners_dilemma": "prisoners_dilemma",
    "climbing": "climbing",
    "iterated_pd": "iterated_prisoners_dilemma",
    "two_step": "two_step",
    "three_player_matching_pennies": "three_player_matching_pennies",
}


@pytest.mark.parametrize("stem", sorted(CATALOG_OF_EXAMPLE))
def test_examples_match_catalog(stem):
    game = load_toml(EXAMPLES / f"{stem}.toml")
    entry = load_catalog(CATALOG_OF_EXAMPLE[stem])
    assert game.name == stem and game.source
    assert len(game.payoffs) == len(entry.payoffs)
    for a, b in zip(game.payoffs, entry.payoffs):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(game.next_stage, entry.next_stage):
        np.testing.assert_array_equal(a, b)
    assert game.info.actions_per_player == entry.info.actions_per_player
    assert game.action_names == entry.action_names
    assert (game.horizon, game.kind, game.info.obs_size) == (
        entry.horizon,
        entry.kind,
        entry.info.obs_size,
    )


def test_games_load_routes_toml():
    import games

    game = games.load(str(EXAMPLES / "climbing.toml"))
    assert isinstance(game, MatrixGame) and game.kind == "cooperative"


GOOD = """
players = 2
actions = ["A", "B"]
payoffs = [[[1, 0], [0, 1]], [[1, 0], [0, 1]]]
"""

TOML_ERRORS = [
    # (document, key the message must name, another fragment it must hold)
    ("players = 2\nactions = [\n", "", "TOML syntax error"),
    ('actions = ["A", "B"]\ncommon_payoff = [[1, 0], [0, 1]]', "players", "missing"),
    ("players = 2\ncommon_payoff = [[1, 0], [0, 1]]", "actions", "missing"),
    ('players = 2\nactions = ["A", "B"]', "payoffs", "common_payoff"),
    (GOOD + "payof = 3\n", "payof", "did you mean: payoffs"),
    (
        'players = 2\nactions = ["A", "B"]\npayoffs = [[[1, 0], [0, 1]], [[1, 0, 2], [0, 1, 2]]]',
        "payoffs",
        "unequal length",
    ),
    (
        'players = 2\nactions = ["A", "B"]\npayoffs = [[1, 0], [0, 1]]',
        "payoffs",
        "expected shape [2, 2, 2]",
    ),
    (
        'players = 2\nactions = ["A", "B", "C"]\ncommon_payoff = [[1, 0], [0, 1]]',
        "common_payoff",
        "got [2, 2]",
    ),
    (
        'players = 2\nactions = ["A", "B"]\ncommon_payoff = [[1, "x"], [0, 1]]',
        "common_payoff",
        "not a number",
    ),
    (
        'players = 2\nactions = ["A", "B"]\ncommon_payoff = [[1, true], [0, 1]]',
        "common_payoff",
        "not a number",
    ),
    (
        'players = 3\nactions = ["A", "B"]\nzero_sum_payoff = [[1, 0], [0, 1]]',
        "zero_sum_payoff",
        "2 players",
    ),
    (GOOD + "common_payoff = [[1, 0], [0, 1]]\n", "common_payoff", "only one"),
    ('players = "two"\nactions = ["A"]', "players", "integer"),
    (GOOD + "[repeated]\nobserve_previous = true\n", "repeated.horizon", "missing"),
    (GOOD + "[repeated]\nhorizon = 0\n", "repeated.horizon", ">= 1"),
    (GOOD + "[repeated]\nhorizon = 3\nmemory = 1\n", "repeated.memory", "unknown"),
    (GOOD + "horizon = 3\n", "horizon", "[repeated]"),
    (
        'players = 2\nactions = ["A", "B"]\n[[stage]]\nname = "s"\ncommon_payoff = [[1, 0], [0, 1]]\nnext = "t"\n',
        "stage[0].next",
        "unknown stage 't'",
    ),
    (
        'players = 2\nactions = ["A", "B"]\n[[stage]]\nname = "s"\ncommon_payoff = [[1, 0], [0, 1]]\nnext = [["s", "end"]]\n',
        "stage[0].next",
        "expected 2 entries",
    ),
    (
        'players = 2\nactions = ["A", "B"]\n[[stage]]\nname = "s"\ncommon_payoff = [[1, 0], [0, 1]]\nnext = "s"\n',
        "horizon",
        "cycle",
    ),
    (
        'players = 2\nactions = ["A", "B"]\n[[stage]]\ncommon_payoff = [[1, 0], [0, 1]]\nnxt = "end"\n',
        "stage[0].nxt",
        "did you mean: next",
    ),
    (
        'players = 2\nactions = ["A", "B"]\n[[stage]]\ncommon_payoff = [[1, 0], [0]]\n',
        "stage[0].common_payoff",
        "unequal length",
    ),
]


@pytest.mark.parametrize(("text", "key", "fragment"), TOML_ERRORS)
def test_toml_errors_are_one_line_and_name_the_key(tmp_path, text, key, fragment):
    path = tmp_path / "game.toml"
    path.write_text(text)
    with pytest.raises(GameError) as info:
        load_toml(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert f"key '{key}'" in message if key else True
    assert fragment in message


def test_toml_missing_file(tmp_path):
    with pytest.raises(GameError, match="no such file"):
        load_toml(tmp_path / "nope.toml")


def test_toml_good_variants():
    game = loads_toml(GOOD)
    assert game.kind == "cooperative" and game.is_normal_form
    counts = loads_toml(
        "players = 2\nactions = [2, 3]\nzero_sum_payoff = [[1, 2, 3], [4, 5, 6]]\nname = 'z'"
    )
    assert counts.info.actions_per_player == (2, 3) and counts.kind == "zero_sum"
    assert counts.action_names == (("0", "1"), ("0", "1", "2"))
    per_player = loads_toml(
        'players = 2\nactions = [["U", "D"], ["L", "M", "R"]]\ncommon_payoff = [[1, 2, 3], [4, 5, 6]]'
    )
    assert per_player.action_name(1, 2) == "R"
    looped = loads_toml(
        'players = 1\nactions = ["stay", "go"]\nhorizon = 4\nobserve_previous = true\n'
        '[[stage]]\nname = "here"\ncommon_payoff = [1, 2]\nnext = ["here", "end"]\n'
    )
    assert looped.horizon == 4 and looped.observe_previous and looped.observe_round


# ---- OpenSpiel ------------------------------------------------------------------------


def openspiel_utilities(game) -> np.ndarray:
    """[P, A_1..A_P] by playing every joint action in OpenSpiel (independent of the converter)."""
    state = game.new_initial_state()
    counts = [len(state.legal_actions(p)) for p in range(game.num_players())]
    out = np.zeros((game.num_players(), *counts))
    for joint in itertools.product(*[range(c) for c in counts]):
        child = game.new_initial_state()
        child.apply_actions(list(joint))
        out[(slice(None), *joint)] = child.returns()
    return out


@pytest.mark.parametrize(
    "spec",
    [
        "matrix_rps",
        "matrix_pd",
        "matrix_sh",
        "matrix_bos",
        "matrix_mp",
        "matrix_coordination",
        "matrix_shapleys_game",
        "matching_pennies_3p",
    ],
)
def test_from_openspiel_matches_utilities(spec):
    os_game = pyspiel.load_game(spec)
    game = from_openspiel(os_game)
    np.testing.assert_array_equal(game.payoff_tensor, openspiel_utilities(os_game))
    assert game.name == spec and game.is_normal_form
    state = os_game.new_initial_state()
    assert game.action_name(0, 1) == state.action_to_string(0, 1)


def test_from_openspiel_kinds():
    assert from_openspiel(pyspiel.load_game("matrix_rps")).kind == "zero_sum"
    assert from_openspiel(pyspiel.load_game("matrix_coordination")).kind == "cooperative"
    assert from_openspiel(pyspiel.load_game("matrix_pd")).kind == "general_sum"


def test_from_openspiel_nfg_file(tmp_path):
    # Gambit outcome order: player 0's action changes fastest.
    counts = (2, 3, 2)
    payoff_of = {}
    flat = []
    for a2, a1, a0 in itertools.product(range(2), range(3), range(2)):
        u = [10 * a0 + a1, 5 - a2, a0 * a1 * a2 - 1.5]
        payoff_of[(a0, a1, a2)] = u
        flat += u
    path = tmp_path / "three.nfg"
    path.write_text(
        'NFG 1 R "three players" { "P1" "P2" "P3" } { 2 3 2 }\n\n'
        + " ".join(f"{v:g}" for v in flat)
        + "\n"
    )
    os_game = pyspiel.load_game(f"nfg_game(filename={path})")
    game = from_openspiel(os_game, name="three")
    assert game.info.actions_per_player == counts and game.name == "three"
    for joint, u in payoff_of.items():
        assert game.payoff_tensor[(slice(None), *joint)].tolist() == u
    np.testing.assert_array_equal(game.payoff_tensor, openspiel_utilities(os_game))


def test_from_openspiel_rejects_sequential_games():
    with pytest.raises(GameError, match="not a one-shot simultaneous game"):
        from_openspiel(pyspiel.load_game("kuhn_poker"))
