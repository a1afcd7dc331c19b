"""The population: learners, their frozen snapshots and reference opponents.

Pure data, no torch: a :class:`Member` is metadata (weights live in files the
store points to). Members get increasing integer ids from the pool, which the
store keeps as primary keys, so ``Pool.from_members(store.members(), ...)``
rebuilds the pool after a restart.

Capacity counts active *snapshots* only; learners and references are never
evicted. When a new snapshot pushes the count over capacity, :meth:`Pool.evict`
deactivates snapshots by the eviction rule (``"oldest"``: smallest id first;
``"lowest_rating"``: lowest rating first, unrated ones before rated, oldest
first among ties) and never evicts a learner's latest snapshot nor, with
``keep_first``, its first one. Evicted members stay in the history (the
store's ``members`` table, ``active = 0``) but leave the active pool.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping

LEARNER = "learner"
SNAPSHOT = "snapshot"
REFERENCE = "reference"
MEMBER_KINDS = (LEARNER, SNAPSHOT, REFERENCE)

MAIN = "main"
MAIN_EXPLOITER = "main_exploiter"
LEAGUE_EXPLOITER = "league_exploiter"
ROLES = (MAIN, MAIN_EXPLOITER, LEAGUE_EXPLOITER)
"""Learner roles of AlphaStar's league (Vinyals et al. 2019)."""

EVICTIONS = ("oldest", "lowest_rating")


@dataclasses.dataclass(frozen=True)
class Member:
    """One member of the league."""

    id: int
    """Unique id, increasing in creation order (the store's primary key)."""
    name: str
    """Unique name: the learner's name, '<learner>@<step>' for snapshots, or the reference's."""
    kind: str
    """'learner' (live weights), 'snapshot' (frozen copy) or 'reference' (fixed opponent)."""
    algorithm: str = ""
    """Algorithm name (agents.registry.ALGORITHMS); '' for the random reference."""
    role: str = ""
    """Learner role (main / main_exploiter / league_exploiter); snapshots inherit it; '' for references."""
    parent: int | None = None
    """Snapshot: the learner it was frozen from; None otherwise."""
    step: int = 0
    """Snapshot: the learner's env steps when frozen; learner: steps at creation."""
    created: float = 0.0
    """Unix time of creation."""
    active: bool = True
    """False once evicted (it stays in the history)."""
    policy: str = ""
    """Reference: 'random' or a checkpoint path; '' otherwise."""


