"""League configuration: frozen dataclasses filled from a TOML file.

``load_config(path)`` reads and validates everything up front (sections, keys,
types, ranges, enum values, the game spec, algorithm names and their
hyperparameter names) and raises :class:`ConfigError` with one line that names
the file, the key path and the fix, e.g.::

    league.toml: learner[0].matchmaking: 'pfs' is not one of uniform, latest,
    self_play, pfsp, nash; did you mean pfsp?

The format is documented in ``docs/league_config.md``. ``config_to_dict`` and
``config_from_dict`` round-trip a config through plain JSON-able data (the
store keeps both the TOML text and this form).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
import stat
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agents.base import DeviceError, check_device
from agents.registry import ALGORITHMS
from games.core import ArenaError
from games.limits import MAX_BATCH
from leagues.matchmaking import NASH_PAYOFFS, PFSP_WEIGHTINGS, RULES
from leagues.pool import EVICTIONS, MAIN, MAIN_EXPLOITER, ROLES

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser as a package
    import tomli as tomllib


class ConfigError(ArenaError):
    """A league config that cannot be used; the message is one line naming the key and the fix."""


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """The ``[league]`` table: what is played and for how long."""

    name: str = "league"
    """Name of the league (reports, default store file name)."""
    game: str = "matrix:rock_paper_scissors"
    """Game spec for games.load: an OpenSpiel name, 'matrix:NAME', a .toml path or 'pettingzoo:...'."""
    seed: int = 0
    """Master seed; every learner, matchmaker and evaluation draws from streams derived from it."""
    steps: int = 100_000
    """Env steps (summed over copies) each learner trains for."""
    batch: int = 64
    """Env copies stepped together in a rollout."""
    rollout_len: int = 16
    """Steps per rollout (one learner update per rollout)."""
    round_steps: int = 4096
    """Env steps per round, the unit of commit: a killed run loses at most the round in flight."""
    device: str = "cpu"
    """Torch device of the learners: 'cpu', 'cuda', 'cuda:N' or 'mps' (a learner's own ``device`` wins)."""
    actor_device: str = "cpu"
    """Torch device of the frozen policies: a round's opponents and the evaluation matches."""


@dataclasses.dataclass(frozen=True)
class LearnerConfig:
    """One ``[[learner]]`` table: a live learner of the league."""

    name: str = "main"
    """Unique name (no '@': snapshots are named '<learner>@<step>')."""
    algorithm: str = "mappo"
    """Algorithm, one of agents.registry.ALGORITHMS."""
    role: str = MAIN
    """AlphaStar role (Vinyals et al. 2019): main, main_exploiter or league_exploiter."""
    matchmaking: str = "self_play"
    """How opponents are drawn: uniform, latest, self_play, pfsp or nash."""
    reset_every: int = 0
    """Exploiters only: reset the weights every this many learner steps (0: never)."""
    reset_to: str = "initial"
    """What an exploiter resets to: 'initial' (fresh weights) or the name of a main learner."""
    device: str = ""
    """This learner's torch device (its updates, and its own forward passes in rollouts); empty: league.device."""
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """Hyperparameters of the algorithm's config dataclass ([learner.config]); the rest keep their defaults."""


@dataclasses.dataclass(frozen=True)
class SnapshotConfig:
    """The ``[snapshots]`` table: when learners are frozen into the pool."""

    every_steps: int = 10_000
    """Freeze each learner every this many of its env steps (0: only by win rate)."""
    win_rate_threshold: float | None = None
    """Also freeze as soon as the learner's win rate against its opponents reaches this (absent: off)."""
    capacity: int = 50
    """Most active snapshots in the pool (learners and references do not count)."""
    eviction: str = "oldest"
    """Which snapshot leaves a full pool: 'oldest' or 'lowest_rating'."""
    keep_first: bool = True
    """Never evict a learner's first snapshot (its initial weights)."""


@dataclasses.dataclass(frozen=True)
class MatchmakingConfig:
    """The ``[matchmaking]`` table: parameters of the rules."""

    past_prob: float = 0.2
    """self_play: probability of a past snapshot instead of the learner itself (80/20)."""
    pfsp_weighting: str = "hard"
    """pfsp: 'hard' f(x) = (1 - x)^p or 'var' f(x) = x (1 - x), x the learner's win rate."""
    pfsp_p: float = 2.0
    """pfsp: the exponent p of the hard weighting."""
    payoff_decay: float = 0.99
    """Each new result of a pair first multiplies its earlier counts by this (1: plain counts)."""
    nash_payoffs: str = "sampled"
    """nash: 'sampled' (mean returns of the matches played) or 'exact' (expected returns computed exactly where the game is small enough)."""


@dataclasses.dataclass(frozen=True)
class RatingsConfig:
    """The ``[ratings]`` table."""

    elo_k: float = 16.0
    """K-factor of online Elo (points moved by a fully unexpected result)."""
    initial: float = 1200.0
    """Rating of a new member (Elo, mElo) and the mean of batch Bradley-Terry ratings."""
    bt_prior: float = 0.1
    """Bradley-Terry pseudo-wins per ordered pair, so unbeaten members get finite ratings."""
    melo_k: int = 1
    """mElo2k: number of 2-d cyclic components k."""
    melo_lr_rating: float = 16.0
    """mElo2k online learning rate of the ratings (Elo points)."""
    melo_lr_cycle: float = 0.1
    """mElo2k online learning rate of the cyclic vectors."""


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """The ``[evaluation]`` table: round-robin matches among active members."""

    games_per_pair: int = 64
    """Games per pair of members in each evaluation round (seats rotate)."""
    every_steps: int = 20_000
    """Run an evaluation round every this many learner steps (0: never)."""
    method: str = "auto"
    """NashConv of each learner and of the meta-Nash mixture: 'exact' (up to ``max_states``;
    beyond, none and the reason is stored), 'exploiter' (always the exploiter lower bound),
    'auto' (exact where it fits, else the exploiter lower bound) or 'off'."""
    max_states: int = 200_000
    """Decision nodes an exact NashConv (and an exact payoff table) may walk."""
    exploiter_seconds: float = 20.0
    """Training time of each exploiter lower bound (per learner and for the mixture)."""


@dataclasses.dataclass(frozen=True)
class ReferenceConfig:
    """One ``[[reference]]`` table: a fixed opponent."""

    name: str = "random"
    """Unique name."""
    policy: str = "random"
    """'random' (uniform over legal actions), 'cfr_plus(iterations=N)' / 'cfr(iterations=N)'
    (OpenSpiel's CFR+ / CFR average policy, solved when the league starts; games.cfr) or a
    checkpoint directory (relative to the TOML file)."""


@dataclasses.dataclass(frozen=True)
class LeagueConfig:
    """A whole league: one TOML file."""

    league: RunConfig = dataclasses.field(default_factory=RunConfig)
    """[league]."""
    learners: tuple[LearnerConfig, ...] = (LearnerConfig(),)
    """[[learner]] tables, at least one."""
    snapshots: SnapshotConfig = dataclasses.field(default_factory=SnapshotConfig)
    """[snapshots]."""
    matchmaking: MatchmakingConfig = dataclasses.field(default_factory=MatchmakingConfig)
    """[matchmaking]."""
    ratings: RatingsConfig = dataclasses.field(default_factory=RatingsConfig)
    """[ratings]."""
    evaluation: EvaluationConfig = dataclasses.field(default_factory=EvaluationConfig)
    """[evaluation]."""
    references: tuple[ReferenceConfig, ...] = ()
    """[[reference]] tables."""

    def learner(self, name: str) -> LearnerConfig:
        for lc in self.learners:
            if lc.name == name:
                return lc
        raise KeyError(f"no learner named '{name}'")


# TOML name -> (LeagueConfig field, section class, is an array of tables)
SECTIONS: dict[str, tuple[str, type, bool]] = {
    "league": ("league", RunConfig, False),
    "learner": ("learners", LearnerConfig, True),
    "snapshots": ("snapshots", SnapshotConfig, False),
    "matchmaking": ("matchmaking", MatchmakingConfig, False),
    "ratings": ("ratings", RatingsConfig, False),
    "evaluation": ("evaluation", EvaluationConfig, False),
    "reference": ("references", ReferenceConfig, True),
}

GAP_METHODS = ("auto", "exact", "exploiter", "off")
"""``evaluation.method`` values."""

# (section, key) -> allowed values
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("learner", "algorithm"): tuple(ALGORITHMS),
    ("learner", "role"): ROLES,
    ("learner", "matchmaking"): RULES,
    ("snapshots", "eviction"): EVICTIONS,
    ("matchmaking", "pfsp_weighting"): PFSP_WEIGHTINGS,
    ("matchmaking", "nash_payoffs"): NASH_PAYOFFS,
    ("evaluation", "method"): GAP_METHODS,
}

