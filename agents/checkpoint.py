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
import stat
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

import games
from agents.base import AlgorithmFitError, CheckpointError, HyperparameterError
from agents.files import atomic_write, sha256_file  # noqa: F401 - re-exported
from agents.limits import MAX_WEIGHTS_BYTES
from games.core import GameInfo

FORMAT = 1
WEIGHTS = "weights.safetensors"
SPEC = "spec.json"
MAX_SPEC_BYTES = 16 << 20
"""A spec.json is a few kB; anything past 16 MiB is not one."""


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
    _check_regular_file(spec_file, MAX_SPEC_BYTES, "checkpoint spec")
    try:
        spec = json.loads(spec_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(
            f"{spec_file}: corrupt checkpoint spec ({e.__class__.__name__}); re-create the checkpoint"
        ) from None
    except RecursionError:
        raise CheckpointError(
            f"{spec_file}: checkpoint spec nested too deeply to read; re-create the checkpoint"
        ) from None
    if not isinstance(spec, dict):
        raise CheckpointError(
            f"{spec_file}: checkpoint spec is a JSON {type(spec).__name__}, not an object; re-create the checkpoint"
        )
    for key in ("format", "algorithm", "config", "game", "info"):
        if key not in spec:
            raise CheckpointError(
                f"{spec_file}: checkpoint spec lacks '{key}'; re-create the checkpoint"
            )
    for key, kind in (("algorithm", str), ("game", str), ("config", dict), ("info", dict)):
        if not isinstance(spec[key], kind):
            raise CheckpointError(
                f"{spec_file}: checkpoint spec '{key}' is {type(spec[key]).__name__}, not "
                f"{'a string' if kind is str else 'an object'}; re-create the checkpoint"
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
    if game_spec is not None and not games.same_spec(spec["game"], game_spec):
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
    except HyperparameterError as e:
        raise CheckpointError(f"{path}: checkpoint config: {e}; re-create the checkpoint") from None
    info = _info_from_spec(spec["info"], path)
    weights = path / WEIGHTS
    if not weights.exists():
        raise CheckpointError(f"{path}: missing {WEIGHTS}; the checkpoint is incomplete")
    _check_regular_file(weights, MAX_WEIGHTS_BYTES, "weights file")
    tensors = tensors_from_bytes(weights.read_bytes(), str(weights))
    try:
        learner = cls(info, config, seed=0, device=device)
    except (HyperparameterError, AlgorithmFitError) as e:
        raise CheckpointError(f"{path}: {e}") from None
    try:
        learner.load_state_dict(tensors)
    except (KeyError, RuntimeError, ValueError) as e:
        raise CheckpointError(
            f"{weights}: weights do not fit a {spec['algorithm']} learner for this game ({str(e).splitlines()[0]})"
        ) from None
    return learner


def _check_regular_file(path: Path, max_bytes: int, what: str) -> None:
    """A regular file (not a device, FIFO or folder) of at most ``max_bytes``, by stat."""
    st = os.stat(path)  # follows symlinks: a link to /dev/zero is a device
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(
            f"{path}: the {what} is not a regular file; point at a checkpoint written by 'arena train'"
        )
    if st.st_size > max_bytes:
        raise CheckpointError(
            f"{path}: the {what} holds {st.st_size:,} bytes, above the limit of {max_bytes:,} "
            "(agents.limits; docs/limits.md); pick another checkpoint"
        )


_INFO_INTS = ("num_players", "num_actions", "obs_size", "state_size")


def _info_from_spec(raw: dict, path: Path) -> GameInfo:
    """The spec's game info as a :class:`GameInfo`, with types and signs checked."""
    fields = {f.name for f in dataclasses.fields(GameInfo)}
    required = {f.name for f in dataclasses.fields(GameInfo) if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}  # fmt: skip
    missing = sorted(required - set(raw))
    unknown = sorted(set(raw) - fields)
    if missing or unknown:
        what = f"lacks '{missing[0]}'" if missing else f"has an unknown key '{unknown[0]}'"
        raise CheckpointError(f"{path}: checkpoint spec 'info' {what}; re-create the checkpoint")
    d = dict(raw)
    for k in _INFO_INTS:
        v, low = d.get(k, 0), 1 if k in ("num_players", "num_actions") else 0
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise CheckpointError(
                f"{path}: checkpoint spec info.{k}={v!r} is not an integer >= {low}; re-create the checkpoint"
            )
    for k in ("actions_per_player", "reward_range"):
        if k in d:
            if not isinstance(d[k], list):
                raise CheckpointError(
                    f"{path}: checkpoint spec info.{k} is not a list; re-create the checkpoint"
                )
            d[k] = tuple(d[k])
    try:
        return GameInfo(**d)
    except (TypeError, ValueError) as e:
        raise CheckpointError(
            f"{path}: checkpoint spec 'info' is not a game description ({_first(e)}); re-create the checkpoint"
        ) from None


def _first(e: BaseException) -> str:
    return " ".join(str(e).split()) or e.__class__.__name__
