"""MADDPG: decentralized actors trained through centralized critics.

Lowe et al. 2017, "Multi-Agent Actor-Critic for Mixed Cooperative-Competitive
Environments" (NeurIPS), Algorithm 1; deterministic policy gradients from
Silver et al. 2014 and DDPG (Lillicrap et al. 2016).

* Actor ``mu(o_i, i)``: a seat's local observation plus a player one-hot (one
  network shared by every seat, told apart by the one-hot).
  Discrete actions: logits over the legal actions; acting samples from their
  masked softmax (as Lowe et al.'s code does, exploring or not, unless
  ``greedy_eval``), and updates pass a straight-through Gumbel-softmax sample
  (Jang et al. 2017; :func:`agents.nn.gumbel_softmax_st`) to the critic, so an
  illegal action is never chosen and gets probability exactly 0.
  Continuous actions (``GameInfo.continuous_actions``): ``tanh`` scaled to
  ``[action_low, action_high]``, plus Gaussian noise when exploring.
* Critic ``Q(x, a_1..a_P) -> [P]``: one head per player, on the global state
  (``critic_input="state"``) or every player's observation
  (``critic_input="obs"``), and every player's action: one-hots for discrete
  games, actions rescaled to ``[-1, 1]`` for continuous ones. In turn-based
  games the players who do not act at a step enter the critic with an
  all-zero action, so ``Q_i`` is defined at every step, whoever moves.
* Critic target (eq. 6): ``y_i = r_i + gamma * (1 - done) * Q'_i(x', a'_1..a'_P)``
  with ``a'_j`` the target actor's sample for every player acting at ``x'``.
  Against fixed opponents (seats not in ``rollout.controlled``) this uses the
  learner's own target actor as the model of their next action: the
  approximation of Lowe et al.'s Sec. 4.2 with the learner as the model.
* Actor loss (eq. 5): ``-Q_i(x, a_1, .., mu_i(o_i), .., a_P)`` for every
  controlled seat ``i`` that acts, the others' actions taken from the replay
  buffer; plus ``action_reg`` times the mean squared pre-activation (Lowe et
  al.'s code, ``p_reg``). Gradient norms are clipped to ``grad_clip`` (0.5 in
  their code).
* Target networks follow by Polyak averaging with rate ``tau`` after every
  update; replay holds joint steps (every player's observation, action and
  reward at one env step). Works for any number of players, simultaneous or
  turn-based, cooperative, zero-sum or general-sum: every seat's critic head
  and actor maximize that seat's own return.

Replay: :class:`agents.buffers.ReplayBuffer` holding joint steps built by
:func:`joint_steps` (every seat's reward, not a team reward). The buffer is
not part of checkpoints; a resumed learner refills it (``warmup`` steps).

The file reads top to bottom (the config, :class:`agents.configs.MADDPGConfig`,
is torch-free): networks, pure functions, replay rows,
acting, the learner.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import torch
from torch import nn

from agents.base import Act, HyperparameterError, Rollout, sample_from_probs
from agents.buffers import ReplayBuffer
from agents.checkpoint import load_optimizer_tensors, optimizer_tensors
from agents.configs import MADDPGConfig
from agents.limits import (
    check_parameters,
    mlp_parameters,
)
from agents.nn import (
    as_tensor,
    gumbel_softmax_st,
    masked_argmax,
    masked_softmax,
    mlp,
    one_hot,
    polyak_update,
    seeded_generator,
)
from games.core import GameInfo

NAME = "maddpg"


def parameter_count(info: GameInfo, config: MADDPGConfig) -> int:
    """Parameters of the actor and the critic, counted before building them."""
    p, a = info.num_players, info.num_actions
    critic_in = info.state_size if config.critic_input == "state" else p * info.obs_size
    return mlp_parameters([info.obs_size + p, *config.hidden, a]) + mlp_parameters(
        [critic_in + p * a, *config.hidden, p]
    )


# ---------------------------------------------------------------------------
# Networks


class Actor(nn.Module):
    """``mu(o, i)``: observation plus player one-hot -> logits (discrete) or pre-tanh actions.

    ``forward(obs [..., O], player [...]) -> [..., A]``.
    """

    def __init__(self, obs_size: int, num_actions: int, num_players: int, hidden: tuple[int, ...]):
        super().__init__()
        self.num_players = num_players
        self.net = mlp([obs_size + num_players, *hidden, num_actions], nn.ReLU, out_gain=0.01)

    def forward(self, obs: torch.Tensor, player: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, one_hot(player, self.num_players).to(obs.dtype)], dim=-1))


class Critic(nn.Module):
    """``Q(x, a_1..a_P) -> [P]``: one value per player from the critic input and the joint action.

    ``forward(x [N, C], joint [N, P, A]) -> [N, P]``.
    """

    def __init__(self, in_size: int, num_actions: int, num_players: int, hidden: tuple[int, ...]):
        super().__init__()
        self.net = mlp(
            [in_size + num_players * num_actions, *hidden, num_players], nn.ReLU, out_gain=1.0
        )

    def forward(self, x: torch.Tensor, joint: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, joint.flatten(-2)], dim=-1))


# ---------------------------------------------------------------------------
# Pure functions


def to_unit(actions: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Env actions in ``[low, high]`` -> ``[-1, 1]``."""
    return (actions - 0.5 * (high + low)) / (0.5 * (high - low))


