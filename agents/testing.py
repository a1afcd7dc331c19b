"""Conformance checks for any registered learner, after :mod:`games.testing`.

``check_learner(algorithm, game_spec)`` builds the learner through
:func:`agents.registry.make_learner`, feeds it self-play rollouts of the game
(the learner holds every seat) and checks every promise of
:class:`agents.base.Learner` that ``arena`` and ``leagues`` rely on:

* the protocol: ``NAME`` (the algorithm's name, what checkpoints record),
  ``info``, ``config`` (a dataclass), ``act``, ``learn``, ``freeze``,
  ``state_dict``, ``load_state_dict`` and ``policy_state_dict``; state dicts
  hold only tensors, and the policy's tensors are a subset of the full ones;
* :class:`agents.base.Act` shapes, and illegal actions with probability
  exactly 0 (under the game's masks and under random masks), exploring or not;
* ``freeze()`` copies: later learning changes the learner, not the snapshot;
* a ``state_dict()`` round trip through safetensors bytes into a learner built
  with another seed acts identically, and so does a fresh learner given only
  ``policy_state_dict()`` (how the league's snapshots and workers are rebuilt);
* the same seed gives the same first metrics (losses) and the same weights.

Failures raise ``AssertionError`` naming the algorithm, the game and what was
wrong. Imports torch (through the learner).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from agents.base import Act, Learner, Policy, Rollout
from games.core import Game, random_legal_actions

__all__ = ["check_learner", "self_play_rollout"]


def self_play_rollout(
    policy: Policy, env, ts, steps: int, rng: np.random.Generator, info
) -> tuple[Rollout, object]:
    """``steps`` batched steps of ``env`` with ``policy`` (exploring) at every seat.

    Finished copies are reset right after the step that finished them, as
    :class:`arena.rollout.Collector` does. Returns the rollout and the next time step.
    """
    t_n, (b, p) = steps, ts.acting.shape
    o, a, s = ts.obs.shape[-1], ts.legal.shape[-1], ts.state.shape[-1]
    a_shape, a_dtype = (
        ((info.num_actions,), np.float32) if info.continuous_actions else ((), np.int64)
    )
    obs = np.zeros((t_n + 1, b, p, o), np.float32)
    legal = np.zeros((t_n + 1, b, p, a), bool)
    acting = np.zeros((t_n + 1, b, p), bool)
    state = np.zeros((t_n + 1, b, s), np.float32)
    actions = np.zeros((t_n, b, p) + a_shape, a_dtype)
    logp = np.zeros((t_n, b, p), np.float32)
    rewards = np.zeros((t_n, b, p), np.float32)
    done = np.zeros((t_n, b), bool)
    for t in range(t_n):
        obs[t], legal[t], acting[t], state[t] = ts.obs, ts.legal, ts.acting, ts.state
        bi, pi = np.nonzero(ts.acting)
        if len(bi):
            out = policy.act(ts.obs[bi, pi], ts.legal[bi, pi], pi, rng, explore=True)
            actions[t][bi, pi] = out.actions
            if out.logp is not None:
                logp[t][bi, pi] = out.logp
        was_done = ts.done
        ts = env.step(actions[t])
        rewards[t] = ts.rewards
        finished = ts.done & ~was_done
        done[t] = finished
        if finished.any():
            ts = env.reset(mask=finished)
    obs[t_n], legal[t_n], acting[t_n], state[t_n] = ts.obs, ts.legal, ts.acting, ts.state
    controlled = np.ones((t_n + 1, b, p), bool)
    return Rollout(obs, legal, acting, state, controlled, actions, logp, rewards, done), ts


def check_learner(
    algorithm: str,
    game_spec: str | Game,
    *,
    seed: int = 0,
    batch: int = 8,
    steps: int = 8,
    rollouts: int = 4,
    **overrides,
) -> None:
    """Check the learner ``algorithm`` on ``game_spec`` (see the module docstring).

    Args:
        algorithm: a name of :data:`agents.registry.ALGORITHMS`.
        game_spec: a spec for ``games.load`` or a Game.
        seed: seeds the learners, the environments and the acting.
        batch, steps: shape of each rollout.
        rollouts: rollouts learned before the checks on a trained learner;
            choose overrides (e.g. a small warmup) so that they update weights.
        overrides: hyperparameters of the algorithm's config.

    Raises:
        AssertionError: the first broken promise, in one line.
    """
    import games
    from agents.checkpoint import tensors_from_bytes, tensors_to_bytes
    from agents.registry import make_learner

    game = games.load(game_spec) if isinstance(game_spec, str) else game_spec
    info = game.info
    where = f"{algorithm} on {info.name}"

    def make(s: int):
        return make_learner(algorithm, info, seed=s, **overrides)

    learner = make(seed)
    _check_protocol(learner, algorithm, where)

    # Rollouts every learner below sees, collected once by the first learner.
    env = game.vector(batch, seed)
    ts = env.reset()
    rng = np.random.default_rng(seed)
    data, metrics = [], []
    initial = _numpy(learner.policy_state_dict())
    for _ in range(rollouts):
        rollout, ts = self_play_rollout(learner, env, ts, steps, rng, info)
        data.append(rollout)
        metrics.append(_plain_metrics(learner.learn(rollout), where))
    if _same_tensors(initial, _numpy(learner.policy_state_dict())):
        raise AssertionError(
            f"{where}: {rollouts} rollouts of {batch}x{steps} steps left the policy's weights "
            "unchanged; give overrides that make it learn (e.g. a smaller warmup) for the checks to bite"
        )

    probe = _probe(game, seed)
    _check_acting(learner, probe, info, where)
    frozen = learner.freeze()
    if not isinstance(frozen, Policy):
        raise AssertionError(f"{where}: freeze() returned {type(frozen).__name__}, not a Policy")
    _check_acting(frozen, probe, info, f"{where}, frozen")

    # state_dict round trip (through safetensors bytes, as checkpoints and the store do)
    restored = make(seed + 1)
    restored.load_state_dict(tensors_from_bytes(tensors_to_bytes(learner.state_dict()), where))
    for explore in (False, True):
        _same_acts(learner, restored, probe, explore, f"{where}: after a state_dict() round trip")
    policy_only = make(seed + 2)
    policy_only.load_state_dict(
        tensors_from_bytes(tensors_to_bytes(learner.policy_state_dict()), where)
    )
    _same_acts(
        learner.freeze(),
        policy_only.freeze(),
        probe,
        False,
        f"{where}: a fresh learner given policy_state_dict()",
    )

    # freeze() is isolated from later learning
    before = _acts(frozen, probe, False)
    before_weights = _numpy(learner.policy_state_dict())
    for _ in range(rollouts):
        rollout, ts = self_play_rollout(learner, env, ts, steps, rng, info)
        learner.learn(rollout)
    if _same_tensors(before_weights, _numpy(learner.policy_state_dict())):
        raise AssertionError(f"{where}: learning more left the policy's weights unchanged")
    after = _acts(frozen, probe, False)
    if not _same_act(before, after):
        raise AssertionError(f"{where}: a frozen snapshot changed when the learner learned more")

    # same seed, same learning
    twin = make(seed)
    twin_metrics = [_plain_metrics(twin.learn(r), where) for r in data]
    for k, (m1, m2) in enumerate(zip(metrics, twin_metrics)):
        if m1.keys() != m2.keys() or any(
            m1[key] != m2[key] and not (m1[key] != m1[key] and m2[key] != m2[key]) for key in m1
        ):
            raise AssertionError(
                f"{where}: the same seed and rollouts gave other metrics at update {k}: {m1} vs {m2}"
            )


# ---------------------------------------------------------------------------
# Pieces


def _check_protocol(learner, algorithm: str, where: str) -> None:
    missing = [
        name
        for name in ("NAME", "info", "config", "policy_state_dict")
        if not hasattr(learner, name)
    ]
    if missing or not isinstance(learner, Learner):
        names = missing or [
            n
            for n in ("act", "learn", "freeze", "state_dict", "load_state_dict")
            if not callable(getattr(learner, n, None))
        ]
        raise AssertionError(f"{where}: not a Learner; it lacks {', '.join(names)}")
    if learner.NAME != algorithm.lower():
        raise AssertionError(f"{where}: NAME is {learner.NAME!r}, expected {algorithm.lower()!r}")
    if not dataclasses.is_dataclass(learner.config):
        raise AssertionError(f"{where}: config is {type(learner.config).__name__}, not a dataclass")
    full, policy = learner.state_dict(), learner.policy_state_dict()
    import torch

    for what, sd in (("state_dict()", full), ("policy_state_dict()", policy)):
        bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
        if bad:
            raise AssertionError(f"{where}: {what}[{bad[0]!r}] is not a tensor")
    extra = sorted(set(policy) - set(full))
    if extra:
        raise AssertionError(f"{where}: policy_state_dict() has {extra[0]!r}, state_dict() not")


@dataclasses.dataclass
class _Probe:
    """Rows to act on: real observations under the game's and under random legal masks."""

    obs: np.ndarray
    legal: np.ndarray
    player: np.ndarray
    seed: int


