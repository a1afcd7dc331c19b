"""MMD: magnetic mirror descent as a sampled-trajectory policy-gradient learner.

Sokota et al. 2023, "A Unified Approach to Reinforcement Learning, Quantal
Response Equilibria, and Two-Player Zero-Sum Games" (ICLR). At every
information state ``s`` MMD with the negative-entropy mirror map takes the step

    pi_{t+1} = argmax_pi  eta <pi, Q_t> - eta alpha KL(pi || m) - KL(pi || pi_t)
             ∝ (pi_t  m^(eta alpha)  exp(eta Q_t)) ^ (1 / (1 + eta alpha))      (Sec. 3)

with step size ``eta``, magnet ``m`` and magnet strength ``alpha``. With a
fixed magnet its last iterate converges (linearly in the tabular case) to the
magnet-regularized equilibrium ``pi ∝ m exp(Q / alpha)``: a quantal response
equilibrium, which approaches a Nash equilibrium as ``alpha -> 0``. Letting
the magnet trail the iterate removes that bias: its fixed points have
``pi = m`` and ``Q`` constant on the support, i.e. a Nash equilibrium.

As deep RL (Sec. 5, "MMD as deep RL") the step becomes PPO's KL-penalty loss
with a reverse KL toward the magnet, minimized for ``epochs`` passes over a
batch of on-policy decisions (Schulman et al. 2017, Sec. 4, for the penalty;
Rudolph et al. 2026, "Reevaluating Policy Gradient Methods for
Imperfect-Information Games", ICLR, for such regularized PPO as a strong
baseline)::

    L(theta) = E_(s,a)~pi_old [ -r_theta(s,a) A(s,a) ]          r = pi_theta(a|s) / pi_old(a|s)
             + alpha_t E_s [ KL(pi_theta(.|s) || m(.|s)) ]        the magnet
             + (1 / eta_t) E_s [ KL(pi_old(.|s) || pi_theta(.|s)) ]   the proximal term

where the ratio term may be PPO's clipped surrogate instead (``clip > 0``).
Both KL terms are exact sums over the legal actions of each sampled state
(:func:`masked_kl`): illegal actions have probability 0 in ``pi`` and in the
magnet and contribute nothing. ``alpha_t`` and the step size (the proximal
weight ``1 / eta_t = kl_coef`` together with the actor's learning rate, which
bounds the step when Adam does not reach the proximal minimizer) follow
:func:`schedule` (constant, linear, or constant then linear) in learner env
steps. Magnets (``config.magnet``):

* ``"uniform"``: uniform over the legal actions (entropy regularization);
* ``"average"``: a network holding a Polyak average of the actor's weights
  (rate ``magnet_ema`` per update, on the step-size schedule: the magnet trails the
  iterate at a fixed ratio to the actor's step, so the damping it gives does not fade
  as the step decays), a slowly moving magnet;
* ``"policy"``: any :class:`agents.base.Policy` handed to :meth:`MMD.set_magnet`
  (a league passes the meta-Nash mixture of its frozen members); its
  ``act(..., explore=False).probs`` on the training rows are the magnet.
  Uniform until one is set.

The critic, the advantages and the value normalization are MAPPO's
(:class:`agents.mappo.PlayerNet`, :func:`agents.returns.gae`,
:class:`agents.returns.ValueNorm`): a value of the global state and the seat.
Decisions are a seat's own (:class:`agents.transitions.DecisionBuilder`,
``carry=False``); ``min_decisions`` gathers several rollouts (with the policy
unchanged, so the batch stays on-policy) into one larger update.

The file reads top to bottom (the config, :class:`agents.configs.MMDConfig`, is
torch-free): schedules, pure losses, the frozen policy, the learner.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import torch
from torch import nn

from agents.base import Act, Policy, Rollout
from agents.checkpoint import load_optimizer_tensors, optimizer_tensors
from agents.configs import MMDConfig
from agents.limits import check_parameters, mlp_parameters
from agents.mappo import PlayerNet, actor_act, clipped_value_loss, trajectory_ends
from agents.nn import as_tensor, masked_entropy, masked_log_softmax, polyak_update
from agents.returns import (
    ValueNorm,
    denormalize_values,
    gae,
    normalize_values,
    value_norm_moments,
    value_norm_update,
)
from agents.transitions import DecisionBuilder, Transitions
from games.core import GameInfo

__all__ = [
    "MMD",
    "MMDConfig",
    "MMDPolicy",
    "magnet_log_probs",
    "masked_kl",
    "mmd_actor_loss",
    "parameter_count",
    "schedule",
    "uniform_magnet",
]

NAME = "mmd"

MAGNET_FLOOR = 1e-3
"""Weight of the uniform distribution mixed into a 'policy' magnet, so that KL(pi || m)
stays finite where the given policy puts probability 0 on a legal action."""


def parameter_count(info: GameInfo, config: MMDConfig) -> int:
    """Parameters of the actor, the critic and (magnet 'average') the magnet, counted before building."""
    p = info.num_players
    copies, one_hot_in = (1, p) if config.share_params else (p, 0)
    critic_in = info.state_size if config.central_critic else info.obs_size
    actor = mlp_parameters([info.obs_size + one_hot_in, *config.hidden, info.num_actions])
    critic = mlp_parameters([critic_in + one_hot_in, *config.hidden, 1])
    magnets = 1 if config.magnet == "average" else 0
    return copies * ((1 + magnets) * actor + critic)


# ---------------------------------------------------------------------------
# Schedules and losses (pure)


def schedule(start: float, final: float, hold: int, decay: int, step: int) -> float:
    """``start`` for ``hold`` steps, then linear to ``final`` over ``decay`` steps (0: constant)."""
    if decay <= 0:
        return start
    frac = min(max(step - hold, 0) / decay, 1.0)
    return start + frac * (final - start)


def masked_kl(logp: torch.Tensor, logq: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """``KL(p || q) = sum_a p(a) (log p(a) - log q(a))`` over the legal actions, ``[N]``.

    ``logp`` and ``logq`` are ``[N, A]`` log-probabilities; their entries at
    illegal actions are ignored (they may be very negative or even -inf).
    """
    p = torch.where(legal, logp.exp(), torch.zeros_like(logp))
    diff = torch.where(legal, logp - logq, torch.zeros_like(logp))
    return (p * diff).sum(-1)


def uniform_magnet(legal: torch.Tensor) -> torch.Tensor:
    """``[N, A]`` uniform probabilities over each row's legal actions (0 elsewhere)."""
    w = legal.to(torch.float32)
    return w / w.sum(-1, keepdim=True).clamp_min(1.0)


