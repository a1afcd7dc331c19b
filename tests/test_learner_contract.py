"""agents.testing.check_learner over every registered algorithm, and proof that it bites."""

import numpy as np
import pytest
import torch

from agents.registry import ALGORITHMS
from agents.testing import check_learner

torch.set_num_threads(1)

_Q = dict(hidden=(16,), learning_starts=16, steps_per_update=8.0, batch_size=16)

# algorithm -> (a game it fits, small hyperparameters that update within a few rollouts)
CASES = {
    "iql": ("tic_tac_toe", _Q),
    "vdn": ("matrix:climbing", _Q),
    "qmix": ("matrix:two_step", dict(_Q, mixer_embed=8, hypernet_embed=8)),
    "mappo": ("matrix:rock_paper_scissors", dict(hidden=(16,), epochs=2, minibatches=2)),
    "ippo": ("kuhn_poker", dict(hidden=(16,), epochs=2, minibatches=2)),
    "maddpg": ("control:agreement", dict(hidden=(16,), warmup=16, batch_size=16)),
    "mmd": ("kuhn_poker", dict(hidden=(16,), epochs=2)),
}


def test_every_registered_algorithm_has_a_case():
    assert set(CASES) == set(ALGORITHMS)


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_learner_conforms(algorithm):
    game, overrides = CASES[algorithm]
    check_learner(algorithm, game, **overrides)


def test_maddpg_conforms_on_discrete_actions():
    check_learner("maddpg", "matrix:stag_hunt", hidden=(16,), warmup=16, batch_size=16, rollouts=2)


# ---------------------------------------------------------------------------
# Mutations: deliberately broken learners fail the check


def _patched(monkeypatch, cls_path: str, name: str, make):
    module, cls = cls_path.rsplit(".", 1)
    target = getattr(__import__(module, fromlist=[cls]), cls)
    monkeypatch.setattr(target, name, make(getattr(target, name)))


def test_it_catches_probability_on_illegal_actions(monkeypatch):
    from agents.base import Act

    def make(act):
        def leaky(self, obs, legal, player, rng, explore=False):
            out = act(self, obs, legal, player, rng, explore)
            probs = np.where(legal, out.probs, 1e-9)
            return Act(out.actions, probs / probs.sum(-1, keepdims=True), out.logp)

        return leaky

    _patched(monkeypatch, "agents.mappo.MAPPOPolicy", "act", make)
    with pytest.raises(AssertionError, match="illegal action probability"):
        check_learner("mappo", "matrix:rock_paper_scissors", hidden=(8,), rollouts=1)


def test_it_catches_a_freeze_that_shares_weights(monkeypatch):
    from agents.mappo import MAPPOPolicy

    monkeypatch.setattr(
        "agents.mappo.MAPPO.freeze",
        lambda self: MAPPOPolicy(self.actor, self.config.greedy_eval, self.device),
    )
    with pytest.raises(AssertionError, match="frozen snapshot changed"):
        check_learner("mappo", "matrix:rock_paper_scissors", hidden=(8,), rollouts=1)


def test_it_catches_a_state_dict_that_forgets_the_weights(monkeypatch):
    def make(state_dict):
        return lambda self: {k: v for k, v in state_dict(self).items() if not k.startswith("q.")}

    _patched(monkeypatch, "agents.value_decomposition.ValueDecomposition", "state_dict", make)
    with pytest.raises(AssertionError, match="policy_state_dict\\(\\) has"):
        check_learner("iql", "tic_tac_toe", **_Q, rollouts=1)


def test_it_catches_learning_that_ignores_the_seed(monkeypatch):
    calls = {"n": 0}

    def make(learn):
        def noisy(self, rollout):
            calls["n"] += 1
            return {**learn(self, rollout), "noise": float(calls["n"])}

        return noisy

    _patched(monkeypatch, "agents.mappo.MAPPO", "learn", make)
    with pytest.raises(AssertionError, match="same seed and rollouts gave other metrics"):
        check_learner("mappo", "matrix:rock_paper_scissors", hidden=(8,), rollouts=1)


def test_it_refuses_a_vacuous_run():
    with pytest.raises(AssertionError, match="weights unchanged"):
        check_learner("iql", "tic_tac_toe", hidden=(8,), learning_starts=10**6, rollouts=1)
