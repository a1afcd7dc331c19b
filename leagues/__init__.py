"""The bookkeeping of a population: config, pool, matchmaking, ratings, store.

It decides who plays whom and rates the results; it never plays (``arena``
does). No torch here: hashing and atomic writes import ``agents.checkpoint``
only when a file is written or verified.

How a loop drives it (one learner ``lc``, ``game = games.load(cfg.league.game)``)::

    cfg = load_config("league.toml")
    store = Store.open("runs/x.db", create=True)
    pool = Pool(cfg.snapshots.capacity, cfg.snapshots.eviction, cfg.snapshots.keep_first)
    table = PayoffTable(cfg.matchmaking.payoff_decay)
    # freeze: write the weights first, then the rows, in one batch
    snap = pool.add_snapshot(learner.id, step)
    save_checkpoint(store.root / store.snapshot_dir(snap), ...)
    with store.batch():
        store.add_member(snap)
        store.add_snapshot(snap.id, store.snapshot_dir(snap), step)
        for m in pool.evict(ratings):
            store.set_active(m.id, False)
    # opponents
    ids = draw_opponents(lc.matchmaking, learner.id, candidates(pool, learner, lc.role),
                         table, rng, n, past_prob=..., pfsp_weighting=..., pfsp_p=..., kind=game.kind)
    # results: one batch per round
    with store.batch():
        store.add_match(step, seats, returns, seed, tag="eval")
        table.add_match(seats, returns, game.kind, game.info.reward_range)
        store.add_ratings(step, "elo", elo.ratings)

On resume: ``Pool.from_members(store.members(), ...)``, replay
``store.matches()`` into a fresh ``PayoffTable`` / ``Elo``, and read
``store.learner_state(name)``.
"""

from leagues.config import (
    ConfigError,
    EvaluationConfig,
    LeagueConfig,
    LearnerConfig,
    MatchmakingConfig,
    RatingsConfig,
    ReferenceConfig,
    RunConfig,
    SnapshotConfig,
    config_from_dict,
    config_json,
    config_to_dict,
    load_config,
)
from leagues.matchmaking import (
    PFSP_WEIGHTINGS,
    RULES,
    PayoffTable,
    candidates,
    draw_opponents,
    meta_nash,
    opponent_probs,
    pfsp_weights,
    round_robin,
)
from leagues.pool import (
    EVICTIONS,
    LEAGUE_EXPLOITER,
    LEARNER,
    MAIN,
    MAIN_EXPLOITER,
    REFERENCE,
    ROLES,
    SNAPSHOT,
    Member,
    Pool,
    reset_due,
    snapshot_due,
)
from leagues.ratings import (
    Elo,
    MElo,
    RatingRow,
    RatingsHistory,
    batch_ratings,
    bradley_terry,
    elo_expected,
    elo_update,
    log_loss,
    match_results,
    match_scores,
    mean_score_ratings,
    melo_expected,
    melo_fit,
    melo_update,
)
from leagues.store import (
    EvaluationRow,
    LearnerState,
    MatchRow,
    SnapshotRow,
    Store,
    StoreError,
    sha256_path,
)

__all__ = [
    "EVICTIONS",
    "LEAGUE_EXPLOITER",
    "LEARNER",
    "MAIN",
    "MAIN_EXPLOITER",
    "PFSP_WEIGHTINGS",
    "REFERENCE",
    "ROLES",
    "RULES",
    "SNAPSHOT",
    "ConfigError",
    "Elo",
    "EvaluationConfig",
    "EvaluationRow",
    "LeagueConfig",
    "LearnerConfig",
    "LearnerState",
    "MElo",
    "MatchRow",
    "MatchmakingConfig",
    "Member",
    "PayoffTable",
    "Pool",
    "RatingRow",
    "RatingsConfig",
    "RatingsHistory",
    "ReferenceConfig",
    "RunConfig",
    "SnapshotConfig",
    "SnapshotRow",
    "Store",
    "StoreError",
    "batch_ratings",
    "bradley_terry",
    "candidates",
    "config_from_dict",
    "config_json",
    "config_to_dict",
    "draw_opponents",
    "elo_expected",
    "elo_update",
    "load_config",
    "log_loss",
    "match_results",
    "match_scores",
    "mean_score_ratings",
    "melo_expected",
    "melo_fit",
    "melo_update",
    "meta_nash",
    "opponent_probs",
    "pfsp_weights",
    "reset_due",
    "round_robin",
    "sha256_path",
    "snapshot_due",
]
