"""Hyperparameters of every algorithm: frozen dataclasses, importable without torch.

One dataclass per algorithm (IQL, VDN and QMIX share :class:`QConfig`); each
field has a one-line doc and a default that runs, and ``__post_init__`` checks
ranges and types with :mod:`agents.limits` (one-line
:class:`agents.base.HyperparameterError`). The league config loader reads
their fields and types from here, and the algorithm modules import them, so
validating a league file never imports torch.
"""

from __future__ import annotations

import dataclasses

from agents.limits import (
    MAX_BATCH_SIZE,
    MAX_BUFFER_SIZE,
    MAX_HIDDEN_WIDTH,
    check_bool,
    check_choice,
    check_hidden,
    check_int,
    check_real,
)

__all__ = [
    "IQLConfig",
    "MADDPGConfig",
    "MAPPOConfig",
    "MMDConfig",
    "QConfig",
    "QMIXConfig",
    "VDNConfig",
]

LOSSES = ("mse", "huber")
"""TD losses of the value-decomposition learners."""
ACTIVATIONS = ("tanh", "relu")
"""Hidden activations of MAPPO's networks."""
CRITIC_INPUTS = ("state", "obs")
"""What MADDPG's critic sees besides the actions."""
MAGNETS = ("uniform", "average", "policy")
"""What MMD's policy is pulled toward (see :mod:`agents.mmd`)."""


# ---------------------------------------------------------------------------
# IQL, VDN, QMIX (agents.value_decomposition)