class Pool:
    """Members with a snapshot capacity and an eviction rule."""

    def __init__(
        self,
        capacity: int = 50,
        eviction: str = "oldest",
        keep_first: bool = True,
        members: Iterable[Member] = (),
    ):
        if capacity < 1:
            raise ValueError(f"pool capacity must be at least 1, got {capacity}")
        if eviction not in EVICTIONS:
            raise ValueError(f"eviction '{eviction}' is not one of {', '.join(EVICTIONS)}")
        self.capacity = int(capacity)
        self.eviction = eviction
        self.keep_first = bool(keep_first)
        self._members: dict[int, Member] = {}
        for m in members:
            self._put(m)

    @classmethod
    def from_members(
        cls,
        members: Iterable[Member],
        capacity: int = 50,
        eviction: str = "oldest",
        keep_first: bool = True,
    ) -> Pool:
        """Rebuild a pool from stored members (e.g. ``store.members()``)."""
        return cls(capacity, eviction, keep_first, members)

    # -- queries -------------------------------------------------------------

    @property
    def members(self) -> list[Member]:
        """Every member ever added (evicted ones too), by id."""
        return [self._members[k] for k in sorted(self._members)]

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, member_id: int) -> bool:
        return member_id in self._members

    def get(self, member_id: int) -> Member:
        try:
            return self._members[member_id]
        except KeyError:
            raise KeyError(f"no member with id {member_id} in the pool") from None

    def by_name(self, name: str) -> Member:
        for m in self._members.values():
            if m.name == name:
                return m
        raise KeyError(f"no member named '{name}' in the pool")

    def active(self, kind: str | None = None) -> list[Member]:
        """Active members (optionally of one kind), by id."""
        return [m for m in self.members if m.active and (kind is None or m.kind == kind)]

    def learners(self) -> list[Member]:
        return self.active(LEARNER)

    def snapshots(self, of: int | None = None, active_only: bool = True) -> list[Member]:
        """Snapshots (of one learner when ``of`` is given), oldest first."""
        return [
            m
            for m in self.members
            if m.kind == SNAPSHOT
            and (of is None or m.parent == of)
            and (m.active or not active_only)
        ]

    def latest_snapshot(self, of: int) -> Member | None:
        """The newest snapshot of learner ``of`` (active or not), or None."""
        snaps = self.snapshots(of, active_only=False)
        return snaps[-1] if snaps else None

    # -- changes -------------------------------------------------------------

    def _next_id(self) -> int:
        return max(self._members, default=0) + 1

    def _put(self, m: Member) -> Member:
        if m.id in self._members:
            raise ValueError(f"member id {m.id} is already in the pool")
        if any(o.name == m.name for o in self._members.values()):
            raise ValueError(f"member name '{m.name}' is already in the pool; names are unique")
        if m.kind not in MEMBER_KINDS:
            raise ValueError(f"member kind '{m.kind}' is not one of {', '.join(MEMBER_KINDS)}")
        self._members[m.id] = m
        return m

    def add_learner(
        self,
        name: str,
        algorithm: str,
        role: str = MAIN,
        step: int = 0,
        created: float | None = None,
    ) -> Member:
        """Add a live learner."""
        if role not in ROLES:
            raise ValueError(f"learner role '{role}' is not one of {', '.join(ROLES)}")
        return self._put(
            Member(self._next_id(), name, LEARNER, algorithm, role, None, int(step), _now(created))
        )

    def add_reference(
        self, name: str, policy: str = "random", algorithm: str = "", created: float | None = None
    ) -> Member:
        """Add a fixed opponent (``policy``: 'random' or a checkpoint path)."""
        return self._put(
            Member(
                self._next_id(),
                name,
                REFERENCE,
                algorithm,
                "",
                None,
                0,
                _now(created),
                True,
                policy,
            )
        )

    def add_snapshot(
        self, learner_id: int, step: int, name: str | None = None, created: float | None = None
    ) -> Member:
        """Freeze learner ``learner_id`` at ``step`` (call :meth:`evict` afterwards)."""
        learner = self.get(learner_id)
        if learner.kind != LEARNER:
            raise ValueError(
                f"member '{learner.name}' is a {learner.kind}, not a learner; only learners make snapshots"
            )
        name = name or f"{learner.name}@{int(step)}"
        return self._put(
            Member(
                self._next_id(),
                name,
                SNAPSHOT,
                learner.algorithm,
                learner.role,
                learner.id,
                int(step),
                _now(created),
            )
        )

    def deactivate(self, member_id: int) -> Member:
        """Take a member out of the active pool (it stays in the history)."""
        m = dataclasses.replace(self.get(member_id), active=False)
        self._members[member_id] = m
        return m

    def protected(self) -> set[int]:
        """Snapshot ids eviction never touches: each learner's latest (and first, with keep_first)."""
        keep: set[int] = set()
        parents = {m.parent for m in self._members.values() if m.kind == SNAPSHOT}
        for p in parents:
            snaps = self.snapshots(p, active_only=False)
            keep.add(snaps[-1].id)
            if self.keep_first:
                keep.add(snaps[0].id)
        return keep

    def evict(self, ratings: Mapping[int, float] | None = None) -> list[Member]:
        """Deactivate snapshots until at most ``capacity`` are active; returns the evicted.

        Args:
            ratings: member id -> rating, used by ``"lowest_rating"`` eviction.

        When only protected snapshots remain, the pool may stay over capacity.
        """
        active = self.snapshots()
        excess = len(active) - self.capacity
        if excess <= 0:
            return []
        keep = self.protected()
        victims = [m for m in active if m.id not in keep]
        if self.eviction == "lowest_rating":
            ratings = ratings or {}
            victims.sort(key=lambda m: (m.id in ratings, ratings.get(m.id, 0.0), m.id))
        return [self.deactivate(m.id) for m in victims[:excess]]


def _now(created: float | None) -> float:
    return time.time() if created is None else float(created)


def snapshot_due(
    step: int,
    last_snapshot_step: int | None,
    every_steps: int,
    win_rate: float | None = None,
    win_rate_threshold: float | None = None,
) -> bool:
    """Whether a learner at ``step`` should be frozen now.

    True for the first snapshot (``last_snapshot_step is None``: the initial
    weights join the pool), every ``every_steps`` learner steps, and, when a
    threshold is set, as soon as the learner's win rate against its current
    opponents reaches it (AlphaStar's exploiters, Vinyals et al. 2019) after
    having learned since the last snapshot.
    """
    if last_snapshot_step is None:
        return True
    if every_steps > 0 and step - last_snapshot_step >= every_steps:
        return True
    return (
        win_rate_threshold is not None
        and win_rate is not None
        and step > last_snapshot_step
        and win_rate >= win_rate_threshold
    )


def reset_due(step: int, last_reset_step: int, reset_every: int) -> bool:
    """Whether an exploiter should go back to its reset weights (``reset_every`` 0: never)."""
    return reset_every > 0 and step - last_reset_step >= reset_every
