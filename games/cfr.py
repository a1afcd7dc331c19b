"""CFR and CFR+ average policies of small OpenSpiel games, as tables the envs can look up.

Counterfactual regret minimisation (Zinkevich et al. 2007, "Regret
minimization in games with incomplete information") walks the whole game
tree every iteration: at each information state ``I`` of player ``i`` it
accumulates the counterfactual regret of every action and plays regret
matching; the *average* policy, weighted by ``i``'s own reach, is the output.
CFR+ (Tammelin 2014; Tammelin et al. 2015) clips cumulative regrets at zero,
alternates the players' updates and weights iteration ``t`` of the average by
``t``. Both run here through OpenSpiel's C++ solvers, ``pyspiel.CFRPlusSolver``
and ``pyspiel.CFRSolver``: ``evaluate_and_update_policy()`` ``N`` times, then
``average_policy()``.

What the average policy guarantees:

* two-player zero-sum (or constant-sum) games: its NashConv goes to 0, as
  ``O(1/sqrt(N))`` in the worst case for CFR (Zinkevich et al. 2007, Thm. 4);
  CFR+ is much faster in practice (Kuhn: NashConv below 1e-3 after 1000
  iterations, measured ``1.7e-4``; Leduc ``5.1e-4``);
* n-player or general-sum games: CFR still drives every player's average
  regret to 0, so the *empirical joint play* approaches a coarse correlated
  equilibrium, but the average policy itself need not be near any Nash
  equilibrium; its NashConv (stored with the table) says how far it is
  (three-player Kuhn happens to reach about 3e-5).

The table. :func:`solve_cfr` returns a :class:`TabularTable`: one row per
information state, keyed as a policy sees it in the batched env: the acting
player and that player's observation vector, made by
:meth:`games.openspiel.OpenSpielGame.observation` (the code the envs use, so
the bytes match what ``TimeStep.obs`` holds); probabilities over the game's
full action space, exactly 0 on illegal actions. Only games whose players see
OpenSpiel's *information-state tensor* qualify (``obs_type ==
"information_state"``): an observation tensor (a board) does not tell apart
histories CFR treats as distinct states. Even so the tensor is checked: two
information states with one observation vector are refused
(:class:`CFRError`: the observation does not identify the information state).

Limits, checked before solving (:func:`check_cfr_game`): turn-based OpenSpiel
games with information-state strings and tensors, at most
:data:`MAX_DECISION_NODES` decision nodes (the walk also stops after
:data:`MAX_WALK_SECONDS`), ``1 <= N <=`` :data:`MAX_ITERATIONS`, and an
estimated solve time (``N`` x decision nodes x :data:`SECONDS_PER_NODE`) of
at most :data:`MAX_SOLVE_SECONDS`.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from games.core import GameError
from games.spec import parse_call

__all__ = [
    "ALGORITHMS",
    "CFRError",
    "CFRSpec",
    "TabularTable",
    "check_cfr_game",
    "parse_cfr_spec",
    "solve_cfr",
]

ALGORITHMS = ("cfr_plus", "cfr")
"""Spec names: ``cfr_plus(iterations=N)`` (CFR+) and ``cfr(iterations=N)`` (vanilla CFR)."""
DEFAULT_ITERATIONS = 1000
MAX_ITERATIONS = 1_000_000
MAX_DECISION_NODES = 200_000
"""Decision nodes of the tree walk, as ``arena.evaluation.tabular.DEFAULT_MAX_STATES``."""
MAX_WALK_SECONDS = 20.0
"""The eligibility walk gives up after this long (a game too large to solve anyway)."""
SECONDS_PER_NODE = 5e-6
"""CFR+ cost per decision node and iteration, measured here: Leduc (3,780 nodes)
takes 18.6 s for 1000 iterations, Kuhn (24 nodes) 0.05 s."""
MAX_SOLVE_SECONDS = 900.0
"""Largest estimated solve time accepted (about 15 minutes)."""

FORMAT = "1"
"""Version of the table's metadata (``TabularTable.metadata['format']``)."""