# Upper bounds (docs/league_config.md, "Limits"): generous for real leagues,
# they stop a typo like games_per_pair = 10**12 before it allocates or hangs.
MAX_SEED = 2**63 - 1
"""Seeds are stored as SQLite integers (signed 64-bit)."""
MAX_STEPS = 10**10
"""Env steps of a learner (``steps``, ``round_steps``, ``every_steps``, ``reset_every``)."""
MAX_ROLLOUT_LEN = 100_000
"""Steps per rollout; with ``batch`` also bounded by a memory estimate (agents.limits)."""
MAX_GAMES_PER_PAIR = 1_000_000
"""Games per pair of members in an evaluation round."""
MAX_STATES = 50_000_000
"""Decision nodes of an exact evaluation (about 40 s per 300k on 2 cores)."""
MAX_EXPLOITER_SECONDS = 86_400.0
"""Training time of one exploiter lower bound."""
MAX_CAPACITY = 10_000
"""Active snapshots in the pool (the payoff table is capacity x capacity)."""
MAX_MELO_K = 64
"""Cyclic components of mElo2k."""
MAX_NAME_LENGTH = 200
"""Characters of a league, learner or reference name (they name files)."""
MAX_CONFIG_BYTES = 16 << 20
"""Size of a league TOML file."""

