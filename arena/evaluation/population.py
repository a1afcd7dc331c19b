"""The population evaluation the league stores each period: frozen meta-game, learners against it, exact gaps."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from arena.backends import Match
from arena.evaluation.exact_payoffs import exact_payoff_table
from arena.evaluation.exploiter import exploiter_lower_bound
from arena.evaluation.metagame import (
    cross_play,
    dominance_graph,
    empirical_metagame,
    meta_nash,
    metagame_from_table,
    mixture_policy,
    nash_averaging,
    records_from_match,
    sampling_summary,
)
from arena.evaluation.record import Gap, LearnerRow, PopulationEvaluation
from arena.evaluation.tabular import (
    DEFAULT_MAX_STATES,
    EXACT,
    LOWER_BOUND,
    ExactLimitError,
    exact_nash_conv,
)
from arena.rollout import play
from games.core import CONSTANT_SUM, ZERO_SUM, ArenaError

GAP_METHODS = ("auto", "exact", "exploiter", "off")


@dataclasses.dataclass(frozen=True)
class GapSettings:
    """How a population evaluation measures each NashConv (the league's ``[evaluation]``)."""

    method: str = "auto"
    """'exact' (up to ``max_states``; beyond, none, with the reason), 'exploiter' (always the
    exploiter lower bound), 'auto' (exact where it fits, else the bound) or 'off'."""
    max_states: int = DEFAULT_MAX_STATES
    """Decision nodes an exact NashConv or exact payoff table may walk."""
    exploiter_seconds: float = 20.0
    """Training time of each exploiter lower bound."""

    def __post_init__(self):
        if self.method not in GAP_METHODS:
            raise ValueError(f"gap method {self.method!r} is not one of {', '.join(GAP_METHODS)}")


def _fmt_cell(x, digits: int = 4) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def population_lines(rec) -> list[str]:
    """A :class:`arena.evaluation.record.PopulationEvaluation` as text lines (``arena league eval``)."""
    lines = [
        f"{rec.game} ({rec.kind}): {len(rec.members)} frozen members and references, "
        f"{len(rec.learners)} learners, step {rec.step:,}"
    ]
    if rec.note:
        lines.append(rec.note)
    if rec.members:
        label = "exact" if rec.exact else f"estimated, {rec.table_method}"
        lines.append(f"payoff table: {label}; meta-Nash by {rec.meta_method}")
        w = np.array(rec.meta_nash)
        r = np.array(rec.nash_averaging) if rec.nash_averaging is not None else np.zeros(len(w))
        lines.append(f"  {'member':<28} {'meta-Nash':>10} {'Nash avg':>10}")
        for i in np.lexsort((-w, -r)):
            avg = _fmt_cell(rec.nash_averaging[i]) if rec.nash_averaging is not None else "–"
            lines.append(f"  {rec.members[i]:<28} {w[i]:>10.4f} {avg:>10}")
        if rec.nash_averaging is None:
            lines.append(f"  Nash averaging: not given ({rec.nash_averaging_note})")
        for c in rec.cycles[:5]:
            lines.append("  cycle: " + " > ".join(rec.members[i] for i in c + c[:1]))
        if rec.cross_play is not None:
            cp = rec.cross_play
            lines.append(
                f"  self-play {_fmt_cell(cp['self_play'])}  cross-play "
                f"{_fmt_cell(cp['cross_play'])}  gap {_fmt_cell(cp['gap'])}"
            )
    for row in rec.learners:
        vs = _fmt_cell(row.vs_meta_nash)
        lines.append(
            f"  learner {row.name}: return {vs} against the meta-Nash ({row.method or '–'})"
        )
        lines.append(_gap_line(row.name, row.gap))
    if rec.members:
        lines.append(_gap_line("meta-Nash mixture", rec.meta_nash_gap))
    for f in rec.fallback:
        lines.append(f"  solver fallback: {f}")
    return lines


def _gap_line(who: str, gap) -> str:
    if gap.nash_conv is None:
        return f"  NashConv of {who}: not computed ({gap.note})"
    if gap.method == EXACT:
        return f"  NashConv of {who}: {gap.nash_conv:.6f} (exact)"
    return f"  NashConv of {who}: at least {gap.nash_conv:.6f} ({gap.note})"


def _learner_sampling(meta, i: int, frozen: list[int]) -> str:
    """How learner ``i``'s row was measured: games, deterministic (exact) pairs, distinct episodes."""
    games = meta.counts[i, frozen]
    det = int(meta.deterministic[i, frozen].sum())
    distinct = int(meta.distinct[i, frozen].sum())
    lo, hi = int(games.min()), int(games.max())
    per = f"{lo:,}" if lo == hi else f"{lo:,} to {hi:,}"
    return (
        f"sampled: {per} games per frozen member, {det} of {len(frozen)} pairs deterministic "
        f"(computed exactly from one game per seating), {distinct:,} distinct episodes in all"
    )


def _gap(game, policy, label: str, seed: int, settings: GapSettings) -> Gap:
    """``policy``'s NashConv by ``settings``, or None with the reason it is absent."""
    if settings.method == "off":
        return Gap(None, note="not measured (evaluation.method = 'off')")
    note = None
    if settings.method in ("auto", "exact"):
        try:
            res = exact_nash_conv(
                game, policy, seed=seed, max_states=settings.max_states, label=label
            )
            return Gap(res.nash_conv, res.exploitability, tuple(res.per_player.tolist()), EXACT)
        except ExactLimitError as e:
            note = str(e).split(";")[0]
            if settings.method == "exact":
                return Gap(
                    None,
                    note=f"{note}; set evaluation.method = 'auto' or 'exploiter' for a lower bound",
                )
    try:
        res = exploiter_lower_bound(game, policy, settings.exploiter_seconds, seed)
    except ArenaError as e:
        why = str(e).splitlines()[0]
        return Gap(None, note=f"{note + '; ' if note else ''}no exploiter bound either: {why}")
    how = (
        f"lower bound from an exploiter trained {settings.exploiter_seconds:g} s "
        f"({res.states:,} steps)"
    )
    return Gap(
        res.nash_conv,
        res.exploitability,
        tuple(res.per_player.tolist()),
        LOWER_BOUND,
        f"{note}; {how}" if note else how,
    )


def _cells(x: np.ndarray) -> tuple:
    return tuple(
        tuple(float(v) if np.isfinite(v) else None for v in row) for row in np.atleast_2d(x)
    )


def evaluate_population(
    game,
    spec: str,
    names: list[str],
    kinds: list[str],
    policies: list,
    step: int,
    n: int,
    seed: int = 0,
    *,
    max_states: int = DEFAULT_MAX_STATES,
    backend=None,
    match_policies: list | None = None,
    gaps: GapSettings | None = None,
):
    """The population evaluation: the frozen meta-game and each learner against it.

    ``kinds`` are member kinds ('learner', 'snapshot', 'reference'). The
    meta-game (payoff table, meta-Nash, Nash averaging, dominance) is over the
    frozen members and references only; each learner gets its own row (its
    return against every frozen member) and its own exact NashConv, and the
    frozen meta-Nash mixture's NashConv is measured (PSRO's measure). Used by
    :func:`evaluate_league` and, periodically, by the league loop itself,
    which stores the result.

    The table is exact (:func:`exact_payoff_table`) where it can be, else
    sampled: each frozen pair and each learner-frozen pair plays ``n`` games
    (cooperative games: frozen self-play too) on ``backend`` (an
    :mod:`arena.backends` backend; None: here) with ``match_policies``
    (default ``policies``; the process and Ray backends need
    :class:`arena.backends.PolicySpec` s).

    Each learner's NashConv and the mixture's follow ``gaps`` (default: exact
    up to ``max_states``, else none; the league passes its ``[evaluation]``
    settings, where 'auto' adds an exploiter lower bound); an absent one keeps
    the reason in :attr:`arena.evaluation.record.Gap.note`.

    Nash averaging (Balduzzi et al. 2018) is given for two-player zero-sum and
    constant-sum games, where the seat-balanced table is antisymmetric (up to
    a constant); elsewhere it is None with the reason.

    A degenerate payoff table never raises here: a solver that fails hands
    over to the next (:func:`arena.evaluation.metagame.meta_nash`,
    :func:`arena.evaluation.metagame.maxent_nash_noted`), and ``fallback`` lists one
    line per failure saying what was used instead.

    Returns:
        An :class:`arena.evaluation.record.PopulationEvaluation`.
    """
    from games.core import COOPERATIVE

    if gaps is None:  # direct callers: exact or absent, never a timed exploiter
        gaps = GapSettings("exact", max_states)
    max_states = gaps.max_states
    kind = game.info.kind
    frozen = [i for i, k in enumerate(kinds) if k != "learner"]
    live = [i for i, k in enumerate(kinds) if k == "learner"]
    empty = PopulationEvaluation(
        step=step,
        game=spec,
        kind=kind,
        members=tuple(names[i] for i in frozen),
        member_kinds=tuple(kinds[i] for i in frozen),
        payoffs=(),
        stderr=(),
        table_method="",
        meta_nash=(),
        meta_method="",
        nash_averaging=None,
        nash_averaging_weights=None,
        nash_averaging_note="no frozen member yet",
        dominance_edges=(),
        cycles=(),
        components=(),
        meta_nash_gap=Gap(None, note="no frozen member yet"),
    )
    if not policies:
        return dataclasses.replace(
            empty,
            members=(),
            member_kinds=(),
            note="no member with weights yet; run the league first",
        )
    if not frozen:
        learners = tuple(
            LearnerRow(names[i], (), (), "", None, _gap(game, policies[i], names[i], seed, gaps))
            for i in live
        )
        return dataclasses.replace(
            empty,
            learners=learners,
            note="no frozen member or reference yet: the meta-game is over frozen members",
        )
    try:
        table = exact_payoff_table(game, policies, seed=seed, max_states=max_states)
        meta = metagame_from_table(names, table, kind, stderr=np.zeros_like(table))
        method = EXACT
    except ExactLimitError:
        pairs = [
            (i, j)
            for i, j in itertools.combinations_with_replacement(range(len(policies)), 2)
            if (i != j or kind == COOPERATIVE) and (kinds[i] != "learner" or kinds[j] != "learner")
        ]
        if backend is None:
            results = [
                play(game, [policies[i], policies[j]], n, seed + 7919 * i + j) for i, j in pairs
            ]
        else:
            mp = policies if match_policies is None else match_policies
            matches = [Match((mp[i], mp[j]), n, seed + 7919 * i + j) for i, j in pairs]
            results = backend.play(game, spec, matches)
        records = []
        for (i, j), result in zip(pairs, results):
            records += records_from_match(i, j, result)
        meta = empirical_metagame(names, records, kind)
        method = None
    sub = meta.restricted(frozen)
    if method is None:  # games per pair, deterministic pairs (exact), distinct episodes
        method = sampling_summary(sub)
    nash = meta_nash(sub)
    _, dom = dominance_graph(sub)
    fallback = [f"meta-Nash: {nash.fallback}"] if nash.fallback else []
    if game.info.num_players == 2 and kind in (ZERO_SUM, CONSTANT_SUM):
        avg = nash_averaging(sub)
        averaging = (tuple(avg.ratings.tolist()), tuple(avg.weights.tolist()), None)
        if avg.fallback:
            fallback.append(f"Nash averaging: {avg.fallback}")
    else:
        averaging = (
            None,
            None,
            f"{kind.replace('_', '-')} {game.info.num_players}-player game: Nash averaging "
            "is defined for two-player zero-sum (antisymmetric) meta-games",
        )
    cross = None
    if kind == COOPERATIVE:
        cp = cross_play(sub)
        cross = {"self_play": cp.self_play, "cross_play": cp.cross_play, "gap": cp.gap}
        cross = {k: (float(v) if np.isfinite(v) else None) for k, v in cross.items()}
    weights = nash.weights
    learners = []
    for i in live:
        row = meta.payoffs[i, frozen]
        how = method if method == EXACT else _learner_sampling(meta, i, frozen)
        learners.append(
            LearnerRow(
                names[i],
                tuple(float(x) if np.isfinite(x) else None for x in row),
                tuple(float(x) if np.isfinite(x) else None for x in meta.stderr[i, frozen]),
                how,
                float(row @ weights) if np.all(np.isfinite(row)) else None,
                _gap(game, policies[i], names[i], seed, gaps),
            )
        )
    mix = mixture_policy([policies[i] for i in frozen], weights)
    return dataclasses.replace(
        empty,
        payoffs=_cells(sub.payoffs),
        stderr=_cells(sub.stderr),
        table_method=method,
        meta_nash=tuple(weights.tolist()),
        meta_method=nash.method,
        nash_averaging=averaging[0],
        nash_averaging_weights=averaging[1],
        nash_averaging_note=averaging[2],
        dominance_edges=tuple(tuple(e) for e in dom.edges),
        cycles=tuple(tuple(c) for c in dom.cycles),
        components=tuple(tuple(c) for c in dom.components),
        meta_nash_gap=_gap(game, mix, "meta-Nash mixture", seed, gaps),
        learners=tuple(learners),
        cross_play=cross,
        fallback=tuple(fallback),
    )
