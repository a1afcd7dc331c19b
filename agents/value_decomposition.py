"""The value-decomposition core shared by IQL, VDN and QMIX.

Every seat has a Q-network ``Q_i(o_i, .)``; the seats share one set of
parameters and tell themselves apart by a player one-hot appended to the
observation (Gupta et al. 2017; Rashid et al. 2018, Sec. 5). The three
algorithms differ only in what the TD error is taken on:

* **IQL** (Tan 1993; Tampuu et al. 2017): each seat's own DQN target on its
  own decision transitions, ``y = r + gamma * Q_i'(o', argmax_a' Q_i(o', a'))``
  (double Q-learning, van Hasselt et al. 2016). In turn-based games a
  transition runs from a seat's decision to its next one with the rewards in
  between summed (:class:`agents.transitions.DecisionBuilder` with
  ``carry=True``), so an opponent's move that ends the game still pays the seat.
* **VDN** (Sunehag et al. 2018): the team value is the sum
  ``Q_tot = sum_i Q_i(o_i, a_i)``, trained on the team reward of joint steps.
* **QMIX** (Rashid et al. 2018): ``Q_tot = f(Q_1..Q_P; s)`` with a mixer whose
  weights are non-negative functions of the global state, so ``Q_tot`` is
  monotonic in every ``Q_i`` and the per-seat argmaxes are the joint argmax.

For VDN and QMIX the target is ``y = r + gamma * Q_tot'(argmax_a' Q_i(o'_i, .); s')``
(per-seat double-Q argmaxes evaluated by the target agent networks and mixed
by the target mixer). A seat that does not act at a step (the idle seats of a
turn-based cooperative game) contributes nothing: its chosen Q-value enters the
mixer as exactly 0, at both the current and the next step.

Illegal actions are masked everywhere (OpenSpiel ``python/pytorch/dqn.py``):
in acting (probability exactly 0), in the target max and in the double-Q
argmax, with ``torch.finfo(dtype).min`` rather than ``-inf``.

The file reads top to bottom (the shared config, :class:`agents.configs.QConfig`,
is torch-free): the agent network, pure maths, acting, and the learner :class:`ValueDecomposition` that ``IQL``,
``VDN`` and ``QMIX`` instantiate with their mixer (none, a sum, a monotonic
hypernetwork).
"""

from __future__ import annotations

import copy
import json

import numpy as np
import torch
from torch import nn

from agents.base import Act, Rollout, sample_from_probs
from agents.buffers import ReplayBuffer, decision_rows, joint_step_rows
from agents.checkpoint import load_optimizer_tensors, optimizer_tensors
from agents.configs import QConfig
from agents.limits import (
    check_parameters,
    mlp_parameters,
)
from agents.nn import as_tensor, masked_argmax, masked_max, mlp, one_hot, polyak_update
from agents.transitions import DecisionBuilder
from games.core import GameInfo


def parameter_count(info: GameInfo, config: QConfig) -> int:
    """Parameters of the agent Q-network (:class:`AgentQNet`), counted without building it."""
    p = info.num_players
    return mlp_parameters([info.obs_size + p, *config.hidden, info.num_actions])


# ---------------------------------------------------------------------------
# The agent network


class AgentQNet(nn.Module):
    """One Q-network shared by every seat: ``forward(obs [N, O], player [N]) -> Q [N, A]``.

    The player one-hot lets shared parameters still act differently per seat.
    """

    def __init__(self, obs_size: int, num_actions: int, num_players: int, hidden: tuple[int, ...]):
        super().__init__()
        self.num_players = num_players
        self.net = mlp([obs_size + num_players, *hidden, num_actions])

    def forward(self, obs: torch.Tensor, player: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, one_hot(player, self.num_players).to(obs.dtype)], dim=-1))


# ---------------------------------------------------------------------------
# Pure maths


def linear_epsilon(step: int, start: float, end: float, decay_steps: int) -> float:
    """Epsilon decayed linearly from ``start`` to ``end`` over ``decay_steps`` (Mnih et al. 2015)."""
    frac = min(1.0, step / max(1, decay_steps))
    return float(start + frac * (end - start))


def epsilon_greedy_probs(q: torch.Tensor, legal: torch.Tensor, eps: float) -> torch.Tensor:
    """``(1 - eps) * onehot(greedy legal action) + eps * uniform(legal)``, ``[N, A]``.

    Illegal actions get exactly 0; rows with no legal action are all 0.
    """
    legal_f = legal.to(q.dtype)
    n_legal = legal_f.sum(-1, keepdim=True)
    uniform = legal_f / n_legal.clamp_min(1.0)
    greedy = torch.zeros_like(q).scatter_(-1, masked_argmax(q, legal)[:, None], 1.0) * (n_legal > 0)
    return (1.0 - eps) * greedy + eps * uniform


