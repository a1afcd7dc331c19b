"""OpenSpiel games behind the batched interface of :mod:`games.core`.

``load_openspiel("goofspiel(num_cards=4)")`` wraps ``pyspiel.load_game`` in an
:class:`OpenSpielGame`; ``game.vector(B, seed)`` steps ``B`` pyspiel states in
a plain Python loop. The pyspiel calls are the cost, so the loop does little
else: one observer per copy and player writes into its own numpy buffer (one
bytearray join gathers them all), legal masks are built only for acting
players with one scatter per step, and the opening chance nodes (the deal)
are replayed from a cache of states. At B = 256 this steps about as fast as a
plain pyspiel loop that reads one observation per decision (see
``bench/stepping.py``).

Observations. Each player sees the *information-state tensor* where the game
provides one (perfect recall: kuhn_poker, leduc_poker, liars_dice, goofspiel,
tiny_hanabi, matrix_*, universal_poker, ...) and the *observation tensor*
otherwise (tic_tac_toe, connect_four, breakthrough, hex, oshi_zumo,
markov_soccer, coop_box_pushing, ...); ``OpenSpielGame.obs_type`` says which.
They are read with ``open_spiel.python.observation.make_observation`` and
``set_from``, which writes straight into a numpy buffer. At a terminal state a
player sees what the game gives there, or zeros where the game refuses.

Global state. ``state [B, P*O]`` is every player's observation side by side.
In games with private information (poker, liar's dice, hanabi) it reveals
everyone's private information: that is what a centralized critic may see
during training, never what an acting policy may see.

Rewards. OpenSpiel's ``State.rewards()`` is not a per-transition reward in
every game (coop_box_pushing repeats the last step's reward at the chance
nodes that follow it), but ``State.returns()`` is always the sum of rewards to
date. So each step pays ``returns() - paid`` (``paid`` being what this copy
has already paid), chosen so that summing the rewards of an episode in order
gives ``state.returns()`` to the last bit (float64). Games whose reward model
is terminal pay ``returns()`` once, on the step that ends the episode.

Chance. Chance nodes are sampled inside the env right after every reset and
step, from copy ``b``'s own stream ``copy_rng(seed, first_copy + b)``, so a
time step always shows a decision node or a terminal, the same seed gives the
same games and batched equals unbatched.

Games that do not fit raise :class:`GameError` at load: mean-field games
(``mfg_*``: no per-player episodes), sampled-stochastic games (negotiation,
tarok, stones_and_gems, bridge_uncontested_bidding: their chance comes from a
generator inside the game object, so our seeds cannot govern it), games with
neither tensor (coin_game, cribbage, tarok, liars_dice_ir, ...) and games that
take action structs only (crossword). One-player games (catch, blackjack,
cliff_walking) are accepted: ``P = 1``, kind general_sum. ``bridge`` fits but
scores every deal with a double-dummy solver (about 0.3 s a deal); use
``bridge(use_double_dummy_result=false)`` for speed.

Normal-form games (``matrix_*``, ``nfg_game``) load here as one-step
simultaneous games; their payoff tensors come from
``games.matrix.from_openspiel``.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator

import numpy as np
import pyspiel
from open_spiel.python import observation as os_observation

from games import closest
from games.core import (
    CONSTANT_SUM,
    COOPERATIVE,
    GENERAL_SUM,
    SEQUENTIAL,
    SIMULTANEOUS,
    ZERO_SUM,
    Game,
    GameError,
    GameInfo,
    TimeStep,
    copy_rng,
)
from games.limits import MAX_DISTINCT_ACTIONS, MAX_OBS_SIZE

__all__ = ["OpenSpielGame", "OpenSpielVectorEnv", "load_openspiel"]

_KIND = {
    pyspiel.GameType.Utility.ZERO_SUM: ZERO_SUM,
    pyspiel.GameType.Utility.CONSTANT_SUM: CONSTANT_SUM,
    pyspiel.GameType.Utility.IDENTICAL: COOPERATIVE,
    pyspiel.GameType.Utility.GENERAL_SUM: GENERAL_SUM,
}

# pyspiel player ids (pyspiel.PlayerId) as plain ints for the hot loop.
_CHANCE = int(pyspiel.PlayerId.CHANCE)
_SIMULTANEOUS = int(pyspiel.PlayerId.SIMULTANEOUS)
_TERMINAL = int(pyspiel.PlayerId.TERMINAL)

INFORMATION_STATE = "information_state"
OBSERVATION = "observation"


def _known_names() -> list[str]:
    return list(pyspiel.registered_names())


def _split_spec(spec: str) -> tuple[str, str]:
    """``"goofspiel(num_cards=4)"`` -> ``("goofspiel", "(num_cards=4)")``."""
    head, paren, rest = spec.partition("(")
    return head.strip(), paren + rest


def _params_text(game_type: pyspiel.GameType) -> str:
    spec = game_type.parameter_specification
    if not spec:
        return "it takes no parameters"
    return "it accepts " + ", ".join(f"{k}={v!r}" for k, v in sorted(spec.items()))


def load_openspiel(spec: str) -> OpenSpielGame:
    """Load ``spec`` with ``pyspiel.load_game`` and wrap it.

    Raises:
        GameError: unknown game (the message lists the closest names), a
            parameter pyspiel rejects (the message lists the accepted
            parameters), or a game that does not fit the batched interface.
    """
    spec = spec.strip()
    name, _ = _split_spec(spec)
    known = _known_names()
    if name not in known:
        # Python-implemented games (python_kuhn_poker, ...) register on import.
        import open_spiel.python.games  # noqa: F401

        known = _known_names()
    if name not in known:
        hint = closest(name, known) or "see pyspiel.registered_names()"
        raise GameError(f"unknown game {name!r}: {hint} (catalog games are spelled 'matrix:NAME')")
    game_type = next(t for t in pyspiel.registered_games() if t.short_name == name)
    accepted = game_type.parameter_specification
    fix = f"write {name}(key=value,...)" if accepted else f"write just {name}"
    # Unknown keys, wrong types and absurd sizes are caught here, before
    # pyspiel prints its own complaint (or allocates for minutes).
    try:
        with _quiet_stderr():
            given = pyspiel.game_parameters_from_string(spec)
    except (pyspiel.SpielError, RuntimeError, ValueError) as e:
        raise GameError(f"cannot parse {spec!r}: {_first_line(e)}; {fix}") from None
    unknown = sorted(set(given) - {"name"} - set(accepted))
    if unknown:
        hint = closest(unknown[0], list(accepted))
        raise GameError(
            f"unknown parameter {unknown[0]!r} in {spec!r}: {_params_text(game_type)}"
            + (f"; {hint}" if hint else "")
        )
    _check_parameter_types(spec, name, given, accepted, game_type)
    _check_estimated_size(spec, name, {**accepted, **given})
    try:
        with _quiet_stderr():
            game = pyspiel.load_game(spec)
    except (pyspiel.SpielError, RuntimeError, ValueError, IndexError, KeyError, TypeError) as e:
        why = " ".join(str(e).split()).strip()
        raise GameError(
            f"bad parameters in {spec!r}: {why}; {_params_text(game_type)}; {fix}"
        ) from None
    except MemoryError:
        raise GameError(
            f"{spec}: too large to build in memory; choose smaller parameter values"
        ) from None
    return OpenSpielGame(spec, game)


def _first_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or e.__class__.__name__


@contextlib.contextmanager
def _quiet_stderr():
    """Swallow what pyspiel's C++ prints to fd 2 ("OpenSpiel exception: ...")
    before it raises: the exception carries the same text, and the CLI prints
    it as one line."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _check_parameter_types(spec: str, name: str, given: dict, accepted: dict, game_type) -> None:
    """Each given value must have the type of the parameter's default."""
    for key, value in given.items():
        if key == "name" or key not in accepted:
            continue
        want = type(accepted[key])
        ok = (
            isinstance(value, dict)
            if want is dict
            else isinstance(value, (int, float)) and not isinstance(value, bool)
            if want is float
            else type(value) is want
        )
        if not ok:
            raise GameError(
                f"{spec}: parameter {key}={value!r} should be {_TYPE_WORDS.get(want, want.__name__)} "
                f"(default {key}={accepted[key]!r}); {_params_text(game_type)}"
            )


