"""Implementations of the heavier CLI commands (they import torch lazily)."""

from __future__ import annotations

import json
import os
import time

from agents.base import check_device
from games.core import ArenaError

MAX_BUDGET_S = 7 * 24 * 3600
"""Longest exploiter budget of ``arena eval --nash --budget`` (a week, in seconds)."""


def _torch_threads() -> None:
    import torch

    # The networks are small: one thread is fastest on CPU (a second thread
    # made MADDPG 9x slower on 2 busy cores).
    torch.set_num_threads(1)


def train_command(args) -> int:
    import games
    from agents.checkpoint import save_checkpoint
    from agents.registry import check_fits, learner_class, make_learner
    from arena.metrics import MetricsLog
    from arena.policies import load_policy
    from arena.progress import Progress
    from arena.rollout import MAX_STEPS, check_count
    from arena.train import train
    from games.limits import MAX_BATCH

    check_count("--steps", args.steps, 1, MAX_STEPS)
    check_count("--batch", args.batch, 1, MAX_BATCH, "(environment copies stepped together)")
    check_count("--seed", args.seed, 0, 2**63 - 1)
    out = args.out or os.path.join("runs", f"{args.algo}-{_slug(args.game)}")
    _check_out_dir(out)
    game = games.load(args.game)
    learner_class(args.algo)  # validates the name before any work
    check_fits(args.algo, game.info)
    check_device(args.device)
    _torch_threads()
    learner = make_learner(args.algo, game.info, seed=args.seed, device=args.device)
    opponent = None
    if args.against:
        opponent, _ = load_policy(args.against, args.game, device=args.device)
    every = args.measure_every or max(1, args.steps // 10)
    check_count("--measure-every", every, 1, MAX_STEPS)
    os.makedirs(out, exist_ok=True)
    metrics_path = os.path.join(out, "metrics.jsonl")
    progress = Progress(args.steps, f"train {args.algo} on {args.game}")
    t0 = time.monotonic()
    measure = _Measure(game, args.seed)
    next_at = [0]
    with open(metrics_path, "w") as mf, MetricsLog(out) as log:

        def on_update(m):
            steps = m["env_steps"]
            scalars = {k: v for k, v in m.items() if k != "env_steps"}
            if steps >= next_at[0]:
                next_at[0] = steps + every
                paused = time.monotonic()
                scalars.update(measure(learner))
                t0_shift[0] += time.monotonic() - paused  # steps/s counts training only
            mf.write(json.dumps(m) + "\n")
            log.add(steps, scalars)
            el = max(time.monotonic() - t0 - t0_shift[0], 1e-9)
            fields = {"steps/s": steps / el}
            fields.update(measure.fields())
            if "return" in m and opponent is not None:
                fields["return"] = m["return"]
            progress.update(steps, **fields)

        t0_shift = [0.0]
        train(
            learner,
            game,
            args.steps,
            args.seed,
            batch=args.batch,
            opponent=opponent,
            on_update=on_update,
        )
        log.add(args.steps, measure(learner))
    progress.close()
    save_checkpoint(out, learner, args.game, extra={"steps": args.steps, "seed": args.seed})
    if measure.history:
        first, last = measure.history[0], measure.history[-1]
        print(f"{measure.label}: {first[1]:.4f} at the start, {last[1]:.4f} at the end")
    print(
        f"checkpoint: {out}  (metrics: {metrics_path}, {os.path.join(out, 'metrics.csv')} and "
        f"TensorBoard events: tensorboard --logdir {out})"
    )
    print(f"next: arena eval {out} --game '{args.game}' --against random")
    return 0


class _Measure:
    """What ``arena train`` reports as it goes: a number that moves.

    Exact exploitability (NashConv / players) of the current policy where the
    game has at most :data:`MEASURE_MAX_STATES` decision nodes; otherwise the
    mean return against uniform random over :data:`MEASURE_GAMES` games,
    seats rotating. The first measurement decides which, once.
    """

    def __init__(self, game, seed: int):
        self.game, self.seed = game, seed
        self.exact: bool | None = None
        self.history: list[tuple[int, float]] = []
        self.label = ""
        self.calls = 0

    def __call__(self, learner) -> dict[str, float]:
        from arena.evaluation.tabular import ExactLimitError, exact_nash_conv

        policy = learner.freeze()
        self.calls += 1
        if self.exact is not False:
            try:
                res = exact_nash_conv(self.game, policy, max_states=MEASURE_MAX_STATES)
            except ExactLimitError:
                self.exact = False
            else:
                self.exact, self.label = True, "exploitability (exact)"
                self.history.append((self.calls, res.exploitability))
                return {"exploitability": res.exploitability, "nash_conv": res.nash_conv}
        from agents.baselines import random_policy
        from arena.rollout import play

        res = play(self.game, [policy, random_policy(self.game.info)], MEASURE_GAMES, self.seed)
        value = float(res.mean_returns()[0])
        self.label = f"return against random ({MEASURE_GAMES} games)"
        self.history.append((self.calls, value))
        return {"return_vs_random": value}

    def fields(self) -> dict[str, float]:
        if not self.history:
            return {}
        return {"expl" if self.exact else "vs random": self.history[-1][1]}


MEASURE_MAX_STATES = 50_000
"""Largest game (decision nodes) whose exact exploitability ``arena train`` measures as it goes."""
MEASURE_GAMES = 512
"""Games against uniform random per measurement elsewhere."""


def eval_command(args) -> int:
    import math

    import games
    from arena.policies import load_policy
    from arena.rollout import MAX_GAMES, check_count

    check_count("--games", args.games, 1, MAX_GAMES)
    check_count("--seed", args.seed, 0, 2**63 - 1)
    if args.nash and not (math.isfinite(args.budget) and 0 < args.budget <= MAX_BUDGET_S):
        raise ArenaError(
            f"--budget {args.budget!r} is out of range; give seconds in (0, {MAX_BUDGET_S:,}]"
        )
    check_device(args.device)
    if args.game is None:  # the game the policy (or its opponent) was made for
        from arena.policies import game_of

        args.game = game_of(args.policy) or game_of(args.against)
        if args.game is None:
            raise ArenaError(
                f"{args.policy}: no game to infer from it; pass --game SPEC (e.g. --game kuhn_poker)"
            )
    game = games.load(args.game)
    policy, label = load_policy(args.policy, args.game, device=args.device)
    if args.nash:
        from arena.evaluation import nash_report

        result = nash_report(game, args.game, policy, label, budget=args.budget, seed=args.seed)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            kind = "exact" if result["method"] == "exact" else "LOWER BOUND (exploiter)"
            print(
                f"{label} on {args.game}: NashConv {result['nash_conv']:.6f}  exploitability {result['exploitability']:.6f}  ({kind}, {result['seconds']:.2f}s)"
            )
            for i, v in enumerate(result["per_player"]):
                print(f"  player {i}: best-response gain {v:.6f}")
        return 0
    import numpy as np

    from arena.rollout import play

    p = game.info.num_players
    alone = args.against == "self"  # e.g. a cooperative team: the policy at every seat
    if alone:  # one policy index at every seat: each game counts for every seat
        olabel = label
        seatings = np.zeros((args.games, p), np.int64)
        result = play(game, [policy], args.games, seed=args.seed, seatings=seatings)
    else:
        opponent, olabel = load_policy(args.against, args.game, device=args.device)
        result = play(
            game,
            [policy, opponent],
            args.games,
            seed=args.seed,
            seatings=assignments(args.games, p),
        )
    out = {"game": args.game, "policy": label, "against": olabel, "games": args.games, "seats": []}
    everywhere = np.ones(args.games, bool)
    for seat in range(p):
        rows = everywhere if alone else result.seats[:, seat] == 0
        if rows.any():
            out["seats"].append(_seat_summary(result, rows, seat))
    if alone:
        out["mean_return"], out["stderr"] = _mean_stderr(result.returns.mean(1), result, everywhere)
    else:
        mine = result.returns[np.arange(args.games), result.seats.argmin(1)]  # the policy's seat
        out["mean_return"] = float(mine.mean())
        out["stderr"] = _stratified_stderr(out["seats"], args.games)
        out["games_per_seat_assignment"] = [_games_at(out["seats"], q) for q in range(p)]
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    games_ = _n(args.games, "game")
    if alone:
        print(f"{label} against itself on {args.game}, {games_} (the policy at every seat):")
    else:
        print(f"{label} vs {olabel} on {args.game}, {games_}: {_split(out, p)}")
    competitive = game.info.kind in ("zero_sum", "constant_sum")
    for s in out["seats"]:
        wdl = (
            f"win {s['win']:.3f}  draw {s['draw']:.3f}  loss {s['loss']:.3f}  "
            if competitive
            else ""
        )
        where = f"seat {s['seat']}"
        if not alone:
            where = f"policy at {where}, opponent at {_seats(s['opponent_seats'])}"
        print(f"  {where}: {wdl}mean return {_pm(s)}  ({_games_note(s)})")
    overall = dict(out, deterministic=all(s["deterministic"] for s in out["seats"]))
    print(f"  all {games_}: mean return {_pm(overall)}")
    return 0


def assignments(n_games: int, num_players: int):
    """``[n_games, P]`` seatings of ``arena eval``: the policy (index 0) at seat ``g % P``
    of game ``g`` and the opponent (index 1) at every other seat.

    For two players this is the usual seat rotation (:func:`arena.rollout.rotations`).
    """
    import numpy as np

    seats = np.ones((n_games, num_players), np.int64)
    seats[np.arange(n_games), np.arange(n_games) % num_players] = 0
    return seats


def _exact(result, rows) -> bool:
    """Every game of ``rows`` was deterministic and they all replay one episode."""
    import numpy as np

    det, ep = result.deterministic, result.episode
    return bool(det is not None and det[rows].all() and len(np.unique(ep[rows])) == 1)


def _mean_stderr(values, result, rows) -> tuple[float, float | None]:
    """Mean of ``values`` (the games ``rows``) and its standard error: 0 when they all
    replay one deterministic episode, None for a single game that could have gone otherwise."""
    import numpy as np

    mean = float(values.mean())
    if _exact(result, rows):
        return mean, 0.0
    if len(values) < 2:
        return mean, None
    return mean, float(values.std(ddof=1) / np.sqrt(len(values)))


def _stratified_stderr(seats: list[dict], n_games: int) -> float | None:
    """Standard error of the mean over all games, the games per seat assignment being fixed:
    ``sqrt(sum_s n_s^2 se_s^2) / N`` (None when an assignment has no estimate)."""
    if any(s["stderr"] is None for s in seats):
        return None
    return float(sum((s["games"] * s["stderr"]) ** 2 for s in seats) ** 0.5 / n_games)


def _seat_summary(result, rows, seat: int) -> dict:
    """The policy's results at ``seat`` over the games ``rows``."""
    import numpy as np

    p = result.returns.shape[1]
    others_at = [q for q in range(p) if q != seat]
    mine = result.returns[rows, seat]
    others = result.returns[rows][:, others_at].max(1)
    mean, se = _mean_stderr(mine, result, rows)
    return {
        "seat": seat,
        "opponent_seats": others_at,
        "games": int(rows.sum()),
        "mean_return": mean,
        "stderr": se,
        "win": float((mine > others).mean()),
        "draw": float((mine == others).mean()),
        "loss": float((mine < others).mean()),
        "distinct_episodes": int(len(np.unique(result.episode[rows]))),
        "deterministic": _exact(result, rows),
    }


def _games_at(seats: list[dict], seat: int) -> int:
    return next((s["games"] for s in seats if s["seat"] == seat), 0)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _seats(seats) -> str:
    return ("seat " if len(seats) == 1 else "seats ") + ",".join(str(q) for q in seats)


def _split(out: dict, p: int) -> str:
    """How the games were split over the seat assignments (the header's second half)."""
    counts = out["games_per_seat_assignment"]
    per = f"{counts[0]:,}" if len(set(counts)) == 1 else " / ".join(f"{c:,}" for c in counts)
    where = " / ".join(str(q) for q in range(p))
    rest = "the other" if p == 2 else "the others"
    return f"{per} per seat assignment (the policy at seat {where}, the opponent at {rest})"


def _pm(s: dict) -> str:
    """``+0.1234 +- 0.0456``, or ``+1.0000 exactly`` (deterministic), or no error (one game)."""
    mean = f"{s['mean_return']:+.4f}"
    if s["deterministic"]:
        return f"{mean} exactly"
    if s["stderr"] is None:
        return f"{mean} (one game: no standard error)"
    return f"{mean} +- {s['stderr']:.4f}"


def _games_note(s: dict) -> str:
    note = _n(s["games"], "game")
    if s["deterministic"]:
        return f"{note}, all deterministic replays of one game"
    if s["distinct_episodes"] < s["games"]:
        note += f", {s['distinct_episodes']:,} distinct"
    return note


def league_command(args) -> int:
    from arena.cli import league

    return league.run(args)


def report_command(args) -> int:
    """``arena report DB [--out DIR]``: write the report and print where it is."""
    from arena.report import load_report_data, write_report

    db = os.fspath(args.db)
    if not os.path.exists(db):
        raise FileNotFoundError(f"{db}: no such league database; give the .db file of a league run")
    out = args.out or os.path.splitext(db)[0] + "_report"
    if os.path.exists(out) and not os.path.isdir(out):
        from games.core import ArenaError

        raise ArenaError(f"--out {out}: a file, not a folder; give a folder for the report")
    data = load_report_data(db)
    html_path, md_path = write_report(data, out)
    print(f"report: {html_path}")
    print(f"markdown: {md_path}")
    return 0


def view_command(args, name: str) -> int:
    from arena.render.viewer import main as run

    return run(args, name)


def bench_command(args) -> int:
    import runpy
    import sys

    here = os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        "bench",
        "__main__.py",
    )
    if not os.path.exists(here):
        print(
            "arena: error: the benchmark suite lives in the source tree (bench/); run it from a checkout",
            file=sys.stderr,
        )
        return 2
    sys.argv = ["bench"] + (["--quick"] if args.quick else [])
    runpy.run_path(here, run_name="__main__")
    return 0


def _check_out_dir(out: str) -> None:
    """``--out`` must be a folder (or not exist yet) that this user can write in."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ArenaError(f"--out {out}: is a file, not a folder; give a folder for the checkpoint")
    probe = os.path.abspath(out)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise ArenaError(
            f"--out {out}: {probe} is a file, not a folder; give a folder for the checkpoint"
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ArenaError(f"--out {out}: cannot write in {probe}; give a folder you can write to")


def _slug(spec: str) -> str:
    keep = [c if c.isalnum() or c in "-_" else "_" for c in spec]
    return "".join(keep).strip("_")[:60]
