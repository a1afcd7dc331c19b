"""QMIX: monotonic value factorisation through hypernetworks on the global state.

Rashid et al. 2018, "QMIX: Monotonic Value Function Factorisation for Deep
Multi-Agent Reinforcement Learning" (ICML), Sec. 4 and Fig. 2. The mixer is a
two-layer network from the seats' chosen Q-values to ``Q_tot`` whose weights
are produced by hypernetworks of the global state ``s``; taking their
absolute value keeps ``dQ_tot / dQ_i >= 0``, so every seat's greedy action
is also the greedy joint action. Biases are unconstrained, and the final bias
is a small state-value network ``V(s)``. Because the weights depend on the
state, QMIX can represent the two-step game's stage values (it reaches 8
where VDN settles on 7), but a monotonic mixer still cannot represent
payoffs like the nonmonotonic matrix (Son et al. 2019; Rashid et al. 2020).

Cooperative games only, the learner holding every seat; in turn-based ones a
seat that does not act enters the mixer with Q exactly 0 (see
:mod:`agents.value_decomposition`). This file: mixer and learner
(the config is :class:`agents.configs.QMIXConfig`, torch-free).
"""

from __future__ import annotations

import torch
from torch import nn

from agents.configs import QMIXConfig
from agents.value_decomposition import ValueDecomposition
from agents.value_decomposition import parameter_count as agent_parameter_count
from games.core import GameInfo

NAME = "qmix"


def mixer_parameter_count(info: GameInfo, config: QMIXConfig) -> int:
    """Parameters of :class:`QMixer` (hyper_w1, hyper_b1, hyper_w2, hyper_v), counted before building."""
    p, s, e, h = info.num_players, info.state_size, config.mixer_embed, config.hypernet_embed
    return (
        (s + 1) * h
        + (h + 1) * p * e
        + (s + 1) * e
        + (s + 1) * h
        + (h + 1) * e
        + (s + 1) * e
        + e
        + 1
    )


def parameter_count(info: GameInfo, config: QMIXConfig) -> int:
    """Parameters of the agent network and the mixer."""
    return agent_parameter_count(info, config) + mixer_parameter_count(info, config)


def monotonic_mix(
    q: torch.Tensor, w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor, v: torch.Tensor
) -> torch.Tensor:
    """``Q_tot = elu(q |W1| + b1) |W2| + V`` (Rashid et al. 2018, Fig. 2c).

    Shapes: ``q [N, P]``, ``w1 [N, P, E]``, ``b1 [N, E]``, ``w2 [N, E]``, ``v [N]``;
    returns ``[N]``. Weights enter as absolute values: monotonic in every ``q_i``.
    """
    hidden = nn.functional.elu(torch.einsum("np,npe->ne", q, w1.abs()) + b1)
    return (hidden * w2.abs()).sum(-1) + v


class QMixer(nn.Module):
    """Hypernetworks from the global state to the weights of :func:`monotonic_mix`.

    ``forward(q [N, P], state [N, S]) -> q_tot [N]``.
    """

    def __init__(self, num_agents: int, state_size: int, embed: int, hyper_embed: int):
        super().__init__()
        self.num_agents, self.embed = num_agents, embed
        self.hyper_w1 = nn.Sequential(
            nn.Linear(state_size, hyper_embed),
            nn.ReLU(),
            nn.Linear(hyper_embed, num_agents * embed),
        )
        self.hyper_b1 = nn.Linear(state_size, embed)
        self.hyper_w2 = nn.Sequential(
            nn.Linear(state_size, hyper_embed), nn.ReLU(), nn.Linear(hyper_embed, embed)
        )
        self.hyper_v = nn.Sequential(nn.Linear(state_size, embed), nn.ReLU(), nn.Linear(embed, 1))

    def forward(self, q: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        n = q.shape[0]
        w1 = self.hyper_w1(state).view(n, self.num_agents, self.embed)
        return monotonic_mix(
            q, w1, self.hyper_b1(state), self.hyper_w2(state), self.hyper_v(state).squeeze(-1)
        )


class QMIX(ValueDecomposition):
    """QMIX for cooperative games: shared agent Q-network, monotonic state-conditioned mixer."""

    NAME = NAME

    def __init__(
        self, info: GameInfo, config: QMIXConfig | None = None, seed: int = 0, device: str = "cpu"
    ):
        config = config if config is not None else QMIXConfig()

        def make_mixer() -> QMixer:
            return QMixer(
                info.num_players, info.state_size, config.mixer_embed, config.hypernet_embed
            )

        super().__init__(
            info,
            config,
            seed,
            device,
            NAME,
            make_mixer=make_mixer,
            mixer_parameters=mixer_parameter_count(info, config),
        )
