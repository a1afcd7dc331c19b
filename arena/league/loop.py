"""The self-play loop: rollouts -> learn -> snapshot -> evaluation matches ->
ratings -> store.

A league advances in *rounds*. In a round each learner plays ``round_steps``
env steps against opponents drawn by its matchmaking rule from the pool,
learning after every rollout; the round then drains (every episode it started
finishes), so no episode spans two rounds. At the end of the round, snapshot
files and the learners' checkpoints are written atomically, then one SQLite
transaction records the round's matches, new members, evictions, ratings and
each learner's state. A ``kill -9`` therefore loses at most the round in
flight, and a resumed league continues from the last committed round.

Determinism: round ``r`` of learner ``i`` is seeded by
``SeedSequence(seed, spawn_key=(i, r))`` and each learner checkpoint holds its
weights, optimizer state, counters and RNG states, so a league resumed after a
kill plays the same rounds as an uninterrupted one, as far as the learner's
checkpoint holds all of its state: the league turns on ``save_buffer`` for
learners that have it (IQL, VDN, QMIX), so their replay buffers travel in the
checkpoint too (MADDPG keeps its buffer out, so a resumed MADDPG league diverges).

Cooperative games: a learner trains as the whole team (it holds every seat);
members are compared by cross-play (each member with each member as partners).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import games
from arena.backends import (
    RANDOM,
    Backend,
    Match,
    PolicySpec,
    SerialBackend,
    policy_spec,
    portable_spec,
)
from arena.evaluation.exact_payoffs import ExactPayoffCache
from arena.evaluation.population import GapSettings, evaluate_population
from arena.evaluation.record import PopulationEvaluation, PopulationFormatError
from arena.evaluation.tabular import ExactLimitError
from arena.league.members import (
    is_cfr_reference,
    member_policy,
    reference_table_bytes,
    write_reference_table,
)
from arena.league.rounds import RoundTask, matchup, play_round, run_task
from arena.rollout import Episode
from leagues import matchmaking as mm
from leagues.config import ConfigError, LeagueConfig, config_to_dict, load_config
from leagues.pool import LEARNER, MAIN, REFERENCE, SNAPSHOT, Member, Pool, reset_due, snapshot_due
from leagues.ratings import COMPETITIVE_KINDS, Elo, MElo, pair_scores
from leagues.store import Store


@dataclasses.dataclass
class LearnerSlot:
    """A live learner and its counters (what its checkpoint's counters hold)."""

    index: int
    name: str
    member: Member
    learner: object
    step: int = 0
    round: int = 0
    last_snapshot_step: int | None = None
    last_reset_step: int = 0
    resets: int = 0
    last_eval_step: int = 0

    def counters(self) -> dict:
        return {
            "step": self.step,
            "round": self.round,
            "last_snapshot_step": self.last_snapshot_step,
            "last_reset_step": self.last_reset_step,
            "resets": self.resets,
            "last_eval_step": self.last_eval_step,
        }


@dataclasses.dataclass
class RoundReport:
    """What one round did, for progress output."""

    learner: str
    step: int
    matches: int
    new_snapshot: str | None
    evicted: list[str]
    metrics: dict
    seconds: float
    win_rate: float | None = None
    """The learner's score in this round's training games against other members (None: none)."""
    evaluated: bool = False
    """Whether this round stored a population evaluation (``League.record`` is new)."""


GENERATION = "generation"
"""Evaluation kind of a generation's plan (stored with its first commit; see :meth:`League.run`)."""


@dataclasses.dataclass
class _Rows:
    """Rows a round commits besides its learner's state (members, snapshot files,
    evicted members, match rows), gathered as the round goes."""

    new_members: list[Member] = dataclasses.field(default_factory=list)
    files: list[tuple[int, str, int]] = dataclasses.field(default_factory=list)
    evicted: list[Member] = dataclasses.field(default_factory=list)
    match_rows: list[tuple] = dataclasses.field(default_factory=list)
    evaluations: list[tuple[int, str, dict]] = dataclasses.field(default_factory=list)
    """``(step, kind, payload)`` evaluation rows."""
    record: PopulationEvaluation | None = None
    """The population evaluation among ``evaluations`` (what ``League.record`` becomes)."""


@dataclasses.dataclass
class RoundPlan:
    """Whom one round of a learner plays: drawn by the coordinator before the round."""

    slot: LearnerSlot
    seed: int
    ids: np.ndarray
    """Member ids of the opponent distribution (the learner itself: self-play)."""
    probs: np.ndarray
    notes: list[str]
    """Matchmaking's solver fallbacks (stored with the round)."""
    live: dict[int, bytes] | None = None
    """Learner opponents' policy weights at the start of the generation (None: live)."""

    @property
    def opponents(self) -> list[int]:
        """Member ids at policy index 1, 2, ... (the learner is index 0)."""
        return [int(i) for i in self.ids if int(i) != self.slot.member.id]

    def index(self) -> dict[int, int]:
        return {self.slot.member.id: 0} | {mid: k + 1 for k, mid in enumerate(self.opponents)}


def round_seed(seed: int, learner_index: int, round_index: int) -> int:
    """The seed of one round of one learner (independent streams)."""
    ss = np.random.SeedSequence(seed, spawn_key=(learner_index, round_index))
    return int(ss.generate_state(1, np.uint32)[0])


class League:
    """A league bound to its store; build it with :meth:`open`."""

    def __init__(
        self,
        cfg: LeagueConfig,
        store: Store,
        device: str | None = None,
        backend: Backend | None = None,
    ):
        self.cfg = cfg
        # Evaluation matches run here (arena.backends); same seeds, same results on each.
        self.backend = backend if backend is not None else SerialBackend()
        self._specs: dict[int, PolicySpec] = {}
        self.store = store
        self.device = device or cfg.league.device
        """The learners' default device (a learner's own ``device`` key wins)."""
        self.actor_device = cfg.league.actor_device
        """Where frozen policies run: a round's opponents and the evaluation matches."""
        if hasattr(self.backend, "device"):
            self.backend.device = self.actor_device
        self.game = games.load(cfg.league.game)
        self.info = self.game.info
        self.kind = self.info.kind
        self.competitive = self.kind in COMPETITIVE_KINDS
        self.cooperative = self.kind == games.COOPERATIVE
        s = cfg.snapshots
        self.pool = Pool.from_members(store.members(), s.capacity, s.eviction, s.keep_first)
        self._policies: dict[int, object] = {}
        self._learner_cfgs = {lc.name: lc for lc in cfg.learners}
        if not self.pool.members:
            self._create_members()
        self.slots = [self._make_slot(i, lc) for i, lc in enumerate(cfg.learners)]
        r = cfg.ratings
        self.payoffs = mm.PayoffTable(decay=cfg.matchmaking.payoff_decay)
        self.elo = Elo(k=r.elo_k, initial=r.initial)
        self.melo = MElo(
            k=r.melo_k,
            lr_rating=r.melo_lr_rating,
            lr_cycle=r.melo_lr_cycle,
            initial=r.initial,
            seed=cfg.league.seed,
        )
        self.matches_played = 0
        for row in store.matches():
            self._rate(row.seats, row.returns)
        self.stop_requested = False
        self.aborted = False
        """True when a stop signal dropped the round in flight (see :meth:`run`)."""
        self._target: int | None = None
        self._exact_cache = (
            None  # arena.evaluation.exact_payoffs.ExactPayoffCache, built on first use
        )
        self.on_phase: Callable[[str], None] | None = None
        """Called with what the league does next when it is slow ('evaluating ...'), for progress."""
        self.record: PopulationEvaluation | None = self._stored_record()
        """The latest population evaluation (what the report shows and ``nash`` reads)."""

    # ------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        config_path: str | Path,
        db_path: str | Path | None = None,
        device: str | None = None,
        backend: Backend | None = None,
        seed: int | None = None,
    ) -> League:
        """Open the league of ``config_path`` (creating its store, or resuming it).

        ``seed`` replaces the config's ``league.seed`` (``arena league run --seeds``);
        the default store is then ``NAME-seedSEED.db``.

        Raises:
            ConfigError: invalid config, or a store created from another config.
            StoreError: a corrupt store or a snapshot whose sha256 does not match.
        """
        config_path = Path(config_path)
        cfg = load_config(config_path)
        if seed is not None:
            from leagues.config import MAX_SEED

            if not 0 <= seed <= MAX_SEED:
                raise ConfigError(f"seed {seed} is out of range; give a seed in [0, {MAX_SEED}]")
            cfg = dataclasses.replace(cfg, league=dataclasses.replace(cfg.league, seed=seed))
        name = cfg.league.name if seed is None else f"{cfg.league.name}-seed{seed}"
        # Resolved once (relative to the working directory, symlinks followed): the
        # store, its lock and its weights folder beside it all follow from this path.
        db = Path(db_path) if db_path else config_path.with_name(f"{name}.db")
        db = db.expanduser().resolve()
        # load_config checked that each learner fits the game, so a league that cannot
        # run fails before any store exists. A writer's open verifies every recorded
        # file; nothing is cleaned up before the config is known to be this league's.
        store = Store.open(db, create=True, clean=False)
        try:
            existing = store.config()
            if existing is None:
                store.set_config(config_path.read_text(encoding="utf-8"), config_to_dict(cfg))
            else:
                # Compare with defaults filled in, so a key added to the format later
                # does not make an older league look like another one.
                from leagues.config import config_from_dict

                stored = config_to_dict(config_from_dict(existing[1], str(db), check_game=False))
                _check_same_league(stored, config_to_dict(cfg), config_path, db)
            store.cleaned = store.remove_orphans()
            return cls(cfg, store, device, backend)
        except BaseException:
            store.close()
            raise

    def close(self) -> None:
        self.store.close()

    def _create_members(self) -> None:
        members = [
            self.pool.add_learner(lc.name, lc.algorithm, lc.role) for lc in self.cfg.learners
        ]
        members += [self.pool.add_reference(rc.name, rc.policy) for rc in self.cfg.references]
        # CFR references are solved once, here: each table is written (and claimed)
        # before the transaction that records the member and its file row.
        tables = [
            (m.id, write_reference_table(self.store, m, self.game))
            for m in members
            if is_cfr_reference(m)
        ]
        with self.store.batch():
            for m in members:
                self.store.add_member(m)
            for member_id, rel in tables:
                self.store.add_snapshot(member_id, rel, 0)

    def _learner_overrides(self, lc) -> dict:
        import dataclasses as dc

        from agents.registry import learner_class

        overrides = dict(lc.config)
        fields = {f.name for f in dc.fields(learner_class(lc.algorithm)[1])}
        if "save_buffer" in fields:
            # A league checkpoints its learners every round: keeping replay
            # buffers in them makes a resumed league identical to an uninterrupted one.
            overrides.setdefault("save_buffer", True)
        return overrides

    def _new_learner(self, lc, seed: int):
        from agents.registry import make_learner

        overrides = self._learner_overrides(lc)
        return make_learner(
            lc.algorithm, self.info, seed=seed, device=self.learner_device(lc), **overrides
        )

    def learner_device(self, lc) -> str:
        """The torch device of learner ``lc``: its own ``device``, else the league's."""
        return lc.device or self.device

    def _make_slot(self, index: int, lc) -> LearnerSlot:
        member = self.pool.by_name(lc.name)
        learner = self._new_learner(lc, round_seed(self.cfg.league.seed, index, 1 << 20))
        slot = LearnerSlot(index, lc.name, member, learner)
        state = self.store.learner_state(lc.name)
        if state is not None:
            from agents.checkpoint import WEIGHTS, tensors_from_bytes

            path = self.store.resolve(state.path)
            weights = path / WEIGHTS if path.is_dir() else path
            learner.load_state_dict(tensors_from_bytes(weights.read_bytes(), str(weights)))
            c = state.counters
            slot.step = int(c["step"])
            slot.round = int(c["round"])
            slot.last_snapshot_step = c.get("last_snapshot_step")
            slot.last_reset_step = int(c.get("last_reset_step", 0))
            slot.resets = int(c.get("resets", 0))
            slot.last_eval_step = int(c.get("last_eval_step", 0))
        return slot

    # ------------------------------------------------------------ policies
    def policy(self, member_id: int):
        """The frozen policy of a member (cached); a learner's live weights for learners."""
        m = self.pool.get(member_id)
        if m.kind == LEARNER:
            return next(s.learner for s in self.slots if s.member.id == member_id)
        if member_id not in self._policies:
            self._policies[member_id] = member_policy(
                self.store, m, self.info, self._learner_cfgs, self.actor_device
            )
        return self._policies[member_id]

    # ------------------------------------------------------------ ratings
    def _rate(self, seats, returns) -> None:
        self.matches_played += 1
        mean = mm.member_returns(seats, returns)
        scores = pair_scores(mean, self.kind, self.info.reward_range)
        back = {(i, j): s for i, j, s in scores}
        for i, j, s in scores:
            if i < j:  # every unordered pair once
                self.payoffs.add(i, j, s, back[(j, i)], mean[i], mean[j])
                if self.competitive:
                    self.elo.update(i, j, s)
                    self.melo.update(i, j, s)

    def ratings(self, system: str = "elo") -> dict[int, float]:
        ids = [m.id for m in self.pool.members]
        if system == "elo":
            return {i: self.elo.rating(i) for i in ids}
        if system == "melo":
            return {i: self.melo.ratings.get(i, self.melo.initial) for i in ids}
        raise ValueError(system)

    # ------------------------------------------------------------ one round
    def _round_seed(self, slot: LearnerSlot) -> int:
        return round_seed(self.cfg.league.seed, slot.index, slot.round)

    def _open_round(self, slot: LearnerSlot, rows: _Rows) -> None:
        """Before a learner's first round its initial weights join the pool (a fixed
        baseline, and the first opponent of that very round); their rows go to ``rows``."""
        if slot.last_snapshot_step is not None:
            return
        mine = [m for m in self.pool.members if m.kind == SNAPSHOT and m.parent == slot.member.id]
        if mine:  # committed with an earlier learner's round of this generation (a resume)
            slot.last_snapshot_step = mine[0].step
            return
        rows.evicted += self._freeze(
            slot,
            self.total_steps(),
            self._round_seed(slot),
            rows.new_members,
            rows.files,
            rows.match_rows,
        )

    def _open_league(self, rows: _Rows, seed: int) -> None:
        """The league's first round: the population before any training, so each
        learner's exploitability series starts where its weights started."""
        if self.total_steps() == 0 and self.cfg.evaluation.every_steps > 0:
            self._phase_evaluating()
            rows.record = self._evaluate(0, seed)
            rows.evaluations += [(0, "league", rows.record.to_json())]
            rows.evaluations += [(0, "nash_gap", g) for g in rows.record.gap_rows()]

    def _plan(self, slot: LearnerSlot, live: dict[int, bytes] | None = None) -> RoundPlan:
        """Whom ``slot``'s round draws (from the pool as it is now), and with what odds."""
        ids, probs, notes = self.opponent_distribution(slot)
        return RoundPlan(slot, self._round_seed(slot), ids, probs, notes, live)

    def _opponents_here(self, plan: RoundPlan) -> list:
        """The opponents' policies in this process: frozen members as cached; learners
        at their weights of the start of the generation (``plan.live``), else live."""
        out = []
        for mid in plan.opponents:
            if plan.live is not None and mid in plan.live:
                spec = self._live_spec(mid, plan.live[mid])
                out.append(spec.build(self.info, self.actor_device))
            else:
                out.append(self.policy(mid))
        return out

    def _live_spec(self, member_id: int, weights: bytes) -> PolicySpec:
        m = self.pool.get(member_id)
        return PolicySpec(m.algorithm, dict(self._learner_cfgs[m.name].config), weights)

    def _play_here(self, plan: RoundPlan) -> tuple[int, list[Episode], dict]:
        """The round's collect/learn loop in this process, on the live learner."""
        slot, cfg = plan.slot, self.cfg
        draw = matchup(
            plan.ids,
            plan.probs,
            plan.index(),
            slot.member.id,
            self.info.num_players,
            self.cooperative,
        )
        return play_round(
            self.game,
            slot.learner,
            self._opponents_here(plan),
            draw,
            cfg.league.batch,
            plan.seed,
            getattr(cfg.league, "round_steps", 4096),
            cfg.league.rollout_len,
            lambda: _crash_point("collect", slot.round),
        )

    def _task(self, plan: RoundPlan) -> RoundTask:
        """The round as plain data for a worker (the learner's last committed state)."""
        from agents.checkpoint import tensors_to_bytes

        slot, cfg = plan.slot, self.cfg
        lc = self._learner_cfgs[slot.name]
        opponents = []
        for mid in plan.opponents:
            if plan.live is not None and mid in plan.live:
                opponents.append(self._live_spec(mid, plan.live[mid]))
            else:
                opponents.append(self.spec(mid))
        return RoundTask(
            portable_spec(cfg.league.game),
            lc.algorithm,
            self._learner_overrides(lc),
            tensors_to_bytes(slot.learner.state_dict()),
            tuple(opponents),
            tuple(int(i) for i in plan.ids),
            tuple(float(x) for x in plan.probs),
            tuple(plan.index().items()),
            slot.member.id,
            self.cooperative,
            cfg.league.batch,
            plan.seed,
            getattr(cfg.league, "round_steps", 4096),
            cfg.league.rollout_len,
            slot.round,
            self.learner_device(lc),
            os.environ.get("ARENA_WORKER_KILL_AT"),
            self.actor_device,
        )

    def _portable(self, slot: LearnerSlot) -> bool:
        """Whether the learner's ``state_dict()`` holds all of it, so a worker can train
        it (MADDPG keeps its replay buffer out: it trains here, in the coordinator)."""
        if not hasattr(slot.learner, "buffer"):
            return True
        return bool(getattr(getattr(slot.learner, "config", None), "save_buffer", False))

    def run_round(self, slot: LearnerSlot) -> RoundReport:
        """Play, learn, snapshot, evaluate and commit one round of ``slot``."""
        t0 = time.monotonic()
        opening = _Rows()
        self._open_round(slot, opening)
        self._open_league(opening, self._round_seed(slot))
        plan = self._plan(slot)
        return self._finish_round(plan, self._play_here(plan), t0, opening)

    def _finish_round(
        self,
        plan: RoundPlan,
        played: tuple[int, list[Episode], dict],
        t0: float,
        opening: _Rows | None = None,
        plan_row: dict | None = None,
    ) -> RoundReport:
        """Snapshot, reset, evaluate and commit a played round in one transaction.

        ``opening``: rows of the generation's initial snapshots, committed with
        its first round; ``plan_row``: the generation's plan, likewise (see :meth:`run`).
        """
        cfg, slot = self.cfg, plan.slot
        lc = self._learner_cfgs[slot.name]
        seed, opponents, solver_notes = plan.seed, plan.opponents, plan.notes
        rows = opening if opening is not None else _Rows()
        new_members, files, evicted, match_rows = (
            rows.new_members,
            rows.files,
            rows.evicted,
            rows.match_rows,
        )
        evaluations: list[tuple[int, str, dict]] = list(rows.evaluations)
        record = rows.record
        steps, episodes, metrics = played
        slowest = min(s.step for s in self.slots)  # the population's clock before this round
        slot.step += steps
        slot.round += 1
        step = self.total_steps()

        members_of = {0: slot.member.id} | {k + 1: mid for k, mid in enumerate(opponents)}
        wins = []
        for e in episodes:
            seats = [members_of[int(k)] for k in e.seats]
            match_rows.append((step, seats, [float(r) for r in e.returns], seed, "train"))
            # A win needs another member at the table; in cooperative games the
            # learner holds every seat (the drawn member only tags the episode).
            if e.tag != slot.member.id and (e.seats != 0).any():
                held = e.seats.tolist()
                rets = e.returns.tolist()
                ours = [r for k, r in zip(held, rets) if k == 0]
                mine = sum(ours) / len(ours)
                other = max(r for k, r in zip(held, rets) if k != 0)
                wins.append(1.0 if mine > other else 0.5 if mine == other else 0.0)
        win_rate = float(np.mean(wins)) if wins else None

        if snapshot_due(
            slot.step,
            slot.last_snapshot_step,
            cfg.snapshots.every_steps,
            win_rate,
            cfg.snapshots.win_rate_threshold,
        ):
            evicted += self._freeze(slot, step, seed, new_members, files, match_rows)
        if reset_due(slot.step, slot.last_reset_step, lc.reset_every):
            slot.learner = self._reset_learner(slot, lc)
            slot.last_reset_step = slot.step
            slot.resets += 1

        if self._evaluation_due(slowest):
            self._phase_evaluating()
            record = self._evaluate(step, seed)
            evaluations += [(step, "league", record.to_json())]
            evaluations += [(step, "nash_gap", g) for g in record.gap_rows()]
            slot.last_eval_step = slot.step
        _crash_point("files", slot.round, slot.name)
        for _, seats, rets, _, _ in match_rows:
            self._rate(seats, rets)
        ckpt = self._write_learner(slot)
        _crash_point("checkpoint", slot.round, slot.name)
        with self.store.batch():
            for mem in new_members:
                self.store.add_member(mem)
            for mid, rel, st in files:
                self.store.add_snapshot(mid, rel, st)
            for mem in evicted:
                self.store.set_active(mem.id, False)
            self.store.add_match_rows(match_rows)
            for at, kind, payload in evaluations:
                self.store.add_evaluation(at, kind, payload)
            if plan_row is not None:  # whom the rest of this generation plays, for a resume
                self.store.add_evaluation(step, GENERATION, plan_row)
            if solver_notes:  # matchmaking's meta-solver fell back: say so in the store
                self.store.add_evaluation(
                    step,
                    "fallback",
                    {"where": f"matchmaking of {slot.name}", "notes": solver_notes},
                )
            _crash_point("transaction", slot.round, slot.name)
            if self.competitive:
                self.store.add_ratings(step, "elo", self.ratings("elo"))
                self.store.add_ratings(step, "melo", self.ratings("melo"))
            else:
                self.store.add_ratings(step, "return", self._return_ratings())
            self.store.save_learner_state(
                slot.name, slot.step, ckpt, {"round_seed": seed}, slot.counters()
            )
        if record is not None:  # committed: what nash matchmaking and the report read
            self.record = record
        # The checkpoint this round superseded is no row's any more: remove it now,
        # not at the next open (which may be a resume the store refuses).
        self.store.remove_orphans()
        return RoundReport(
            slot.name,
            slot.step,
            len(match_rows),
            new_members[0].name if new_members else None,
            [e.name for e in evicted],
            metrics,
            time.monotonic() - t0,
            win_rate,
            record is not None,
        )

    def opponent_distribution(self, slot: LearnerSlot) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """``(ids, probs, solver_notes)``: whom ``slot``'s next round draws, and with what odds.

        ``nash`` matchmaking over exactly the frozen members of the latest stored
        population evaluation takes that record's meta-Nash weights as they are
        (the mixture the report shows); over any other set (a snapshot added
        since) it solves the meta-game of the candidates with the same rule
        (:func:`games.metastrategy.meta_strategy`), on the exact table where
        ``nash_payoffs = "exact"`` can, else on the sampled returns.
        """
        lc, m = self._learner_cfgs[slot.name], self.cfg.matchmaking
        cands = mm.candidates(self.pool, slot.member, lc.role)
        if lc.matchmaking == "nash" and self.record is not None and self.record.members:
            by_name = {self.pool.get(c).name: c for c in cands}
            if set(by_name) == set(self.record.members):
                ids = np.array([by_name[n] for n in self.record.members], np.int64)
                return ids, np.asarray(self.record.meta_nash, np.float64), []
        notes: list[str] = []
        ids, probs = mm.opponent_probs(
            lc.matchmaking,
            slot.member.id,
            cands,
            self.payoffs,
            past_prob=m.past_prob,
            pfsp_weighting=m.pfsp_weighting,
            pfsp_p=m.pfsp_p,
            kind=self.kind,
            payoff_matrix=self._exact_payoffs(lc, slot, cands),
            notes=notes,
        )
        return ids, probs, notes

    def _stored_record(self) -> PopulationEvaluation | None:
        """The latest stored population evaluation (None: none, or one this arena cannot read)."""
        rows = self.store.evaluations("league")
        if not rows:
            return None
        try:
            return PopulationEvaluation.from_json(rows[-1].payload)
        except PopulationFormatError:
            return None

    def _exact_payoffs(self, lc, slot: LearnerSlot, cands: list[int]) -> np.ndarray | None:
        """Exact expected returns among ``cands`` for ``nash`` with ``nash_payoffs = "exact"``
        (None: not asked for, or the game is too large; the sampled returns are used)."""
        if (
            lc.matchmaking != "nash"
            or self.cfg.matchmaking.nash_payoffs != "exact"
            or not self.competitive
        ):
            return None

        if self._exact_cache is None:
            self._exact_cache = ExactPayoffCache(self.game, seed=self.cfg.league.seed)
        ids = [c for c in cands if c != slot.member.id]
        if not ids:
            return None
        live = [c for c in ids if self.pool.get(c).kind == LEARNER]
        try:
            return self._exact_cache.matrix(ids, self.policy, live)
        except ExactLimitError:
            return None

    def _evaluation_due(self, slowest_before: int) -> bool:
        """Whether this round ends an evaluation period of the whole population.

        The population's clock is its slowest learner's steps (every learner
        short of the target plays one round per generation, so the clock moves
        once or more per generation): one evaluation each time it passes a multiple of
        ``evaluation.every_steps``, and one when the league reaches its target,
        however many learners there are. Derived from steps alone, so a resumed
        league evaluates exactly where an uninterrupted one does.
        """
        every = self.cfg.evaluation.every_steps
        if every <= 0:
            return False
        slowest = min(s.step for s in self.slots)
        if self._target is not None and slowest >= self._target:
            return slowest_before < self._target
        return slowest // every > slowest_before // every

    def _phase_evaluating(self) -> None:
        if self.on_phase is not None:
            n = len([m for m in self.pool.active() if m.kind != LEARNER])
            self.on_phase(
                f"evaluating the population ({n} frozen, {len(self.slots)} learner"
                f"{'s' if len(self.slots) != 1 else ''})"
            )

    def _evaluate(self, step: int, seed: int) -> PopulationEvaluation:
        """The population evaluation (frozen meta-game, learners beside it) and its gaps, to store."""
        frozen = [m for m in self.pool.active() if m.kind != LEARNER]
        names = [m.name for m in frozen] + [s.name for s in self.slots]
        kinds = [m.kind for m in frozen] + [LEARNER] * len(self.slots)
        policies = [self.policy(m.id) for m in frozen] + [s.learner.freeze() for s in self.slots]
        t0 = time.perf_counter()
        ev = self.cfg.evaluation
        out = evaluate_population(
            self.game,
            self.cfg.league.game,
            names,
            kinds,
            policies,
            step,
            self.cfg.evaluation.games_per_pair,
            seed,
            gaps=GapSettings(ev.method, ev.max_states, ev.exploiter_seconds),
            backend=self.backend,
            match_policies=(
                [self.match_policy(m.id) for m in frozen]
                + [self.match_policy(s.member.id) for s in self.slots]
                if self.backend.remote
                else None
            ),
        )
        # measurement time, for wall-clock curves
        rec = dataclasses.replace(out, seconds=time.perf_counter() - t0)
        return rec

    def _return_ratings(self) -> dict[int, float]:
        ids = [m.id for m in self.pool.members]
        scores, counts = self.payoffs.totals(ids)
        from leagues.ratings import mean_score_ratings

        vals = mean_score_ratings(scores, counts)
        return {i: float(v) for i, v in zip(ids, vals) if np.isfinite(v)}

    def _evaluation_matches(self, snap: Member, step: int, seed: int) -> list[tuple]:
        """The new snapshot plays every other active frozen member (seats rotate), on the backend."""
        n = self.cfg.evaluation.games_per_pair
        others = [
            o for o in self.pool.active() if o.kind in (SNAPSHOT, REFERENCE) and o.id != snap.id
        ]
        matches = [
            Match((self.match_policy(snap.id), self.match_policy(o.id)), n, seed + k, batch=n)
            for k, o in enumerate(others)
        ]
        results = self.backend.play(self.game, self.cfg.league.game, matches)
        rows = []
        for k, (other, res) in enumerate(zip(others, results)):
            ids = (snap.id, other.id)
            for seats, rets in zip(res.seats, res.returns):
                rows.append(
                    (step, [ids[int(s)] for s in seats], [float(r) for r in rets], seed + k, "eval")
                )
        return rows

    def match_policy(self, member_id: int):
        """What the backend plays for a member: the live policy (serial backend), or its
        :class:`arena.backends.PolicySpec` (algorithm, config, weights) for workers."""
        if not self.backend.remote:
            return self.policy(member_id)
        return self.spec(member_id)

    def spec(self, member_id: int) -> PolicySpec:
        """A member's policy as plain data (:class:`arena.backends.PolicySpec`), cached for
        frozen members; a learner's is of its live weights, a new spec each time."""
        m = self.pool.get(member_id)
        if m.kind == LEARNER:  # live weights: a new spec each time
            slot = next(s for s in self.slots if s.member.id == member_id)
            return policy_spec(
                m.algorithm, dict(self._learner_cfgs[slot.name].config), slot.learner
            )
        if member_id not in self._specs:
            if m.kind == REFERENCE and m.policy == "random":
                spec = RANDOM
            elif is_cfr_reference(m):  # the stored table, sha256 checked
                spec = PolicySpec("tabular", {}, reference_table_bytes(self.store, m))
            elif m.kind == REFERENCE:
                from agents.checkpoint import load_checkpoint, read_spec

                saved = read_spec(m.policy)
                spec = policy_spec(
                    saved["algorithm"], saved["config"], load_checkpoint(m.policy, device="cpu")
                )
            else:
                row = self.store.snapshot(
                    m.id
                )  # None for this round's snapshot: file written, row not yet
                rel = (
                    row.path
                    if row is not None
                    else f"{self.store.snapshot_dir(m)}/policy.safetensors"
                )
                lc = self._learner_cfgs.get(m.name.split("@", 1)[0])
                config = dict(lc.config) if lc is not None else {}
                spec = PolicySpec(m.algorithm, config, self.store.resolve(rel).read_bytes())
            self._specs[member_id] = spec
        return self._specs[member_id]

    def _freeze(
        self,
        slot: LearnerSlot,
        step: int,
        seed: int,
        new_members: list[Member],
        files: list[tuple[int, str, int]],
        match_rows: list[tuple],
    ) -> list[Member]:
        """Freeze ``slot``'s learner as a new snapshot: its weights file is written now,
        its rows (member, snapshot, evaluation matches) are appended for the round's
        commit. Returns the members the pool evicted to make room."""
        snap = self.pool.add_snapshot(slot.member.id, slot.step)
        rel = self._write_snapshot(snap, slot)
        self._policies[snap.id] = slot.learner.freeze()
        new_members.append(snap)
        files.append((snap.id, rel, slot.step))
        slot.last_snapshot_step = slot.step
        evicted = self.pool.evict(self.ratings("elo"))
        match_rows += self._evaluation_matches(snap, step, seed)
        return evicted

    def _write_snapshot(self, snap: Member, slot: LearnerSlot) -> str:
        from agents.checkpoint import tensors_to_bytes

        rel = f"{self.store.snapshot_dir(snap)}/policy.safetensors"
        return self.store.write_file(rel, tensors_to_bytes(slot.learner.policy_state_dict()))

    def _write_learner(self, slot: LearnerSlot) -> Path:
        from agents.checkpoint import SPEC, WEIGHTS, save_checkpoint

        rel = self.store.checkpoint_dir(slot.name, slot.step)
        # claimed first: a kill before the row leaves files the next open may remove
        self.store.claim(f"{rel}/{WEIGHTS}", f"{rel}/{SPEC}")
        path = self.store.resolve(rel)
        save_checkpoint(
            path, slot.learner, self.cfg.league.game, extra={"counters": slot.counters()}
        )
        return path

    def _reset_learner(self, slot: LearnerSlot, lc):
        fresh = self._new_learner(
            lc, round_seed(self.cfg.league.seed, slot.index, (1 << 20) + slot.resets + 1)
        )
        if getattr(lc, "reset_to", "initial") == MAIN:
            main = next((s for s in self.slots if s.member.role == MAIN), None)
            if main is not None:
                fresh.load_state_dict(main.learner.policy_state_dict())
        return fresh

    # ------------------------------------------------------------ running
    def total_steps(self) -> int:
        return sum(s.step for s in self.slots)

    def target_steps(self, steps: int | None) -> int:
        return steps if steps is not None else self.cfg.league.steps

    def finished(self, steps: int | None = None) -> bool:
        target = self.target_steps(steps)
        return all(s.step >= target for s in self.slots)

    def run(
        self,
        steps: int | None = None,
        minutes: float | None = None,
        on_round: Callable[[RoundReport], None] | None = None,
    ) -> None:
        """Run rounds until every learner reached ``steps`` (default: the config's),
        ``minutes`` passed, or SIGINT/SIGTERM asked to stop.

        A stop signal lets the round in flight finish and commit if it does so
        within :data:`STOP_GRACE_S` seconds; otherwise the round is dropped
        (none of it was committed: a round commits in one transaction at its
        end) and ``self.aborted`` is set. A resume replays it from the last
        committed checkpoint, so the league ends as if never stopped.
        """
        target = self.target_steps(steps)
        self._target = target
        deadline = None if minutes is None else time.monotonic() + 60.0 * minutes

        def more() -> bool:
            return not self.stop_requested and (deadline is None or time.monotonic() < deadline)

        with _stop_on_signals(self) as stopper:
            while more():
                todo = [s for s in self.slots if s.step < target]
                if not todo:
                    break
                # A generation: every learner short of the target plays one round. Learners
                # that already played this one (a resume) have a higher round index.
                first = min(s.round for s in todo)
                generation = [s for s in todo if s.round == first]
                try:
                    self._run_generation(generation, stopper, on_round, more)
                except RoundAborted:
                    self.aborted = True
                    break

    def _run_generation(self, gen: list[LearnerSlot], stopper, on_round, more) -> None:
        """One round of each learner in ``gen`` (in learner order), on the backend.

        Every round's opponents are drawn from the pool as it was at the start of
        the generation (learner opponents at their weights then), so the rounds are
        independent: workers play them side by side, and the coordinator commits
        them in learner order, each in its own transaction as a lone round does.
        The first commit also records the generation's plan (an evaluation row of
        kind ``generation``: each round's opponent distribution, and the learner
        opponents' weights), so that a league killed between two commits of a
        generation resumes it with the same draws.
        """
        stored = self._stored_plan(gen[0].round, gen)
        if len(gen) == 1 and stored is None:  # a lone round, exactly as it always ran
            with stopper.round():
                report = self.run_round(gen[0])
            if on_round is not None:
                on_round(report)
            return
        t0 = time.monotonic()
        opening = _Rows()
        for slot in gen:
            self._open_round(slot, opening)
        self._open_league(opening, self._round_seed(gen[0]))
        if stored is not None:
            live = stored["live"]
            plans = [
                RoundPlan(
                    s,
                    self._round_seed(s),
                    np.asarray(stored["rounds"][s.name]["ids"], np.int64),
                    np.asarray(stored["rounds"][s.name]["probs"], np.float64),
                    list(stored["rounds"][s.name]["notes"]),
                    live,
                )
                for s in gen
            ]
            plan_row = None
        else:
            from agents.checkpoint import tensors_to_bytes

            plans = [self._plan(s) for s in gen]
            learners = {s.member.id: s for s in self.slots}
            live = {
                mid: tensors_to_bytes(learners[mid].learner.policy_state_dict())
                for p in plans
                for mid in p.opponents
                if mid in learners
            }
            for p in plans:
                p.live = live
            plan_row = {
                "generation": gen[0].round,
                "rounds": {
                    p.slot.name: {
                        "ids": [int(i) for i in p.ids],
                        "probs": [float(x) for x in p.probs],
                        "notes": list(p.notes),
                    }
                    for p in plans
                },
                "live": {str(k): base64.b64encode(v).decode("ascii") for k, v in live.items()},
            }
        if not self.backend.remote:
            for k, plan in enumerate(plans):
                if k > 0 and not more():
                    return  # the rest of the generation resumes from its stored plan
                with stopper.round():
                    report = self._finish_round(
                        plan,
                        self._play_here(plan),
                        t0,
                        opening if k == 0 else None,
                        plan_row if k == 0 else None,
                    )
                if on_round is not None:
                    on_round(report)
                t0 = time.monotonic()
            return
        from agents.checkpoint import tensors_from_bytes

        with stopper.round():
            remote = [p for p in plans if self._portable(p.slot)]
            results = dict(
                zip(
                    [p.slot.name for p in remote],
                    self.backend.run(run_task, [self._task(p) for p in remote]),
                )
            )
            for k, plan in enumerate(plans):
                res = results.get(plan.slot.name)
                if res is None:  # trains here; nothing it reads changed since the plan
                    played = self._play_here(plan)
                else:
                    plan.slot.learner.load_state_dict(
                        tensors_from_bytes(res.state, f"learner {plan.slot.name} from a worker")
                    )
                    played = (res.steps, res.episodes, res.metrics)
                report = self._finish_round(
                    plan,
                    played,
                    t0,
                    opening if k == 0 else None,
                    plan_row if k == 0 else None,
                )
                if on_round is not None:
                    on_round(report)

    def _stored_plan(self, generation: int, gen: list[LearnerSlot]) -> dict | None:
        """The stored plan of ``generation`` when a resume finds it begun (else None)."""
        rows = self.store.evaluations(GENERATION)
        if not rows:
            return None
        p = rows[-1].payload
        if p.get("generation") != generation or not all(s.name in p["rounds"] for s in gen):
            return None
        return {
            "rounds": p["rounds"],
            "live": {int(k): base64.b64decode(v) for k, v in p["live"].items()},
        }

    def learner_rating(self, name: str | None = None) -> float:
        slot = self.slots[0] if name is None else next(s for s in self.slots if s.name == name)
        return self.elo.rating(slot.member.id)


