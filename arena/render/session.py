"""The viewer's model: one game, who sits where, whose turn, the score, messages.

A :class:`Session` holds a batch-of-one env of any :class:`games.core.Game`
and drives it from abstract UI events, never from pixels:

* :class:`Click` of a *target* (``("action", a)``, ``("cell", r, c)``,
  ``("button", name)``; see :mod:`arena.render.layout`);
* :class:`Key` with a name from :data:`KEYS` (restart, quit, pause, step,
  faster, slower);
* :meth:`Session.tick` with the milliseconds since the last frame: agents move
  when their delay has passed.

Seats belong to *participants*: in ``play`` mode participant 0 is the person
(one seat) and participant 1 the agent (every other seat); in ``watch`` mode
participant 0 is policy A and 1 is policy B, and in two-player games they
swap seats every game so the running score is fair. A person's move is
checked against the legal mask and refused with a message when illegal (the
game goes on). In simultaneous games the person picks their action and the
agents pick theirs when the joint action is played.

The family *view* (board, cards, table, text; see :mod:`arena.render`) turns
clicks on cells and pages into actions and keeps what it needs to draw; the
session calls ``view.update(session)`` after every reset and step.
Nothing here imports pygame.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence

import numpy as np

from games.core import SIMULTANEOUS, Game

KEYS = ("restart", "quit", "pause", "step", "faster", "slower")
DELAYS_MS = (0, 60, 120, 250, 400, 700, 1000, 1500, 2500)
"""Agent delay levels the speed keys step through."""


@dataclasses.dataclass(frozen=True)
class Click:
    """A click on a target (see :mod:`arena.render.layout`)."""

    target: tuple


@dataclasses.dataclass(frozen=True)
class Key:
    """A key press, by name (one of :data:`KEYS`)."""

    name: str


@dataclasses.dataclass(frozen=True)
class Participant:
    """A person (``policy is None``) or a policy, with a label for the screen."""

    name: str
    policy: object | None = None

    @property
    def human(self) -> bool:
        return self.policy is None


@dataclasses.dataclass
class Decision:
    """An agent's latest decision: what it chose and, when known, its probabilities."""

    player: int
    who: str
    action: int
    label: str
    probs: np.ndarray | None
    legal: np.ndarray
    labels: dict[int, str]


@dataclasses.dataclass
class Step:
    """One step of the current game: the actions of the players who acted, and rewards."""

    actions: np.ndarray
    acted: np.ndarray
    labels: list[str | None]
    rewards: np.ndarray


@dataclasses.dataclass
class Message:
    text: str
    kind: str = "info"
    """``info``, ``error`` or ``result``."""


@dataclasses.dataclass
class Score:
    """Results over the session, per participant."""

    names: list[str]
    games: int = 0
    wins: list[int] = dataclasses.field(default_factory=list)
    draws: int = 0
    totals: list[float] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self.wins = [0] * len(self.names)
        self.totals = [0.0] * len(self.names)

    def record(self, mean_return: Sequence[float]) -> int | None:
        """Add one game given each participant's mean return; the winner's index or None."""
        self.games += 1
        for i, r in enumerate(mean_return):
            self.totals[i] += float(r)
        if len(mean_return) < 2:
            return None
        best = max(mean_return)
        if sum(r == best for r in mean_return) > 1:
            self.draws += 1
            return None
        winner = int(np.argmax(mean_return))
        self.wins[winner] += 1
        return winner


def fmt(x: float) -> str:
    """A return for the screen: ``+1``, ``-0.5``, ``0``."""
    if x == 0:
        return "0"
    text = f"{x:+.3f}".rstrip("0").rstrip(".")
    return text


