"""A catalog of classic matrix games, each citing where its numbers come from.

``load_catalog("penalty(k=-50)")`` builds an entry; ``names()`` lists them.
Payoff tensors are ``[P, A_1..A_P]`` (see ``games.matrix``); in a two-player
table the row is player 0's action and the column player 1's. Cooperative
games give every player the identical payoff.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable

import numpy as np

from games.core import GameError
from games.limits import MAX_MATRIX_ENTRIES
from games.matrix import MatrixGame, common_payoff, normal_form, repeated, zero_sum_payoff
from games.spec import parse_call


@dataclasses.dataclass(frozen=True)
class Entry:
    """One catalog game."""

    name: str
    build: Callable[..., MatrixGame]
    """Makes the game from keyword parameters (all have defaults)."""
    source: str
    """Paper or book the payoffs come from."""

    @property
    def params(self) -> dict[str, object]:
        """Parameter names and their defaults."""
        sig = inspect.signature(self.build)
        return {k: p.default for k, p in sig.parameters.items()}

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.build) or ""


_ENTRIES: dict[str, Entry] = {}


def _entry(source: str):
    def register(build: Callable[..., MatrixGame]) -> Callable[..., MatrixGame]:
        _ENTRIES[build.__name__] = Entry(build.__name__, build, source)
        return build

    return register


def _bimatrix(row, col) -> np.ndarray:
    return np.stack([np.asarray(row, dtype=np.float64), np.asarray(col, dtype=np.float64)])


def _make(name: str, payoffs: np.ndarray, actions, source: str) -> MatrixGame:
    if isinstance(actions[0], str):
        actions = [actions] * payoffs.shape[0]
    return normal_form(payoffs, name=name, action_names=actions, source=source)


# ---- two-player zero-sum ---------------------------------------------------

_RPS_SRC = "Shoham & Leyton-Brown (2009), Multiagent Systems, Fig. 3.6"


@_entry(_RPS_SRC)
def rock_paper_scissors() -> MatrixGame:
    """Rock beats scissors beats paper beats rock; the unique Nash is uniform, value 0."""
    a = [[0, -1, 1], [1, 0, -1], [-1, 1, 0]]
    return _make("rock_paper_scissors", zero_sum_payoff(a), ["Rock", "Paper", "Scissors"], _RPS_SRC)


_MP_SRC = "von Neumann & Morgenstern (1944); Shoham & Leyton-Brown (2009), Fig. 3.5"


@_entry(_MP_SRC)
def matching_pennies() -> MatrixGame:
    """Player 0 wins 1 if the coins match, player 1 if they differ; Nash: uniform, value 0."""
    a = [[1, -1], [-1, 1]]
    return _make("matching_pennies", zero_sum_payoff(a), ["Heads", "Tails"], _MP_SRC)


# ---- two-player general-sum ------------------------------------------------

_PD_SRC = "Axelrod (1984), The Evolution of Cooperation: T=5, R=3, P=1, S=0"


@_entry(_PD_SRC)
def prisoners_dilemma() -> MatrixGame:
    """Defecting dominates; the unique Nash (Defect, Defect) pays 1 each, cooperating 3."""
    row = [[3, 0], [5, 1]]
    return _make(
        "prisoners_dilemma", _bimatrix(row, np.transpose(row)), ["Cooperate", "Defect"], _PD_SRC
    )


_SH_SRC = "Skyrms (2004), The Stag Hunt and the Evolution of Social Structure, ch. 1"


@_entry(_SH_SRC)
def stag_hunt() -> MatrixGame:
    """Stag together pays 4, hare always 3, stag alone 0.

    Nash: (Stag, Stag), (Hare, Hare) and the mixed one with P(Stag) = 3/4.
    """
    row = [[4, 0], [3, 3]]
    return _make("stag_hunt", _bimatrix(row, np.transpose(row)), ["Stag", "Hare"], _SH_SRC)


_BOS_SRC = "Luce & Raiffa (1957), Games and Decisions, Sec. 5.3"


@_entry(_BOS_SRC)
def battle_of_sexes() -> MatrixGame:
    """Both prefer meeting; player 0 prefers Opera (3 vs 2), player 1 Football."""
    return _make(
        "battle_of_sexes",
        _bimatrix([[3, 0], [0, 2]], [[2, 0], [0, 3]]),
        ["Opera", "Football"],
        _BOS_SRC,
    )


_CHICKEN_SRC = "Rapoport & Chammah (1966), The game of Chicken, American Behavioral Scientist 10(3)"


@_entry(_CHICKEN_SRC)
def chicken() -> MatrixGame:
    """Swerving loses face (-1), both going straight crashes (-10).

    Nash: the two pure profiles where exactly one swerves, and a mixed one
    where each goes straight with probability 1/10.
    """
    row = [[0, -1], [1, -10]]
    return _make("chicken", _bimatrix(row, np.transpose(row)), ["Swerve", "Straight"], _CHICKEN_SRC)


_SHAPLEY_SRC = "Shapley (1964), Some topics in two-person games (the variant in OpenSpiel's matrix_shapleys_game)"


@_entry(_SHAPLEY_SRC)
def shapleys_game() -> MatrixGame:
    """A general-sum rock-paper-scissors where fictitious play cycles; unique Nash: uniform."""
    return _make(
        "shapleys_game",
        _bimatrix([[0, 0, 1], [1, 0, 0], [0, 1, 0]], [[0, 1, 0], [0, 0, 1], [1, 0, 0]]),
        ["Rock", "Paper", "Scissors"],
        _SHAPLEY_SRC,
    )


# ---- cooperative (identical payoffs) ---------------------------------------

_COORD_SRC = "Schelling (1960), The Strategy of Conflict; Lewis (1969), Convention"


@_entry(_COORD_SRC)
def pure_coordination(n: int = 2) -> MatrixGame:
    """``n`` actions; both players get 1 when they pick the same one, else 0."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise GameError(f"pure_coordination: n must be an integer >= 2, got {n!r}")
    if 2 * n * n > MAX_MATRIX_ENTRIES:
        raise GameError(
            f"pure_coordination: n={n} gives a payoff tensor above the limit of "
            f"{MAX_MATRIX_ENTRIES:,} entries (games.limits; docs/limits.md); give a smaller n"
        )
    return _make(
        "pure_coordination" if n == 2 else f"pure_coordination(n={n})",
        common_payoff(np.eye(n), 2),
        [f"a{i}" for i in range(n)],
        _COORD_SRC,
    )


