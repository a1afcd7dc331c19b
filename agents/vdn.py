"""VDN: value-decomposition networks, ``Q_tot = sum_i Q_i(o_i, a_i)``.

Sunehag et al. 2018, "Value-Decomposition Networks For Cooperative
Multi-Agent Learning Based On Team Reward" (AAMAS). The seats' Q-values are
summed into a team value trained on the team reward of joint steps; each seat
then acts greedily on its own ``Q_i``, which maximizes the sum. An additive
``Q_tot`` cannot represent payoffs where one seat's best action depends on the
other's (the two-step game's stage 2B, the climbing game), which is where VDN
settles on a worse joint action than QMIX (Rashid et al. 2018, Sec. 6.1).

Cooperative games only, the learner holding every seat. The agent network,
replay, targets and epsilon live in :mod:`agents.value_decomposition`; this
file holds the mixer (the config is :class:`agents.configs.VDNConfig`).
"""

from __future__ import annotations

import torch
from torch import nn

from agents.configs import VDNConfig
from agents.value_decomposition import ValueDecomposition
from agents.value_decomposition import parameter_count as parameter_count  # noqa: PLC0414 - re-exported
from games.core import GameInfo

NAME = "vdn"


class VDNMixer(nn.Module):
    """``Q_tot = sum_i Q_i``: ``forward(q [N, P], state [N, S]) -> [N]`` (the state is unused)."""

    def forward(self, q: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return q.sum(-1)


class VDN(ValueDecomposition):
    """VDN for cooperative games: shared agent Q-network, summed team value."""

    NAME = NAME

    def __init__(
        self, info: GameInfo, config: VDNConfig | None = None, seed: int = 0, device: str = "cpu"
    ):
        super().__init__(
            info,
            config if config is not None else VDNConfig(),
            seed,
            device,
            NAME,
            make_mixer=VDNMixer,
        )
