"""``arena league run|status|ratings|members|eval``."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path


def run(args) -> int:
    return {
        "run": _run,
        "status": _status,
        "ratings": _ratings,
        "members": _members,
        "eval": _eval,
    }[args.league_command](args)


MAX_SEEDS = 100
"""Seeds one ``arena league run --seeds`` may run."""


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,3,7"`` -> [0, 3, 7]; ranges and lists mix.

    Raises:
        ArenaError: one line naming the bad part.
    """
    from games.core import ArenaError

    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise ArenaError(
                f"--seeds {text!r}: {part!r} is not a seed or a range; write e.g. 0-4 or 0,3,7"
            ) from None
        if a < 0 or b < a:
            raise ArenaError(f"--seeds {text!r}: {part!r} is not an increasing range of seeds >= 0")
        if b - a + 1 + len(seeds) > MAX_SEEDS:
            raise ArenaError(f"--seeds {text!r}: more than {MAX_SEEDS} seeds; run fewer at a time")
        seeds += [s for s in range(a, b + 1) if s not in seeds]
    return seeds


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% Student-t interval (0 for one value)."""
    import math

    import numpy as np

    x = np.asarray(values, dtype=np.float64)
    if len(x) < 2:
        return float(x.mean()), 0.0
    from scipy.stats import t

    half = float(t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return float(x.mean()), half


def _run_seeds(args) -> int:
    """``arena league run CONFIG --seeds 0-4``: one league per seed, then the spread of the finals."""
    import copy

    from games.core import ArenaError
    from leagues.store import Store

    seeds = parse_seeds(args.seeds)
    if args.db:
        raise ArenaError(
            "--db and --seeds together: each seed gets its own NAME-seedS.db; drop --db"
        )
    finals: dict[str, dict[int, float]] = {}
    dbs = []
    for seed in seeds:
        print(f"\n=== seed {seed} ===")
        one = copy.copy(args)
        one.seeds, one.seed, one.no_report = None, seed, True
        _run(one)
        dbs.append(one.db_used)
        with Store.open(one.db_used, readonly=True) as store:
            for name, points in gap_trajectories(store).items():
                tag = "" if points[-1][2] == "exact" else " (lower bound)"
                finals.setdefault(f"{name} exploitability{tag}", {})[seed] = points[-1][1]
            members = {m.id: m for m in store.members()}
            system = "elo" if store.latest_ratings("elo") else "return"
            for mid, value in store.latest_ratings(system).items():
                m = members.get(mid)
                if m is not None and m.kind in ("learner", "reference"):
                    finals.setdefault(f"{m.name} {system}", {})[seed] = value
    print(f"\n{len(seeds)} seeds ({args.seeds}); the mean and its 95% interval (Student t):")
    for what, by_seed in finals.items():
        vals = [by_seed[s] for s in seeds if s in by_seed]
        mean, half = interval(vals)
        each = ", ".join(f"{v:.4g}" for v in vals)
        print(f"  {what}: {mean:.4g} +- {half:.2g}  (n={len(vals)}: {each})")
    print("stores: " + " ".join(shlex.quote(str(d)) for d in dbs))
    return 0


def _run(args) -> int:
    if getattr(args, "seeds", None):
        return _run_seeds(args)
    import torch

    from arena.backends import make_backend
    from arena.league import League
    from arena.metrics import MetricsLog, record_scalars, round_scalars
    from arena.progress import Progress

    torch.set_num_threads(1)
    backend = make_backend(
        getattr(args, "backend", "serial"),
        getattr(args, "workers", 1),
        getattr(args, "address", None),
    )
    try:
        league = League.open(
            args.config, args.db, backend=backend, seed=getattr(args, "seed", None)
        )
    except BaseException:
        backend.close()
        raise
    try:
        target = league.target_steps(args.steps)
        resumed = league.total_steps() > 0
        db = league.store.path
        args.db_used = db
        print(
            f"league '{league.cfg.league.name}' on {league.cfg.league.game} ({league.kind}); store {db}"
            + (f"; resuming at step {league.total_steps():,}" if resumed else "")
        )
        total = target * len(league.slots)
        progress = Progress(total, league.cfg.league.name, quiet=args.quiet)
        t0, s0 = time.monotonic(), league.total_steps()
        metrics_dir = Path(f"{Path(db).with_suffix('')}_metrics")
        log = MetricsLog(metrics_dir)

        def on_round(r):
            el = max(time.monotonic() - t0, 1e-9)
            fields = {
                "state": "training",
                "steps/s": (league.total_steps() - s0) / el,
                "pool": len(league.pool.active()),
                "games": league.matches_played,
            }
            scalars = round_scalars(r.learner, r.metrics, r.win_rate)
            if league.competitive:
                elo = league.learner_rating(r.learner)
                fields[f"{r.learner} elo"] = round(elo)  # named: several learners
                scalars[f"{r.learner}/elo"] = elo
            if r.evaluated and league.record is not None:
                scalars.update(record_scalars(league.record))
            fields.update(_progress_gaps(league.record))
            log.add(league.total_steps(), scalars)
            progress.update(min(league.total_steps(), total), **fields)

        league.on_phase = lambda what: progress.update(progress.done, force=True, state=what)
        try:
            league.run(steps=args.steps, minutes=args.minutes, on_round=on_round)
        finally:
            log.close()
        progress.close()
        if league.aborted:
            # The round in flight was dropped: what is in memory ran ahead of the store.
            committed = sum(st.step for st in league.store.learner_states().values())
            print(
                f"\nstopped: the round in flight was dropped (none of it committed); the store holds "
                f"{committed:,} learner steps and {league.store.match_count():,} games; resume with the same command"
            )
        else:
            stopped = (
                "stopped early (resume with the same command)"
                if not league.finished(args.steps)
                else "finished"
            )
            print(
                f"\n{stopped}: {league.total_steps():,} learner steps, {league.matches_played:,} games, {len(league.pool.active())} active members"
            )
        if backend.name == "ray":
            print(
                f"ray: {backend.actors()} worker actor(s) on {len(backend.nodes())} node(s); "
                f"{backend.restarts} time(s) replaced"
            )
        _print_ratings(league.store, "elo" if league.competitive else "return", limit=12)
        _print_gap_trajectories(league.store)
        print(
            f"metrics: {log.path} and TensorBoard events (tensorboard --logdir {shlex.quote(str(metrics_dir))})"
        )
        report_dir = Path(f"{Path(db).with_suffix('')}_report")
        if not args.no_report and not league.stop_requested:
            from arena.report import load_report_data, write_report

            html, md = write_report(load_report_data(db), report_dir)
            print(f"\nreport: {html}  (Markdown: {md})")
        print("\nnext:")
        q, game = shlex.quote, shlex.quote(league.cfg.league.game)
        print(f"  arena league ratings {q(str(db))} --system bt")
        print(f"  arena league eval {q(str(db))}")
        print(f"  arena report {q(str(db))} --out {q(str(report_dir))}")
        best = _top_member(league.store, "elo" if league.competitive else "return")
        if best is not None:
            print(f"  arena eval {q(f'{db}:{best}')} --game {game} --against random")
            print(f"  arena play {game} --against {q(f'{db}:{best}')}")
    finally:
        league.close()
        backend.close()
    return 0


def _progress_gaps(rec) -> dict:
    """Progress fields from the latest population evaluation: each learner's exploitability."""
    if rec is None:
        return {}
    out = {}
    for row in rec.learners:
        g = row.gap
        if g.exploitability is not None:
            out[f"{row.name} expl" + ("" if g.method == "exact" else ">=")] = g.exploitability
    return out


