"""A league's store -> its population evaluation now (``arena league eval``)."""

from __future__ import annotations

from arena.evaluation.population import GapSettings, evaluate_population
from arena.league.members import member_policy


def evaluate_league(
    db_path,
    games_per_pair: int | None = None,
    seed: int = 0,
    *,
    max_states: int | None = None,
    record: bool = True,
    device: str = "cpu",
) -> dict:
    """The population evaluation of a league's active members now (``arena league eval``).

    Computed by :func:`evaluate_population`, the function the league loop
    runs each evaluation period, so the two agree: the frozen meta-game
    (exact where :func:`exact_payoff_table` can, else every pair plays
    ``games_per_pair`` games, default the league's
    ``evaluation.games_per_pair``), each learner against it, and each NashConv
    as the league's ``evaluation.method`` says (exact up to ``max_states``,
    default the league's ``evaluation.max_states``; else an exploiter lower
    bound, or ``null`` with the reason). With ``record`` the record is added to the store as a
    ``league`` evaluation (what ``arena report`` reads) and the gaps as
    ``nash_gap`` evaluations, when the store can be opened for writing (not
    while the league runs).

    Returns:
        :meth:`arena.evaluation.record.PopulationEvaluation.to_json`, plus
        ``recorded`` (and ``record_note`` when recording failed).
    """
    import games
    from leagues.config import config_from_dict
    from leagues.store import Store, StoreError

    with Store.open(db_path, readonly=True) as store:
        stored = store.config()
        if stored is None:
            raise StoreError(f"{db_path}: the league has no config yet; run it first")
        cfg = config_from_dict(stored[1], str(db_path), check_game=False)
        spec = cfg.league.game
        game = games.load(spec)
        members = store.members(active=True)
        learner_cfgs = {lc.name: lc for lc in cfg.learners}
        usable, policies = [], []
        for m in members:
            try:
                policies.append(member_policy(store, m, game.info, learner_cfgs, device))
                usable.append(m)
            except StoreError:  # a learner with no checkpoint yet
                continue
        step = max([m.step for m in store.matches()[-1:]] + [0])
    rec = evaluate_population(
        game,
        spec,
        [m.name for m in usable],
        [m.kind for m in usable],
        policies,
        step,
        games_per_pair or cfg.evaluation.games_per_pair,
        seed,
        gaps=GapSettings(
            cfg.evaluation.method,
            max_states or cfg.evaluation.max_states,
            cfg.evaluation.exploiter_seconds,
        ),
    )
    out = rec.to_json()
    if not usable or not record:
        return out
    try:
        with Store.open(db_path) as store:
            with store.batch():
                store.add_evaluation(step, "league", out)
                for g in rec.gap_rows():
                    store.add_evaluation(step, "nash_gap", g)
        out["recorded"] = True
    except StoreError as e:
        out["recorded"] = False
        out["record_note"] = f"results not recorded: {str(e).splitlines()[0]}"
    return out
