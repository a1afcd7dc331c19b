"""MAPPO: PPO with decentralized actors and a centralized critic; IPPO by a switch.

Yu et al. 2022, "The Surprising Effectiveness of PPO in Cooperative
Multi-Agent Games" (NeurIPS Datasets and Benchmarks); PPO from Schulman et al.
2017, "Proximal Policy Optimization Algorithms"; IPPO from de Witt et al. 2020,
"Is Independent Learning All You Need in the StarCraft Multi-Agent Challenge?".

* The actor sees only a seat's local observation (plus a player one-hot when
  its parameters are shared by every seat) and the seat's legal actions.
* The critic sees the global state plus the player one-hot, since values are
  per player (``central_critic=True``, MAPPO), or the local observation
  (``central_critic=False``, IPPO).
* Updates: GAE (:func:`agents.returns.gae`), the clipped surrogate, a clipped
  value loss against normalized targets (:class:`agents.returns.ValueNorm`),
  an entropy bonus, minibatch epochs and gradient-norm clipping.
* Training data are a seat's own decisions (:class:`agents.transitions.DecisionBuilder`
  with ``carry=False``): in turn-based games only the steps where the seat
  acted, rewards summed up to its next decision; in simultaneous games every
  step. Only seats in ``rollout.controlled`` are learned. Decisions cut off by
  the rollout's end bootstrap from the critic at the window's end.

The file reads top to bottom (the config, :class:`agents.configs.MAPPOConfig`,
is torch-free): networks, pure losses, the learner.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from agents.base import Act, Rollout, sample_from_probs
from agents.checkpoint import load_optimizer_tensors, optimizer_tensors
from agents.configs import MAPPOConfig
from agents.limits import (
    check_parameters,
    mlp_parameters,
)
from agents.nn import (
    as_tensor,
    masked_argmax,
    masked_entropy,
    masked_log_softmax,
    masked_softmax,
    mlp,
    one_hot,
)
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

NAME = "mappo"

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def parameter_count(info: GameInfo, config: MAPPOConfig) -> int:
    """Parameters of the actor and the critic (:class:`PlayerNet`), counted before building."""
    p = info.num_players
    copies, one_hot_in = (1, p) if config.share_params else (p, 0)
    critic_in = info.state_size if config.central_critic else info.obs_size
    return copies * (
        mlp_parameters([info.obs_size + one_hot_in, *config.hidden, info.num_actions])
        + mlp_parameters([critic_in + one_hot_in, *config.hidden, 1])
    )


# ---------------------------------------------------------------------------
# Networks


class PlayerNet(nn.Module):
    """An MLP per seat, or one MLP shared by every seat with a player one-hot input.

    ``forward(x [N, I], player [N]) -> [N, out]``.
    """

    def __init__(
        self, in_size: int, out_size: int, num_players: int, config: MAPPOConfig, out_gain: float
    ):
        super().__init__()
        self.num_players = num_players
        self.shared = config.share_params
        act = _ACTIVATIONS[config.activation]
        if self.shared:
            self.net = mlp([in_size + num_players, *config.hidden, out_size], act, out_gain)
        else:
            self.nets = nn.ModuleList(
                mlp([in_size, *config.hidden, out_size], act, out_gain) for _ in range(num_players)
            )
        self.out_size = out_size

    def forward(self, x: torch.Tensor, player: torch.Tensor) -> torch.Tensor:
        if self.shared:
            return self.net(torch.cat([x, one_hot(player, self.num_players).to(x.dtype)], dim=-1))
        out = x.new_zeros(x.shape[0], self.out_size)
        for p, net in enumerate(self.nets):
            rows = player == p
            if rows.any():
                out[rows] = net(x[rows])
        return out


# ---------------------------------------------------------------------------
# Losses (pure)


def entropy_coef(start: float, final: float, anneal_updates: int, update: int) -> float:
    """Linear decay of the entropy weight from ``start`` to ``final`` over ``anneal_updates``."""
    if anneal_updates <= 0:
        return start
    frac = min(update / anneal_updates, 1.0)
    return start + frac * (final - start)


def clipped_surrogate_loss(
    logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, clip: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO's clipped policy loss (Schulman et al. 2017, eq. 7), negated for descent.

    Returns the loss and diagnostics: ``approx_kl`` (the ``(r - 1) - log r``
    estimator) and ``clipfrac``.
    """
    log_ratio = logp - old_logp
    ratio = log_ratio.exp()
    loss = -torch.min(ratio * advantages, ratio.clamp(1.0 - clip, 1.0 + clip) * advantages).mean()
    with torch.no_grad():
        approx_kl = ((ratio - 1.0) - log_ratio).mean()
        clipfrac = ((ratio - 1.0).abs() > clip).float().mean()
    return loss, {"approx_kl": approx_kl, "clipfrac": clipfrac}