class CFRError(GameError):
    """A CFR spec or game that cannot be solved here; one-line message naming the limit."""


@dataclasses.dataclass(frozen=True)
class CFRSpec:
    """A parsed ``cfr_plus(iterations=N)`` / ``cfr(iterations=N)`` spec."""

    algorithm: str
    """'cfr_plus' or 'cfr'."""
    iterations: int
    """Solver iterations N."""

    @property
    def text(self) -> str:
        """The canonical spelling (what league configs store)."""
        return f"{self.algorithm}(iterations={self.iterations})"

    @property
    def title(self) -> str:
        """How reports name it: 'CFR+ average policy after N iterations'."""
        name = "CFR+" if self.algorithm == "cfr_plus" else "CFR"
        return f"{name} average policy after {self.iterations:,} iterations"


def parse_cfr_spec(text: str) -> CFRSpec | None:
    """``"cfr_plus(iterations=500)"`` -> ``CFRSpec('cfr_plus', 500)``; None when ``text``
    does not name a CFR solver (``"random"``, a path).

    Raises:
        CFRError: a CFR name with bad arguments (unknown key, not an integer,
            out of ``1..MAX_ITERATIONS``).
    """
    if not isinstance(text, str):
        return None
    head = text.strip().split("(", 1)[0].strip()
    if head not in ALGORITHMS:
        return None
    try:
        name, kwargs = parse_call(text, "CFR spec", f"{head}(iterations=N)")
    except GameError as e:
        raise CFRError(str(e)) from None
    unknown = sorted(set(kwargs) - {"iterations"})
    if unknown:
        raise CFRError(
            f"{text.strip()}: unknown parameter {unknown[0]!r}; {name} takes only iterations "
            f"(write {name}(iterations=N), N in 1..{MAX_ITERATIONS:,})"
        )
    n = kwargs.get("iterations", DEFAULT_ITERATIONS)
    if isinstance(n, bool) or not isinstance(n, int):
        raise CFRError(
            f"{text.strip()}: iterations={n!r} is not an integer; write {name}(iterations=N), "
            f"N in 1..{MAX_ITERATIONS:,}"
        )
    if not 1 <= n <= MAX_ITERATIONS:
        raise CFRError(
            f"{text.strip()}: iterations={n:,} is out of range; give N in 1..{MAX_ITERATIONS:,}"
        )
    return CFRSpec(name, n)


@dataclasses.dataclass(frozen=True)
class TabularTable:
    """A policy as a table: one row per information state.

    Attributes:
        players: ``[M]`` int32, the acting player of each row.
        obs: ``[M, O]`` float32, that player's observation vector there (as the env gives it).
        probs: ``[M, A]`` float32 action probabilities over the full action
            space, 0 on illegal actions, each row summing to 1.
        legal: ``[M, A]`` bool legal actions.
        info_states: ``[M]`` OpenSpiel information-state strings (not stored
            in table files: the observation is the key).
        metadata: strings: format, game, algorithm, iterations, nash_conv,
            decision_nodes, info_states (no wall-clock time: the same solve gives
            the same bytes).
    """

    players: np.ndarray
    obs: np.ndarray
    probs: np.ndarray
    legal: np.ndarray
    info_states: tuple[str, ...] = ()
    metadata: dict = dataclasses.field(default_factory=dict)


# ---------------------------------------------------------------------------
# Which games


def _pyspiel_game(game, what: str):
    pg = getattr(game, "pyspiel_game", None)
    if pg is None:
        raise CFRError(
            f"{game.info.name}: {what} cannot be solved here: CFR references need an OpenSpiel game (matrix-catalog, "
            "control and PettingZoo games have no game tree to walk); pick e.g. kuhn_poker or leduc_poker"
        )
    return pg