def _blotto_actions(p: dict) -> int:
    coins, fields = int(p["coins"]), int(p["fields"])
    if coins < 0 or fields < 1:
        return 0
    # Ways to spread `coins` over `fields`; skip the big-number arithmetic
    # when the answer is obviously past the limit.
    if (coins >= 1 and fields > MAX_DISTINCT_ACTIONS) or (
        fields > 2 and coins > MAX_DISTINCT_ACTIONS
    ):
        return MAX_DISTINCT_ACTIONS + 1
    return math.comb(coins + fields - 1, fields - 1)


# name -> (what is estimated, the limit, estimate from the parameters), checked
# before pyspiel.load_game: these games allocate by their parameters at load.
_SIZE_ESTIMATES: dict[str, tuple[str, int, Callable[[dict], int]]] = {
    "blotto": ("actions", MAX_DISTINCT_ACTIONS, _blotto_actions),
    "goofspiel": (
        "information-state entries",
        MAX_OBS_SIZE,
        lambda p: int(p["players"]) * int(p["num_cards"]) ** 2,
    ),
}


def _check_estimated_size(spec: str, name: str, params: dict) -> None:
    if name not in _SIZE_ESTIMATES:
        return
    what, limit, estimate = _SIZE_ESTIMATES[name]
    try:
        size = estimate(params)
    except (KeyError, TypeError, ValueError, OverflowError):
        return  # pyspiel's own check names the problem
    if size > limit:
        raise GameError(
            f"{spec}: about {size:.3g} {what}, above the limit of {limit:,} "
            "(games.limits; docs/limits.md); choose smaller parameter values"
        )