def clipped_value_loss(
    values: torch.Tensor, old_values: torch.Tensor, targets: torch.Tensor, clip: float
) -> torch.Tensor:
    """``0.5 * max((v - G)^2, (v_clip - G)^2)`` with ``v_clip`` within ``clip`` of the old
    prediction (Yu et al. 2022, eq. 4; plain squared error when ``clip <= 0``)."""
    err = (values - targets).pow(2)
    if clip > 0:
        clipped = old_values + (values - old_values).clamp(-clip, clip)
        err = torch.max(err, (clipped - targets).pow(2))
    return 0.5 * err.mean()


# ---------------------------------------------------------------------------
# Acting (shared by the learner and its frozen snapshots)


def actor_act(
    actor: PlayerNet,
    obs: np.ndarray,
    legal: np.ndarray,
    player: np.ndarray,
    rng: np.random.Generator,
    greedy: bool,
    device: torch.device,
) -> Act:
    """Masked softmax policy of ``actor`` for ``N`` rows (numpy in and out)."""
    with torch.no_grad():
        o = as_tensor(obs, device, torch.float32)
        lg = as_tensor(legal, device, torch.bool)
        pl = as_tensor(np.asarray(player, np.int64), device)
        logits = actor(o, pl)
        log_probs = masked_log_softmax(logits, lg)
        if greedy:
            idx = masked_argmax(logits, lg)
            one_hot_probs = torch.zeros_like(logits).scatter_(-1, idx[:, None], 1.0)
            probs = one_hot_probs.double().cpu().numpy()
            actions = idx.cpu().numpy().astype(np.int64)
            logp = np.zeros(len(actions), np.float32)
        else:
            probs = masked_softmax(logits, lg).double().cpu().numpy()
            actions = sample_from_probs(probs, rng)
            logp = log_probs.cpu().numpy()[np.arange(len(actions)), actions].astype(np.float32)
    return Act(actions, probs, logp)


class MAPPOPolicy:
    """A frozen MAPPO actor (copied weights): what :meth:`MAPPO.freeze` returns."""

    name = NAME

    def __init__(self, actor: PlayerNet, greedy_eval: bool, device: torch.device):
        self.actor = actor
        self.greedy_eval = greedy_eval
        self.device = device

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        return actor_act(
            self.actor, obs, legal, player, rng, self.greedy_eval and not explore, self.device
        )

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The actor's tensors, named as in :meth:`MAPPO.policy_state_dict`."""
        return {f"actor.{k}": v.detach().clone() for k, v in self.actor.state_dict().items()}


# ---------------------------------------------------------------------------
# The learner