def _probe(game: Game, seed: int) -> _Probe:
    env = game.vector(16, seed + 7)
    rng = np.random.default_rng(seed + 7)
    ts = env.reset()
    obs, legal, player = [], [], []
    for _ in range(6):
        bi, pi = np.nonzero(ts.acting)
        obs.append(ts.obs[bi, pi])
        legal.append(ts.legal[bi, pi])
        player.append(pi)
        if ts.done.all():
            ts = env.reset()
        if game.info.continuous_actions:
            lo, hi = game.info.action_low, game.info.action_high
            acts = rng.uniform(lo, hi, ts.acting.shape + (game.info.num_actions,))
            ts = env.step(acts.astype(np.float32))
        else:
            ts = env.step(random_legal_actions(ts.legal, rng))
        if ts.done.any():
            ts = env.reset(mask=ts.done)
    obs_, legal_, player_ = np.concatenate(obs), np.concatenate(legal), np.concatenate(player)
    if not game.info.continuous_actions and legal_.shape[-1] > 1:
        # the same rows again with random masks (at least one legal action each)
        masks = rng.random(legal_.shape) < 0.5
        masks[np.arange(len(masks)), rng.integers(0, legal_.shape[-1], len(masks))] = True
        obs_ = np.concatenate([obs_, obs_])
        legal_ = np.concatenate([legal_, masks])
        player_ = np.concatenate([player_, player_])
    return _Probe(obs_.astype(np.float32), legal_, player_.astype(np.int64), seed)


