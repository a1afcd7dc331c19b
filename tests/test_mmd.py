"""MMD: the loss pieces by hand, masks, the magnets, checkpoints and resume, and two
learning tests with measured thresholds.

Learning tests (defaults, fixed seed 0; thresholds from measured runs, docs/mmd.md):

* rock-paper-scissors and a biased RPS (rock beats scissors by 2) self-play from a
  start that plays Rock 79% at both seats, the 'average' magnet starting there too:
  in 200k steps (rollout_len 2) the last iterate's NashConv falls from 1.36 to 0.024
  (RPS; seeds 0-1 at 300k: 0.022, 0.030) and 0.046 (biased; 0.050, 0.046 at 300k),
  while MAPPO's defaults from the same start sit at pure strategies (NashConv 2).
* Kuhn poker, 60k steps each: mmd's last iterate 0.114, MAPPO's 0.247. The 1M-step
  targets (below 0.02 over the last 20%, seeds 0-2) are measured in docs/mmd.md.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import games
from agents.base import Act
from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.configs import MMDConfig
from agents.mmd import (
    MMD,
    magnet_log_probs,
    masked_kl,
    mmd_actor_loss,
    parameter_count,
    schedule,
    uniform_magnet,
)
from agents.nn import masked_log_softmax
from agents.registry import make_learner
from agents.testing import check_learner
from arena.evaluation.tabular import exact_nash_conv
from arena.rollout import Collector
from arena.train import self_play_matchup, train
from games.matrix import normal_form, zero_sum_payoff
from games.solvers import nash_gap

torch.set_num_threads(1)

SMALL = dict(hidden=(16,), epochs=2)


# ---------------------------------------------------------------------------
# The learner contract


@pytest.mark.parametrize(
    "game, overrides",
    [
        ("kuhn_poker", SMALL),
        ("matrix:rock_paper_scissors", dict(SMALL, magnet="uniform")),
        ("kuhn_poker", dict(SMALL, magnet="policy", min_decisions=40)),
    ],
)
def test_check_learner(game, overrides):
    check_learner("mmd", game, **overrides)


def test_parameter_count_matches_the_networks():
    info = games.load("kuhn_poker").info
    for magnet in ("uniform", "average"):
        for shared in (True, False):
            cfg = MMDConfig(magnet=magnet, share_params=shared, hidden=(8, 4))
            learner = MMD(info, cfg, seed=0)
            nets = [learner.actor, learner.critic]
            if learner.magnet_net is not None:
                nets.append(learner.magnet_net)
            assert parameter_count(info, cfg) == sum(
                p.numel() for n in nets for p in n.parameters()
            )


def test_config_refuses_bad_values_in_one_line():
    from agents.base import HyperparameterError

    with pytest.raises(HyperparameterError, match="magnet='nash' is not valid; give one of"):
        MMDConfig(magnet="nash")
    with pytest.raises(HyperparameterError, match="magnet_ema=0.0"):
        MMDConfig(magnet_ema=0.0)
    with pytest.raises(HyperparameterError, match="alpha=-1"):
        MMDConfig(alpha=-1)


# ---------------------------------------------------------------------------
# Pure pieces by hand


def test_schedule_constant_linear_and_hold_then_linear():
    assert schedule(1.0, 0.0, 0, 0, 10**9) == 1.0  # no decay: constant
    assert schedule(1.0, 0.0, 0, 100, 50) == pytest.approx(0.5)
    assert schedule(1.0, 0.0, 0, 100, 500) == 0.0
    assert schedule(1.0, 0.2, 100, 100, 50) == 1.0  # held
    assert schedule(1.0, 0.2, 100, 100, 150) == pytest.approx(0.6)
    assert schedule(1.0, 0.2, 100, 100, 10**6) == pytest.approx(0.2)


def test_uniform_magnet_is_uniform_over_legal_actions():
    legal = torch.tensor([[True, False, True, True], [False, True, False, False]])
    m = uniform_magnet(legal)
    assert torch.equal(m, torch.tensor([[1 / 3, 0, 1 / 3, 1 / 3], [0, 1, 0, 0]]))


def _random_case(seed: int, n: int = 32, a: int = 5):
    g = torch.Generator().manual_seed(seed)
    legal = torch.rand(n, a, generator=g) < 0.6
    legal[torch.arange(n), torch.randint(0, a, (n,), generator=g)] = True
    logits = torch.randn(n, a, generator=g) * 3
    other = torch.randn(n, a, generator=g) * 3
    return legal, logits, other


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6))
def test_masked_kl_is_zero_at_equality_nonnegative_and_blind_to_illegal_entries(seed):
    legal, logits, other = _random_case(seed)
    logp, logq = masked_log_softmax(logits, legal), masked_log_softmax(other, legal)
    assert torch.allclose(masked_kl(logp, logp, legal), torch.zeros(len(legal)), atol=1e-6)
    kl = masked_kl(logp, logq, legal)
    assert torch.all(kl >= -1e-6) and torch.all(torch.isfinite(kl))
    # whatever sits at illegal entries (finfo.min, -inf, garbage) changes nothing
    junk = torch.where(legal, logq, torch.full_like(logq, -torch.inf))
    junk_p = torch.where(legal, logp, torch.full_like(logp, 123.0))
    assert torch.equal(masked_kl(logp, junk, legal), kl)
    assert torch.allclose(masked_kl(junk_p, logq, legal), kl)
    # by hand over the legal actions only
    p, q = logp.exp() * legal, logq.exp() * legal
    ref = torch.stack(
        [(p[i][legal[i]] * (p[i][legal[i]] / q[i][legal[i]]).log()).sum() for i in range(len(p))]
    )
    assert torch.allclose(kl, ref, atol=1e-5)


def test_masked_actions_get_probability_zero_and_no_gradient():
    legal, logits, other = _random_case(3)
    logits.requires_grad_(True)
    n = len(legal)
    actions = torch.multinomial(legal.float(), 1, generator=torch.Generator().manual_seed(0))[:, 0]
    old = masked_log_softmax(other, legal)
    behaviour = old.gather(-1, actions[:, None]).squeeze(-1)
    magnet = magnet_log_probs(uniform_magnet(legal), legal, 0.0)
    adv = torch.randn(n, generator=torch.Generator().manual_seed(1))
    loss, diag = mmd_actor_loss(logits, legal, actions, behaviour, old, magnet, adv, 0.5, 1.0)
    loss.backward()
    assert torch.all(logits.grad[~legal] == 0) and torch.all(torch.isfinite(logits.grad))
    assert torch.all(masked_log_softmax(logits, legal).exp()[~legal] == 0)
    assert torch.all(torch.isinf(magnet[~legal])) and torch.all(uniform_magnet(legal)[~legal] == 0)
    assert all(torch.isfinite(v) for v in diag.values())


def test_actor_loss_by_hand():
    """Two actions, pi = pi_old = (0.5, 0.5), magnet (0.8, 0.2): the ratio term is the mean
    advantage, the proximal KL is 0, the magnet KL is 0.5 log(0.5/0.8) + 0.5 log(0.5/0.2)."""
    legal = torch.ones(2, 2, dtype=torch.bool)
    logits = torch.zeros(2, 2)
    old = masked_log_softmax(logits, legal)
    magnet = magnet_log_probs(torch.tensor([[0.8, 0.2], [0.8, 0.2]]), legal, 0.0)
    actions = torch.tensor([0, 1])
    adv = torch.tensor([1.0, 3.0])
    loss, diag = mmd_actor_loss(logits, legal, actions, old[:, 0], old, magnet, adv, 0.1, 2.0)
    mkl = 0.5 * np.log(0.5 / 0.8) + 0.5 * np.log(0.5 / 0.2)
    assert float(diag["proximal_kl"]) == pytest.approx(0.0, abs=1e-7)
    assert float(diag["magnet_kl"]) == pytest.approx(mkl, rel=1e-5)
    assert float(loss) == pytest.approx(-2.0 + 0.1 * mkl, rel=1e-5)
    # PPO's clip: a ratio of 2 (behaviour probability 0.25) on a positive advantage counts as 1.2
    behaviour = torch.log(torch.tensor([0.25, 0.25]))
    clipped, _ = mmd_actor_loss(
        logits, legal, actions, behaviour, old, old, adv, 0.0, 0.0, clip=0.2
    )
    assert float(clipped) == pytest.approx(-1.2 * 2.0, rel=1e-5)


def test_policy_magnet_probabilities_are_restricted_to_legal_and_floored():
    legal = torch.tensor([[True, True, False], [True, False, True]])
    probs = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.7, 0.0]])  # row 2: no legal mass
    m = magnet_log_probs(probs, legal, 1e-3).exp()
    assert torch.all(m[~legal] == 0)
    assert torch.allclose(m.sum(-1), torch.ones(2))
    assert m[0, 1] == pytest.approx(1e-3 / 2) and m[0, 0] == pytest.approx(1 - 1e-3 / 2)
    assert torch.allclose(m[1], torch.tensor([0.5, 0.0, 0.5]))


# ---------------------------------------------------------------------------
# Magnets, checkpoints, resume


def _kuhn_rollouts(learner, n: int, seed: int = 0, batch: int = 32, steps: int = 6):
    game = games.load("kuhn_poker")
    coll = Collector(game, [learner], self_play_matchup(2), batch, seed)
    return [coll.collect(steps)[0] for _ in range(n)]


class _FixedPolicy:
    """Plays action 0 with probability 0.9 where legal (else uniform over legal)."""

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        probs = legal * 0.1 / np.maximum(legal.sum(-1, keepdims=True), 1)
        probs[:, 0] += 0.9 * legal[:, 0]
        probs = probs / probs.sum(-1, keepdims=True)
        return Act(probs.argmax(-1), probs, np.zeros(len(probs), np.float32))


def test_set_magnet_changes_the_loss_and_uniform_until_set():
    info = games.load("kuhn_poker").info
    cfg = MMDConfig(magnet="policy", **SMALL)
    data = _kuhn_rollouts(MMD(info, cfg, seed=0), 1)
    unset = MMD(info, cfg, seed=0).learn(data[0])
    uniform = MMD(info, dataclasses.replace(cfg, magnet="uniform"), seed=0).learn(data[0])
    assert unset == uniform
    with_magnet = MMD(info, cfg, seed=0)
    with_magnet.set_magnet(_FixedPolicy())
    m = with_magnet.learn(data[0])
    assert m["magnet_kl"] != unset["magnet_kl"] and m["actor_loss"] != unset["actor_loss"]
    # a magnet equal to the policy itself pulls nowhere: KL ~ 0 (up to the uniform floor)
    own = MMD(info, cfg, seed=0)
    own.set_magnet(own.freeze())
    assert own.learn(data[0])["magnet_kl"] < 1e-3 < m["magnet_kl"]
    with pytest.raises(TypeError, match="not a Policy"):
        own.set_magnet(object())


def test_average_magnet_trails_the_actor():
    info = games.load("kuhn_poker").info
    learner = MMD(info, MMDConfig(magnet_ema=0.5, **SMALL), seed=0)
    start = [p.detach().clone() for p in learner.magnet_net.parameters()]
    for r in _kuhn_rollouts(learner, 3):
        learner.learn(r)
    actor, magnet = list(learner.actor.parameters()), list(learner.magnet_net.parameters())
    assert any(not torch.equal(a, s) for a, s in zip(magnet, start))  # it moved
    assert any(not torch.equal(a, m) for a, m in zip(actor, magnet))  # but not onto the actor


@pytest.mark.parametrize("min_decisions", [0, 300])
def test_checkpoint_resume_continues_identically(tmp_path, min_decisions):
    """Train 3 rollouts, save, train 3 more; a learner loaded from the save and fed the
    same 3 rollouts ends with the same weights, optimizer moments and magnet."""
    game = games.load("kuhn_poker")
    cfg = MMDConfig(min_decisions=min_decisions, step_decay_steps=500, **SMALL)
    learner = MMD(game.info, cfg, seed=4)
    data = _kuhn_rollouts(learner, 6, seed=4)
    for r in data[:3]:
        learner.learn(r)
    save_checkpoint(tmp_path / "ck", learner, "kuhn_poker")
    if min_decisions:
        assert learner._pending  # decisions waiting for the next update travel too
    loaded = load_checkpoint(tmp_path / "ck", "kuhn_poker")
    assert isinstance(loaded, MMD) and loaded.env_steps == learner.env_steps
    first = [learner.learn(r) for r in data[3:]]
    second = [loaded.learn(r) for r in data[3:]]
    assert first == second
    a, b = learner.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_policy_state_dict_holds_only_the_actor():
    learner = make_learner("mmd", games.load("kuhn_poker").info, seed=0)
    assert all(k.startswith("actor.") for k in learner.policy_state_dict())
    assert any(k.startswith("magnet.") for k in learner.state_dict())


# ---------------------------------------------------------------------------
# Learning


def _biased_rps():
    """Rock beats scissors by 2; the unique Nash is (1/4, 1/2, 1/4) at both seats, value 0."""
    table = [[0, -1, 2], [1, 0, -1], [-2, 1, 0]]
    return normal_form(zero_sum_payoff(table), name="biased_rps")


def _matrix_self_play(algo: str, game, steps: int) -> list[float]:
    """Self-play from Rock with probability 0.79 at both seats (the average magnet too, so the
    magnet alone does not give the answer); the NashConv of the last iterate after each update."""
    learner = make_learner(algo, game.info, seed=0)
    with torch.no_grad():
        learner.actor.net[-1].bias.copy_(torch.tensor([2.0, 0.0, 0.0]))
        if getattr(learner, "magnet_net", None) is not None:
            learner.magnet_net.load_state_dict(learner.actor.state_dict())
    obs, legal, seats = np.ones((2, 1), np.float32), np.ones((2, 3), bool), np.arange(2)
    rng = np.random.default_rng(0)

    def gap() -> float:
        probs = learner.act(obs, legal, seats, rng).probs.astype(np.float64)
        return nash_gap(game.payoff_tensor, list(probs))

    gaps = [gap()]
    train(
        learner,
        game,
        steps,
        seed=0,
        batch=256,
        rollout_len=2,
        on_update=lambda _m: gaps.append(gap()),
    )
    return gaps


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["matrix:rock_paper_scissors", "biased_rps"])
def test_matrix_last_iterate_converges_where_plain_self_play_cycles(spec):
    """MMD's defaults bring the last iterate's NashConv below 0.05 (RPS; 0.06 biased) in 200k
    steps; MAPPO's defaults from the same start stay at pure strategies (NashConv 2)."""
    game = _biased_rps() if spec == "biased_rps" else games.load(spec)
    mmd = _matrix_self_play("mmd", game, 200_000)
    assert mmd[0] > 1.3
    assert mmd[-1] < (0.05 if spec != "biased_rps" else 0.06)
    assert max(mmd[-len(mmd) // 4 :]) < 0.2  # settled, no cycle back out
    mappo = _matrix_self_play("mappo", game, 200_000)
    assert min(mappo[len(mappo) // 2 :]) > 0.2


def test_kuhn_poker_mmd_beats_mappo_at_equal_steps():
    """60k self-play steps each, defaults, seed 0: mmd's last iterate 0.11, mappo's 0.25."""
    game = games.load("kuhn_poker")
    result = {}
    for algo in ("mmd", "mappo"):
        learner = make_learner(algo, game.info, seed=0)
        train(learner, game, steps=60_000, seed=0, batch=256, rollout_len=8)
        result[algo] = exact_nash_conv(game, learner.freeze()).exploitability
    assert result["mmd"] < 0.15
    assert result["mmd"] < result["mappo"]
