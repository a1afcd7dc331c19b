"""PettingZoo parallel envs behind the batched interface of :mod:`games.core`.

``games.load("pettingzoo:TARGET(key=value, ...)")`` builds a
:class:`PettingZooGame`. ``TARGET`` is a module path whose module has a
``parallel_env`` factory (``mpe2.simple_spread_v3``, every PettingZoo
environment module) or the dotted path of a function or class that returns a
``pettingzoo.ParallelEnv`` (``mypackage.envs.make_env``). ``TARGET`` must lie
under an allowed prefix (:data:`ALLOWED_MODULES`, plus those in the
``ARENA_PETTINGZOO_MODULES`` environment variable, comma-separated), checked
before anything is imported, since importing runs code and a spec may come
from a league file or a stored ``.db``. Keyword arguments
are Python literals (``N=3``, ``local_ratio=0.0``, ``continuous_actions=True``,
``render_mode='rgb_array'``) and go to the factory, except three that the
adapter keeps for itself:

* ``kind=cooperative|zero_sum|constant_sum|general_sum``: PettingZoo does not
  say whether all agents always share a reward, so the kind is general_sum
  unless the spec says otherwise, or the env is an MPE scenario built with
  ``local_ratio=0`` (then every agent gets the global reward: cooperative).
  ``simple_spread_v3`` with its default ``local_ratio=0.5`` adds a collision
  penalty per agent, so its rewards differ now and then: general_sum. A
  declared kind is checked at every step; rewards that break it raise
  :class:`GameError`.
* ``max_steps=N``: the episode limit (``GameInfo.max_episode_length``); by
  default the env's ``max_cycles`` (MPE, butterfly, sisl) or 1000. A copy still
  running after ``max_steps`` steps is finished by the adapter.
* ``reward_range=(lo,hi)``: bounds of an episode's return per agent, which the
  league uses to normalise scores. PettingZoo envs declare none; the default
  ``(-1e6, 1e6)`` only says "unknown".

Players and spaces. Player ``p`` is ``env.possible_agents[p]`` in the order
the env gives. Observations are flattened to float32 and zero-padded to the
largest agent's size ``O`` (``Box`` as it is, ``Discrete`` one-hot, a
``Dict`` with ``"observation"`` and ``"action_mask"`` keys as in PettingZoo's
classic envs: the mask becomes ``legal``). Discrete actions: ``A`` is the
largest ``Discrete`` size and actions ``>= n_p`` are illegal for a player with
``n_p``. Continuous actions (every agent has a ``Box`` of the same size ``D``;
``GameInfo.continuous_actions``): ``num_actions = D`` and ``action_low/high``
are the Box's bounds when they are the same number on every component;
otherwise actions live in ``[-1, 1]^D`` and are rescaled to the Box, component
by component. The global state is ``env.state()`` where the env has it (MPE
does), else every agent's padded observation side by side (``S = P * O``).

Batches and seeds. ``vector(B, seed)`` makes ``B`` env instances and steps
them in a Python loop, so speed is bounded by the env: about 3.4k random
steps/s for ``simple_spread_v3`` on one core of the reference machine. At
every reset, copy ``b`` resets its env with a seed drawn from its own stream
``copy_rng(seed, first_copy + b)``: the same seed gives the same episodes and
batched equals unbatched.

Episodes. Every live agent acts at every step (dynamics ``"simultaneous"``).
An agent that is terminated or truncated before the others stops acting
(``acting`` False, ``legal`` all False) and keeps its last observation. A copy
is done when no agent is left (every agent terminated or truncated) or after
``max_steps`` steps; there is no autoreset. Each step pays each agent the
reward the env gave it in that step, and 0 to agents that are gone, except in
a cooperative game, where agents that are gone still get the team's reward
(every player's reward is the same at every step, as :mod:`games.core` says).
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
import re
from collections.abc import Callable

import numpy as np

from games.core import (
    CONSTANT_SUM,
    COOPERATIVE,
    GENERAL_SUM,
    KINDS,
    SIMULTANEOUS,
    ZERO_SUM,
    Game,
    GameError,
    GameInfo,
    TimeStep,
    copy_rng,
)
from games.spec import parse_call

__all__ = [
    "ALLOWED_MODULES",
    "PettingZooGame",
    "PettingZooVectorEnv",
    "allowed_modules",
    "load_pettingzoo",
    "parse_spec",
]

INSTALL_HINT = "pip install -e '.[pettingzoo]'"
DEFAULT_REWARD_RANGE = (-1e6, 1e6)
DEFAULT_MAX_STEPS = 1000
RESERVED = ("kind", "max_steps", "reward_range")
# Actions may overshoot a Box by float rounding (a float32 tanh scaled to it).
_BOUND_TOL = 1e-5
_PACKAGES = ("pettingzoo", "mpe2", "gymnasium")
# Packages of PettingZoo environments a spec may name (importing a module runs its code,
# and a spec can come from a league file or a stored .db): PettingZoo itself (classic,
# butterfly, sisl, atari), and Farama's env packages with parallel envs.
ALLOWED_MODULES = ("pettingzoo", "mpe2", "magent2", "momaland", "shimmy")
MODULES_ENV = "ARENA_PETTINGZOO_MODULES"


# ---------------------------------------------------------------------------
# Spec parsing and factory lookup


def parse_spec(text: str) -> tuple[str, dict[str, object]]:
    """``"mpe2.simple_spread_v3(N=3, max_cycles=25)"`` -> ``("mpe2.simple_spread_v3", {"N": 3, ...})``.

    :func:`games.spec.parse_call` with this spec's error text.

    Raises:
        GameError: a malformed spec or an argument without ``key=``.
    """
    return parse_call(
        text,
        "pettingzoo spec",
        "pettingzoo:MODULE.ENV or pettingzoo:MODULE.ENV(key=value,...), "
        "e.g. pettingzoo:mpe2.simple_spread_v3(N=3)",
    )


def _require_pettingzoo(target: str) -> None:
    try:
        importlib.import_module("pettingzoo")
    except ImportError as e:
        raise GameError(
            f"pettingzoo:{target}: PettingZoo is not installed; run {INSTALL_HINT}"
        ) from e


def _import(target: str):
    """Import module ``target`` or return None when it does not exist (parents must)."""
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing != target and not target.startswith(missing + "."):
            raise _missing_dependency(target, missing) from e  # the module imports something absent
        top = target.split(".")[0]
        if missing == top:
            if top in _PACKAGES:
                raise GameError(
                    f"pettingzoo:{target}: package '{top}' is not installed; run {INSTALL_HINT}"
                ) from e
            raise GameError(
                f"pettingzoo:{target}: no module named '{top}'; give an importable module path "
                "such as mpe2.simple_spread_v3"
            ) from e
        return None
    except ImportError as e:
        if target.startswith("pettingzoo.mpe"):
            name = target.split(".")[-1] if target.count(".") >= 2 else "simple_spread_v3"
            raise GameError(
                f"pettingzoo:{target}: MPE moved out of PettingZoo into the mpe2 package; write "
                f"pettingzoo:mpe2.{re.sub(r'_v[0-9]+$', '', name)}_vN (e.g. mpe2.simple_spread_v3) "
                f"after {INSTALL_HINT}"
            ) from e
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GameError(f"pettingzoo:{target}: {first}") from e


def _missing_dependency(target: str, missing: str) -> GameError:
    top = missing.split(".")[0]
    parts = target.split(".")
    if top in _PACKAGES:
        fix = INSTALL_HINT
    elif parts[0] == "pettingzoo" and len(parts) > 2:  # a family's own extra: pettingzoo[butterfly]
        fix = f"pip install 'pettingzoo[{parts[1]}]'"
    else:
        fix = f"install the package that provides '{top}'"
    return GameError(
        f"pettingzoo:{target}: it needs module '{missing}', which is not installed; {fix}"
    )


def _env_names(package) -> list[str]:
    path = getattr(package, "__path__", None)
    return sorted(m.name for m in pkgutil.iter_modules(path)) if path else []


def allowed_modules() -> tuple[str, ...]:
    """Module prefixes a ``pettingzoo:`` spec may name: :data:`ALLOWED_MODULES` plus the
    comma-separated prefixes in the ``ARENA_PETTINGZOO_MODULES`` environment variable.

    Only the environment adds prefixes, never a spec, a league file or a store:
    whoever runs ``arena`` decides which code it may import.
    """
    import os

    extra = (m.strip() for m in os.environ.get(MODULES_ENV, "").split(","))
    return ALLOWED_MODULES + tuple(m for m in extra if m)


def _is_allowed(name: object, prefixes: tuple[str, ...]) -> bool:
    return isinstance(name, str) and any(name == p or name.startswith(p + ".") for p in prefixes)


def _refuse(target: str, problem: str, prefixes: tuple[str, ...]) -> GameError:
    return GameError(
        f"pettingzoo:{target}: {problem} (allowed: {', '.join(prefixes)}); "
        f"to load your own env package, add its module prefix to the "
        f"{MODULES_ENV} environment variable (comma-separated), e.g. {MODULES_ENV}=mypackage"
    )


def check_allowed(target: str) -> None:
    """Refuse a ``target`` outside the allowed packages, before anything is imported.

    Raises:
        GameError: ``target`` is not a dotted path of identifiers under an
            allowed prefix (names the prefixes and ``ARENA_PETTINGZOO_MODULES``).
    """
    prefixes = allowed_modules()
    if not all(part.isidentifier() for part in target.split(".")):
        raise GameError(
            f"pettingzoo:{target}: not a dotted module path such as mpe2.simple_spread_v3"
        )
    if not _is_allowed(target, prefixes):
        top = target.split(".")[0]
        raise _refuse(target, f"'{top}' is not a known PettingZoo environment package", prefixes)


def _check_factory(target: str, factory) -> Callable:
    """``factory`` must be a function or class defined in an allowed package (a builtin
    such as ``os.system`` imported into an allowed module is refused)."""
    prefixes = allowed_modules()
    if not (inspect.isfunction(factory) or inspect.isclass(factory)) or not _is_allowed(
        getattr(factory, "__module__", None), prefixes
    ):
        where = getattr(factory, "__module__", None) or type(factory).__name__
        raise _refuse(
            target,
            f"it names a callable from '{where}', not an env factory of an allowed package",
            prefixes,
        )
    return factory


def resolve_factory(target: str) -> tuple[Callable, object]:
    """The env factory named by ``target`` and the module it came from.

    ``target`` is a module with ``parallel_env`` or ``MODULE.CALLABLE``, under
    one of :func:`allowed_modules` (checked before any import).

    Raises:
        GameError: the target is outside the allowed packages, the module or
            callable does not exist (names the closest env modules), or a
            package is missing (names the install command).
    """
    check_allowed(target)
    _require_pettingzoo(target)
    module = _import(target)
    if module is not None:
        factory = getattr(module, "parallel_env", None)
        if not callable(factory) and callable(getattr(module, "env", None)):
            raise GameError(
                f"pettingzoo:{target}: the module has only an AEC env(), and arena loads parallel envs; "
                "for turn-based games load OpenSpiel's version (e.g. tic_tac_toe, connect_four)"
            )
        if not callable(factory):
            raise GameError(
                f"pettingzoo:{target}: module has no parallel_env(); name the factory itself, "
                f"e.g. pettingzoo:{target}.make_env"
            )
        return _check_factory(target, factory), module
    parent_name, _, attr = target.rpartition(".")
    parent = _import(parent_name) if parent_name else None
    if parent is None:
        raise GameError(f"pettingzoo:{target}: no module named '{parent_name or target}'")
    factory = getattr(parent, attr, None)
    if callable(factory):
        return _check_factory(target, factory), parent
    from games import closest

    known = _env_names(parent) or [n for n in dir(parent) if not n.startswith("_")]
    hint = closest(attr, known)
    listing = f"; {hint}" if hint else (f"; known: {', '.join(known[:20])}" if known else "")
    raise GameError(f"pettingzoo:{target}: '{parent_name}' has no env or factory '{attr}'{listing}")


def _accepted_parameters(factory: Callable, module) -> list[str] | None:
    """Named parameters of the factory (or of the module's ``raw_env``); None if it takes ``**kwargs``."""
    for fn in (factory, getattr(module, "raw_env", None)):
        if fn is None:
            continue
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            continue
        names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if any(p.kind == p.VAR_KEYWORD for p in params):
            if names:  # a named signature that still forwards **kwargs: accept anything
                return None
            continue
        return names
    return None


# ---------------------------------------------------------------------------
# Spaces


class _ObsLayout:
    """How one agent's observation becomes a flat float32 row (and maybe a legal mask)."""

    def __init__(self, agent: str, space, target: str):
        from gymnasium import spaces

        self.mask_key = None
        if isinstance(space, spaces.Dict) and "observation" in space.spaces:
            if "action_mask" in space.spaces:
                self.mask_key = "action_mask"
            space = space.spaces["observation"]
            self.key = "observation"
        else:
            self.key = None
        if isinstance(space, spaces.Box):
            self.size = int(np.prod(space.shape, dtype=np.int64))
            self.onehot = None
        elif isinstance(space, spaces.Discrete):
            self.size = int(space.n)
            self.onehot = int(space.start)
        else:
            raise GameError(
                f"pettingzoo:{target}: agent {agent}'s observation space {space} is not supported; "
                "use a Box, a Discrete, or a Dict with 'observation' (and 'action_mask')"
            )

    def write(self, obs, out: np.ndarray) -> None:
        """Write ``obs`` into the row ``out [O]`` (zero padding past ``size``)."""
        if self.key is not None:
            obs = obs[self.key]
        if self.onehot is not None:
            out[:] = 0.0
            out[int(obs) - self.onehot] = 1.0
        else:
            out[: self.size] = np.asarray(obs, dtype=np.float32).reshape(-1)
            out[self.size :] = 0.0


class _Actions:
    """The action spaces of every agent: discrete sizes, or one shared Box size with its bounds."""

    def __init__(self, agents: list[str], space_of: Callable, target: str):
        from gymnasium import spaces

        sp = [space_of(a) for a in agents]
        if all(isinstance(s, spaces.Discrete) for s in sp):
            self.continuous = False
            self.sizes = tuple(int(s.n) for s in sp)
            self.starts = tuple(int(s.start) for s in sp)
            self.dim = max(self.sizes)
            self.low = self.high = None
            return
        if not all(isinstance(s, spaces.Box) for s in sp):
            kinds = sorted({type(s).__name__ for s in sp})
            raise GameError(
                f"pettingzoo:{target}: action spaces {', '.join(kinds)} are not supported; every agent "
                "needs a Discrete space, or every agent a Box of the same size"
            )
        dims = {int(np.prod(s.shape, dtype=np.int64)) for s in sp}
        if len(dims) != 1:
            raise GameError(
                f"pettingzoo:{target}: agents' Box action sizes differ ({sorted(dims)}); "
                "continuous games need one action size for every agent"
            )
        self.continuous = True
        self.dim = dims.pop()
        self.sizes = (self.dim,) * len(sp)
        self.shapes = [s.shape for s in sp]
        self.dtypes = [s.dtype for s in sp]
        low = np.stack([np.asarray(s.low, np.float64).reshape(-1) for s in sp])
        high = np.stack([np.asarray(s.high, np.float64).reshape(-1) for s in sp])
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise GameError(
                f"pettingzoo:{target}: a Box action space has infinite bounds; continuous games "
                "need finite bounds"
            )
        self.low, self.high = low, high  # [P, D]
        # One number per bound on every component: actions in the Box's own units.
        self.uniform = bool((low == low.flat[0]).all() and (high == high.flat[0]).all())
        self.action_low = float(low.flat[0]) if self.uniform else -1.0
        self.action_high = float(high.flat[0]) if self.uniform else 1.0

    def to_env(self, p: int, unit: np.ndarray):
        """The env's action for player ``p`` from a float row in ``[action_low, action_high]``."""
        a = np.clip(unit.astype(np.float64), self.action_low, self.action_high)
        if not self.uniform:
            a = self.low[p] + 0.5 * (a + 1.0) * (self.high[p] - self.low[p])
        return a.astype(self.dtypes[p]).reshape(self.shapes[p])


# ---------------------------------------------------------------------------
# The game


def _kind(kwargs: dict, raw_env, num_players: int, target: str) -> str:
    kind = kwargs.get("kind")
    if kind is not None:
        if kind not in KINDS:
            raise GameError(
                f"pettingzoo:{target}: kind={kind!r} is unknown; use one of {', '.join(KINDS)}"
            )
        if kind in (ZERO_SUM, CONSTANT_SUM) and num_players < 2:
            raise GameError(
                f"pettingzoo:{target}: a {kind} game needs >= 2 agents; use kind=general_sum"
            )
        return kind
    # MPE scenarios mix a global reward with a per-agent one by local_ratio;
    # with local_ratio = 0 every agent gets exactly the global reward.
    if num_players >= 2 and getattr(raw_env, "local_ratio", None) == 0:
        return COOPERATIVE
    return GENERAL_SUM


def _reward_range(value, target: str) -> tuple[float, float]:
    if value is None:
        return DEFAULT_REWARD_RANGE
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        lo, hi = math.nan, math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise GameError(
            f"pettingzoo:{target}: reward_range={value!r} must be two finite numbers lo <= hi, e.g. reward_range=(-100,0)"
        )
    return lo, hi


def _max_steps(value, raw_env, target: str) -> int:
    if value is None:
        value = getattr(raw_env, "max_cycles", None)
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            return DEFAULT_MAX_STEPS
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise GameError(f"pettingzoo:{target}: max_steps={value!r} must be an integer >= 1")
    return int(value)


def _env_state(env) -> np.ndarray | None:
    """``env.state()`` as a flat float32 vector, or None where the env has no global state."""
    state_fn = getattr(env, "state", None)
    if state_fn is None:
        return None
    try:
        s = state_fn()
    except (NotImplementedError, AttributeError, TypeError):  # TypeError: a ``state`` attribute
        return None
    if s is None:
        return None
    return np.asarray(s, dtype=np.float32).reshape(-1)


class PettingZooGame(Game):
    """A PettingZoo parallel env factory with its arguments; ``vector`` makes the instances.

    Holds only plain data (the factory's dotted path, its arguments and the
    spaces' layout), so it pickles; the factory is imported again where needed.
    """

    def __init__(self, text: str):
        target, kwargs = parse_spec(text)
        self.target = target
        self.spec = text.strip()
        self.env_kwargs = {k: v for k, v in kwargs.items() if k not in RESERVED}
        self.options = {k: kwargs[k] for k in RESERVED if k in kwargs}
        self._probe()

    def __getstate__(self):
        return {"spec": self.spec}

    def __setstate__(self, state):
        self.__init__(state["spec"])

    def make_env(self):
        """One fresh env instance."""
        factory, module = resolve_factory(self.target)
        try:
            env = factory(**self.env_kwargs)
        except Exception as e:  # the env's own argument checks (TypeError, AssertionError, ...)
            accepted = _accepted_parameters(factory, module)
            unknown = [k for k in self.env_kwargs if accepted is not None and k not in accepted]
            if unknown:
                from games import closest

                hint = closest(unknown[0], accepted)
                raise GameError(
                    f"pettingzoo:{self.spec}: unknown parameter '{unknown[0]}'; "
                    + (hint + " " if hint else "")
                    + f"accepted: {', '.join(accepted + list(RESERVED))}"
                ) from e
            msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise GameError(
                f"pettingzoo:{self.spec}: the env refused its arguments: {type(e).__name__} {msg}".rstrip()
            ) from e
        if not (hasattr(env, "possible_agents") and hasattr(env, "step") and hasattr(env, "reset")):
            raise GameError(f"pettingzoo:{self.spec}: {type(env).__name__} is not a PettingZoo env")
        if hasattr(env, "agent_iter") or hasattr(env, "agent_selection"):
            raise GameError(
                f"pettingzoo:{self.spec}: the factory made an AEC env; give a parallel one "
                "(module.parallel_env, or pettingzoo.utils.aec_to_parallel of it)"
            )
        return env

    def _probe(self) -> None:
        env = self.make_env()
        try:
            env.reset(seed=0)
            agents = list(env.possible_agents)
            raw = getattr(env, "unwrapped", env)
            raw = getattr(raw, "aec_env", raw)  # aec_to_parallel keeps the AEC env here
            raw = getattr(raw, "unwrapped", raw)
            self.agents = agents
            self.obs_layouts = [
                _ObsLayout(a, env.observation_space(a), self.target) for a in agents
            ]
            self.actions = _Actions(agents, env.action_space, self.target)
            state = _env_state(env)
            kind = _kind(self.options, raw, len(agents), self.spec)
            max_steps = _max_steps(self.options.get("max_steps"), raw, self.spec)
            reward_range = _reward_range(self.options.get("reward_range"), self.spec)
        finally:
            env.close()
        if not agents:
            raise GameError(f"pettingzoo:{self.spec}: the env has no agents")
        p, obs_size = len(agents), max(lay.size for lay in self.obs_layouts)
        self.has_state = state is not None
        act = self.actions
        name = self.spec.replace(" ", "")
        self.info = GameInfo(
            name=name,
            num_players=p,
            num_actions=act.dim,
            actions_per_player=act.sizes,
            kind=kind,
            dynamics=SIMULTANEOUS,
            obs_size=obs_size,
            state_size=len(state) if self.has_state else p * obs_size,
            reward_range=reward_range,
            max_episode_length=max_steps,
            continuous_actions=act.continuous,
            action_low=act.action_low if act.continuous else -1.0,
            action_high=act.action_high if act.continuous else 1.0,
        )

    def vector(self, batch: int, seed: int, *, first_copy: int = 0) -> PettingZooVectorEnv:
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise GameError(f"batch must be an integer >= 1, got {batch!r}")
        return PettingZooVectorEnv(self, int(batch), seed, first_copy)

    def describe(self) -> dict:
        d = super().describe()
        d.update(
            continuous_actions=self.info.continuous_actions,
            agents=list(self.agents),
            source="pettingzoo",
        )
        return d


class PettingZooVectorEnv:
    """``B`` env instances of a :class:`PettingZooGame` stepped in a Python loop."""

    def __init__(self, game: PettingZooGame, batch: int, seed: int, first_copy: int = 0):
        info = game.info
        self.game, self.info, self.batch = game, info, batch
        self.agents = game.agents
        self.envs = [game.make_env() for _ in range(batch)]
        self._rngs = [copy_rng(seed, first_copy + b) for b in range(batch)]
        p, a = info.num_players, info.num_actions
        self._obs = np.zeros((batch, p, info.obs_size), np.float32)
        self._state = np.zeros((batch, info.state_size), np.float32)
        self._alive = np.zeros((batch, p), bool)
        self._mask = np.zeros((batch, p, a), bool)  # legal actions of live agents
        self._done = np.ones(batch, bool)
        self._t = np.zeros(batch, np.int64)
        self._static_mask = np.zeros((p, a), bool)
        for q, n in enumerate(info.actions_per_player):
            self._static_mask[q, :n] = True

    # -- reading an env's output ------------------------------------------------

    def _read_obs(self, b: int, observations: dict) -> None:
        for q, agent in enumerate(self.agents):
            if agent in observations:
                lay = self.game.obs_layouts[q]
                o = observations[agent]
                lay.write(o, self._obs[b, q])
                if lay.mask_key is not None:
                    m = np.asarray(o[lay.mask_key]).reshape(-1).astype(bool)
                    self._mask[b, q] = False
                    self._mask[b, q, : len(m)] = m & self._static_mask[q, : len(m)]
                else:
                    self._mask[b, q] = self._static_mask[q]

    def _read_state(self, b: int) -> None:
        if self.game.has_state:
            self._state[b] = _env_state(self.envs[b])
        else:
            self._state[b] = self._obs[b].reshape(-1)

    # -- the interface ----------------------------------------------------------

    def reset(self, mask: np.ndarray | None = None) -> TimeStep:
        """Restart every copy, or those where ``mask [B]`` is True."""
        if mask is None:
            rows = range(self.batch)
        else:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (self.batch,):
                raise GameError(f"reset mask has shape {list(mask.shape)}, expected [{self.batch}]")
            rows = np.flatnonzero(mask).tolist()
        for b in rows:
            env = self.envs[b]
            # One draw from the copy's own stream keeps batched == unbatched.
            observations, _ = env.reset(seed=int(self._rngs[b].integers(2**31 - 1)))
            self._obs[b] = 0.0
            self._read_obs(b, observations)
            live = set(env.agents)
            self._alive[b] = [a in live for a in self.agents]
            self._read_state(b)
            self._t[b] = 0
            self._done[b] = not self._alive[b].any()
        return self._time_step(np.zeros((self.batch, self.info.num_players)))

    def step(self, actions: np.ndarray) -> TimeStep:
        """Apply ``actions`` (``[B, P]`` ints, or ``[B, P, D]`` floats) of every live agent."""
        info = self.info
        actions = np.asarray(actions)
        acting = self._alive & ~self._done[:, None]
        self._check(actions, acting)
        rewards = np.zeros((self.batch, info.num_players))
        act = self.game.actions
        team = info.kind == COOPERATIVE
        for b in np.flatnonzero(~self._done).tolist():
            env = self.envs[b]
            if act.continuous:
                joint = {
                    a: act.to_env(q, actions[b, q])
                    for q, a in enumerate(self.agents)
                    if acting[b, q]
                }
            else:
                joint = {
                    a: int(actions[b, q]) + act.starts[q]
                    for q, a in enumerate(self.agents)
                    if acting[b, q]
                }
            observations, rew, _, _, _ = env.step(joint)
            paid = [q for q, agent in enumerate(self.agents) if agent in rew]
            for q in paid:
                rewards[b, q] = float(rew[self.agents[q]])
            if team and 0 < len(paid) < len(
                self.agents
            ):  # agents that left share the team's reward
                rewards[b] = rewards[b, paid[0]]
            self._read_obs(b, observations)
            live = set(env.agents)
            self._alive[b] = [a in live for a in self.agents]
            self._read_state(b)
            self._t[b] += 1
            self._done[b] = not self._alive[b].any() or self._t[b] >= info.max_episode_length
        self._check_kind(rewards)
        return self._time_step(rewards)

    def _check(self, actions: np.ndarray, acting: np.ndarray) -> None:
        info = self.info
        if info.continuous_actions:
            shape = (self.batch, info.num_players, info.num_actions)
            if actions.shape != shape or actions.dtype.kind != "f":
                raise GameError(
                    f"actions have shape {list(actions.shape)} and dtype {actions.dtype}, expected float "
                    f"{list(shape)} (one action vector per copy and agent in a continuous game)"
                )
            lo, hi = info.action_low - _BOUND_TOL, info.action_high + _BOUND_TOL
            bad = ~((actions >= lo) & (actions <= hi)) & acting[:, :, None]  # NaN is bad too
            if bad.any():
                b, q, d = (int(v) for v in np.argwhere(bad)[0])
                raise GameError(
                    f"illegal action {float(actions[b, q, d])!r} for player {q} ({self.agents[q]}, "
                    f"component {d}) in copy {b}: actions must lie in [{info.action_low}, {info.action_high}]"
                )
            return
        shape = (self.batch, info.num_players)
        if actions.shape != shape or actions.dtype.kind not in "iu":
            raise GameError(
                f"actions have shape {list(actions.shape)} and dtype {actions.dtype}, expected int {list(shape)}"
            )
        a = np.where(acting, actions, 0)
        inside = (a >= 0) & (a < info.num_actions)
        ok = (
            inside
            & np.take_along_axis(self._mask, np.where(inside, a, 0)[..., None], axis=2)[..., 0]
        )
        bad = acting & ~ok
        if bad.any():
            b, q = (int(v) for v in np.argwhere(bad)[0])
            legal = np.flatnonzero(self._mask[b, q]).tolist()
            raise GameError(
                f"illegal action {int(actions[b, q])} for player {q} ({self.agents[q]}) in copy {b}; "
                f"legal actions: {legal}"
            )

    def _check_kind(self, rewards: np.ndarray) -> None:
        kind = self.info.kind
        scale = 1e-9 * np.maximum(1.0, np.abs(rewards).max(axis=1))
        if kind == COOPERATIVE:
            bad = np.abs(rewards - rewards[:, :1]).max(axis=1) > scale
        elif kind == ZERO_SUM:
            bad = np.abs(rewards.sum(axis=1)) > scale * rewards.shape[1]
        else:
            return
        if bad.any():
            b = int(np.flatnonzero(bad)[0])
            raise GameError(
                f"pettingzoo:{self.game.spec}: declared kind={kind}, but copy {b}'s rewards are "
                f"{rewards[b].tolist()}; use kind=general_sum"
            )

    def _time_step(self, rewards: np.ndarray) -> TimeStep:
        acting = self._alive & ~self._done[:, None]
        if self.info.continuous_actions:
            legal = np.repeat(acting[:, :, None], self.info.num_actions, axis=2)
        else:
            legal = self._mask & acting[:, :, None]
        return TimeStep(
            obs=self._obs.copy(),
            legal=legal,
            acting=acting,
            rewards=rewards,
            done=self._done.copy(),
            state=self._state.copy(),
        )

    def close(self) -> None:
        for env in self.envs:
            env.close()


def load_pettingzoo(text: str) -> PettingZooGame:
    """Build ``"MODULE.ENV"`` or ``"MODULE.ENV(key=value, ...)"`` (the part after ``pettingzoo:``).

    Raises:
        GameError: a missing package (names ``pip install -e '.[pettingzoo]'``),
            an unknown module or env (names the closest envs), bad arguments,
            or spaces the adapter does not support.
    """
    return PettingZooGame(text)