def _check_type(game, what: str) -> None:
    import pyspiel

    pg = _pyspiel_game(game, what)
    t = pg.get_type()
    name = game.info.name
    if t.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
        raise CFRError(
            f"{name}: {what} cannot be solved here: CFR here solves turn-based games, this one has simultaneous moves; "
            "pick a turn-based game such as kuhn_poker or leduc_poker"
        )
    if not (t.provides_information_state_string and t.provides_information_state_tensor):
        raise CFRError(
            f"{name}: {what} cannot be solved here: its players see an observation tensor, not an information-state "
            "tensor, so a table could not tell its information states apart (and CFR walks at most "
            f"{MAX_DECISION_NODES:,} decision nodes); pick a small imperfect-information game such as "
            "kuhn_poker or leduc_poker"
        )


def _walk(game, what: str):
    """Every decision node, depth first, children made lazily: ``(states, count)``.

    ``states`` maps ``(player, information-state string)`` to one state there.

    Raises:
        CFRError: more than :data:`MAX_DECISION_NODES` decision nodes, or the
            walk ran past :data:`MAX_WALK_SECONDS`.
    """
    pg = game.pyspiel_game
    name = game.info.name
    states: dict = {}
    count = 0
    start = time.monotonic()

    def visit(s):
        nonlocal count
        if s.is_terminal():
            return None
        if s.is_chance_node():
            return (s, iter([a for a, _ in s.chance_outcomes()]))
        count += 1
        if count > MAX_DECISION_NODES:
            raise CFRError(
                f"{name}: {what} cannot be solved here: more than {MAX_DECISION_NODES:,} decision nodes, over the "
                "CFR limit (games.cfr.MAX_DECISION_NODES); pick a smaller game or smaller parameters"
            )
        if not count % 4096 and time.monotonic() - start > MAX_WALK_SECONDS:
            raise CFRError(
                f"{name}: {what} cannot be solved here: walking its tree took over {MAX_WALK_SECONDS:g} s after "
                f"{count:,} decision nodes (limit {MAX_DECISION_NODES:,}); pick a smaller game"
            )
        p = s.current_player()
        states.setdefault((p, s.information_state_string(p)), s)
        return (s, iter(s.legal_actions()))

    stack = [visit(pg.new_initial_state())]
    while stack:
        top = stack[-1]
        if top is None:
            stack.pop()
            continue
        a = next(top[1], None)
        if a is None:
            stack.pop()
            continue
        child = visit(top[0].child(a))
        if child is not None:
            stack.append(child)
    return states, count


def estimated_seconds(decision_nodes: int, iterations: int) -> float:
    """Rough solve time: iterations x decision nodes x :data:`SECONDS_PER_NODE`."""
    return float(iterations) * decision_nodes * SECONDS_PER_NODE


def check_cfr_game(game, iterations: int = DEFAULT_ITERATIONS, what: str = "CFR reference") -> int:
    """Refuse a game CFR cannot solve here; return its number of decision nodes.

    Raises:
        CFRError: not an OpenSpiel game, simultaneous moves, no
            information-state tensor, too many decision nodes, or an
            estimated solve time above :data:`MAX_SOLVE_SECONDS`.
    """
    _check_type(game, what)
    _, count = _walk(game, what)
    _check_time(game, count, iterations, what)
    return count


def _check_time(game, count: int, iterations: int, what: str) -> None:
    est = estimated_seconds(count, iterations)
    if est > MAX_SOLVE_SECONDS:
        most = max(1, int(MAX_SOLVE_SECONDS / (count * SECONDS_PER_NODE)))
        raise CFRError(
            f"{game.info.name}: {what} cannot be solved here: {iterations:,} iterations over {count:,} decision nodes "
            f"would take about {est:,.0f} s, over the limit of {MAX_SOLVE_SECONDS:,.0f} s "
            f"(games.cfr.MAX_SOLVE_SECONDS); give at most iterations={most:,}"
        )


# ---------------------------------------------------------------------------
# Solving


