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
    os.makedirs(out, exist_ok=True)
    metrics_path = os.path.join(out, "metrics.jsonl")
    progress = Progress(args.steps, f"train {args.algo} on {args.game}")
    t0 = time.monotonic()
    with open(metrics_path, "w") as mf:

        def on_update(m):
            mf.write(json.dumps(m) + "\n")
            el = max(time.monotonic() - t0, 1e-9)
            fields = {"steps/s": m["env_steps"] / el}
            if "return" in m:
                fields["return"] = m["return"]
            progress.update(m["env_steps"], **fields)

        train(
            learner,
            game,
            args.steps,
            args.seed,
            batch=args.batch,
            opponent=opponent,
            on_update=on_update,
        )
    progress.close()
    save_checkpoint(out, learner, args.game, extra={"steps": args.steps, "seed": args.seed})
    print(f"checkpoint: {out}  (metrics: {metrics_path})")
    print(f"next: arena eval {out} --game '{args.game}' --against random")
    return 0


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
    from arena.rollout import play

    if args.against == "self":  # e.g. a cooperative team: the policy at every seat
        opponent, olabel = policy, label
    else:
        opponent, olabel = load_policy(args.against, args.game, device=args.device)
    p = game.info.num_players
    result = play(game, [policy, opponent], args.games, seed=args.seed)
    out = {"game": args.game, "policy": label, "against": olabel, "games": args.games, "seats": []}
    for seat in range(p):
        rows = result.seats[:, seat] == 0
        if not rows.any():
            continue
        mine = result.returns[rows, seat]
        others = result.returns[rows][:, [q for q in range(p) if q != seat]].max(1)
        out["seats"].append(
            {
                "seat": seat,
                "games": int(rows.sum()),
                "mean_return": float(mine.mean()),
                "win": float((mine > others).mean()),
                "draw": float((mine == others).mean()),
                "loss": float((mine < others).mean()),
            }
        )
    out["mean_return"] = float(result.mean_returns()[0])
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{label} vs {olabel} on {args.game}, {args.games} games (seats rotate):")
    competitive = game.info.kind in ("zero_sum", "constant_sum")
    for s in out["seats"]:
        wdl = (
            f"win {s['win']:.3f}  draw {s['draw']:.3f}  loss {s['loss']:.3f}  "
            if competitive
            else ""
        )
        print(f"  seat {s['seat']}: {wdl}mean return {s['mean_return']:+.4f}  ({s['games']} games)")
    return 0


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