def _check_fits(spec: str, game: pyspiel.Game) -> None:
    t = game.get_type()
    if t.dynamics == pyspiel.GameType.Dynamics.MEAN_FIELD:
        raise GameError(
            f"{spec}: mean-field games have no per-player episodes to batch; "
            "use open_spiel.python.mfg directly"
        )
    if t.chance_mode == pyspiel.GameType.ChanceMode.SAMPLED_STOCHASTIC:
        raise GameError(
            f"{spec}: its chance events come from a generator inside the game, "
            "so seeds cannot make it reproducible; pick an explicit-chance game"
        )
    if not (t.provides_information_state_tensor or t.provides_observation_tensor):
        raise GameError(
            f"{spec}: provides neither an information-state nor an observation "
            "tensor, so learners would have nothing to read; pick another game"
        )
    if t.action_structs_only:
        raise GameError(f"{spec}: takes action structs, not integer actions; pick another game")
    if game.num_distinct_actions() <= 0:
        raise GameError(f"{spec}: these parameters leave no actions; check the parameter values")
    if game.num_distinct_actions() > MAX_DISTINCT_ACTIONS:
        raise GameError(
            f"{spec}: {game.num_distinct_actions():,} actions, above the limit of "
            f"{MAX_DISTINCT_ACTIONS:,} (games.limits; docs/limits.md); choose smaller parameter values"
        )
    size = (
        game.information_state_tensor_size()
        if t.provides_information_state_tensor
        else game.observation_tensor_size()
    )
    if size > MAX_OBS_SIZE:
        raise GameError(
            f"{spec}: observation tensors of {size:,} entries, above the limit of "
            f"{MAX_OBS_SIZE:,} (games.limits; docs/limits.md); choose smaller parameter values"
        )