def solve_cfr(
    game, algorithm: str = "cfr_plus", iterations: int = DEFAULT_ITERATIONS
) -> TabularTable:
    """The average policy of OpenSpiel's CFR+ (or CFR) solver after ``iterations``, as a table.

    Args:
        game: a :class:`games.openspiel.OpenSpielGame` (see :func:`check_cfr_game`).
        algorithm: 'cfr_plus' or 'cfr'.
        iterations: solver iterations, 1..:data:`MAX_ITERATIONS`.

    Returns:
        A :class:`TabularTable` whose metadata holds the exact NashConv of the
        table's own (float32) probabilities, by ``pyspiel.nash_conv``.

    Raises:
        CFRError: the game does not qualify, arguments out of range, or the
            observation does not identify the information state.
    """
    import pyspiel

    if algorithm not in ALGORITHMS:
        raise CFRError(f"unknown CFR algorithm {algorithm!r}; pick one of {', '.join(ALGORITHMS)}")
    spec = parse_cfr_spec(f"{algorithm}(iterations={iterations!r})")
    what = spec.text
    _check_type(game, what)
    states, count = _walk(game, what)
    _check_time(game, count, spec.iterations, what)
    pg = game.pyspiel_game
    solver = (pyspiel.CFRPlusSolver if algorithm == "cfr_plus" else pyspiel.CFRSolver)(pg)
    for _ in range(spec.iterations):
        solver.evaluate_and_update_policy()
    average = solver.average_policy()

    n_actions = game.info.num_actions
    keys = sorted(states)  # (player, info-state string): a stable row order
    m = len(keys)
    players = np.array([p for p, _ in keys], dtype=np.int32)
    obs = np.zeros((m, game.info.obs_size), dtype=np.float32)
    probs = np.zeros((m, n_actions), dtype=np.float64)
    legal = np.zeros((m, n_actions), dtype=bool)
    seen: dict = {}
    for row, (p, info) in enumerate(keys):
        s = states[(p, info)]
        obs[row] = game.observation(s, p)
        key = (p, obs[row].tobytes())
        if key in seen:
            raise CFRError(
                f"{game.info.name}: the observation does not identify the information state: player "
                f"{p} sees one observation vector at {keys[seen[key]][1]!r} and at {info!r}; "
                "no table policy can play this game"
            )
        seen[key] = row
        acts = s.legal_actions(p)
        legal[row, acts] = True
        for a, prob in average.action_probabilities(s).items():
            if not legal[row, a] and prob > 0:
                raise CFRError(
                    f"{game.info.name}: the solver put probability on illegal action {a} at {info!r}"
                )
            probs[row, a] = max(float(prob), 0.0)
    total = probs.sum(-1, keepdims=True)
    # A state the average never reached with weight falls back to uniform (OpenSpiel's rule).
    empty = total[:, 0] <= 0
    probs[empty] = legal[empty] / legal[empty].sum(-1, keepdims=True)
    total[empty] = 1.0
    probs32 = (probs / total).astype(np.float32)
    probs32 /= probs32.sum(-1, keepdims=True)
    nash_conv = _nash_conv(pg, keys, probs32, legal)
    metadata = {
        "format": FORMAT,
        "game": game.info.name,
        "players": str(game.info.num_players),
        "kind": "cfr_table",
        "game_kind": game.info.kind,
        "algorithm": algorithm,
        "iterations": str(spec.iterations),
        "nash_conv": repr(nash_conv),
        "decision_nodes": str(count),
        "info_states": str(m),
    }
    return TabularTable(players, obs, probs32, legal, tuple(k[1] for k in keys), metadata)


def _nash_conv(pg, keys, probs: np.ndarray, legal: np.ndarray) -> float:
    """Exact NashConv of the table's own probabilities (``pyspiel.nash_conv`` on a dict policy)."""
    import pyspiel

    table = {
        info: [(int(a), float(row[a])) for a in np.flatnonzero(ok)]
        for (_, info), row, ok in zip(keys, probs, legal)
    }
    value = float(pyspiel.nash_conv(pg, table))
    return 0.0 if abs(value) < 1e-12 else value if math.isfinite(value) else float("nan")
