"""The league: the self-play loop (:mod:`~arena.league.loop`), member loading in one place
(:mod:`~arena.league.members`), and a store -> its population evaluation now
(:mod:`~arena.league.evaluation`). The league imports :mod:`arena.evaluation`, never the reverse.
"""

from __future__ import annotations

from arena.league.evaluation import evaluate_league
from arena.league.loop import League, LearnerSlot, RoundAborted, RoundReport, round_seed
from arena.league.members import load_member_policy, member_policy

__all__ = [
    "League",
    "LearnerSlot",
    "RoundAborted",
    "RoundReport",
    "evaluate_league",
    "load_member_policy",
    "member_policy",
    "round_seed",
]
