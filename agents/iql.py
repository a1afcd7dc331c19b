"""IQL: independent Q-learning, one DQN per seat with shared parameters.

Tan 1993, "Multi-agent reinforcement learning: independent vs. cooperative
agents"; with deep Q-networks, Tampuu et al. 2017. Each seat treats the others
as part of the environment and learns its own Q-values from its own decision
transitions (turn-based games: decision to next decision, rewards summed in
between), with replay, a target network, double Q-learning and an epsilon
schedule; illegal actions are masked in acting, in the target max and in the
double-Q argmax. It works on any discrete game: zero-sum, cooperative or
general-sum, turn-based or simultaneous, any number of players. In self-play
the learner holds every seat and one network (with a player one-hot) plays
them all.

The config is :class:`agents.configs.IQLConfig` (torch-free); everything else
lives in :mod:`agents.value_decomposition` (IQL is the core with no mixer).
"""

from __future__ import annotations

from agents.configs import IQLConfig
from agents.value_decomposition import ValueDecomposition
from agents.value_decomposition import parameter_count as parameter_count  # noqa: PLC0414 - re-exported
from games.core import GameInfo

NAME = "iql"


class IQL(ValueDecomposition):
    """Independent (double) DQN for every seat the learner controls."""

    NAME = NAME

    def __init__(
        self, info: GameInfo, config: IQLConfig | None = None, seed: int = 0, device: str = "cpu"
    ):
        super().__init__(
            info, config if config is not None else IQLConfig(), seed, device, NAME, make_mixer=None
        )
