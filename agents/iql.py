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

Everything but the config lives in :mod:`agents.value_decomposition` (IQL is
the core with no mixer).
"""

from __future__ import annotations

import dataclasses

from agents.value_decomposition import QConfig, ValueDecomposition
from agents.value_decomposition import parameter_count as parameter_count  # noqa: PLC0414 - re-exported
from games.core import GameInfo

NAME = "iql"


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


class IQL(ValueDecomposition):
    """Independent (double) DQN for every seat the learner controls."""

    NAME = NAME

    def __init__(
        self, info: GameInfo, config: IQLConfig | None = None, seed: int = 0, device: str = "cpu"
    ):
        super().__init__(
            info, config if config is not None else IQLConfig(), seed, device, NAME, make_mixer=None
        )
