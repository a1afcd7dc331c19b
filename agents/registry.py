"""Algorithm names for the CLI and checkpoints (a plain lookup table).

Importing this module does not import torch: the config classes live in
:mod:`agents.configs`; the learner modules are imported on demand.
"""

from __future__ import annotations

import dataclasses
import importlib

from agents import configs
from agents.base import AlgorithmFitError, CheckpointError, HyperparameterError
from games.core import COOPERATIVE, GameInfo

# name -> (learner module, learner class name, config class)
ALGORITHMS: dict[str, tuple[str, str, type]] = {
    "iql": ("agents.iql", "IQL", configs.IQLConfig),
    "vdn": ("agents.vdn", "VDN", configs.VDNConfig),
    "qmix": ("agents.qmix", "QMIX", configs.QMIXConfig),
    "mappo": ("agents.mappo", "MAPPO", configs.MAPPOConfig),
    "ippo": ("agents.mappo", "MAPPO", configs.MAPPOConfig),
    "maddpg": ("agents.maddpg", "MADDPG", configs.MADDPGConfig),
    "mmd": ("agents.mmd", "MMD", configs.MMDConfig),
}

# What each algorithm can learn (checked by check_fits, without torch).
DISCRETE_ONLY = ("iql", "vdn", "qmix", "mappo", "ippo", "mmd")
COOPERATIVE_ONLY = ("vdn", "qmix")


def config_class(name: str) -> type:
    """The config dataclass of an algorithm name (no torch).

    Raises:
        CheckpointError: unknown algorithm.
    """
    key = name.lower()
    if key not in ALGORITHMS:
        raise CheckpointError(f"unknown algorithm '{name}': choose one of {', '.join(ALGORITHMS)}")
    return ALGORITHMS[key][2]


def learner_class(name: str):
    """``(LearnerClass, ConfigClass)`` for an algorithm name (imports the learner module: torch)."""
    cfg = config_class(name)
    mod, cls, _cfg = ALGORITHMS[name.lower()]
    return getattr(importlib.import_module(mod), cls), cfg


def check_fits(algorithm: str, info: GameInfo) -> None:
    """Refuse an algorithm that cannot learn the game ``info`` describes.

    VDN and QMIX factor a team value, so they need a cooperative game (one
    reward shared by every player); IQL, VDN, QMIX, MAPPO/IPPO and MMD pick
    among discrete actions; MADDPG takes either kind.

    Raises:
        AlgorithmFitError: one line naming the mismatch and algorithms that fit.
    """
    key = algorithm.lower()
    if key in DISCRETE_ONLY and info.continuous_actions:
        raise AlgorithmFitError(
            f"{key} does not fit '{info.name}': its actions are continuous and {key} "
            "picks among discrete actions; use maddpg"
        )
    if key in COOPERATIVE_ONLY and info.kind != COOPERATIVE:
        raise AlgorithmFitError(
            f"{key} does not fit '{info.name}': the game is {info.kind} and {key} learns "
            "a team value, which needs a cooperative game; use iql, mappo or ippo"
            + (" (or maddpg)" if info.continuous_actions else "")
        )


def check_config(algorithm: str, info: GameInfo, overrides: dict):
    """Build the algorithm's config from ``overrides`` and check it fits ``info`` in size.

    Everything :func:`make_learner` checks before allocating a weight, for
    config validation (leagues): the fit, the hyperparameters (their
    ``__post_init__``) and the parameter count. Imports the learner module (torch).

    Raises:
        AlgorithmFitError, HyperparameterError: one line each.
    """
    from agents.limits import check_parameters

    check_fits(algorithm, info)
    key = algorithm.lower()
    cfg_cls = config_class(key)
    overrides = dict(overrides)
    if key == "ippo":
        overrides.setdefault("central_critic", False)
    fields = [f.name for f in dataclasses.fields(cfg_cls)]
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise HyperparameterError(
            f"{key}: {unknown[0]!r} is not a hyperparameter of {key}; known: {', '.join(fields)}"
        )
    config = cfg_cls(**overrides)
    module = importlib.import_module(ALGORITHMS[key][0])
    check_parameters(key, info.name, module.parameter_count(info, config))
    return config


def make_learner(name: str, info, seed: int, device: str = "cpu", **overrides):
    """Build a learner by algorithm name with config overrides.

    Raises:
        CheckpointError: unknown algorithm.
        AlgorithmFitError: the algorithm cannot learn this game.
        HyperparameterError: an override out of range or of the wrong type.
    """
    cls, _cfg_cls = learner_class(name)
    config = check_config(name, info, overrides)
    return cls(info, config, seed=seed, device=device)
