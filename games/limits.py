"""Upper bounds on game sizes, in one place (documented in docs/limits.md).

A spec past one of these is refused at load with a one-line :class:`GameError`
instead of exhausting memory or hanging. They are generous for real use: the
largest games people train on here (chess: 4,672 actions, goofspiel(13),
a 100-round repeated game) sit far below them.
"""

from __future__ import annotations

MAX_BATCH = 65_536
"""Copies of a game stepped together (``game.vector(batch)``, ``--batch``, league ``batch``)."""

MAX_DISTINCT_ACTIONS = 100_000
"""Actions per player: legal masks are ``[B, P, A]`` and policy outputs ``[N, A]`` every step."""

MAX_OBS_SIZE = 1_000_000
"""Entries of one player's observation tensor (``goofspiel(num_cards=1000)`` has 2,003,002)."""

MAX_HORIZON = 10_000
"""Rounds of a repeated or multi-stage matrix game (the round one-hot is part of the observation)."""

MAX_MATRIX_ENTRIES = 10_000_000
"""Entries ``P * A_1 * ... * A_P`` of a matrix game's payoff tensor (80 MB of float64)."""