class OpenSpielGame(Game):
    """An OpenSpiel game (``pyspiel_game``) behind the batched interface.

    Attributes:
        info: sizes and kind, see :class:`games.core.GameInfo`.
        pyspiel_game: the wrapped ``pyspiel.Game`` (immutable, shareable).
        obs_type: ``"information_state"`` or ``"observation"``: which tensor
            players see.
    """

    def __init__(self, spec: str, pyspiel_game: pyspiel.Game):
        _check_fits(spec, pyspiel_game)
        self.pyspiel_game = pyspiel_game
        t = pyspiel_game.get_type()
        if t.provides_information_state_tensor:
            self.obs_type = INFORMATION_STATE
            self._iig_type = os_observation.INFO_STATE_OBS_TYPE
        else:
            self.obs_type = OBSERVATION
            self._iig_type = None
        probe = self.make_observer()
        if probe is None or getattr(probe, "tensor", None) is None:
            raise GameError(
                f"{spec}: its {self.obs_type} observer has no tensor; pick another game"
            )
        n_players = pyspiel_game.num_players()
        n_actions = pyspiel_game.num_distinct_actions()
        obs_size = int(probe.tensor.size)
        self.has_chance = t.chance_mode != pyspiel.GameType.ChanceMode.DETERMINISTIC
        self.terminal_rewards_only = t.reward_model == pyspiel.GameType.RewardModel.TERMINAL
        self.info = GameInfo(
            name=spec,
            num_players=n_players,
            num_actions=n_actions,
            actions_per_player=(n_actions,) * n_players,
            kind=_KIND[t.utility],
            dynamics=SIMULTANEOUS
            if t.dynamics == pyspiel.GameType.Dynamics.SIMULTANEOUS
            else SEQUENTIAL,
            obs_size=obs_size,
            state_size=n_players * obs_size,
            reward_range=(float(pyspiel_game.min_utility()), float(pyspiel_game.max_utility())),
            max_episode_length=int(pyspiel_game.max_game_length()),
        )

    def __repr__(self) -> str:
        return f"OpenSpielGame({self.info.name!r})"

    def __reduce__(self):
        # pyspiel games pickle, observation types do not: rebuild from the game.
        return (OpenSpielGame, (self.info.name, self.pyspiel_game))

    def new_state(self) -> pyspiel.State:
        """A fresh initial ``pyspiel.State`` (chance nodes not yet sampled)."""
        return self.pyspiel_game.new_initial_state()

    def make_observer(self):
        """A fresh ``make_observation`` object of this game's ``obs_type``.

        ``obs.set_from(state, player)`` writes into ``obs.tensor``.
        """
        return os_observation.make_observation(self.pyspiel_game, self._iig_type)

    def _fast_observers(self, n: int) -> list[tuple[Callable, np.ndarray]]:
        """``n`` pairs ``(set_from, tensor)``: a bound pyspiel method and its numpy buffer.

        C++ games share one stateless observer among ``n`` thin observations
        (``make_observation`` would build a dict of views for each, 20x
        slower); Python games get ``make_observation`` objects.
        """
        probe = self.make_observer()
        if type(probe) is not os_observation._Observation:
            out = [(probe.set_from, probe.tensor)]
            for _ in range(n - 1):
                o = self.make_observer()
                out.append((o.set_from, o.tensor))
            return out
        psg = self.pyspiel_game
        if self._iig_type is None:
            observer = psg.make_observer({})
        else:
            observer = psg.make_observer(self._iig_type, {})
        out = []
        for _ in range(n):
            o = pyspiel._Observation(psg, observer)
            out.append((o.set_from, np.frombuffer(o, np.float32)))
        return out

    def observation(self, state: pyspiel.State, player: int) -> np.ndarray:
        """``player``'s observation of ``state`` as the envs give it (a new array)."""
        obs = self.make_observer()
        return _observe(obs.set_from, obs.tensor, state, player).copy()

    def vector(self, batch: int, seed: int, *, first_copy: int = 0) -> OpenSpielVectorEnv:
        return OpenSpielVectorEnv(self, batch, seed, first_copy=first_copy)

    def action_name(self, player: int, action: int) -> str:
        """pyspiel's name of ``action`` at the initial state (some games name by state)."""
        for name_of in (self.new_state().action_to_string, self.pyspiel_game.action_to_string):
            try:
                return name_of(player, action)
            except (pyspiel.SpielError, RuntimeError, ValueError, IndexError):
                continue
        return str(action)


