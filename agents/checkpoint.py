"""Checkpoints: weights in safetensors, spec in JSON. Loading never unpickles.

A checkpoint is a directory holding ``weights.safetensors`` (flat tensors:
network weights, optimizer moments, counters, RNG states) and ``spec.json``::

    {"format": 1, "algorithm": "iql", "config": {...}, "game": "tic_tac_toe",
     "info": {...GameInfo...}, "extra": {...}}

Files are written atomically (temporary file, fsync, rename), so a crash
leaves either the old checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from agents.base import CheckpointError
from agents.files import atomic_write, sha256_file  # noqa: F401 - re-exported
from games.core import GameInfo

FORMAT = 1
WEIGHTS = "weights.safetensors"
SPEC = "spec.json"


def tensors_to_bytes(tensors: dict[str, torch.Tensor]) -> bytes:
    flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    return st_save(flat)


def tensors_from_bytes(data: bytes, where: str) -> dict[str, torch.Tensor]:
    try:
        return st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise CheckpointError(
            f"{where}: not a readable safetensors file ({e}); re-save it or pick another checkpoint"
        ) from None


def optimizer_tensors(opt: torch.optim.Optimizer, prefix: str) -> dict[str, torch.Tensor]:
    """Flatten an optimizer's state (moments, step counts) to named tensors."""
    out = {}
    for idx, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            out[f"{prefix}.{idx}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
    return out


def load_optimizer_tensors(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], prefix: str
) -> None:
    """Inverse of :func:`optimizer_tensors` for an optimizer built the same way."""
    sd = opt.state_dict()
    state: dict[int, dict[str, Any]] = {}
    for name, v in tensors.items():
        if not name.startswith(prefix + "."):
            continue
        idx, key = name[len(prefix) + 1 :].split(".", 1)
        state.setdefault(int(idx), {})[key] = v
    sd["state"] = state
    opt.load_state_dict(sd)


def save_checkpoint(
    path: str | os.PathLike, learner, game_spec: str, extra: dict | None = None
) -> Path:
    """Save ``learner`` (weights, optimizer, counters) under directory ``path``."""
    path = Path(path)
    spec = {
        "format": FORMAT,
        "algorithm": learner.NAME,
        "config": dataclasses.asdict(learner.config),
        "game": game_spec,
        "info": dataclasses.asdict(learner.info),
        "extra": extra or {},
    }
    atomic_write(path / WEIGHTS, tensors_to_bytes(learner.state_dict()))
    atomic_write(path / SPEC, json.dumps(spec, indent=2, sort_keys=True).encode())
    return path


def read_spec(path: str | os.PathLike) -> dict:
    """Read and validate ``spec.json`` of checkpoint directory ``path``."""
    path = Path(path)
    spec_file = path / SPEC if path.is_dir() else path
    if not spec_file.exists():
        raise CheckpointError(
            f"{path}: no checkpoint here (missing {SPEC}); pass a directory written by 'arena train'"
        )
    try:
        spec = json.loads(spec_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(
            f"{spec_file}: corrupt checkpoint spec ({e.__class__.__name__}); re-create the checkpoint"
        ) from None
    for key in ("format", "algorithm", "config", "game", "info"):
        if key not in spec:
            raise CheckpointError(
                f"{spec_file}: checkpoint spec lacks '{key}'; re-create the checkpoint"
            )
    if spec["format"] != FORMAT:
        raise CheckpointError(
            f"{spec_file}: checkpoint format {spec['format']} is not supported (this arena reads {FORMAT})"
        )
    return spec


def load_checkpoint(path: str | os.PathLike, game_spec: str | None = None, device: str = "cpu"):
    """Rebuild the learner saved under ``path``.

    Args:
        game_spec: when given, the checkpoint must have been trained on it.

    Raises:
        CheckpointError: missing, corrupt, truncated or mismatched files.
    """
    from agents.registry import learner_class

    path = Path(path)
    spec = read_spec(path)
    if game_spec is not None and spec["game"] != game_spec:
        raise CheckpointError(
            f"{path}: checkpoint was trained on '{spec['game']}', not '{game_spec}'; pass --game {spec['game']} or another checkpoint"
        )
    cls, config_cls = learner_class(spec["algorithm"])
    try:
        config = config_cls(**spec["config"])
    except TypeError as e:
        raise CheckpointError(
            f"{path}: checkpoint config does not fit {spec['algorithm']} ({e})"
        ) from None
    info_d = dict(spec["info"])
    for k in ("actions_per_player", "reward_range"):
        info_d[k] = tuple(info_d[k])
    info = GameInfo(**info_d)
    weights = path / WEIGHTS
    if not weights.exists():
        raise CheckpointError(f"{path}: missing {WEIGHTS}; the checkpoint is incomplete")
    tensors = tensors_from_bytes(weights.read_bytes(), str(weights))
    learner = cls(info, config, seed=0, device=device)
    try:
        learner.load_state_dict(tensors)
    except (KeyError, RuntimeError, ValueError) as e:
        raise CheckpointError(
            f"{weights}: weights do not fit a {spec['algorithm']} learner for this game ({str(e).splitlines()[0]})"
        ) from None
    return learner