# (section, key) -> (low, high, low inclusive, high inclusive); None: unbounded.
# Every float key is also refused when it is NaN or infinite.
_RANGES: dict[tuple[str, str], tuple[float | None, float | None, bool, bool]] = {
    ("league", "seed"): (0, MAX_SEED, True, True),
    ("league", "steps"): (1, MAX_STEPS, True, True),
    ("league", "batch"): (1, MAX_BATCH, True, True),
    ("league", "rollout_len"): (1, MAX_ROLLOUT_LEN, True, True),
    ("league", "round_steps"): (1, MAX_STEPS, True, True),
    ("learner", "reset_every"): (0, MAX_STEPS, True, True),
    ("snapshots", "every_steps"): (0, MAX_STEPS, True, True),
    ("snapshots", "win_rate_threshold"): (0, 1, False, True),
    ("snapshots", "capacity"): (1, MAX_CAPACITY, True, True),
    ("matchmaking", "past_prob"): (0, 1, True, True),
    ("matchmaking", "pfsp_p"): (0, None, False, True),
    ("matchmaking", "payoff_decay"): (0, 1, False, True),
    ("ratings", "elo_k"): (0, None, False, True),
    ("ratings", "bt_prior"): (0, None, False, True),
    ("ratings", "melo_k"): (1, MAX_MELO_K, True, True),
    ("ratings", "melo_lr_rating"): (0, None, False, True),
    ("ratings", "melo_lr_cycle"): (0, None, False, True),
    ("evaluation", "games_per_pair"): (1, MAX_GAMES_PER_PAIR, True, True),
    ("evaluation", "every_steps"): (0, MAX_STEPS, True, True),
    ("evaluation", "max_states"): (1, MAX_STATES, True, True),
    ("evaluation", "exploiter_seconds"): (0, MAX_EXPLOITER_SECONDS, False, True),
}


