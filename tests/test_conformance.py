"""games.testing's conformance checks over many games, and checks that they bite."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import games
from games.catalog import names as _catalog_names
from games.control import names as _control_names
from games.core import Game, TimeStep
from games.testing import check_determinism, check_game, random_playthrough

# Every kind OpenSpiel has (no default game is constant-sum: the catalog covers
# that), sequential and simultaneous, with and without chance, 1 to 4 players,
# intermediate and terminal rewards, C++ and Python implementations.
OPENSPIEL_GAMES = [
    # zero-sum, sequential
    "tic_tac_toe",
    "connect_four",
    "breakthrough(rows=6,columns=6)",
    "hex(board_size=5)",
    "dark_hex",
    "phantom_ttt",
    "kuhn_poker",
    "kuhn_poker(players=3)",
    "leduc_poker",
    "liars_dice",
    "pig(winscore=10)",
    "tiny_bridge_4p",
    "python_kuhn_poker",
    # zero-sum, simultaneous
    "goofspiel(num_cards=4)",
    "goofspiel(players=3,num_cards=3)",
    "oshi_zumo(coins=10)",
    "markov_soccer(horizon=30)",
    "matrix_rps",
    # cooperative
    "tiny_hanabi",
    "tiny_bridge_2p",
    "coop_box_pushing(horizon=20)",
    "matrix_coordination",
    # general-sum
    "matrix_pd",
    "matching_pennies_3p",
    "first_sealed_auction",
    "lewis_signaling",
    "trade_comm",
    "sheriff",
    "laser_tag(horizon=20)",
    "catch",
    "cliff_walking(horizon=30)",
]

# Read at collection: a catalog that fails to import fails this file, never skips it.
CATALOG = _catalog_names()
CONTROL = _control_names()


def test_the_catalogs_are_not_empty():
    assert len(CATALOG) >= 10 and len(CONTROL) >= 2


def test_the_list_covers_every_kind_and_dynamics():
    infos = [games.load(spec).info for spec in OPENSPIEL_GAMES]
    assert {i.kind for i in infos} >= {"zero_sum", "cooperative", "general_sum"}
    assert {i.dynamics for i in infos} == {"sequential", "simultaneous"}
    assert {i.num_players for i in infos} >= {1, 2, 3, 4}
    assert len(infos) >= 20


@pytest.mark.parametrize("spec", OPENSPIEL_GAMES)
def test_openspiel_game_conforms(spec):
    check_game(spec, batch=4, seed=0, steps=40)
    check_determinism(spec, batch=3, seed=1, steps=15)


@pytest.mark.parametrize("name", CATALOG)
def test_catalog_game_conforms(name):
    check_game("matrix:" + name, batch=8, seed=0, steps=30)
    check_determinism("matrix:" + name, batch=3, seed=1, steps=10)


@pytest.mark.parametrize("name", CONTROL)
def test_continuous_control_task_conforms(name):
    check_game("control:" + name, batch=4, seed=0, steps=30)
    check_determinism("control:" + name, batch=3, seed=1, steps=10)


def test_catalog_has_a_constant_sum_or_zero_sum_game():
    kinds = {games.load("matrix:" + n).kind for n in CATALOG}
    assert kinds & {"zero_sum", "constant_sum"}


def test_random_playthrough_tells_a_whole_game():
    lines = random_playthrough("tic_tac_toe", seed=0)
    assert lines[0].startswith("tic_tac_toe: 2 players")
    assert lines[-1].startswith("finished; returns")
    assert any(line.startswith("step 4: player 0 plays x(") for line in lines)
    assert random_playthrough("tic_tac_toe", seed=0) == lines


# ------------------------------------------------------- the checks can fail


class _Broken(Game):
    """A real game whose env passes the time steps of ``step`` through ``spoil``."""

    def __init__(self, inner: Game, spoil=None, **env_options):
        self.inner, self.info = inner, inner.info
        self.spoil, self.env_options = spoil, env_options

    def vector(self, batch, seed, *, first_copy=0):
        return _BrokenEnv(self, self.inner.vector(batch, seed, first_copy=first_copy))


class _BrokenEnv:
    def __init__(self, game: _Broken, inner):
        self.game, self.inner = game, inner
        self.batch, self.info = inner.batch, inner.info
        self.options = game.env_options
        if "returns_offset" in self.options:
            self.returns = lambda: inner.returns() + self.options["returns_offset"]

    def reset(self, mask=None):
        if self.options.get("reset_all"):
            mask = None
        ts = self.inner.reset(mask)
        self.was_done = ts.done
        return ts

    def step(self, actions):
        ts = self.inner.step(actions)
        if self.game.spoil:
            ts = self.game.spoil(ts, self)
        self.was_done = ts.done
        return ts


def _replace(ts: TimeStep, **fields) -> TimeStep:
    return dataclasses.replace(ts, **fields)


def _extra_reward(ts, env):
    r = ts.rewards.copy()
    r[~ts.done, 0] += 1.0
    return _replace(ts, rewards=r)


def _legal_everywhere(ts, env):
    legal = ts.legal.copy()
    legal[:, :, 0] |= ~ts.done[:, None]
    return _replace(ts, legal=legal)


def _wrong_dtype(ts, env):
    return _replace(ts, obs=ts.obs.astype(np.float64))


def _noisy_obs(ts, env):
    noise = np.random.default_rng().random(ts.obs.shape).astype(np.float32)
    return _replace(ts, obs=ts.obs + noise)


def _batch_dependent_obs(ts, env):
    return _replace(ts, obs=ts.obs + np.float32(env.batch))


@pytest.mark.parametrize(
    "spoil, options, check, message",
    [
        (_extra_reward, {}, check_game, "zero-sum"),
        (_legal_everywhere, {}, check_game, "does not act"),
        (_wrong_dtype, {}, check_game, "dtype float64"),
        (None, {"reset_all": True}, check_game, "outside the mask"),
        (None, {"returns_offset": 0.5}, check_game, "game's returns"),
        (_noisy_obs, {}, check_determinism, "same seed, different obs"),
        (_batch_dependent_obs, {}, check_determinism, "batch of one"),
    ],
)
def test_checks_catch_a_broken_env(spoil, options, check, message):
    broken = _Broken(games.load("kuhn_poker"), spoil, **options)
    with pytest.raises(AssertionError, match=message):
        check(broken, batch=4, seed=0, steps=40)


def test_check_game_catches_rewards_after_the_end():
    def pay_the_finished(ts, env):
        r = ts.rewards.copy()
        r[env.was_done] += np.array([1.0, -1.0])  # still zero-sum
        return _replace(ts, rewards=r)

    broken = _Broken(games.load("tic_tac_toe"), pay_the_finished)
    with pytest.raises(AssertionError, match=r"finished copy \d+ got nonzero rewards"):
        check_game(broken, batch=4, seed=0, steps=40)