STOP_GRACE_S = 3.0
"""Seconds a round in flight may still take to finish and commit after a stop signal."""


class RoundAborted(BaseException):
    """The round in flight is dropped because a stop signal's grace period ran out.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception``
    on the way up swallows it; the store's open transaction rolls back.
    """


class _stop_on_signals:
    """SIGINT/SIGTERM ask the league to stop: the round in flight may finish
    within :data:`STOP_GRACE_S` (a SIGALRM timer), else it is aborted with
    :class:`RoundAborted`; a second SIGINT or SIGTERM aborts it at once."""

    def __init__(self, league: League):
        self.league = league
        self.saved = {}
        self.in_round = False

    def _abort(self) -> None:
        if self.in_round:
            self.in_round = False  # raise once; the unwinding round must not be hit again
            raise RoundAborted

    def _handler(self, signum, frame):
        if self.league.stop_requested:
            self._abort()
            return
        self.league.stop_requested = True
        if self.in_round and signal.SIGALRM in self.saved:
            signal.setitimer(signal.ITIMER_REAL, STOP_GRACE_S)

    def _alarm(self, signum, frame):
        self._abort()

    @contextlib.contextmanager
    def round(self):
        """Marks the span in which a stop may abort the round."""
        self.in_round = True
        try:
            if self.league.stop_requested:  # a signal came between two rounds
                self._abort()
            yield
        finally:
            self.in_round = False
            if signal.SIGALRM in self.saved:
                signal.setitimer(signal.ITIMER_REAL, 0)

    def __enter__(self):
        for sig, handler in (
            (signal.SIGINT, self._handler),
            (signal.SIGTERM, self._handler),
            (signal.SIGALRM, self._alarm),
        ):
            try:
                self.saved[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread: no signals, rounds always finish
                pass
        return self

    def __exit__(self, *exc):
        if signal.SIGALRM in self.saved:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, h in self.saved.items():
            signal.signal(sig, h)


_SIGNALLED: set[str] = set()


def _crash_point(phase: str, round_index: int, learner: str | None = None) -> None:
    """Test hooks: ``ARENA_KILL_AT=phase:round[,...]`` SIGKILLs this process there,
    ``ARENA_SIGTERM_AT`` sends it SIGTERM, ``ARENA_HANG_AT`` never returns.
    ``ARENA_KILL_AT=phase:round:LEARNER`` kills it only in that learner's round.

    The crash-safety test uses it to kill a league at chosen points (inside a
    round, after snapshot files, after the learner checkpoint, inside the
    store's transaction) without timing races.
    """
    point = f"{phase}:{round_index}"
    spec = os.environ.get("ARENA_KILL_AT")
    if spec and (point in spec.split(",") or f"{point}:{learner}" in spec.split(",")):
        os.kill(os.getpid(), signal.SIGKILL)
    spec = os.environ.get("ARENA_SIGTERM_AT")  # a polite stop arriving mid-round, once
    if spec and point in spec.split(",") and point not in _SIGNALLED:
        _SIGNALLED.add(point)
        os.kill(os.getpid(), signal.SIGTERM)
    spec = os.environ.get("ARENA_HANG_AT")  # a phase that never ends (a stop must still work)
    if spec and point in spec.split(","):
        while True:
            time.sleep(0.01)


def _check_same_league(stored: dict, current: dict, config_path: Path, db: Path) -> None:
    """A store resumes only the league it was created for (``league.steps`` may change)."""
    a, b = json.loads(json.dumps(stored)), json.loads(json.dumps(current))
    for d in (a, b):
        d.get("league", {}).pop("steps", None)
    if a != b:
        for section in sorted(set(a) | set(b)):
            if a.get(section) != b.get(section):
                raise ConfigError(
                    f"{config_path}: [{section}] differs from the league stored in {db}; "
                    f"restore the original config, or pass --db NEW.db to start a new league"
                )