_CB_SRC = "Claus & Boutilier (1998), The dynamics of reinforcement learning in cooperative multiagent systems, AAAI"


@_entry(_CB_SRC)
def climbing() -> MatrixGame:
    """Optimum (a, a) = 11 sits next to -30 penalties; learners drift to (b, b) or (c, c)."""
    table = [[11, -30, 0], [-30, 7, 6], [0, 0, 5]]
    return _make("climbing", common_payoff(table, 2), ["a", "b", "c"], _CB_SRC)


@_entry(_CB_SRC + "; k <= 0 in the paper")
def penalty(k: float = -10.0) -> MatrixGame:
    """Two optima (a, a) and (c, c) worth 10; miscoordinating them costs ``k``.

    Claus & Boutilier study ``k <= 0`` (0 down to -100); the default -10 is a
    middle value: the safe (b, b) pays 2.
    """
    if isinstance(k, bool) or not isinstance(k, (int, float)):
        raise GameError(f"penalty: k must be a number (k <= 0 in the paper), got {k!r}")
    table = [[k, 0, 10], [0, 2, 0], [10, 0, k]]
    name = "penalty" if k == -10 else f"penalty(k={k:g})"
    return _make(name, common_payoff(table, 2), ["a", "b", "c"], _CB_SRC)


_NONMONO_SRC = "Son et al. (2019), QTRAN, ICML, Table 1; Rashid et al. (2020), Weighted QMIX, NeurIPS, Sec. 6.1"


@_entry(_NONMONO_SRC)
def nonmonotonic() -> MatrixGame:
    """Optimum (a, a) = 8 but -12 for any miscoordination with it: monotonic mixers (VDN, QMIX) miss it."""
    table = [[8, -12, -12], [-12, 0, 0], [-12, 0, 0]]
    return _make("nonmonotonic", common_payoff(table, 2), ["a", "b", "c"], _NONMONO_SRC)


_POSCTRL_SRC = (
    "the commented alternative to the nonmonotonic matrix in the one-step matrix game of "
    "PyMARL-based code (Weighted QMIX / QPLEX repositories): 'this ... matrix can be solved by qmix'"
)


@_entry(_POSCTRL_SRC)
def positive_control() -> MatrixGame:
    """The nonmonotonic layout with a tiny miscoordination cost (-0.1): QMIX finds (a, a) = 12."""
    table = [[12, -0.1, -0.1], [-0.1, 0, 0], [-0.1, 0, 0]]
    return _make("positive_control", common_payoff(table, 2), ["a", "b", "c"], _POSCTRL_SRC)


# ---- three players ---------------------------------------------------------

_MP3_SRC = (
    "Jordan (1993), Three problems in learning mixed-strategy equilibria, Games Econ. Behav. 5; "
    "same payoffs as OpenSpiel's matching_pennies_3p"
)


@_entry(_MP3_SRC)
def three_player_matching_pennies() -> MatrixGame:
    """Player 0 wants to match player 1, player 1 to match player 2, player 2 to mismatch player 0.

    Each wins 1 or loses 1; the unique Nash is uniform and fictitious play
    cycles around it.
    """
    payoffs = np.zeros((3, 2, 2, 2))
    for a0, a1, a2 in np.ndindex(2, 2, 2):
        payoffs[0, a0, a1, a2] = 1 if a0 == a1 else -1
        payoffs[1, a0, a1, a2] = 1 if a1 == a2 else -1
        payoffs[2, a0, a1, a2] = 1 if a2 != a0 else -1
    return _make("three_player_matching_pennies", payoffs, ["Heads", "Tails"], _MP3_SRC)