class MAPPO:
    """MAPPO (or IPPO with ``central_critic=False``) for discrete-action games.

    Works for any number of players, turn-based or simultaneous, zero-sum,
    cooperative or general-sum: every controlled seat maximizes its own return.
    """

    NAME = NAME

    def __init__(
        self, info: GameInfo, config: MAPPOConfig | None = None, seed: int = 0, device: str = "cpu"
    ):
        config = config if config is not None else MAPPOConfig()
        self.NAME = NAME if config.central_critic else "ippo"
        from agents.registry import check_fits

        check_fits(self.NAME, info)
        check_parameters(self.NAME, info.name, parameter_count(info, config))
        self.info = info
        self.config = config
        self.device = torch.device(device)
        p = info.num_players
        torch_gen = torch.Generator()
        torch_gen.manual_seed(int(seed))
        # Initialize weights from the learner's own generator, not torch's global one.
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(int(seed))
            self.actor = PlayerNet(info.obs_size, info.num_actions, p, config, out_gain=0.01).to(
                self.device
            )
            critic_in = info.state_size if config.central_critic else info.obs_size
            self.critic = PlayerNet(critic_in, 1, p, config, out_gain=1.0).to(self.device)
        betas = (config.adam_beta1, 0.999)
        self.opt_actor = torch.optim.Adam(
            self.actor.parameters(), lr=config.lr_actor, eps=config.adam_eps, betas=betas
        )
        self.opt_critic = torch.optim.Adam(
            self.critic.parameters(), lr=config.lr_critic, eps=config.adam_eps, betas=betas
        )
        self.gen = torch_gen  # shuffles minibatches (CPU)
        self.stats = ValueNorm()
        self.updates = 0
        self._builder = DecisionBuilder(carry=False)

    # -- acting ----------------------------------------------------------------

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        """Sample from the masked softmax policy (greedy with explore=False if ``greedy_eval``)."""
        greedy = self.config.greedy_eval and not explore
        return actor_act(self.actor, obs, legal, player, rng, greedy, self.device)

    def freeze(self) -> MAPPOPolicy:
        actor = copy.deepcopy(self.actor)
        actor.requires_grad_(False)
        return MAPPOPolicy(actor, self.config.greedy_eval, self.device)

    # -- learning --------------------------------------------------------------

    def _values(self, x: torch.Tensor, player: torch.Tensor) -> torch.Tensor:
        return self.critic(x, player).squeeze(-1)

    def learn(self, rollout: Rollout) -> dict[str, float]:
        """One PPO update (``epochs`` x ``minibatches``) on the controlled seats' decisions."""
        cfg = self.config
        tr = self._builder(rollout)
        n = len(tr)
        if n == 0:
            return {"transitions": 0.0}
        dev = self.device
        obs = as_tensor(tr.obs, dev, torch.float32)
        legal = as_tensor(tr.legal, dev, torch.bool)
        player = as_tensor(tr.player, dev, torch.int64)
        actions = as_tensor(tr.actions, dev, torch.int64)
        old_logp = as_tensor(tr.logp, dev, torch.float32)
        crit_x, crit_next = self._critic_inputs(tr)

        with torch.no_grad():
            old_v_norm = self._values(crit_x, player)
            next_v_norm = self._values(crit_next, player)
        stats = self.stats if cfg.value_norm else ValueNorm()
        values = denormalize_values(old_v_norm.double().cpu().numpy(), stats)
        next_values = denormalize_values(next_v_norm.double().cpu().numpy(), stats)
        adv = gae(
            tr.rewards, values, next_values, tr.done, trajectory_ends(tr), cfg.gamma, cfg.gae_lambda
        )
        returns = adv + values
        if cfg.value_norm:
            self.stats = value_norm_update(self.stats, returns, cfg.value_norm_beta)
            stats = self.stats
        targets = as_tensor(normalize_values(returns, stats), dev, torch.float32)
        if cfg.norm_adv and n > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        b_adv = as_tensor(adv, dev, torch.float32)

        ent_coef = entropy_coef(
            cfg.ent_coef, cfg.ent_coef_final, cfg.ent_anneal_updates, self.updates
        )
        size = max(1, -(-n // cfg.minibatches))
        sums = {
            "policy_loss": 0.0,
            "value_loss": 0.0,
            "entropy": 0.0,
            "approx_kl": 0.0,
            "clipfrac": 0.0,
        }
        count = 0
        for _ in range(cfg.epochs):
            perm = torch.randperm(n, generator=self.gen).to(dev)
            for start in range(0, n, size):
                mb = perm[start : start + size]
                logits = self.actor(obs[mb], player[mb])
                logp = (
                    masked_log_softmax(logits, legal[mb]).gather(-1, actions[mb, None]).squeeze(-1)
                )
                pg_loss, diag = clipped_surrogate_loss(logp, old_logp[mb], b_adv[mb], cfg.clip)
                entropy = masked_entropy(logits, legal[mb]).mean()
                actor_loss = pg_loss - ent_coef * entropy
                self.opt_actor.zero_grad()
                actor_loss.backward()
                nn.utils.clip_grad_norm_(self.actor.parameters(), cfg.max_grad_norm)
                self.opt_actor.step()

                v = self._values(crit_x[mb], player[mb])
                v_loss = clipped_value_loss(v, old_v_norm[mb], targets[mb], cfg.value_clip)
                self.opt_critic.zero_grad()
                v_loss.backward()
                nn.utils.clip_grad_norm_(self.critic.parameters(), cfg.max_grad_norm)
                self.opt_critic.step()

                sums["policy_loss"] += pg_loss.item()
                sums["value_loss"] += v_loss.item()
                sums["entropy"] += entropy.item()
                sums["approx_kl"] += float(diag["approx_kl"])
                sums["clipfrac"] += float(diag["clipfrac"])
                count += 1
        self.updates += 1
        metrics = {k: v / count for k, v in sums.items()}
        var_ret = float(np.var(returns))
        metrics["explained_variance"] = (
            float(1.0 - np.var(returns - values) / var_ret) if var_ret > 0 else 0.0
        )
        metrics["transitions"] = float(n)
        metrics["ent_coef"] = ent_coef
        metrics["value_mean"], metrics["value_std"] = value_norm_moments(self.stats)
        return metrics

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
        """Flat tensors: actor, critic, both optimizers, value statistics, counters, RNG."""
        out = self.policy_state_dict()
        out.update({f"critic.{k}": v.detach().clone() for k, v in self.critic.state_dict().items()})
        out.update(optimizer_tensors(self.opt_actor, "opt_actor"))
        out.update(optimizer_tensors(self.opt_critic, "opt_critic"))
        out["value_norm"] = torch.tensor(
            [self.stats.mean, self.stats.mean_sq, self.stats.debias], dtype=torch.float64
        )
        out["updates"] = torch.tensor(self.updates, dtype=torch.int64)
        out["rng.torch"] = self.gen.get_state().clone()
        return out

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        """Load :meth:`state_dict` output, or only the :meth:`policy_state_dict` subset."""
        self.actor.load_state_dict(_sub(tensors, "actor."))
        if not any(k.startswith("critic.") for k in tensors):
            return
        self.critic.load_state_dict(_sub(tensors, "critic."))
        load_optimizer_tensors(self.opt_actor, tensors, "opt_actor")
        load_optimizer_tensors(self.opt_critic, tensors, "opt_critic")
        m, m2, d = (float(x) for x in tensors["value_norm"])
        self.stats = ValueNorm(m, m2, d)
        self.updates = int(tensors["updates"])
        self.gen.set_state(tensors["rng.torch"].to(torch.uint8).cpu())


def trajectory_ends(tr: Transitions) -> np.ndarray:
    """``[N]`` bool: transition ``i + 1`` does not continue ``i``'s trajectory.

    Rows are ordered by (copy, seat, time), so ``i + 1`` is ``i``'s successor
    unless the episode ended or the window cut it (or, for a builder that
    carries decisions over, the successor is not among the rows).
    """
    same = np.zeros(len(tr), bool)
    same[:-1] = (tr.copy[1:] == tr.copy[:-1]) & (tr.player[1:] == tr.player[:-1])
    return tr.done | tr.truncated | ~same


def _sub(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
