"""Algorithm names for the CLI and checkpoints (a plain lookup table)."""

from __future__ import annotations

import importlib

from agents.base import CheckpointError

# name -> (module, learner class, config class)
ALGORITHMS: dict[str, tuple[str, str, str]] = {
    "iql": ("agents.iql", "IQL", "IQLConfig"),
    "vdn": ("agents.vdn", "VDN", "VDNConfig"),
    "qmix": ("agents.qmix", "QMIX", "QMIXConfig"),
    "mappo": ("agents.mappo", "MAPPO", "MAPPOConfig"),
    "ippo": ("agents.mappo", "MAPPO", "MAPPOConfig"),
    "maddpg": ("agents.maddpg", "MADDPG", "MADDPGConfig"),
}


def learner_class(name: str):
    """``(LearnerClass, ConfigClass)`` for an algorithm name."""
    key = name.lower()
    if key not in ALGORITHMS:
        raise CheckpointError(f"unknown algorithm '{name}': choose one of {', '.join(ALGORITHMS)}")
    mod, cls, cfg = ALGORITHMS[key]
    m = importlib.import_module(mod)
    return getattr(m, cls), getattr(m, cfg)


def make_learner(name: str, info, seed: int, device: str = "cpu", **overrides):
    """Build a learner by algorithm name with config overrides."""
    cls, cfg_cls = learner_class(name)
    if name.lower() == "ippo":
        overrides.setdefault("central_critic", False)
    return cls(info, cfg_cls(**overrides), seed=seed, device=device)