def from_unit(unit: np.ndarray, low: float, high: float) -> np.ndarray:
    """``[-1, 1]`` -> env actions in ``[low, high]``."""
    return 0.5 * (high + low) + 0.5 * (high - low) * unit


def encode_joint_action(
    actions: torch.Tensor, acting: torch.Tensor, num_actions: int, continuous: bool
) -> torch.Tensor:
    """Critic input for the joint action, ``[N, P, A]``.

    Discrete ``actions [N, P]`` become one-hots; continuous ``actions [N, P, D]``
    must already be in ``[-1, 1]``. Players who do not act (``acting [N, P]``
    False, e.g. in a turn-based game) get all zeros.
    """
    a = actions.float() if continuous else one_hot(actions, num_actions)
    return a * acting[..., None].to(a.dtype)


def with_own_action(joint: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    """``[N, P, P, A]``: entry ``[n, i]`` is ``joint[n]`` with player ``i``'s slot replaced by ``own[n, i]``.

    Evaluating the critic on entry ``[n, i]`` gives ``Q(x, a_1, .., mu_i(o_i), .., a_P)``
    for every ``i`` in one batched pass (the other players' actions are data).
    """
    p = joint.shape[1]
    eye = torch.eye(p, dtype=torch.bool, device=joint.device)[None, :, :, None]
    return torch.where(eye, own[:, None, :, :], joint[:, None, :, :])


def prosocial_rewards(rewards: torch.Tensor, weight: float) -> torch.Tensor:
    """``(1 - w) * r_i + w * mean_j r_j``, ``[N, P]``: each seat learns from a mix of its own
    reward and the group's mean (Peysakhovich & Lerer 2018, "Prosocial learning agents solve
    generalized Stag Hunts better than selfish ones", AAMAS). ``w = 0`` is selfish MADDPG;
    cooperative games are unchanged by any ``w``; zero-sum games become all-zero at ``w = 1``.
    """
    if weight == 0:
        return rewards
    return (1.0 - weight) * rewards + weight * rewards.mean(-1, keepdim=True)


def policy_action(
    pre: torch.Tensor,
    legal: torch.Tensor,
    acting: torch.Tensor,
    continuous: bool,
    gumbel_tau: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """The actor's action as critic input, ``[N, P, A]``, differentiable in ``pre``.

    Discrete: a straight-through Gumbel-softmax sample over the legal actions
    (the forward value is a one-hot of a legal action, never an illegal one).
    Continuous: ``tanh(pre)`` in ``[-1, 1]``. Players who do not act get zeros.
    """
    a = torch.tanh(pre) if continuous else gumbel_softmax_st(pre, legal, gumbel_tau, generator)
    return a * acting[..., None].to(a.dtype)


def td_target(
    rewards: torch.Tensor, done: torch.Tensor, next_q: torch.Tensor, gamma: float
) -> torch.Tensor:
    """``y_i = r_i + gamma * (1 - done) * Q'_i(x', a')`` (Lowe et al. 2017, eq. 6), ``[N, P]``."""
    return rewards + gamma * (1.0 - done.to(rewards.dtype))[:, None] * next_q


def critic_loss(q: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared TD error over the ``mask``-ed (sample, player) entries."""
    m = mask.to(q.dtype)
    return ((q - target.detach()) ** 2 * m).sum() / m.sum().clamp_min(1.0)


def actor_loss(
    q_own: torch.Tensor, mask: torch.Tensor, pre: torch.Tensor, pre_mask: torch.Tensor, reg: float
) -> torch.Tensor:
    """``-Q_i(.., mu_i(o_i), ..)`` averaged over the masked entries, plus ``reg * mean(pre^2)``.

    Args:
        q_own: ``[N, P]`` each player's value with its own action from the actor.
        mask: ``[N, P]`` the (sample, player) pairs to improve (controlled and acting).
        pre: ``[N, P, A]`` actor outputs (logits or pre-tanh).
        pre_mask: ``[N, P, A]`` entries of ``pre`` that the regularizer covers.
    """
    m = mask.to(q_own.dtype)
    pg = -(q_own * m).sum() / m.sum().clamp_min(1.0)
    pm = pre_mask.to(pre.dtype)
    return pg + reg * (pre**2 * pm).sum() / pm.sum().clamp_min(1.0)


# ---------------------------------------------------------------------------
# Replay rows: joint steps


def joint_steps(r: Rollout) -> dict[str, np.ndarray]:
    """Replay rows: the joint steps ``(t, b)`` of a rollout in which the learner holds a seat
    and someone acts.

    Unlike :func:`agents.buffers.joint_step_rows` (a team reward for VDN and
    QMIX) a row keeps every seat's reward, the ``controlled`` seats and float
    actions of continuous games. When ``done`` the ``next_`` fields belong to
    the next episode and are never bootstrapped from.
    """
    t_n, b = r.steps, r.batch

    def flat(x: np.ndarray) -> np.ndarray:
        return x.reshape((t_n * b,) + x.shape[2:])

    steps = {
        "obs": flat(r.obs[:-1]),
        "state": flat(r.state[:-1]),
        "legal": flat(r.legal[:-1]),
        "acting": flat(r.acting[:-1]),
        "controlled": flat(r.controlled[:-1]),
        "actions": flat(r.actions),
        "rewards": flat(r.rewards).astype(np.float32),
        "done": flat(r.done),
        "next_obs": flat(r.obs[1:]),
        "next_state": flat(r.state[1:]),
        "next_legal": flat(r.legal[1:]),
        "next_acting": flat(r.acting[1:]),
    }
    keep = steps["controlled"].any(-1) & steps["acting"].any(-1)
    return {k: v[keep] for k, v in steps.items()}


# ---------------------------------------------------------------------------
# Acting (shared by the learner and its frozen snapshots)


def actor_act(
    actor: Actor,
    info: GameInfo,
    config: MADDPGConfig,
    obs: np.ndarray,
    legal: np.ndarray,
    player: np.ndarray,
    rng: np.random.Generator,
    explore: bool,
    device: torch.device,
) -> Act:
    """Actions of ``actor`` for ``N`` rows (numpy in and out; see the module docstring)."""
    with torch.no_grad():
        o = as_tensor(obs, device, torch.float32)
        pl = as_tensor(np.asarray(player, np.int64), device)
        pre = actor(o, pl)
        if info.continuous_actions:
            unit = torch.tanh(pre).double().cpu().numpy()
            if explore and config.noise_std > 0:
                unit = np.clip(unit + rng.normal(0.0, config.noise_std, unit.shape), -1.0, 1.0)
            actions = from_unit(unit, info.action_low, info.action_high)
            actions = np.clip(actions, info.action_low, info.action_high).astype(np.float32)
            return Act(actions, None, np.zeros(len(actions), np.float32))
        lg = as_tensor(legal, device, torch.bool)
        if config.greedy_eval and not explore:
            idx = masked_argmax(pre, lg)
            probs = torch.zeros_like(pre).scatter_(-1, idx[:, None], 1.0).cpu().numpy()
            return Act(idx.cpu().numpy().astype(np.int64), probs, np.zeros(len(idx), np.float32))
        probs = masked_softmax(pre, lg).double().cpu().numpy()
    probs /= np.maximum(probs.sum(-1, keepdims=True), 1e-300)
    actions = sample_from_probs(probs, rng)
    logp = np.log(np.maximum(probs[np.arange(len(actions)), actions], 1e-300)).astype(np.float32)
    return Act(actions, probs, logp)


class MADDPGPolicy:
    """A frozen MADDPG actor (copied weights): what :meth:`MADDPG.freeze` returns."""

    name = NAME

    def __init__(self, actor: Actor, info: GameInfo, config: MADDPGConfig, device: torch.device):
        self.actor = actor
        self.info = info
        self.config = config
        self.device = device

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        return actor_act(
            self.actor, self.info, self.config, obs, legal, player, rng, explore, self.device
        )

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The actor's tensors, named as in :meth:`MADDPG.policy_state_dict`."""
        return {f"actor.{k}": v.detach().clone() for k, v in self.actor.state_dict().items()}


# ---------------------------------------------------------------------------
# The learner


class MADDPG:
    """MADDPG for discrete (Gumbel-softmax) or continuous (tanh) actions."""

    NAME = NAME

    def __init__(
        self, info: GameInfo, config: MADDPGConfig | None = None, seed: int = 0, device: str = "cpu"
    ):
        config = config if config is not None else MADDPGConfig()
        if config.critic_input == "state" and info.state_size < 1:
            raise HyperparameterError(
                f"maddpg: game '{info.name}' has no global state; use critic_input='obs'"
            )
        self.info = info
        self.config = config
        self.device = torch.device(device)
        self.continuous = bool(info.continuous_actions)
        p, a = info.num_players, info.num_actions
        critic_in = info.state_size if config.critic_input == "state" else p * info.obs_size
        check_parameters(NAME, info.name, parameter_count(info, config))
        # Initialize weights from the learner's own seed, not torch's global stream.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            self.actor = Actor(info.obs_size, a, p, config.hidden).to(self.device)
            self.critic = Critic(critic_in, a, p, config.hidden).to(self.device)
        self.target_actor = copy.deepcopy(self.actor).requires_grad_(False)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.opt_actor = torch.optim.Adam(self.actor.parameters(), lr=config.lr_actor)
        self.opt_critic = torch.optim.Adam(self.critic.parameters(), lr=config.lr_critic)
        ss = np.random.SeedSequence(int(seed), spawn_key=(7,))
        self.np_rng = np.random.default_rng(ss)  # replay sampling
        self.gen = seeded_generator(int(seed) + 1, self.device)  # Gumbel noise in updates
        self.buffer = ReplayBuffer(config.buffer_size)
        self.updates = 0

    # -- acting ----------------------------------------------------------------

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        """Discrete: sample the masked softmax; continuous: tanh (+ noise when exploring)."""
        return actor_act(
            self.actor, self.info, self.config, obs, legal, player, rng, explore, self.device
        )

    def freeze(self) -> MADDPGPolicy:
        actor = copy.deepcopy(self.actor).requires_grad_(False)
        return MADDPGPolicy(actor, self.info, self.config, self.device)

    # -- learning --------------------------------------------------------------

    def learn(self, rollout: Rollout) -> dict[str, float]:
        """Store the rollout's joint steps; once ``warmup`` steps are stored, run
        ``ceil(replay_ratio * new / batch_size)`` updates."""
        cfg = self.config
        steps = joint_steps(rollout)
        self.buffer.add(steps)
        metrics = {"buffer": float(len(self.buffer))}
        updates = math.ceil(cfg.replay_ratio * len(steps["done"]) / cfg.batch_size)
        if len(self.buffer) < max(cfg.warmup, 1) or updates == 0:
            return metrics
        sums = {"critic_loss": 0.0, "actor_loss": 0.0, "q_mean": 0.0}
        for _ in range(updates):
            for k, v in self.update(self.buffer.sample(cfg.batch_size, self.np_rng)).items():
                sums[k] += v
        metrics.update({k: v / updates for k, v in sums.items()})
        metrics["updates"] = float(self.updates)
        return metrics

    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """One MADDPG update on a batch of joint steps: critic, actor, then the targets."""
        cfg, info, dev = self.config, self.info, self.device
        low, high, a_n = info.action_low, info.action_high, info.num_actions
        t = {k: as_tensor(v, dev) for k, v in batch.items()}
        n, p = t["acting"].shape
        player = torch.arange(p, device=dev).expand(n, p)
        x, next_x = (
            self._critic_x(t["obs"], t["state"]),
            self._critic_x(t["next_obs"], t["next_state"]),
        )
        acts = to_unit(t["actions"].float(), low, high) if self.continuous else t["actions"]
        joint = encode_joint_action(acts, t["acting"], a_n, self.continuous)

        # Critic: regress Q_i(x, a) on r_i + gamma * Q'_i(x', mu'(o')).
        with torch.no_grad():
            next_pre = self.target_actor(t["next_obs"].float(), player)
            next_own = policy_action(
                next_pre,
                t["next_legal"],
                t["next_acting"],
                self.continuous,
                cfg.gumbel_tau,
                self.gen,
            )
            rewards = prosocial_rewards(t["rewards"].float(), cfg.prosocial)
            y = td_target(rewards, t["done"], self.target_critic(next_x, next_own), cfg.gamma)
        q = self.critic(x, joint)
        c_loss = critic_loss(q, y, t["controlled"])
        self.opt_critic.zero_grad()
        c_loss.backward()
        nn.utils.clip_grad_norm_(self.critic.parameters(), cfg.grad_clip)
        self.opt_critic.step()

        # Actor: ascend Q_i(x, a_1, .., mu_i(o_i), .., a_P) for every controlled acting seat.
        pre = self.actor(t["obs"].float(), player)
        own = policy_action(pre, t["legal"], t["acting"], self.continuous, cfg.gumbel_tau, self.gen)
        q_all = self.critic(
            x[:, None].expand(n, p, x.shape[-1]).reshape(n * p, -1),
            with_own_action(joint, own).reshape(n * p, p, a_n),
        )
        q_own = q_all.reshape(n, p, p).diagonal(dim1=1, dim2=2)
        mask = t["controlled"] & t["acting"]
        pre_mask = (
            mask[..., None].expand_as(pre) if self.continuous else mask[..., None] & t["legal"]
        )
        a_loss = actor_loss(q_own, mask, pre, pre_mask, cfg.action_reg)
        self.opt_actor.zero_grad()
        a_loss.backward()
        nn.utils.clip_grad_norm_(self.actor.parameters(), cfg.grad_clip)
        self.opt_actor.step()

        polyak_update(self.target_critic, self.critic, cfg.tau)
        polyak_update(self.target_actor, self.actor, cfg.tau)
        self.updates += 1
        m = t["controlled"].float()
        return {
            "critic_loss": float(c_loss.detach()),
            "actor_loss": float(a_loss.detach()),
            "q_mean": float((q.detach() * m).sum() / m.sum().clamp_min(1.0)),
        }

    def _critic_x(self, obs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        if self.config.critic_input == "state":
            return state.float()
        return obs.float().flatten(1)

    # -- checkpoints -------------------------------------------------------------

    def policy_state_dict(self) -> dict[str, torch.Tensor]:
        """Only the tensors needed to act (the actor)."""
        return {f"actor.{k}": v.detach().clone() for k, v in self.actor.state_dict().items()}

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Flat tensors: networks, target networks, optimizers, counters, RNG states (no replay)."""
        out = self.policy_state_dict()
        for prefix, net in (
            ("critic.", self.critic),
            ("target_actor.", self.target_actor),
            ("target_critic.", self.target_critic),
        ):
            out.update({prefix + k: v.detach().clone() for k, v in net.state_dict().items()})
        out.update(optimizer_tensors(self.opt_actor, "opt_actor"))
        out.update(optimizer_tensors(self.opt_critic, "opt_critic"))
        out["updates"] = torch.tensor(self.updates, dtype=torch.int64)
        out["rng.torch"] = self.gen.get_state().clone()
        out["rng.numpy"] = torch.tensor(
            list(json.dumps(self.np_rng.bit_generator.state).encode()), dtype=torch.uint8
        )
        return out

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        """Load :meth:`state_dict` output, or only the :meth:`policy_state_dict` subset
        (then the target actor starts as a copy of the actor)."""
        self.actor.load_state_dict(_sub(tensors, "actor."))
        if not any(k.startswith("critic.") for k in tensors):
            self.target_actor.load_state_dict(self.actor.state_dict())
            return
        self.critic.load_state_dict(_sub(tensors, "critic."))
        self.target_actor.load_state_dict(_sub(tensors, "target_actor."))
        self.target_critic.load_state_dict(_sub(tensors, "target_critic."))
        load_optimizer_tensors(self.opt_actor, tensors, "opt_actor")
        load_optimizer_tensors(self.opt_critic, tensors, "opt_critic")
        for opt in (self.opt_actor, self.opt_critic):  # moments follow the weights' device
            for st in opt.state.values():
                for k, v in st.items():
                    if torch.is_tensor(v) and k != "step":
                        st[k] = v.to(self.device)
        self.updates = int(tensors["updates"])
        self.gen.set_state(tensors["rng.torch"].to(torch.uint8).cpu())
        self.np_rng.bit_generator.state = json.loads(bytes(tensors["rng.numpy"].tolist()).decode())


def _sub(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