def _acts(policy, probe: _Probe, explore: bool) -> Act:
    rng = np.random.default_rng(probe.seed + 11)
    return policy.act(probe.obs, probe.legal, probe.player, rng, explore=explore)


def _check_acting(policy, probe: _Probe, info, where: str) -> None:
    n = len(probe.obs)
    for explore in (False, True):
        out = _acts(policy, probe, explore)
        label = f"{where}, explore={explore}"
        if not isinstance(out, Act):
            raise AssertionError(f"{label}: act() returned {type(out).__name__}, not an Act")
        actions = np.asarray(out.actions)
        if info.continuous_actions:
            if actions.shape != (n, info.num_actions):
                raise AssertionError(
                    f"{label}: actions of shape {list(actions.shape)}, expected {[n, info.num_actions]}"
                )
            lo, hi = info.action_low, info.action_high
            if (
                not np.all(np.isfinite(actions))
                or np.any(actions < lo - 1e-5)
                or np.any(actions > hi + 1e-5)
            ):
                raise AssertionError(f"{label}: an action outside [{lo}, {hi}]")
            continue
        if actions.shape != (n,):
            raise AssertionError(f"{label}: actions of shape {list(actions.shape)}, expected [{n}]")
        if not probe.legal[np.arange(n), actions].all():
            row = int(np.flatnonzero(~probe.legal[np.arange(n), actions])[0])
            raise AssertionError(f"{label}: row {row} took illegal action {int(actions[row])}")
        if out.probs is None:
            raise AssertionError(f"{label}: no action probabilities for a discrete game")
        probs = np.asarray(out.probs)
        if probs.shape != probe.legal.shape:
            raise AssertionError(
                f"{label}: probs of shape {list(probs.shape)}, expected {list(probe.legal.shape)}"
            )
        if np.any(probs[~probe.legal] != 0):
            row = int(np.flatnonzero((probs * ~probe.legal).any(-1))[0])
            raise AssertionError(
                f"{label}: row {row} gives an illegal action probability "
                f"{float(probs[row][~probe.legal[row]].max())}, not exactly 0"
            )
        if not np.allclose(probs.sum(-1), 1.0, atol=1e-5):
            raise AssertionError(f"{label}: action probabilities do not sum to 1")
        if out.logp is not None and np.asarray(out.logp).shape != (n,):
            raise AssertionError(
                f"{label}: logp of shape {list(np.shape(out.logp))}, expected [{n}]"
            )


def _same_act(a: Act, b: Act) -> bool:
    if not np.array_equal(a.actions, b.actions):
        return False
    if (a.probs is None) != (b.probs is None):
        return False
    return a.probs is None or np.array_equal(a.probs, b.probs)


def _same_acts(p1, p2, probe: _Probe, explore: bool, what: str) -> None:
    if not _same_act(_acts(p1, probe, explore), _acts(p2, probe, explore)):
        raise AssertionError(f"{what}: other actions or probabilities (explore={explore})")


def _numpy(tensors: dict) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in tensors.items()}


def _same_tensors(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _plain_metrics(metrics, where: str) -> dict[str, float]:
    if not isinstance(metrics, dict):
        raise AssertionError(f"{where}: learn() returned {type(metrics).__name__}, not a dict")
    out = {}
    for k, v in metrics.items():
        if not isinstance(k, str) or not isinstance(v, (int, float, np.floating, np.integer)):
            raise AssertionError(f"{where}: learn() metric {k!r} = {v!r} is not a number")
        out[k] = float(v)
    return out