class Session:
    """One game on screen; see the module docstring.

    Args:
        game: any discrete-action game.
        participants: two (or one, for one-player games) :class:`Participant`.
        seed: seeds the env (chance) and the agents' sampling.
        human_seat: the person's seat in play mode.
        watch: both participants are policies; seats alternate every game.
        delay_ms: how long an agent waits before moving (speed keys change it).
    """

    def __init__(
        self,
        game: Game,
        participants: Sequence[Participant],
        *,
        seed: int = 0,
        human_seat: int = 0,
        watch: bool = False,
        delay_ms: int = 400,
    ) -> None:
        self.game = game
        self.info = game.info
        self.num_players = game.info.num_players
        self.participants = list(participants)
        self.watch = watch
        self.human_seat = human_seat
        self.seed = seed
        self.env = game.vector(1, seed)
        self.rng = np.random.default_rng([seed, 7919])
        self.score = Score([p.name for p in self.participants])
        self.messages: collections.deque[Message] = collections.deque(maxlen=5)
        self.delay_ms = delay_ms
        self.paused = False
        self.quit_requested = False
        self.view = None
        self.episode = -1
        self.decision: Decision | None = None
        self._timer = 0.0
        self.new_game(first=True)

    # ------------------------------------------------------------- who is who

    @property
    def simultaneous(self) -> bool:
        return self.info.dynamics == SIMULTANEOUS

    def owner(self, seat: int) -> int:
        """The participant index sitting in ``seat`` this game."""
        if not self.watch:
            return 0 if seat == self.human_seat else 1
        if len(self.participants) == 1:
            return 0
        return (seat + self.episode) % 2 if self.num_players == 2 else seat % 2

    def is_human(self, seat: int) -> bool:
        return self.participants[self.owner(seat)].human

    def who(self, seat: int) -> str:
        """The participant's name in ``seat`` ("You" for the person)."""
        return self.participants[self.owner(seat)].name

    def seat_name(self, seat: int) -> str:
        """The seat's name in this game (X / O, player 0, ...)."""
        if self.view is not None and hasattr(self.view, "seat_name"):
            return self.view.seat_name(seat)
        return f"player {seat}"

    @property
    def viewpoint(self) -> int | None:
        """Whose private information the screen may show: the person's seat, or None (all)."""
        return None if self.watch else self.human_seat

    # ------------------------------------------------------------- the game

    @property
    def over(self) -> bool:
        return bool(self.ts.done[0])

    @property
    def state(self):
        """The live pyspiel state (OpenSpiel games; read-only) or None."""
        states = getattr(self.env, "states", None)
        return states[0] if states else None

    def acting(self) -> list[int]:
        return np.flatnonzero(self.ts.acting[0]).tolist()

    def legal(self, seat: int) -> np.ndarray:
        """``[A]`` bool: ``seat``'s legal actions now (all False when it does not act)."""
        return self.ts.legal[0, seat]

    def waiting_humans(self) -> list[int]:
        """Human seats that must act now and have not chosen yet."""
        return [p for p in self.acting() if self.is_human(p) and p not in self.pending]

    def action_label(self, seat: int, action: int) -> str:
        """An action's name in the current state (OpenSpiel's ``action_to_string``)."""
        state = self.state
        if state is not None:
            try:
                return state.action_to_string(seat, int(action))
            except Exception:  # noqa: BLE001 - pyspiel raises SpielError or RuntimeError
                pass
        try:
            return self.game.action_name(seat, int(action))
        except Exception:  # noqa: BLE001
            return str(action)

    def say(self, text: str, kind: str = "info") -> None:
        self.messages.append(Message(text, kind))

    # ------------------------------------------------------------- events

    def handle(self, event: Click | Key) -> None:
        """Apply one UI event."""
        if isinstance(event, Key):
            self._key(event.name)
        elif isinstance(event, Click):
            self._click(event.target)
        else:
            raise TypeError(f"not a UI event: {event!r}")

    def tick(self, dt_ms: float) -> None:
        """Let time pass: agents whose delay is up move; watch mode starts the next game."""
        if self.quit_requested or self.paused:
            return
        if self.over:
            if self.watch:
                self._timer += dt_ms
                if self._timer >= 4 * self.delay_ms + 400:
                    self.new_game()
            return
        if self.waiting_humans():
            return
        self._timer += dt_ms
        if self._timer >= self.delay_ms:
            self._advance()

    def _key(self, name: str) -> None:
        if name == "quit":
            self.quit_requested = True
        elif name == "restart":
            if not self.over and self.history:
                self.say("Game abandoned; new game")
            self.new_game()
        elif name == "pause":
            self.paused = not self.paused
            self.say("Paused: n or right arrow steps, space resumes" if self.paused else "Resumed")
        elif name == "step":
            if self.over:
                self.new_game()
            elif self.waiting_humans():
                self.say("Your move: click to play", "error")
            else:
                self._advance()
        elif name in ("faster", "slower"):
            i = min(range(len(DELAYS_MS)), key=lambda k: abs(DELAYS_MS[k] - self.delay_ms))
            i = max(0, i - 1) if name == "faster" else min(len(DELAYS_MS) - 1, i + 1)
            self.delay_ms = DELAYS_MS[i]
            self.say(f"Agent delay {self.delay_ms} ms")
        else:
            raise ValueError(f"unknown key {name!r}; use one of {', '.join(KEYS)}")

    def _click(self, target: tuple) -> None:
        kind = target[0]
        if kind == "button" and target[1] == "new_game":
            self.new_game()
            return
        if kind == "action":
            self.submit(int(target[1]))
            return
        if self.view is None:
            return
        result = self.view.click(self, target)
        if isinstance(result, str):
            self.say(result, "error")
        elif result is not None:
            self.submit(int(result))

    # ------------------------------------------------------------- moves

    def turn_problem(self) -> str | None:
        """Why the person cannot move now (game over, watching, agent's turn), or None."""
        if self.over:
            return "The game is over: press r or click New game"
        if self.waiting_humans():
            return None
        if self.watch:
            return "Watching: space pauses, n steps"
        names = ", ".join(sorted({self.who(p) for p in self.acting()}))
        return f"Wait: it is {names}'s turn"

    def submit(self, action: int) -> bool:
        """The person plays ``action``; refused with a message when it is not theirs or illegal."""
        problem = self.turn_problem()
        if problem:
            self.say(problem, "error")
            return False
        seat = self.waiting_humans()[0]
        legal = self.legal(seat)
        if not (0 <= action < legal.shape[0]) or not legal[action]:
            label = self.action_label(seat, action) if 0 <= action < legal.shape[0] else str(action)
            self.say(f"Illegal move: {label} is not allowed now", "error")
            return False
        self.pending[seat] = action
        if not self.waiting_humans():
            self._advance()
        return True

    def _advance(self) -> None:
        """Play one (joint) step: people's pending actions, agents choose theirs now."""
        ts = self.ts
        acting = self.acting()
        if not acting:
            return
        actions = np.zeros((1, self.num_players), dtype=np.int64)
        labels: list[str | None] = [None] * self.num_players
        for p in acting:
            if self.is_human(p):
                a = self.pending[p]
            else:
                a = self._agent_move(p, ts)
            actions[0, p] = a
            labels[p] = self.action_label(p, a)
        self._timer = 0.0
        self.pending.clear()
        self.ts = self.env.step(actions)
        acted = ts.acting[0].copy()
        rewards = self.ts.rewards[0].astype(np.float64)
        self.returns += rewards
        self.history.append(Step(actions[0].copy(), acted, labels, rewards))
        if self.view is not None:
            self.view.update(self)
        if self.over:
            self._finish()

    def _agent_move(self, seat: int, ts) -> int:
        policy = self.participants[self.owner(seat)].policy
        legal = ts.legal[0, seat]
        out = policy.act(ts.obs[0, seat][None], legal[None], np.array([seat]), self.rng)
        a = int(np.asarray(out.actions).reshape(-1)[0])
        probs = None
        if getattr(out, "probs", None) is not None:
            probs = np.asarray(out.probs, dtype=np.float64).reshape(1, -1)[0]
        choices = np.flatnonzero(legal).tolist()
        self.decision = Decision(
            player=seat,
            who=self.who(seat),
            action=a,
            label=self.action_label(seat, a),
            probs=probs,
            legal=legal.copy(),
            labels={c: self.action_label(seat, c) for c in choices},
        )
        return a

    def new_game(self, first: bool = False) -> None:
        """Start the next game (the unfinished one, if any, is not scored)."""
        self.episode += 1
        self.ts = self.env.reset()
        self.returns = np.zeros(self.num_players)
        self.history: list[Step] = []
        self.pending: dict[int, int] = {}
        self._timer = 0.0
        if not first and self.watch and self.num_players == 2 and len(self.participants) == 2:
            self.say(f"Game {self.episode + 1}: seats swapped")
        if self.view is not None:
            self.view.update(self)

    def participant_returns(self) -> list[float]:
        """This game's return of each participant (the mean over the seats it holds)."""
        out = []
        for i in range(len(self.participants)):
            seats = [p for p in range(self.num_players) if self.owner(p) == i]
            out.append(float(np.mean(self.returns[seats])) if seats else 0.0)
        return out

    def _finish(self) -> None:
        self.score.record(self.participant_returns())
        self.say(self.result_text(), "result")

    def result_text(self) -> str:
        """The outcome of the game so far in words: who won, with each participant's return."""
        mean = self.participant_returns()
        if len(mean) == 1:
            return f"Game over: return {fmt(mean[0])}"
        points = " / ".join(f"{self.participants[i].name} {fmt(m)}" for i, m in enumerate(mean))
        best = max(mean)
        if sum(m == best for m in mean) > 1:
            return f"Draw ({points})"
        name = self.participants[int(np.argmax(mean))].name
        verb = "win" if name == "You" else "wins"
        return f"{name} {verb} ({points})"

    def status(self) -> tuple[str, str]:
        """(text, kind) for the status line: whose turn, or the result."""
        if self.over:
            return self.result_text(), "result"
        waiting = self.waiting_humans()
        if waiting:
            what = "pick your action" if self.simultaneous else "your move"
            return f"Your turn ({self.seat_name(waiting[0])}): {what}", "turn"
        acting = self.acting()
        names = ", ".join(f"{self.who(p)} ({self.seat_name(p)})" for p in acting)
        verb = "to move" if self.watch else "is thinking..."
        suffix = "  [paused]" if self.paused else ""
        return f"{names} {verb}{suffix}", "wait"
