"""Implementations of the heavier CLI commands (they import torch lazily)."""

from __future__ import annotations

import json
import os
import time


def _torch_threads() -> None:
    import torch

    # The networks are small: one thread is fastest on CPU (a second thread
    # made MADDPG 9x slower on 2 busy cores).
    torch.set_num_threads(1)


def train_command(args) -> int:
    import games
    from agents.checkpoint import save_checkpoint
    from agents.registry import learner_class, make_learner
    from arena.policies import load_policy
    from arena.progress import Progress
    from arena.train import train

    game = games.load(args.game)
    learner_class(args.algo)  # validates the name before any work
    _check_device(args.device)
    _torch_threads()
    learner = make_learner(args.algo, game.info, seed=args.seed, device=args.device)
    opponent = None
    if args.against:
        opponent, _ = load_policy(args.against, args.game, device=args.device)
    out = args.out or os.path.join("runs", f"{args.algo}-{_slug(args.game)}")
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
    import games
    from arena.policies import load_policy

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
    from arena import league_cli

    return league_cli.run(args)


def report_command(args) -> int:
    from arena.report import report_command as run

    return run(args)


def view_command(args, name: str) -> int:
    from arena.viewer import main as run

    return run(args, name)


def bench_command(args) -> int:
    import runpy
    import sys

    here = os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", "__main__.py"
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


def _check_device(device: str) -> None:
    from games.core import GameError

    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise GameError(f"--device {device}: use cpu or cuda")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise GameError("--device cuda: no CUDA device is available here; use --device cpu")


def _slug(spec: str) -> str:
    keep = [c if c.isalnum() or c in "-_" else "_" for c in spec]
    return "".join(keep).strip("_")[:60]