_VD_SRC = (
    "Diekmann (1985), Volunteer's dilemma, J. Conflict Resolution 29(4): benefit b to all "
    "when at least one volunteers, cost c to each volunteer"
)


@_entry(_VD_SRC)
def volunteers_dilemma(n: int = 3, benefit: float = 2.0, cost: float = 1.0) -> MatrixGame:
    """``n`` players choose Volunteer or Ignore; if anyone volunteers, all get ``benefit``
    and each volunteer pays ``cost``; if no one does, all get 0.

    With ``0 < cost < benefit`` the pure equilibria are exactly one volunteer;
    the symmetric mixed equilibrium ignores with probability
    ``(cost / benefit) ** (1 / (n - 1))`` (Diekmann 1985), and all-Ignore is
    not an equilibrium (each player gains ``benefit - cost`` by volunteering).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise GameError(f"volunteers_dilemma: n must be an integer >= 2, got {n!r}")
    if n * 2**n > MAX_MATRIX_ENTRIES:
        raise GameError(
            f"volunteers_dilemma: n={n} gives a payoff tensor above the limit of "
            f"{MAX_MATRIX_ENTRIES:,} entries (games.limits; docs/limits.md); give a smaller n"
        )
    b, c = float(benefit), float(cost)
    if not (np.isfinite(b) and np.isfinite(c)):
        raise GameError("volunteers_dilemma: benefit and cost must be finite numbers")
    payoffs = np.zeros((n,) + (2,) * n)
    for joint in np.ndindex(*(2,) * n):  # 0 = Volunteer, 1 = Ignore
        anyone = any(a == 0 for a in joint)
        for i, a in enumerate(joint):
            payoffs[(i,) + joint] = (b if anyone else 0.0) - (c if a == 0 else 0.0)
    name = (
        "volunteers_dilemma"
        if (n, b, c) == (3, 2.0, 1.0)
        else (f"volunteers_dilemma(n={n},benefit={b:g},cost={c:g})")
    )
    return _make(name, payoffs, ["Volunteer", "Ignore"], _VD_SRC)


# ---- repeated and multi-stage ----------------------------------------------

_IPD_SRC = "Axelrod (1984), The Evolution of Cooperation; stage payoffs T=5, R=3, P=1, S=0"


@_entry(_IPD_SRC)
def iterated_prisoners_dilemma(horizon: int = 10) -> MatrixGame:
    """The prisoner's dilemma played ``horizon`` rounds; players observe the previous joint action."""
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise GameError(
            f"iterated_prisoners_dilemma: horizon must be an integer >= 1, got {horizon!r}"
        )
    stage = prisoners_dilemma()
    return repeated(
        stage.payoff_tensor,
        horizon,
        name="iterated_prisoners_dilemma"
        if horizon == 10
        else f"iterated_prisoners_dilemma(horizon={horizon})",
        action_names=stage.action_names,
        source=_IPD_SRC,
    )


_TWO_STEP_SRC = "Rashid et al. (2018), QMIX, ICML, Sec. 6.1 and Fig. 3"


@_entry(_TWO_STEP_SRC)
def two_step() -> MatrixGame:
    """Stage 1 pays 0; player 0's action picks stage 2A (every payoff 7) or 2B ([[0, 1], [1, 8]]).

    The optimum is 8: player 0 picks B, then both play B in 2B.
    """
    zeros = common_payoff(np.zeros((2, 2)), 2)
    two_a = common_payoff(np.full((2, 2), 7.0), 2)
    two_b = common_payoff([[0, 1], [1, 8]], 2)
    next_first = np.array([[1, 1], [2, 2]])  # row: player 0's action picks the stage
    end = np.full((2, 2), -1)
    return MatrixGame(
        [zeros, two_a, two_b],
        name="two_step",
        action_names=[["A", "B"], ["A", "B"]],
        next_stage=[next_first, end, end],
        horizon=2,
        stage_names=["1", "2A", "2B"],
        source=_TWO_STEP_SRC,
    )


# ---------------------------------------------------------------------------


def names() -> list[str]:
    """Every catalog name, sorted."""
    return sorted(_ENTRIES)


def entry(name: str) -> Entry:
    """The catalog entry ``name`` (source, parameters, docstring)."""
    if name not in _ENTRIES:
        raise GameError(_unknown(name))
    return _ENTRIES[name]


def _unknown(name: str) -> str:
    from games import closest

    hint = closest(name, names())
    return (
        f"unknown matrix game '{name}'; "
        + (hint + " " if hint else "")
        + f"known: {', '.join(names())}"
    )


def load_catalog(text: str) -> MatrixGame:
    """Build ``"NAME"`` or ``"NAME(key=value, ...)"`` from the catalog.

    Raises:
        GameError: unknown name (lists the closest names), unknown parameter
            (lists the accepted ones) or a bad value.
    """
    name, kwargs = parse_call(text, "matrix game spec")
    e = entry(name)
    for key in kwargs:
        if key not in e.params:
            accepted = ", ".join(f"{k}={v!r}" for k, v in e.params.items()) or "none"
            raise GameError(f"{name}: unknown parameter '{key}'; accepted: {accepted}")
    return e.build(**kwargs)