def _observe(set_from: Callable, tensor: np.ndarray, state: pyspiel.State, player: int):
    """Fill ``tensor`` with ``player``'s view of ``state``; zeros if the game refuses."""
    try:
        set_from(state, player)
    except (pyspiel.SpielError, RuntimeError, ValueError, IndexError):
        tensor[:] = 0.0
    return tensor


def _uniforms(rng: np.random.Generator, block: int = 64) -> Iterator[float]:
    """An endless stream of U[0, 1) floats drawn ``block`` at a time from ``rng``."""
    while True:
        yield from rng.random(block).tolist()


def exact_increment(paid: float, target: float) -> float:
    """A reward ``r`` with ``paid + r == target`` in float64, when one exists.

    ``target - paid`` almost always is one; when rounding makes it miss, the
    nearest floats around it are tried.
    """
    r = target - paid
    if paid + r == target:
        return r
    for direction in (math.inf, -math.inf):
        c = r
        for _ in range(4):
            c = math.nextafter(c, direction)
            if paid + c == target:
                return c
    return r


_OPENING_CACHE = 4096  # states kept per env by the opening-chance cache


class _OpeningNode:
    """A chance node of the opening: its state, outcomes and cumulative probabilities."""

    __slots__ = ("state", "actions", "cums", "children")

    def __init__(self, state: pyspiel.State):
        self.state = state
        outcomes = state.chance_outcomes()
        self.actions = [a for a, _ in outcomes]
        self.cums, c = [], 0.0
        for _, prob in outcomes:
            c += prob
            self.cums.append(c)
        self.children: dict = {}