# ---------------------------------------------------------------------------
# Loading


def load_config(path: str | Path) -> LeagueConfig:
    """Read and validate a league TOML file.

    Raises:
        ConfigError: missing file, malformed TOML (file, line and column), or any
            invalid entry (the key path and the fix).
    """
    path = Path(path)
    where = str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    except (OSError, ValueError) as e:
        raise ConfigError(
            f"{where}: cannot read the file ({e.__class__.__name__}: {e}); check the path"
        ) from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{where}: not a regular file; pass the path of a league TOML file")
    if st is not None and st.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{where}: {st.st_size:,} bytes, above the limit of {MAX_CONFIG_BYTES:,} for a league TOML file; check the path"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{where}: no such file; pass the path of a league TOML file (see docs/league_config.md)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"{where}: cannot read the file ({e.__class__.__name__}: {e}); check the path and its permissions"
        ) from None
    return config_from_dict(parse_toml(text, where), where, base_dir=path.parent)


def parse_toml(text: str, where: str = "config") -> dict:
    """``tomllib.loads`` with a one-line error naming the file, line and column."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigError(
            f"{where}: malformed TOML: tables or arrays nested too deeply to read; flatten the file"
        ) from None
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
        if m:
            line, col = int(m.group(1)), int(m.group(2))
            msg = msg[: m.start()]
        else:
            m = re.search(r"\s*\(at end of document\)$", msg)
            lines = text.splitlines() or [""]
            line, col = len(lines), len(lines[-1]) + 1
            if m:
                msg = msg[: m.start()]
        raise ConfigError(
            f"{where}:{line}:{col}: malformed TOML: {msg}; fix the syntax at line {line}, column {col}"
        ) from None


def config_from_dict(
    d: Mapping[str, Any],
    where: str = "config",
    *,
    base_dir: str | Path | None = None,
    check_game: bool = True,
) -> LeagueConfig:
    """Build and validate a :class:`LeagueConfig` from TOML-shaped data.

    Args:
        d: ``{"league": {...}, "learner": [{...}], ...}`` as parsed from TOML
            (or produced by :func:`config_to_dict`).
        where: the file name errors start with.
        base_dir: relative game files and reference checkpoints are resolved
            against it (the TOML file's directory); default: the working directory.
        check_game: load the game with ``games.load`` to validate its spec.
    """
    if not isinstance(d, Mapping):
        raise ConfigError(f"{where}: expected a table of sections, got {type(d).__name__}")
    base = Path(base_dir) if base_dir is not None else Path(".")
    for key in d:
        if key not in SECTIONS:
            raise ConfigError(f"{where}: {key}: unknown section; {_hint(key, SECTIONS)}")
    parts: dict[str, Any] = {}
    for toml_name, (field, cls, is_array) in SECTIONS.items():
        if toml_name not in d:
            continue
        raw = d[toml_name]
        if is_array:
            if not isinstance(raw, list) or not all(isinstance(t, Mapping) for t in raw):
                raise ConfigError(
                    f"{where}: {toml_name}: expected an array of tables; write [[{toml_name}]] above each entry"
                )
            parts[field] = tuple(
                _section(t, cls, toml_name, f"{toml_name}[{k}]", where) for k, t in enumerate(raw)
            )
        else:
            if not isinstance(raw, Mapping):
                raise ConfigError(
                    f"{where}: {toml_name}: expected a table; write [{toml_name}] above its keys"
                )
            parts[field] = _section(raw, cls, toml_name, toml_name, where)
    cfg = LeagueConfig(**parts)
    cfg = _check_league(cfg, where, base, check_game)
    return cfg


def config_to_dict(cfg: LeagueConfig) -> dict:
    """TOML-shaped, JSON-able data; ``config_from_dict(config_to_dict(c)) == c``."""
    out: dict[str, Any] = {}
    for toml_name, (field, _cls, is_array) in SECTIONS.items():
        value = getattr(cfg, field)
        if is_array:
            out[toml_name] = [_plain(dataclasses.asdict(v)) for v in value]
        else:
            out[toml_name] = _plain(dataclasses.asdict(value))
    return out


def config_json(cfg: LeagueConfig) -> str:
    """:func:`config_to_dict` as sorted JSON (what the store keeps)."""
    return json.dumps(config_to_dict(cfg), sort_keys=True)


def _plain(d: dict) -> dict:
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in d.items() if v is not None}


# ---------------------------------------------------------------------------
# Validation


def _hint(name: str, known) -> str:
    known = list(known)
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.5)
    if close:
        return f"did you mean {close[0]}?"
    return f"known: {', '.join(known)}"


def _section(raw: Mapping[str, Any], cls: type, section: str, path: str, where: str):
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError(f"{where}: {path}.{key}: unknown key; {_hint(key, fields)}")
        values[key] = _check_value(value, hints[key], section, key, f"{path}.{key}", where)
    return cls(**values)


def _check_value(value: Any, hint, section: str, key: str, path: str, where: str):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        hint = next(a for a in args if a is not type(None))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(
                f"{where}: {path}: expected true or false, got {value!r}; write {key} = true or {key} = false"
            )
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                fix = f"write {key} = {int(value)}"
            elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
                fix = f"write {key} = {value.strip()} (no quotes)"
            else:
                fix = "give a whole number"
            raise ConfigError(f"{where}: {path}: expected an integer, got {value!r}; {fix}")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(
                f"{where}: {path}: expected a number, got {value!r}; give a number without quotes, e.g. {key} = 0.5"
            )
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(
                f"{where}: {path}: {value!r} is not a finite number; give a finite value (nan and inf are refused)"
            )
    elif hint is str:
        if not isinstance(value, str):
            raise ConfigError(
                f'{where}: {path}: expected a string, got {value!r}; write {key} = "..." (with quotes)'
            )
    elif typing.get_origin(hint) is Mapping or hint is Mapping:
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"{where}: {path}: expected a table; write [{path.split('.')[0].split('[')[0]}.{key}] above its keys"
            )
        value = dict(value)
    choices = _CHOICES.get((section, key))
    if choices is not None and value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
        fix = f"did you mean {close[0]}?" if close else f"pick one of {', '.join(choices)}"
        raise ConfigError(f"{where}: {path}: {value!r} is not one of {', '.join(choices)}; {fix}")
    bounds = _RANGES.get((section, key))
    if bounds is not None:
        lo, hi, lo_in, hi_in = bounds
        bad = (lo is not None and (value < lo if lo_in else value <= lo)) or (
            hi is not None and (value > hi if hi_in else value >= hi)
        )
        if bad:
            left = "[" if lo_in else "("
            right = "]" if hi_in else ")"
            rng = f"{left}{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}{right}"
            raise ConfigError(f"{where}: {path}: {value!r} is out of range; give a value in {rng}")
    return value


def _check_league(cfg: LeagueConfig, where: str, base: Path, check_game: bool) -> LeagueConfig:
    run = cfg.league
    _check_league_name(run.name, where)
    for key in ("device", "actor_device"):
        try:  # imports torch only to check that a non-CPU device is there
            check_device(getattr(run, key), available=check_game)
        except DeviceError as e:
            raise ConfigError(f"{where}: league.{key}: {e}") from None
    game = run.game.strip()
    if not game:
        raise ConfigError(
            f'{where}: league.game: empty game spec; give e.g. "kuhn_poker" or "matrix:rock_paper_scissors"'
        )
    if game.endswith(".toml") and not Path(game).is_absolute():
        game = str((base / game).resolve())
    info = None
    if check_game:
        import games

        try:
            info = games.load(game).info
        except games.GameError as e:
            raise ConfigError(f"{where}: league.game: {e}") from None
        except (OSError, ValueError) as e:  # e.g. a NUL byte in a path
            raise ConfigError(
                f"{where}: league.game: {game!r} cannot be loaded ({e.__class__.__name__}: {e}); check the spec"
            ) from None
        from agents.base import HyperparameterError
        from agents.limits import check_rollout

        try:
            check_rollout(info, run.rollout_len, run.batch, "league.rollout_len x league.batch")
        except HyperparameterError as e:
            raise ConfigError(f"{where}: {e}") from None
    run = dataclasses.replace(run, game=game)

    if not cfg.learners:
        raise ConfigError(
            f"{where}: learner: no learners; add a [[learner]] table with name and algorithm"
        )
    names: dict[str, str] = {}
    mains = {lc.name for lc in cfg.learners if lc.role == MAIN}
    for k, lc in enumerate(cfg.learners):
        path = f"learner[{k}]"
        _check_name(lc.name, f"{path}.name", names, where)
        names[lc.name] = path
        if lc.reset_every and lc.role == MAIN:
            raise ConfigError(
                f'{where}: {path}.reset_every: a main learner never resets; remove reset_every or set role = "main_exploiter"'
            )
        if lc.role == MAIN_EXPLOITER and not mains:
            raise ConfigError(
                f'{where}: {path}.role: a main_exploiter needs a main learner to exploit; add a [[learner]] with role = "main"'
            )
        if lc.reset_to != "initial" and lc.reset_to not in mains:
            known = ["initial", *sorted(mains)]
            raise ConfigError(
                f"{where}: {path}.reset_to: {lc.reset_to!r} is neither 'initial' nor a main learner; {_hint(lc.reset_to, known)}"
            )
        if lc.device:
            try:
                check_device(lc.device, available=check_game)
            except DeviceError as e:
                raise ConfigError(f"{where}: {path}.device: {e}") from None
        _check_hyperparameters(lc, f"{path}.config", where)
        if info is not None:
            _check_learner_fits(lc, info, path, where)
    refs = []
    for k, rc in enumerate(cfg.references):
        path = f"reference[{k}]"
        _check_name(rc.name, f"{path}.name", names, where)
        names[rc.name] = path
        refs.append(
            dataclasses.replace(
                rc,
                policy=_check_reference_policy(
                    rc.policy, f"{path}.policy", base, game, where, check_game
                ),
            )
        )
    return dataclasses.replace(cfg, league=run, references=tuple(refs))


def _unsafe_name(name: str) -> bool:
    """Names become file and folder names: no separators, NUL, control characters or dot-names."""
    return (
        not name.strip()
        or len(name) > MAX_NAME_LENGTH
        or name in (".", "..")
        or name != name.strip()
        or any(c in name for c in "/\\")
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    )


def _check_league_name(name: str, where: str) -> None:
    if _unsafe_name(name):
        raise ConfigError(
            f"{where}: league.name: {name!r} is not a usable name (it names the store and report files); "
            f"give 1 to {MAX_NAME_LENGTH} characters without '/', '\\', control characters or outer spaces, not '.' or '..'"
        )


def _check_learner_fits(lc: LearnerConfig, info, path: str, where: str) -> None:
    """The algorithm fits the game, and its config passes the learner's own checks (torch)."""
    from agents.base import AlgorithmFitError, HyperparameterError
    from agents.registry import check_config

    try:
        check_config(lc.algorithm, info, lc.config)
    except AlgorithmFitError as e:
        raise ConfigError(f"{where}: {path}.algorithm: {e}") from None
    except HyperparameterError as e:
        raise ConfigError(f"{where}: {path}.config: {e}") from None


def _check_name(name: str, path: str, seen: dict[str, str], where: str) -> None:
    if "@" in name or _unsafe_name(name):
        raise ConfigError(
            f"{where}: {path}: {name!r} is not a usable name; give 1 to {MAX_NAME_LENGTH} characters "
            "without '@', '/', '\\', control characters or outer spaces, not '.' or '..'"
        )
    if name in seen:
        raise ConfigError(
            f"{where}: {path}: {name!r} is already the name of {seen[name]}; names must be unique"
        )


def _check_reference_policy(
    policy: str, path: str, base: Path, game: str, where: str, check_game: bool = True
) -> str:
    """'random', a CFR spec (canonical spelling back) or a checkpoint directory (absolute path back).

    A CFR spec (``cfr_plus(iterations=N)``, ``cfr(iterations=N)``; games.cfr)
    is checked for its name and iteration range always, and, when the game is
    checked, for the game's eligibility (turn-based OpenSpiel game with an
    information-state tensor, tree and estimated solve time within the limits).
    """
    if policy == "random":
        return policy
    from games.cfr import CFRError, check_cfr_game, parse_cfr_spec

    try:
        cfr = parse_cfr_spec(policy)
    except CFRError as e:
        raise ConfigError(f"{where}: {path}: {e}") from None
    if cfr is not None:
        if check_game:
            import games

            try:
                check_cfr_game(games.load(game), cfr.iterations, cfr.text)
            except games.GameError as e:
                raise ConfigError(f"{where}: {path}: {e}") from None
        return cfr.text
    p = Path(policy)
    p = p if p.is_absolute() else (base / p).resolve()
    spec = p / "spec.json"  # agents.checkpoint.SPEC (not imported: torch)
    if not spec.exists():
        raise ConfigError(
            f"{where}: {path}: {policy!r} is neither 'random' nor a checkpoint directory ({spec} not found); give 'random', 'cfr_plus(iterations=1000)' or a directory written by 'arena train'"
        )
    try:
        trained_on = json.loads(spec.read_text()).get("game")
    except (OSError, ValueError, AttributeError):
        raise ConfigError(
            f"{where}: {path}: {spec} is not a readable checkpoint spec; re-create the checkpoint"
        ) from None
    if trained_on is not None and trained_on != game:
        raise ConfigError(
            f"{where}: {path}: the checkpoint was trained on {trained_on!r}, not {game!r}; use a checkpoint of this game"
        )
    return str(p)


def algorithm_fields(algorithm: str) -> dict[str, Any]:
    """Field name -> type of an algorithm's config dataclass (from :mod:`agents.configs`, no torch).

    E.g. ``{"lr_actor": float, "hidden": tuple[int, ...], ...}``, inherited fields included.

    Raises:
        ConfigError: the algorithm is unknown.
    """
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"unknown algorithm {algorithm!r}; pick one of {', '.join(ALGORITHMS)}")
    cls = ALGORITHMS[algorithm][2]
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _check_hyperparameters(lc: LearnerConfig, path: str, where: str) -> None:
    try:
        fields = algorithm_fields(lc.algorithm)
    except ConfigError as e:
        raise ConfigError(f"{where}: {path.rsplit('.', 1)[0]}.algorithm: {e}") from None
    for key, value in lc.config.items():
        if key not in fields:
            raise ConfigError(
                f"{where}: {path}.{key}: not a hyperparameter of {lc.algorithm}; {_hint(key, fields)}"
            )
        hint = fields[key]
        if hint in (int, float, bool, str):
            _check_value(value, hint, "", key, f"{path}.{key}", where)
        elif typing.get_origin(hint) is tuple and typing.get_args(hint)[:1] == (int,):
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value
            ):
                raise ConfigError(
                    f"{where}: {path}.{key}: expected a list of integers, got {value!r}; write {key} = [64, 64]"
                )