def bootstrap_values(
    q_next_target: torch.Tensor, next_legal: torch.Tensor, q_next_online: torch.Tensor | None = None
) -> torch.Tensor:
    """Value of the next decision, ``[...]`` from ``Q [..., A]``.

    With ``q_next_online`` it is double Q-learning (van Hasselt et al. 2016):
    the online network's legal argmax, valued by the target network; without
    it the target network's legal max (DQN). Rows with no legal action give 0.
    """
    if q_next_online is None:
        return masked_max(q_next_target, next_legal)
    best = masked_argmax(q_next_online, next_legal)
    value = q_next_target.gather(-1, best[..., None]).squeeze(-1)
    return torch.where(next_legal.any(-1), value, torch.zeros_like(value))


def td_target(
    rewards: torch.Tensor, done: torch.Tensor, gamma: float, next_values: torch.Tensor
) -> torch.Tensor:
    """One-step TD target ``r + gamma * (1 - done) * V(next)`` (Sutton & Barto 2018, eq. 6.8)."""
    return rewards + gamma * (~done).to(rewards.dtype) * next_values


def td_loss(pred: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean squared TD error, or the Huber loss (Mnih et al. 2015's error clipping)."""
    if kind == "huber":
        return nn.functional.smooth_l1_loss(pred, target)
    return nn.functional.mse_loss(pred, target)


def mask_idle(q_taken: torch.Tensor, acting: torch.Tensor) -> torch.Tensor:
    """Zero the chosen Q-value of seats that do not act: they contribute nothing to the mix."""
    return torch.where(acting, q_taken, torch.zeros_like(q_taken))


# ---------------------------------------------------------------------------
# Acting (shared by learners and their frozen snapshots)


def q_act(
    qnet: AgentQNet,
    obs: np.ndarray,
    legal: np.ndarray,
    player: np.ndarray,
    rng: np.random.Generator,
    eps: float,
    device: torch.device,
) -> Act:
    """Epsilon-greedy over the legal actions of ``N`` rows (greedy, and no draw, when ``eps == 0``)."""
    with torch.no_grad():
        q = qnet(
            as_tensor(obs, device, torch.float32), as_tensor(np.asarray(player, np.int64), device)
        )
        probs = (
            epsilon_greedy_probs(q.double(), as_tensor(legal, device, torch.bool), eps)
            .cpu()
            .numpy()
        )
    actions = sample_from_probs(probs, rng) if eps > 0 else probs.argmax(-1).astype(np.int64)
    chosen = probs[np.arange(len(actions)), actions]
    logp = np.log(np.maximum(chosen, 1e-300)).astype(np.float32)
    return Act(actions, probs, logp)


class QPolicy:
    """A frozen agent Q-network (copied weights): what ``freeze()`` returns.

    Greedy by default; ``explore=True`` uses the epsilon the learner had when frozen.
    """

    def __init__(self, name: str, qnet: AgentQNet, eps: float, device: torch.device):
        self.name = name
        self.q = qnet
        self.eps = eps
        self.device = device

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        return q_act(self.q, obs, legal, player, rng, self.eps if explore else 0.0, self.device)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The network's tensors, named as in the learner's ``policy_state_dict()``."""
        return {f"q.{k}": v.detach().clone() for k, v in self.q.state_dict().items()}


# ---------------------------------------------------------------------------
# The learner


class ValueDecomposition:
    """Shared agent Q-network, replay, double-Q TD targets, epsilon and target networks.

    ``IQL``, ``VDN`` and ``QMIX`` are this class with their mixer: ``mixer=None``
    learns every seat's own decision transitions; a mixer ``(q [N, P], state [N, S])
    -> q_tot [N]`` learns joint steps on the team reward (cooperative games,
    where the learner must hold every seat).

    Args:
        info: the game.
        config: a :class:`QConfig` (or an algorithm's subclass of it).
        seed: seeds the weights, the replay sampling and nothing else.
        device: torch device of the networks.
        name: the algorithm's name (``NAME`` in checkpoints and errors).
        make_mixer: builds the mixer; None for IQL.
    """

    def __init__(
        self,
        info: GameInfo,
        config: QConfig,
        seed: int,
        device: str,
        name: str,
        make_mixer=None,
        mixer_parameters: int = 0,
    ):
        from agents.registry import check_fits

        check_fits(name, info)
        p = info.num_players
        check_parameters(name, info.name, parameter_count(info, config) + mixer_parameters)
        self.info = info
        self.config = config
        self.name = name
        self.device = torch.device(device)
        p = info.num_players
        # Weights come from the learner's own seed, not torch's global generator.
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(int(seed))
            self.q = AgentQNet(info.obs_size, info.num_actions, p, config.hidden).to(self.device)
            self.mixer = make_mixer() if make_mixer is not None else None
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        params = list(self.q.parameters())
        if self.mixer is not None:
            self.mixer = self.mixer.to(self.device)
            self.mixer_target = copy.deepcopy(self.mixer).requires_grad_(False)
            params += list(self.mixer.parameters())
        self.params = params
        self.opt = torch.optim.Adam(params, lr=config.lr)
        self.rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(7,)))
        self.buffer = ReplayBuffer(config.buffer_size)
        self._builder = DecisionBuilder(carry=True)
        self.updates = 0
        self.env_steps = 0
        self.update_credit = 0.0  # gradient steps earned by new data, not yet taken

    # -- acting ----------------------------------------------------------------

    def epsilon(self) -> float:
        cfg = self.config
        return linear_epsilon(self.env_steps, cfg.eps_start, cfg.eps_end, cfg.eps_decay_steps)

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        """Greedy legal action, or epsilon-greedy with ``explore=True``."""
        return q_act(
            self.q, obs, legal, player, rng, self.epsilon() if explore else 0.0, self.device
        )

    def q_values(self, obs: np.ndarray, player: np.ndarray) -> np.ndarray:
        """``Q [N, A]`` of the online network (unmasked), for inspection."""
        with torch.no_grad():
            q = self.q(
                as_tensor(obs, self.device, torch.float32),
                as_tensor(np.asarray(player, np.int64), self.device),
            )
        return q.cpu().numpy()

    def freeze(self) -> QPolicy:
        return QPolicy(
            self.name, copy.deepcopy(self.q).requires_grad_(False), self.epsilon(), self.device
        )

    # -- learning --------------------------------------------------------------

    def learn(self, rollout: Rollout) -> dict[str, float]:
        """Store the rollout's transitions; then one gradient step per ``steps_per_update``
        new learner env steps (the replay ratio holds whatever the rollout's shape)."""
        cfg = self.config
        new_steps = int((rollout.acting[:-1] & rollout.controlled[:-1]).any(-1).sum())
        self.env_steps += new_steps
        if self.mixer is None:
            rows = decision_rows(self._builder(rollout))
        else:
            _check_team(rollout, self.name)
            rows = joint_step_rows(rollout)
        self.buffer.add(rows)
        metrics = {"epsilon": self.epsilon(), "buffer": float(len(self.buffer))}
        if len(self.buffer) < max(cfg.learning_starts, 1):
            return metrics
        self.update_credit += new_steps / cfg.steps_per_update
        n_updates = int(self.update_credit)
        self.update_credit -= n_updates
        if n_updates == 0:
            return metrics
        losses, q_means = [], []
        for _ in range(n_updates):
            loss, q_mean = self._update()
            losses.append(loss)
            q_means.append(q_mean)
        metrics.update(
            loss=float(np.mean(losses)), q_mean=float(np.mean(q_means)), updates=float(self.updates)
        )
        return metrics

    def _update(self) -> tuple[float, float]:
        cfg = self.config
        b = {
            k: as_tensor(v, self.device)
            for k, v in self.buffer.sample(cfg.batch_size, self.rng).items()
        }
        if self.mixer is None:
            pred, target = self._independent_td(b)
        else:
            pred, target = self._joint_td(b)
        loss = td_loss(pred, target, cfg.loss)
        self.opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
        self.opt.step()
        self.updates += 1
        if self.updates % cfg.target_period == 0:
            polyak_update(self.q_target, self.q, cfg.target_tau)
            if self.mixer is not None:
                polyak_update(self.mixer_target, self.mixer, cfg.target_tau)
        return loss.item(), pred.mean().item()

    def _independent_td(self, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """IQL: every row is one seat's decision; its own reward, its own next decision."""
        q = self.q(b["obs"], b["player"])
        q_taken = q.gather(-1, b["actions"][:, None]).squeeze(-1)
        with torch.no_grad():
            q_next_t = self.q_target(b["next_obs"], b["player"])
            q_next_o = self.q(b["next_obs"], b["player"]) if self.config.double_q else None
            next_v = bootstrap_values(q_next_t, b["next_legal"], q_next_o)
            target = td_target(b["rewards"], b["done"], self.config.gamma, next_v)
        return q_taken, target

    def _joint_q(self, net: AgentQNet, obs: torch.Tensor) -> torch.Tensor:
        """Every seat's Q ``[N, P, A]`` from joint observations ``[N, P, O]``."""
        n, p, o = obs.shape
        player = torch.arange(p, device=obs.device).expand(n, p).reshape(-1)
        return net(obs.reshape(n * p, o), player).view(n, p, -1)

    def _joint_td(self, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """VDN / QMIX: mix the seats' chosen Q-values into Q_tot and regress on the team target."""
        q = self._joint_q(self.q, b["obs"])
        q_taken = mask_idle(q.gather(-1, b["actions"][..., None]).squeeze(-1), b["acting"])
        q_tot = self.mixer(q_taken, b["state"])
        with torch.no_grad():
            q_next_t = self._joint_q(self.q_target, b["next_obs"])
            q_next_o = self._joint_q(self.q, b["next_obs"]) if self.config.double_q else None
            next_v = mask_idle(
                bootstrap_values(q_next_t, b["next_legal"], q_next_o), b["next_acting"]
            )
            next_tot = self.mixer_target(next_v, b["next_state"])
            target = td_target(b["reward"], b["done"], self.config.gamma, next_tot)
        return q_tot, target

    # -- checkpoints -------------------------------------------------------------

    def policy_state_dict(self) -> dict[str, torch.Tensor]:
        """Only the tensors needed to act (the agent network)."""
        return {f"q.{k}": v.detach().clone() for k, v in self.q.state_dict().items()}

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Flat tensors: networks, targets, optimizer, counters, the sampling RNG (and the buffer if asked)."""
        out = self.policy_state_dict()
        out.update(_prefixed(self.q_target, "q_target."))
        if self.mixer is not None:
            out.update(_prefixed(self.mixer, "mixer."))
            out.update(_prefixed(self.mixer_target, "mixer_target."))
        out.update(optimizer_tensors(self.opt, "opt"))
        out["updates"] = torch.tensor(self.updates, dtype=torch.int64)
        out["env_steps"] = torch.tensor(self.env_steps, dtype=torch.int64)
        out["update_credit"] = torch.tensor(self.update_credit, dtype=torch.float64)
        out["rng.numpy"] = _rng_to_tensor(self.rng)
        if self.config.save_buffer:
            out.update(
                {
                    f"buffer.{k}": torch.from_numpy(np.ascontiguousarray(v))
                    for k, v in self.buffer.arrays().items()
                }
            )
        return out

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        """Load :meth:`state_dict` output, or only the :meth:`policy_state_dict` subset."""
        self.q.load_state_dict(_sub(tensors, "q."))
        if not any(k.startswith("q_target.") for k in tensors):
            self.q_target.load_state_dict(self.q.state_dict())
            return
        self.q_target.load_state_dict(_sub(tensors, "q_target."))
        if self.mixer is not None:
            self.mixer.load_state_dict(_sub(tensors, "mixer."))
            self.mixer_target.load_state_dict(_sub(tensors, "mixer_target."))
        load_optimizer_tensors(self.opt, tensors, "opt")
        self.updates = int(tensors["updates"])
        self.env_steps = int(tensors["env_steps"])
        self.update_credit = float(tensors["update_credit"])
        self.rng.bit_generator.state = json.loads(
            bytes(tensors["rng.numpy"].to(torch.uint8).cpu().numpy()).decode()
        )
        buf = {k: v.cpu().numpy() for k, v in _sub(tensors, "buffer.").items()}
        if buf:
            self.buffer.load_arrays(buf)


def _check_team(rollout: Rollout, name: str) -> None:
    live = rollout.acting[:-1].any(-1)  # [T, B]
    if not rollout.controlled[:-1][live].all():
        raise ValueError(
            f"{name}: the rollout has seats the learner does not control; "
            "VDN and QMIX play every seat of a cooperative game (use a self-play matchup)"
        )


def _prefixed(module: nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: v.detach().clone() for k, v in module.state_dict().items()}


def _sub(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _rng_to_tensor(rng: np.random.Generator) -> torch.Tensor:
    data = json.dumps(rng.bit_generator.state).encode()
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).clone()