def gap_trajectories(store) -> dict[str, list[tuple[int, float, str]]]:
    """Each learner's (and the meta-Nash mixture's) stored exploitability over league steps:
    ``name -> [(step, exploitability, method)]`` from the stored population evaluations."""
    from arena.evaluation.record import PopulationEvaluation, PopulationFormatError

    out: dict[str, list[tuple[int, float, str]]] = {}
    for ev in store.evaluations("league"):
        try:
            rec = PopulationEvaluation.from_json(ev.payload)
        except PopulationFormatError:
            continue
        gaps = [(row.name, row.gap) for row in rec.learners]
        gaps.append(("meta-Nash mixture", rec.meta_nash_gap))
        for name, g in gaps:
            if g.exploitability is not None:
                out.setdefault(name, []).append((rec.step, g.exploitability, g.method or ""))
    return out


def _print_gap_trajectories(store) -> None:
    """Start, middle and end of each learner's exploitability, beside the ratings."""
    series = gap_trajectories(store)
    if not series:
        return
    print("\nexploitability (NashConv / players; exact unless marked >=, a lower bound):")
    for name, points in series.items():
        picks = [points[0], points[len(points) // 2], points[-1]] if len(points) > 2 else points
        text = "  ->  ".join(
            f"{'>=' if m != 'exact' else ''}{v:.4f} @ {step:,}" for step, v, m in picks
        )
        print(f"  {name}: {text}  ({len(points)} evaluations)")


def _open(db):
    from leagues.store import Store

    return Store.open(db, readonly=True)


def _top_member(store, system: str):
    latest = store.latest_ratings(system)
    members = {m.id: m for m in store.members()}
    frozen = {i: v for i, v in latest.items() if i in members and members[i].kind == "snapshot"}
    if not frozen:
        return None
    return members[max(frozen, key=frozen.get)].name


def _member_step(store, m) -> int:
    """A member's env steps: frozen at its snapshot, a learner's from its latest checkpoint."""
    if m.kind == "learner":
        state = store.learner_state(m.name)
        return state.step if state is not None else 0
    return m.step


def _ratings_rows(store, system: str):
    from leagues.ratings import bradley_terry

    members = store.members()
    if system == "bt":
        import numpy as np

        from leagues.config import config_from_dict
        from leagues.matchmaking import PayoffTable

        cfg = config_from_dict(store.config()[1], str(store.path), check_game=False)
        import games

        kind = games.load(cfg.league.game).info.kind
        table = PayoffTable()
        for row in store.matches():
            table.add_match(row.seats, row.returns, kind)
        ids = [m.id for m in members]
        scores, _ = table.totals(ids)
        values = (
            bradley_terry(scores, prior=cfg.ratings.bt_prior) + cfg.ratings.initial
            if len(ids) > 1
            else np.full(len(ids), cfg.ratings.initial)
        )
        latest = dict(zip(ids, values.tolist()))
        counts = {i: int(table.totals([i] + [j for j in ids if j != i])[1][0].sum()) for i in ids}
    else:
        latest = store.latest_ratings(system)
        counts = {}
    rows = []
    for m in members:
        if m.id in latest:
            rows.append(
                {
                    "id": m.id,
                    "name": m.name,
                    "kind": m.kind,
                    "active": m.active,
                    "step": _member_step(store, m),
                    "rating": latest[m.id],
                    "games": counts.get(m.id),
                }
            )
    rows.sort(key=lambda r: -r["rating"])
    return rows


def _print_ratings(store, system: str, limit: int | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    rows = _ratings_rows(store, system)
    table = Table(title=f"ratings ({system})")
    for col in ("rank", "member", "kind", "step", "rating"):
        table.add_column(col, justify="right" if col in ("rank", "step", "rating") else "left")
    for k, r in enumerate(rows[:limit] if limit else rows):
        fmt = f"{r['rating']:.1f}" if system != "return" else f"{r['rating']:.3f}"
        table.add_row(
            str(k + 1),
            r["name"] + ("" if r["active"] else " (evicted)"),
            r["kind"],
            f"{r['step']:,}",
            fmt,
        )
    if limit and len(rows) > limit:
        table.caption = f"{len(rows) - limit} more; all of them: arena league ratings {shlex.quote(str(store.path))}"
    console = Console()
    if not console.is_terminal:
        console = Console(width=100)
    console.print(table)


def _ratings(args) -> int:
    store = _open(args.db)
    try:
        system = args.system
        if system != "bt" and not store.latest_ratings(system) and store.latest_ratings("return"):
            system = "return"
        if args.json:
            print(json.dumps({"system": system, "ratings": _ratings_rows(store, system)}, indent=2))
        else:
            _print_ratings(store, system)
    finally:
        store.close()
    return 0


def _members(args) -> int:
    store = _open(args.db)
    try:
        snaps = {s.member: s for s in store.snapshots()}
        rows = []
        for m in store.members():
            d = {
                "id": m.id,
                "name": m.name,
                "kind": m.kind,
                "algorithm": m.algorithm,
                "role": m.role,
                "parent": m.parent,
                "step": _member_step(store, m),
                "active": m.active,
            }
            if m.id in snaps:
                d["file"] = snaps[m.id].path
                d["sha256"] = snaps[m.id].sha256
            rows.append(d)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        for d in rows:
            print(
                f"{d['id']:>4}  {d['name']:<24} {d['kind']:<9} {d['algorithm']:<7} step {d['step']:>9,}  {'active' if d['active'] else 'evicted'}"
            )
    finally:
        store.close()
    return 0


def _status(args) -> int:
    store = _open(args.db)
    try:
        stored = store.config()
        members = store.members()
        states = store.learner_states()
        out = {
            "db": str(store.path),
            "league": stored[1]["league"] if stored else None,
            "members": len(members),
            "active": sum(m.active for m in members),
            "snapshots": sum(m.kind == "snapshot" for m in members),
            "matches": store.match_count(),
            "learners": {
                k: {"step": v.step, "round": v.counters.get("round")} for k, v in states.items()
            },
        }
        if args.json:
            print(json.dumps(out, indent=2))
            return 0
        lg = out["league"] or {}
        print(f"league {lg.get('name')} on {lg.get('game')}  ({out['db']})")
        print(
            f"  members {out['members']} ({out['active']} active, {out['snapshots']} snapshots), matches {out['matches']:,}"
        )
        for name, st in out["learners"].items():
            target = lg.get("steps", 0)
            print(f"  learner {name}: step {st['step']:,} of {target:,} (round {st['round']})")
    finally:
        store.close()
    return 0


def _eval(args) -> int:
    return league_eval_command(args)


def league_eval_command(args) -> int:
    """``arena league eval DB [--games N] [--json]``."""
    import json

    from arena.evaluation import PopulationEvaluation, population_lines
    from arena.league import evaluate_league

    games = getattr(args, "games", None)
    if games is not None:
        from arena.rollout import MAX_GAMES, check_count

        check_count("--games", games, 1, MAX_GAMES, "(games per pair)")
    out = evaluate_league(args.db, games)
    if getattr(args, "json", False):
        print(json.dumps(out, indent=2))
        return 0
    rec = PopulationEvaluation.from_json(
        {k: v for k, v in out.items() if k not in ("recorded", "record_note")}
    )
    for line in population_lines(rec):
        print(line)
    if out.get("record_note"):
        print(out["record_note"])
    return 0