@dataclasses.dataclass(frozen=True)
class QConfig:
    """Hyperparameters every value-decomposition learner shares (defaults run anywhere small)."""

    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the shared agent Q-network."""
    lr: float = 5e-4
    """Adam learning rate (agent network and mixer together)."""
    gamma: float = 0.99
    """Discount per transition (a seat's decision to its next for IQL, a joint step for VDN/QMIX)."""
    batch_size: int = 128
    """Rows per gradient step."""
    buffer_size: int = 50_000
    """Replay capacity in rows (decisions for IQL, joint steps for VDN/QMIX)."""
    learning_starts: int = 256
    """Rows in the buffer before the first gradient step."""
    steps_per_update: float = 8.0
    """Learner env steps (summed over copies) per gradient step, whatever the rollout shape."""
    target_period: int = 100
    """Gradient steps between target-network updates."""
    target_tau: float = 1.0
    """Weight of the online network in a target update (1 copies it, as in DQN)."""
    double_q: bool = True
    """Pick the next action with the online network and value it with the target network."""
    eps_start: float = 1.0
    """Exploration epsilon at the start."""
    eps_end: float = 0.05
    """Exploration epsilon after the decay."""
    eps_decay_steps: int = 20_000
    """Learner env steps (summed over copies) of the linear epsilon decay."""
    loss: str = "mse"
    """TD loss: 'mse' or 'huber'."""
    max_grad_norm: float = 10.0
    """Gradient-norm clip."""
    save_buffer: bool = False
    """Put the replay buffer in state_dict() (checkpoints get large)."""

    def __post_init__(self):
        algo = _Q_NAMES.get(type(self).__name__, "q-learning")
        object.__setattr__(self, "hidden", check_hidden(algo, self.hidden))
        check_choice(algo, "loss", self.loss, LOSSES)
        check_int(algo, "batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        check_int(algo, "buffer_size", self.buffer_size, 1, MAX_BUFFER_SIZE)
        check_int(algo, "target_period", self.target_period, 1)
        check_int(algo, "learning_starts", self.learning_starts, 0)
        check_int(algo, "eps_decay_steps", self.eps_decay_steps, 0)
        for name in ("gamma", "eps_start", "eps_end"):
            check_real(algo, name, getattr(self, name), 0.0, 1.0)
        check_real(algo, "steps_per_update", self.steps_per_update, 0.0, low_open=True)
        check_real(algo, "target_tau", self.target_tau, 0.0, 1.0, low_open=True)
        check_real(algo, "lr", self.lr, 0.0, low_open=True)
        check_real(algo, "max_grad_norm", self.max_grad_norm, 0.0, low_open=True)
        for name in ("double_q", "save_buffer"):
            check_bool(algo, name, getattr(self, name))


_Q_NAMES = {"IQLConfig": "iql", "VDNConfig": "vdn", "QMIXConfig": "qmix"}


@dataclasses.dataclass(frozen=True)
class IQLConfig(QConfig):
    """IQL hyperparameters; defaults are the ones that learn tic_tac_toe by self-play (tests/test_iql.py)."""

    hidden: tuple[int, ...] = (128, 128)
    """Hidden layer sizes of the shared agent Q-network."""
    lr: float = 1e-3
    """Adam learning rate."""
    gamma: float = 0.99
    """Discount per decision of a seat."""
    batch_size: int = 256
    """Decision transitions per gradient step."""
    buffer_size: int = 50_000
    """Replay capacity in decision transitions."""
    learning_starts: int = 1_000
    """Transitions in the buffer before the first gradient step."""
    steps_per_update: float = 128.0
    """Learner env steps (summed over copies) per gradient step."""
    target_period: int = 100
    """Gradient steps between target-network copies."""
    eps_decay_steps: int = 50_000
    """Learner env steps (summed over copies) of the linear epsilon decay."""
    eps_end: float = 0.1
    """Exploration epsilon after the decay."""


@dataclasses.dataclass(frozen=True)
class VDNConfig(QConfig):
    """VDN hyperparameters (all shared with IQL and QMIX; see :class:`QConfig`)."""


@dataclasses.dataclass(frozen=True)
class QMIXConfig(QConfig):
    """QMIX hyperparameters: the shared ones (see :class:`QConfig`) plus the mixer's sizes."""

    mixer_embed: int = 32
    """Width of the mixing network's hidden layer (PyMARL's mixing_embed_dim)."""
    hypernet_embed: int = 64
    """Hidden width of the hypernetworks that output the mixing weights."""

    def __post_init__(self):
        super().__post_init__()
        for name in ("mixer_embed", "hypernet_embed"):
            check_int("qmix", name, getattr(self, name), 1, MAX_HIDDEN_WIDTH)


# ---------------------------------------------------------------------------
# MAPPO and IPPO (agents.mappo)


@dataclasses.dataclass(frozen=True)
class MAPPOConfig:
    """Hyperparameters; defaults follow CleanRL's ppo.py and MAPPO's small-task settings."""

    central_critic: bool = True
    """Critic on the global state (MAPPO); False: on the local observation (IPPO)."""
    share_params: bool = True
    """One actor and one critic for every seat, told apart by a player one-hot; False: one per seat."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the actor and the critic."""
    activation: str = "relu"
    """Hidden activation: 'tanh' or 'relu'."""
    lr_actor: float = 5e-4
    """Adam learning rate of the actor."""
    lr_critic: float = 5e-4
    """Adam learning rate of the critic."""
    adam_eps: float = 1e-5
    """Adam epsilon."""
    adam_beta1: float = 0.9
    """Adam momentum; 0 to 0.5 stops the cycling that momentum adds in zero-sum self-play (Gidel et al. 2019)."""
    gamma: float = 0.99
    """Discount per decision of a seat."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip: float = 0.2
    """PPO ratio clip epsilon."""
    value_clip: float = 0.2
    """Clip of the value change around the old prediction (normalized units); 0 turns it off."""
    ent_coef: float = 0.01
    """Entropy bonus weight (at the start when annealed)."""
    ent_coef_final: float = 0.0
    """Entropy bonus weight reached after ``ent_anneal_updates`` updates."""
    ent_anneal_updates: int = 0
    """Updates over which the entropy weight decays linearly to ``ent_coef_final``; 0 keeps it constant."""
    epochs: int = 4
    """Passes over each rollout."""
    minibatches: int = 4
    """Minibatches per pass."""
    max_grad_norm: float = 0.5
    """Gradient-norm clip of each network."""
    norm_adv: bool = True
    """Normalize advantages over the rollout (zero mean, unit std)."""
    value_norm: bool = True
    """Train the critic on running-normalized targets (MAPPO's ValueNorm)."""
    value_norm_beta: float = 0.99999
    """Moving-average weight of the value normalizer."""
    greedy_eval: bool = False
    """With explore=False act greedily; otherwise sample (a mixed strategy) either way."""

    def __post_init__(self):
        algo = "mappo" if self.central_critic is not False else "ippo"
        object.__setattr__(self, "hidden", check_hidden(algo, self.hidden))
        check_choice(algo, "activation", self.activation, ACTIVATIONS)
        for name in ("epochs", "minibatches"):
            check_int(algo, name, getattr(self, name), 1, 10_000)
        check_int(algo, "ent_anneal_updates", self.ent_anneal_updates, 0)
        for name in ("gamma", "gae_lambda", "value_norm_beta", "adam_beta1"):
            check_real(algo, name, getattr(self, name), 0.0, 1.0)
        for name in ("lr_actor", "lr_critic", "clip", "adam_eps", "max_grad_norm"):
            check_real(algo, name, getattr(self, name), 0.0, low_open=True)
        for name in ("value_clip", "ent_coef", "ent_coef_final"):
            check_real(algo, name, getattr(self, name), 0.0)
        for name in ("central_critic", "share_params", "norm_adv", "value_norm", "greedy_eval"):
            check_bool(algo, name, getattr(self, name))


# ---------------------------------------------------------------------------
# MMD (agents.mmd)


@dataclasses.dataclass(frozen=True)
class MMDConfig:
    """Hyperparameters of magnetic mirror descent in PPO form; one set of defaults for
    two-player zero-sum games (measured in docs/mmd.md, not tuned per game)."""

    magnet: str = "average"
    """What the policy is pulled toward: 'uniform' (over legal actions), 'average' (a Polyak
    average of the actor's own weights) or 'policy' (one given by set_magnet; uniform until then)."""
    magnet_ema: float = 0.05
    """Polyak rate of the 'average' magnet per update (1 copies the actor), at the start."""
    magnet_ema_final: float = 0.001
    """Polyak rate of the 'average' magnet after the step-size schedule."""
    alpha: float = 1.0
    """Magnet strength: weight of KL(pi || magnet) in the actor loss (at the start when decayed)."""
    alpha_final: float = 1.0
    """Magnet strength after the decay."""
    alpha_hold_steps: int = 0
    """Learner env steps at ``alpha`` before its linear decay starts."""
    alpha_decay_steps: int = 0
    """Learner env steps of the linear decay from ``alpha`` to ``alpha_final``; 0 keeps ``alpha``."""
    kl_coef: float = 1.0
    """Proximal weight 1/eta of KL(pi_old || pi) in the actor loss (at the start when scheduled)."""
    kl_coef_final: float = 1.0
    """Proximal weight after the step-size schedule (larger: smaller steps)."""
    lr_actor: float = 1e-3
    """Adam learning rate of the actor (at the start when scheduled)."""
    lr_actor_final: float = 2e-5
    """Adam learning rate of the actor after the step-size schedule."""
    step_hold_steps: int = 0
    """Learner env steps at ``kl_coef``, ``lr_actor`` and ``magnet_ema`` before the step-size
    schedule starts."""
    step_decay_steps: int = 1_000_000
    """Learner env steps of the linear change to ``kl_coef_final``, ``lr_actor_final`` and
    ``magnet_ema_final`` (1M: the quickstart's budget; constant after it); 0 keeps the start values."""
    clip: float = 0.0
    """PPO ratio clip epsilon on the surrogate; 0: the plain ratio surrogate (KL-proximal only)."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the actor and the critic."""
    activation: str = "relu"
    """Hidden activation: 'tanh' or 'relu'."""
    share_params: bool = True
    """One actor and one critic for every seat, told apart by a player one-hot; False: one per seat."""
    central_critic: bool = True
    """Critic on the global state; False: on the local observation."""
    lr_critic: float = 1e-3
    """Adam learning rate of the critic."""
    adam_eps: float = 1e-5
    """Adam epsilon."""
    adam_beta1: float = 0.0
    """Adam momentum; small values stop the cycling momentum adds in zero-sum self-play."""
    gamma: float = 1.0
    """Discount per decision of a seat (poker episodes are short)."""
    gae_lambda: float = 1.0
    """GAE lambda (1: Monte Carlo returns minus the critic's baseline)."""
    epochs: int = 4
    """Passes over each batch of decisions."""
    minibatches: int = 1
    """Minibatches per pass."""
    min_decisions: int = 0
    """Decisions gathered over rollouts (the policy unchanged meanwhile) before an update;
    0 updates on every rollout."""
    norm_adv: bool = True
    """Normalize advantages over the batch (zero mean, unit std); alpha is then in those units."""
    value_norm: bool = True
    """Train the critic on running-normalized targets (MAPPO's ValueNorm)."""
    value_norm_beta: float = 0.99999
    """Moving-average weight of the value normalizer."""
    value_clip: float = 0.0
    """Clip of the value change around the old prediction (normalized units); 0 turns it off."""
    max_grad_norm: float = 0.5
    """Gradient-norm clip of each network."""

    def __post_init__(self):
        algo = "mmd"
        object.__setattr__(self, "hidden", check_hidden(algo, self.hidden))
        check_choice(algo, "magnet", self.magnet, MAGNETS)
        check_choice(algo, "activation", self.activation, ACTIVATIONS)
        for name in ("epochs", "minibatches"):
            check_int(algo, name, getattr(self, name), 1, 10_000)
        check_int(algo, "min_decisions", self.min_decisions, 0, MAX_BATCH_SIZE)
        for name in (
            "alpha_hold_steps",
            "alpha_decay_steps",
            "step_hold_steps",
            "step_decay_steps",
        ):
            check_int(algo, name, getattr(self, name), 0)
        for name in ("gamma", "gae_lambda", "value_norm_beta", "adam_beta1"):
            check_real(algo, name, getattr(self, name), 0.0, 1.0)
        for name in ("magnet_ema", "magnet_ema_final"):
            check_real(algo, name, getattr(self, name), 0.0, 1.0, low_open=True)
        for name in ("lr_actor", "lr_actor_final", "lr_critic", "adam_eps", "max_grad_norm"):
            check_real(algo, name, getattr(self, name), 0.0, low_open=True)
        for name in ("alpha", "alpha_final", "kl_coef", "kl_coef_final", "clip", "value_clip"):
            check_real(algo, name, getattr(self, name), 0.0)
        for name in ("share_params", "central_critic", "norm_adv", "value_norm"):
            check_bool(algo, name, getattr(self, name))


# ---------------------------------------------------------------------------
# MADDPG (agents.maddpg)


@dataclasses.dataclass(frozen=True)
class MADDPGConfig:
    """Hyperparameters; gamma, tau, grad_clip and action_reg follow Lowe et al.'s code."""

    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the actor and the critic (ReLU)."""
    lr_actor: float = 3e-4
    """Adam learning rate of the actor; below the critic's (as DDPG's 1e-4 vs 1e-3) so the
    critic ranks actions before the actor commits (equal rates sent stag_hunt's actor after
    an unfitted critic)."""
    lr_critic: float = 1e-3
    """Adam learning rate of the critic."""
    gamma: float = 0.95
    """Discount per env step."""
    tau: float = 0.01
    """Polyak rate of the target networks (1 copies)."""
    batch_size: int = 256
    """Joint steps per gradient update."""
    buffer_size: int = 100_000
    """Replay capacity in joint steps (oldest overwritten first)."""
    warmup: int = 512
    """Joint steps in the buffer before the first update."""
    replay_ratio: float = 4.0
    """Joint steps sampled per joint step stored: learn() runs ceil(ratio * new / batch_size) updates."""
    gumbel_tau: float = 1.0
    """Temperature of the Gumbel-softmax relaxation (discrete actions)."""
    action_reg: float = 1e-3
    """Weight of the mean squared actor output (logits or pre-tanh) in the actor loss."""
    noise_std: float = 0.1
    """Std of the Gaussian exploration noise, in units of half the action range (continuous)."""
    critic_input: str = "state"
    """What the critic sees besides the actions: 'state' (global state) or 'obs' (all observations)."""
    grad_clip: float = 0.5
    """Gradient-norm clip of each network."""
    greedy_eval: bool = False
    """Discrete: with explore=False take the most likely legal action; otherwise sample either way."""
    prosocial: float = 0.0
    """Weight of the players' mean reward in each seat's learning reward (0: selfish MADDPG)."""

    def __post_init__(self):
        object.__setattr__(self, "hidden", check_hidden("maddpg", self.hidden))
        check_choice("maddpg", "critic_input", self.critic_input, CRITIC_INPUTS)
        check_int("maddpg", "batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        check_int("maddpg", "buffer_size", self.buffer_size, 1, MAX_BUFFER_SIZE)
        check_int("maddpg", "warmup", self.warmup, 0)
        for name in ("gamma", "tau", "prosocial"):
            check_real("maddpg", name, getattr(self, name), 0.0, 1.0)
        for name in ("lr_actor", "lr_critic", "gumbel_tau", "grad_clip", "replay_ratio"):
            check_real("maddpg", name, getattr(self, name), 0.0, low_open=True)
        for name in ("action_reg", "noise_std"):
            check_real("maddpg", name, getattr(self, name), 0.0)
        check_bool("maddpg", "greedy_eval", self.greedy_eval)