def magnet_log_probs(probs: torch.Tensor, legal: torch.Tensor, floor: float) -> torch.Tensor:
    """Log-probabilities of a magnet given as probabilities ``[N, A]``, on the legal actions.

    The probabilities are restricted to the legal actions and renormalized,
    then mixed with weight ``floor`` with the uniform magnet (so every legal
    action has probability at least ``floor / |legal|``); a row without legal
    mass becomes uniform. Illegal entries are ``log 0 = -inf`` (ignored by
    :func:`masked_kl`).
    """
    uniform = uniform_magnet(legal)
    p = torch.where(legal, probs.to(torch.float32).clamp_min(0.0), torch.zeros_like(uniform))
    total = p.sum(-1, keepdim=True)
    p = torch.where(total > 0, p / total.clamp_min(1e-30), uniform)
    if floor > 0:
        p = (1.0 - floor) * p + floor * uniform
    return torch.where(legal, p.log(), torch.full_like(p, -torch.inf))


def mmd_actor_loss(
    logits: torch.Tensor,
    legal: torch.Tensor,
    actions: torch.Tensor,
    behaviour_logp: torch.Tensor,
    old_logp: torch.Tensor,
    magnet_logp: torch.Tensor,
    advantages: torch.Tensor,
    alpha: float,
    kl_coef: float,
    clip: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The MMD actor loss of the module docstring for ``N`` sampled decisions.

    Args:
        logits: ``[N, A]`` actor outputs (with gradient).
        legal: ``[N, A]`` bool.
        actions: ``[N]`` sampled actions.
        behaviour_logp: ``[N]`` log-probability of the sampled action when acting.
        old_logp: ``[N, A]`` log-probabilities of ``pi_old`` (the policy before this update).
        magnet_logp: ``[N, A]`` log-probabilities of the magnet.
        advantages: ``[N]``.
        alpha: magnet strength, weight of ``KL(pi || magnet)``.
        kl_coef: proximal weight ``1 / eta`` of ``KL(pi_old || pi)``.
        clip: PPO's ratio clip on the surrogate; 0 for the plain ratio.

    Returns:
        The loss and diagnostics (``surrogate``, ``magnet_kl``, ``proximal_kl``, ``entropy``).
    """
    logp_all = masked_log_softmax(logits, legal)
    logp = logp_all.gather(-1, actions[:, None]).squeeze(-1)
    ratio = (logp - behaviour_logp).exp()
    if clip > 0:
        surrogate = torch.min(ratio * advantages, ratio.clamp(1.0 - clip, 1.0 + clip) * advantages)
    else:
        surrogate = ratio * advantages
    surrogate = surrogate.mean()
    magnet_kl = masked_kl(logp_all, magnet_logp, legal).mean()
    proximal_kl = masked_kl(old_logp, logp_all, legal).mean()
    loss = -surrogate + alpha * magnet_kl + kl_coef * proximal_kl
    with torch.no_grad():
        entropy = masked_entropy(logits, legal).mean()
    return loss, {
        "surrogate": surrogate.detach(),
        "magnet_kl": magnet_kl.detach(),
        "proximal_kl": proximal_kl.detach(),
        "entropy": entropy,
    }


# ---------------------------------------------------------------------------
# The frozen policy


class MMDPolicy:
    """A frozen MMD actor (copied weights): what :meth:`MMD.freeze` returns."""

    name = NAME

    def __init__(self, actor: PlayerNet, device: torch.device):
        self.actor = actor
        self.device = device

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        """Sample from the masked softmax policy (a mixed strategy, exploring or not)."""
        return actor_act(self.actor, obs, legal, player, rng, False, self.device)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The actor's tensors, named as in :meth:`MMD.policy_state_dict`."""
        return {f"actor.{k}": v.detach().clone() for k, v in self.actor.state_dict().items()}


# ---------------------------------------------------------------------------
# The learner

_PENDING = tuple(f.name for f in dataclasses.fields(Transitions))


class MMD:
    """Magnetic mirror descent for discrete-action games (two-player zero-sum in mind).

    Every controlled seat maximizes its own return with the regularized loss
    of the module docstring; any number of players and turn-based or
    simultaneous moves work, but the equilibrium guarantees are the
    two-player zero-sum ones.
    """

    NAME = NAME

    def __init__(
        self, info: GameInfo, config: MMDConfig | None = None, seed: int = 0, device: str = "cpu"
    ):
        config = config if config is not None else MMDConfig()
        from agents.registry import check_fits

        check_fits(NAME, info)
        check_parameters(NAME, info.name, parameter_count(info, config))
        self.info = info
        self.config = config
        self.device = torch.device(device)
        p = info.num_players
        # Initialize weights from the learner's own generator, not torch's global one.
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(int(seed))
            self.actor = PlayerNet(info.obs_size, info.num_actions, p, config, out_gain=0.01).to(
                self.device
            )
            critic_in = info.state_size if config.central_critic else info.obs_size
            self.critic = PlayerNet(critic_in, 1, p, config, out_gain=1.0).to(self.device)
        self.magnet_net: PlayerNet | None = None
        if config.magnet == "average":
            self.magnet_net = copy.deepcopy(self.actor).requires_grad_(False)
        betas = (config.adam_beta1, 0.999)
        self.opt_actor = torch.optim.Adam(
            self.actor.parameters(), lr=config.lr_actor, eps=config.adam_eps, betas=betas
        )
        self.opt_critic = torch.optim.Adam(
            self.critic.parameters(), lr=config.lr_critic, eps=config.adam_eps, betas=betas
        )
        self.gen = torch.Generator()
        self.gen.manual_seed(int(seed))  # minibatch order and the magnet policy's rng (CPU)
        self.stats = ValueNorm()
        self.updates = 0
        self.env_steps = 0
        self.magnet_policy: Policy | None = None
        self._builder = DecisionBuilder(carry=False)
        self._pending: list[Transitions] = []

    # -- acting ----------------------------------------------------------------

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        """Sample from the masked softmax policy (a mixed strategy, exploring or not)."""
        return actor_act(self.actor, obs, legal, player, rng, False, self.device)

    def freeze(self) -> MMDPolicy:
        actor = copy.deepcopy(self.actor)
        actor.requires_grad_(False)
        return MMDPolicy(actor, self.device)

    def set_magnet(self, policy: Policy | None) -> None:
        """Pull toward ``policy`` from the next update on (``magnet='policy'``; None: uniform).

        The policy is asked ``act(obs, legal, player, rng, explore=False).probs``
        on the training rows. It is a live object, not state: checkpoints do
        not hold it, so set it again after loading one. With another
        ``magnet`` kind the policy is kept but not used.
        """
        if policy is not None and not callable(getattr(policy, "act", None)):
            raise TypeError(f"set_magnet: {type(policy).__name__} is not a Policy (no act method)")
        self.magnet_policy = policy

    # -- learning --------------------------------------------------------------

    def coefficients(self) -> tuple[float, float, float, float]:
        """``(alpha, kl_coef, lr_actor, magnet_ema)`` at the current learner env step count."""
        cfg = self.config
        t = self.env_steps
        alpha = schedule(cfg.alpha, cfg.alpha_final, cfg.alpha_hold_steps, cfg.alpha_decay_steps, t)
        hold, decay = cfg.step_hold_steps, cfg.step_decay_steps
        kl = schedule(cfg.kl_coef, cfg.kl_coef_final, hold, decay, t)
        lr = schedule(cfg.lr_actor, cfg.lr_actor_final, hold, decay, t)
        ema = schedule(cfg.magnet_ema, cfg.magnet_ema_final, hold, decay, t)
        return alpha, kl, lr, ema

    def _magnet_logp(self, tr: Transitions, obs, legal, player) -> torch.Tensor:
        cfg = self.config
        if cfg.magnet == "average":
            with torch.no_grad():
                return masked_log_softmax(self.magnet_net(obs, player), legal)
        if cfg.magnet == "policy" and self.magnet_policy is not None:
            seed = int(torch.randint(0, 2**62, (1,), generator=self.gen))
            rng = np.random.default_rng(seed)
            out = self.magnet_policy.act(tr.obs, tr.legal, tr.player, rng, explore=False)
            probs = as_tensor(np.asarray(out.probs, np.float32), self.device)
            return magnet_log_probs(probs, legal, MAGNET_FLOOR)
        return magnet_log_probs(uniform_magnet(legal), legal, 0.0)

    def learn(self, rollout: Rollout) -> dict[str, float]:
        """Gather the controlled seats' decisions; update once ``min_decisions`` are in."""
        self.env_steps += int((rollout.acting[:-1] & rollout.controlled[:-1]).any(-1).sum())
        tr = self._builder(rollout)
        if len(tr):
            self._pending.append(tr)
        n = sum(len(t) for t in self._pending)
        if n == 0 or n < self.config.min_decisions:
            return {"transitions": 0.0, "pending": float(n)}
        batch = self._pending
        self._pending = []
        return self._update(batch)

    def _update(self, parts: list[Transitions]) -> dict[str, float]:
        cfg = self.config
        dev = self.device
        stats = self.stats if cfg.value_norm else ValueNorm()
        adv_parts, ret_parts, val_parts = [], [], []
        for tr in parts:  # each rollout's trajectories end within it
            crit_x, crit_next = self._critic_inputs(tr)
            pl = as_tensor(tr.player, dev, torch.int64)
            with torch.no_grad():
                v_norm = self._values(crit_x, pl).double().cpu().numpy()
                next_v_norm = self._values(crit_next, pl).double().cpu().numpy()
            values = denormalize_values(v_norm, stats)
            next_values = denormalize_values(next_v_norm, stats)
            adv = gae(
                tr.rewards,
                values,
                next_values,
                tr.done,
                trajectory_ends(tr),
                cfg.gamma,
                cfg.gae_lambda,
            )
            adv_parts.append(adv)
            ret_parts.append(adv + values)
            val_parts.append(values)
        tr = _concat(parts)
        n = len(tr)
        adv, returns, values = (np.concatenate(x) for x in (adv_parts, ret_parts, val_parts))
        obs = as_tensor(tr.obs, dev, torch.float32)
        legal = as_tensor(tr.legal, dev, torch.bool)
        player = as_tensor(tr.player, dev, torch.int64)
        actions = as_tensor(tr.actions, dev, torch.int64)
        behaviour_logp = as_tensor(tr.logp, dev, torch.float32)
        crit_x, _ = self._critic_inputs(tr)
        if cfg.value_norm:
            self.stats = value_norm_update(self.stats, returns, cfg.value_norm_beta)
        with torch.no_grad():
            old_v_norm = self._values(crit_x, player)
            old_logp = masked_log_softmax(self.actor(obs, player), legal)
        magnet_logp = self._magnet_logp(tr, obs, legal, player)
        targets = as_tensor(
            normalize_values(returns, self.stats if cfg.value_norm else ValueNorm()),
            dev,
            torch.float32,
        )
        if cfg.norm_adv and n > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        b_adv = as_tensor(adv, dev, torch.float32)

        alpha, kl_coef, lr, ema = self.coefficients()
        for group in self.opt_actor.param_groups:
            group["lr"] = lr
        size = max(1, -(-n // cfg.minibatches))
        keys = ("actor_loss", "surrogate", "magnet_kl", "proximal_kl", "entropy", "value_loss")
        sums = dict.fromkeys(keys, 0.0)
        count = 0
        for _ in range(cfg.epochs):
            perm = torch.randperm(n, generator=self.gen).to(dev)
            for start in range(0, n, size):
                mb = perm[start : start + size]
                loss, diag = mmd_actor_loss(
                    self.actor(obs[mb], player[mb]),
                    legal[mb],
                    actions[mb],
                    behaviour_logp[mb],
                    old_logp[mb],
                    magnet_logp[mb],
                    b_adv[mb],
                    alpha,
                    kl_coef,
                    cfg.clip,
                )
                self.opt_actor.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.actor.parameters(), cfg.max_grad_norm)
                self.opt_actor.step()

                v = self._values(crit_x[mb], player[mb])
                v_loss = clipped_value_loss(v, old_v_norm[mb], targets[mb], cfg.value_clip)
                self.opt_critic.zero_grad()
                v_loss.backward()
                nn.utils.clip_grad_norm_(self.critic.parameters(), cfg.max_grad_norm)
                self.opt_critic.step()

                sums["actor_loss"] += loss.item()
                sums["value_loss"] += v_loss.item()
                for k, val in diag.items():
                    sums[k] += float(val)
                count += 1
        if self.magnet_net is not None:
            polyak_update(self.magnet_net, self.actor, ema)
        self.updates += 1
        metrics = {k: v / count for k, v in sums.items()}
        var_ret = float(np.var(returns))
        metrics["explained_variance"] = (
            float(1.0 - np.var(returns - values) / var_ret) if var_ret > 0 else 0.0
        )
        metrics["transitions"] = float(n)
        metrics["alpha"] = alpha
        metrics["kl_coef"] = kl_coef
        metrics["lr_actor"] = lr
        metrics["magnet_ema"] = ema
        metrics["value_mean"], metrics["value_std"] = value_norm_moments(self.stats)
        return metrics

    def _values(self, x: torch.Tensor, player: torch.Tensor) -> torch.Tensor:
        return self.critic(x, player).squeeze(-1)

    def _critic_inputs(self, tr: Transitions) -> tuple[torch.Tensor, torch.Tensor]:
        if self.config.central_critic:
            x, nx = tr.state, tr.next_state
        else:
            x, nx = tr.obs, tr.next_obs
        return as_tensor(x, self.device, torch.float32), as_tensor(nx, self.device, torch.float32)

    # -- checkpoints -------------------------------------------------------------

    def policy_state_dict(self) -> dict[str, torch.Tensor]:
        """Only the tensors needed to act (the actor)."""
        return {f"actor.{k}": v.detach().clone() for k, v in self.actor.state_dict().items()}

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Flat tensors: actor, critic, magnet, both optimizers, value statistics, counters,
        RNG and the decisions gathered toward the next update."""
        out = self.policy_state_dict()
        out.update({f"critic.{k}": v.detach().clone() for k, v in self.critic.state_dict().items()})
        if self.magnet_net is not None:
            out.update(
                {f"magnet.{k}": v.detach().clone() for k, v in self.magnet_net.state_dict().items()}
            )
        out.update(optimizer_tensors(self.opt_actor, "opt_actor"))
        out.update(optimizer_tensors(self.opt_critic, "opt_critic"))
        out["value_norm"] = torch.tensor(
            [self.stats.mean, self.stats.mean_sq, self.stats.debias], dtype=torch.float64
        )
        out["updates"] = torch.tensor(self.updates, dtype=torch.int64)
        out["env_steps"] = torch.tensor(self.env_steps, dtype=torch.int64)
        out["rng.torch"] = self.gen.get_state().clone()
        out["pending.parts"] = torch.tensor([len(t) for t in self._pending], dtype=torch.int64)
        if self._pending:
            flat = _concat(self._pending)
            for name in _PENDING:
                out[f"pending.{name}"] = torch.from_numpy(np.ascontiguousarray(getattr(flat, name)))
        return out

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        """Load :meth:`state_dict` output, or only the :meth:`policy_state_dict` subset."""
        self.actor.load_state_dict(_sub(tensors, "actor."))
        if not any(k.startswith("critic.") for k in tensors):
            return
        self.critic.load_state_dict(_sub(tensors, "critic."))
        if self.magnet_net is not None:
            self.magnet_net.load_state_dict(_sub(tensors, "magnet."))
        load_optimizer_tensors(self.opt_actor, tensors, "opt_actor")
        load_optimizer_tensors(self.opt_critic, tensors, "opt_critic")
        m, m2, d = (float(x) for x in tensors["value_norm"])
        self.stats = ValueNorm(m, m2, d)
        self.updates = int(tensors["updates"])
        self.env_steps = int(tensors["env_steps"])
        self.gen.set_state(tensors["rng.torch"].to(torch.uint8).cpu())
        self._pending = []
        sizes = [int(x) for x in tensors["pending.parts"]]
        if sizes:
            flat = {name: tensors[f"pending.{name}"].numpy() for name in _PENDING}
            bounds = np.cumsum([0, *sizes])
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                self._pending.append(Transitions(**{k: v[lo:hi] for k, v in flat.items()}))


def _concat(parts: list[Transitions]) -> Transitions:
    if len(parts) == 1:
        return parts[0]
    return Transitions(**{k: np.concatenate([getattr(t, k) for t in parts]) for k in _PENDING})


def _sub(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