class OpenSpielVectorEnv:
    """``batch`` pyspiel states stepped together; see :class:`games.core.VectorEnv`.

    Extra read-only hooks: ``states`` (the live pyspiel state of every copy;
    do not mutate), ``returns()`` (the game's own returns of every copy),
    ``render(b)`` (copy ``b`` as text) and ``action_name(b, player, action)``.
    """

    def __init__(self, game: OpenSpielGame, batch: int, seed: int, *, first_copy: int = 0):
        if batch < 1:
            raise GameError(f"batch must be at least 1, got {batch}")
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise GameError(f"seed must be a non-negative integer, got {seed!r}")
        if not isinstance(first_copy, (int, np.integer)) or first_copy < 0:
            raise GameError(f"first_copy must be a non-negative integer, got {first_copy!r}")
        self.game = game
        self.info = game.info
        self.batch = batch
        self.seed = seed
        self.first_copy = first_copy
        n_players, n_actions = game.info.num_players, game.info.num_actions
        self._psg = game.pyspiel_game
        self._P, self._A = n_players, n_actions
        self._sequential = game.info.dynamics == SEQUENTIAL
        self._chance = game.has_chance
        self._terminal_only = game.terminal_rewards_only
        # Each copy's chance stream, made on its first chance node (seeding
        # costs 35 us a copy, wasted on deterministic games).
        self._uniform: list[Callable[[], float] | None] = [None] * batch
        self._opening: _OpeningNode | None = None
        self._opening_size = 0
        # One observer per copy and player: set_from writes into its own numpy
        # tensor, and one bytearray join per step gathers them all (8x faster
        # than np.concatenate over B * P small arrays).
        pairs = game._fast_observers(batch * n_players)
        # Copy b's (set_from, player) pairs: the hot loops call f(state, player).
        self._setters = [
            tuple((pairs[b * n_players + q][0], q) for q in range(n_players)) for b in range(batch)
        ]
        self._views = [t for _, t in pairs]
        if not all(v.dtype == np.float32 and v.flags.c_contiguous for v in self._views):
            raise GameError(f"{game.info.name}: its observer tensors are not float32 arrays")
        self._buffers = [memoryview(v).cast("B") for v in self._views]
        self.states: list[pyspiel.State] = [None] * batch  # type: ignore[list-item]
        self._cur = [_TERMINAL] * batch
        self._paid = [[0.0] * n_players for _ in range(batch)]
        self._legal = np.zeros((batch, n_players, n_actions), dtype=bool)
        self._acting = np.zeros((batch, n_players), dtype=bool)
        self._done = np.ones(batch, dtype=bool)
        self._all = list(range(batch))

    # ------------------------------------------------------------------ public

    def reset(self, mask: np.ndarray | None = None) -> TimeStep:
        if mask is None:
            rows = self._all
        else:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (self.batch,):
                raise GameError(f"reset mask must have shape ({self.batch},), got {mask.shape}")
            rows = np.flatnonzero(mask).tolist()
        rewards = np.zeros((self.batch, self._P))
        if rows:
            index = np.asarray(rows, dtype=np.intp)
            self._legal[index] = False
            self._acting[index] = False
            self._done[index] = False
            self._settle(rows, rewards, fresh=True)
        return self._timestep(rewards)

    def step(self, actions: np.ndarray) -> TimeStep:
        actions = np.asarray(actions)
        if actions.shape != (self.batch, self._P):
            raise GameError(
                f"actions must have shape ({self.batch}, {self._P}) [B, P], got {actions.shape}"
            )
        if actions.dtype.kind not in "iu":
            raise GameError(f"actions must be integers, got dtype {actions.dtype}")
        acting = np.flatnonzero(self._acting.reshape(-1))  # b * P + p, sorted by b
        chosen = actions.reshape(-1)[acting]
        self._check_legal(acting, chosen, actions)
        rewards = np.zeros((self.batch, self._P))
        if acting.size:
            if self._sequential:
                self._advance_sequential((acting // self._P).tolist(), chosen.tolist(), rewards)
            else:
                rows = np.flatnonzero(~self._done)
                self._advance_joint(rows.tolist(), actions[rows].tolist(), rewards)
        return self._timestep(rewards)

    def render(self, b: int) -> str:
        """A text picture of copy ``b`` (pyspiel's ``str(state)``)."""
        return str(self.states[b])

    def action_name(self, b: int, player: int, action: int) -> str:
        """pyspiel's name of ``action`` in copy ``b``'s current state."""
        try:
            return self.states[b].action_to_string(player, action)
        except (pyspiel.SpielError, RuntimeError, ValueError, IndexError):
            return self.game.action_name(player, action)

    def returns(self) -> np.ndarray:
        """``[B, P] float64``: ``state.returns()`` of every copy."""
        zero = [0.0] * self._P
        return np.array([zero if s is None else s.returns() for s in self.states])

    # ------------------------------------------------------------------ inside

    def _timestep(self, rewards: np.ndarray) -> TimeStep:
        obs = np.frombuffer(bytearray().join(self._buffers), dtype=np.float32)
        obs = obs.reshape(self.batch, self._P, -1)
        return TimeStep(
            obs=obs,
            legal=self._legal.copy(),
            acting=self._acting.copy(),
            rewards=rewards,
            done=self._done.copy(),
            state=obs.reshape(self.batch, -1).copy(),
        )

    def _check_legal(self, acting: np.ndarray, chosen: np.ndarray, actions: np.ndarray) -> None:
        inside = (chosen >= 0) & (chosen < self._A)
        ok = inside.all() and self._legal.reshape(-1, self._A)[acting, chosen].all()
        if ok:
            return
        safe = np.where(inside, chosen, 0)
        bad = ~(inside & self._legal.reshape(-1, self._A)[acting, safe])
        b, p = divmod(int(acting[np.argmax(bad)]), self._P)
        legal = np.flatnonzero(self._legal[b, p]).tolist()
        raise GameError(
            f"illegal action {actions[b, p]} for player {p} in env {b}: legal actions are {legal}"
        )

    def _stream(self, b: int) -> Callable[[], float]:
        uniform = self._uniform[b]
        if uniform is None:
            uniform = _uniforms(copy_rng(self.seed, self.first_copy + b)).__next__
            self._uniform[b] = uniform
        return uniform

    def _sample_chance(self, s: pyspiel.State, b: int) -> int:
        """Play chance nodes from copy ``b``'s stream; return the next player id."""
        uniform = self._stream(b)
        p = _CHANCE
        while p == _CHANCE:
            u = uniform()
            c = 0.0
            for a, prob in s.chance_outcomes():  # noqa: B007 (a is the pick)
                c += prob
                if u < c:
                    break
            s.apply_action(a)
            p = s.current_player()
        return p

    def _start(self, b: int) -> tuple[pyspiel.State, int]:
        """A new game for copy ``b`` with its opening chance nodes played.

        The opening chance nodes (the deal of a card game) are walked through
        a cache of the states they lead to, so a reset costs one clone instead
        of a new state plus a pyspiel call per chance node. Outcomes are picked
        from the same stream with the same rule as :meth:`_sample_chance`, so
        the games are the same with or without the cache.
        """
        node = self._opening
        if node is None:
            s = self._psg.new_initial_state()
            p = s.current_player()
            if p == _CHANCE:
                self._opening = node = _OpeningNode(s)
            else:
                return s, p
        uniform = self._uniform[b] or self._stream(b)
        while True:
            u = uniform()
            cums = node.cums
            i = 0
            last = len(cums) - 1
            while i < last and not u < cums[i]:
                i += 1
            a = node.actions[i]
            child = node.children.get(a)
            if child is None:
                s = node.state.clone()
                s.apply_action(a)
                p = s.current_player()
                if self._opening_size >= _OPENING_CACHE:
                    if p == _CHANCE:
                        p = self._sample_chance(s, b)
                    return s, p
                self._opening_size += 1
                child = node.children[a] = _OpeningNode(s) if p == _CHANCE else (s, p)
            if type(child) is tuple:
                return child[0].clone(), child[1]
            node = child

    def _pay(self, s: pyspiel.State, b: int) -> list[float]:
        """This transition's rewards: ``returns()`` minus what was already paid."""
        paid = self._paid[b]
        r = [exact_increment(old, new) for old, new in zip(paid, s.returns())]
        self._paid[b] = [old + x for old, x in zip(paid, r)]
        return r

    def _observe_safely(self, b: int, s: pyspiel.State) -> None:
        """Every player's observation of copy ``b``; zeros where the game refuses."""
        for set_from, p in self._setters[b]:
            _observe(set_from, self._views[b * self._P + p], s, p)

    def _finish(self, finished: list[int], rows: list[int], values: list, rewards) -> None:
        """Mark ``finished`` rows done; ``values`` holds the rewards of ``rows``, flat."""
        if finished:
            self._done[finished] = True
        if rows:
            rewards[rows] = np.array(values, dtype=np.float64).reshape(len(rows), self._P)

    def _scatter(self, bp: list[int], lists: list[list[int]]) -> None:
        """Mark flat rows ``bp`` (``b * P + p``) acting, with legal actions ``lists``."""
        if not bp:
            return
        lens = np.fromiter(map(len, lists), dtype=np.intp, count=len(lists))
        acts = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.intp)
        if acts.size and (acts.min() < 0 or acts.max() >= self._A):
            raise GameError(
                f"{self.info.name}: the game lists a legal action outside "
                f"0..{self._A - 1} (num_distinct_actions); it cannot be batched"
            )
        idx = np.asarray(bp, dtype=np.intp)
        self._legal.reshape(-1)[np.repeat(idx * self._A, lens) + acts] = True
        self._acting.reshape(-1)[idx] = True

    def _settle(
        self, rows: list[int], rewards: np.ndarray, joints: list | None = None, fresh=False
    ) -> None:
        """Start (``fresh``) or move (``joints``) ``rows``, play chance, observe, find who acts.

        The caller has cleared ``legal``/``acting`` of these rows.
        """
        n_players, states, cur, setters = self._P, self.states, self._cur, self._setters
        sample_chance, pay, terminal_only = self._sample_chance, self._pay, self._terminal_only
        start, zero = self._start, [0.0] * n_players
        bp, lists, finished, pay_rows, pay_values = [], [], [], [], []
        for i, b in enumerate(rows):
            if fresh:
                s, p = start(b)
                states[b] = s
                if not terminal_only:
                    self._paid[b] = zero
            else:
                s = states[b]
                p = cur[b]
                if p == _SIMULTANEOUS:
                    s.apply_actions(joints[i])
                else:
                    s.apply_action(joints[i][p])
                p = s.current_player()
                if p == _CHANCE:
                    p = sample_chance(s, b)
            cur[b] = p
            if p >= 0:
                bp.append(b * n_players + p)
                lists.append(s.legal_actions(p))
            elif p == _SIMULTANEOUS:
                for q in range(n_players):
                    la = s.legal_actions(q)
                    if la:
                        bp.append(b * n_players + q)
                        lists.append(la)
            else:
                finished.append(b)
            try:
                for set_from, q in setters[b]:
                    set_from(s, q)
            except (pyspiel.SpielError, RuntimeError, ValueError, IndexError):
                self._observe_safely(b, s)
            if not terminal_only:
                pay_rows.append(b)
                pay_values += pay(s, b)
            elif p == _TERMINAL:
                pay_rows.append(b)
                pay_values += s.returns()
        self._finish(finished, pay_rows, pay_values, rewards)
        self._scatter(bp, lists)

    def _advance_sequential(self, rows: list[int], acts: list[int], rewards: np.ndarray) -> None:
        """One decision in every unfinished copy of a turn-based game (the hot loop)."""
        n_players, states, cur, setters = self._P, self.states, self._cur, self._setters
        chance, terminal_only = self._chance, self._terminal_only
        sample_chance, pay = self._sample_chance, self._pay
        bp, lists, finished, pay_rows, pay_values = [], [], [], [], []
        for b, a in zip(rows, acts):
            s = states[b]
            s.apply_action(a)
            p = s.current_player()
            if chance and p == _CHANCE:
                p = sample_chance(s, b)
            cur[b] = p
            if p >= 0:
                bp.append(b * n_players + p)
                lists.append(s.legal_actions())
                if not terminal_only:
                    pay_rows.append(b)
                    pay_values += pay(s, b)
            else:
                if p != _TERMINAL:
                    raise GameError(f"{self.info.name}: simultaneous node in a sequential game")
                finished.append(b)
                pay_rows.append(b)
                pay_values += s.returns() if terminal_only else pay(s, b)
            try:
                for set_from, q in setters[b]:
                    set_from(s, q)
            except (pyspiel.SpielError, RuntimeError, ValueError, IndexError):
                self._observe_safely(b, s)
        self._legal.fill(False)
        self._acting.fill(False)
        self._finish(finished, pay_rows, pay_values, rewards)
        self._scatter(bp, lists)

    def _advance_joint(self, rows: list[int], joints: list[list[int]], rewards) -> None:
        """One (joint) decision in every unfinished copy, at simultaneous or turn nodes."""
        self._legal.fill(False)
        self._acting.fill(False)
        self._settle(rows, rewards, joints)
