"""The ``arena`` command line.

Imports are lazy: ``arena --help`` and ``arena games`` never import torch.
User errors (unknown game, malformed file, bad checkpoint, illegal move) print
one line to stderr and exit with status 2; they never show a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys


def _one_line(e: BaseException) -> str:
    """The first line of an error's message (its class name when it has none)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else e.__class__.__name__


def _os_error_line(e: OSError) -> str:
    """An OS error (read-only filesystem, disk full, permission, ...) as one line with a fix."""
    import errno

    where = f"{e.filename}: " if e.filename else ""
    what = e.strerror or _one_line(e)
    fix = {
        errno.ENOSPC: "free some disk space or write somewhere else",
        errno.EDQUOT: "free some disk space or write somewhere else",
        errno.EROFS: "the filesystem is read-only; write somewhere else",
        errno.EACCES: "check the path's permissions or write somewhere else",
        errno.EPERM: "check the path's permissions or write somewhere else",
        errno.ENOENT: "check the path",
        errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
        errno.EISDIR: "the path is a folder; give a file",
        errno.EEXIST: "the path exists already; remove it or choose another",
    }.get(e.errno, "check the path and try again")
    return f"{where}{what}; {fix}"


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, default=_json_default))


def _json_default(o):
    import numpy as np

    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o).__name__)


# ---------------------------------------------------------------- games
def cmd_games(args) -> int:
    from arena.cli import catalogs

    if args.spec:
        return _games_show(
            args.spec[0]
            if args.spec[0] != "show"
            else args.spec[1]
            if len(args.spec) > 1
            else None,
            args,
        )
    rows = catalogs.list_games()
    if args.json:
        _print_json(rows)
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{len(rows)} games (load any with its name; OpenSpiel names take parameters)"
    )
    table.add_column("name", no_wrap=True)
    for col in ("players", "kind", "dynamics", "actions"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], str(r["players"]), r["kind"], r["dynamics"], str(r["actions"]))
    console = Console()
    if not console.is_terminal:
        console = Console(width=110)
    console.print(table)
    return 0


def _games_show(spec, args) -> int:
    import games

    if spec is None:
        raise games.GameError(
            "usage: arena games show SPEC (for example: arena games show kuhn_poker)"
        )
    game = games.load(spec)
    info = game.describe()
    from arena.cli.catalogs import playthrough

    lines = playthrough(game, seed=args.seed)
    if args.json:
        info["playthrough"] = lines
        _print_json(info)
        return 0
    for k, v in info.items():
        print(f"{k:>20}: {v}")
    print("\nOne random playthrough:")
    for line in lines:
        print("  " + line)
    return 0


# ---------------------------------------------------------------- solve
def cmd_solve(args) -> int:
    import games
    from games.matrix import MatrixGame, from_openspiel
    from games.solvers import solve

    game = games.load(args.spec)
    if not isinstance(game, MatrixGame):
        pg = getattr(game, "pyspiel_game", None)
        if pg is None or game.info.dynamics != "simultaneous" or game.info.max_episode_length != 1:
            raise games.GameError(
                f"{args.spec}: 'arena solve' takes normal-form games (matrix:NAME, a .toml or .nfg file, matrix_* or nfg_game)"
            )
        game = from_openspiel(pg, name=args.spec)
    profiles = solve(game, args.method)
    method = profiles[0]["method"]
    # what the whole list guarantees, and (vertex) its maximal cliques, once for the list
    common = {"guarantee": profiles[0]["guarantee"]}
    if "degenerate" in profiles[0]:
        common["degenerate"] = profiles[0]["degenerate"]
    if "cliques" in profiles[0]:
        ids = sorted({c for prof in profiles for c in prof["cliques"]})
        common["cliques"] = [[i for i, p in enumerate(profiles) if c in p["cliques"]] for c in ids]
    profiles = [
        {k: v for k, v in p.items() if k not in ("guarantee", "degenerate", "cliques")}
        for p in profiles
    ]
    out = {"game": args.spec, "method": method, "method_given": args.method is not None, **common}
    if len(profiles) == 1:
        out.update(profiles[0])
    else:
        out["equilibria"] = profiles
    if args.json:
        _print_json(out)
        return 0
    how = "" if args.method else " (the default for this game)"
    print(f"{args.spec}: {len(profiles)} solution(s) by {method}{how}")
    print(f"  guarantee: {common['guarantee']}")
    if common.get("degenerate"):
        what = (
            "equilibria within a clique of several form a continuum"
            if method == "vertex"
            else "support enumeration may miss equilibria; use --method vertex"
        )
        print(
            f"  degenerate game (a strategy has more pure best responses than its support size): {what}"
        )
    for i, prof in enumerate(profiles):
        strat = "  ".join("[" + ", ".join(f"{p:.4f}" for p in s) + "]" for s in prof["strategies"])
        # fixed point up to 1e9; beyond, 4 significant digits (payoffs may reach 1e308)
        vals = ", ".join(f"{v:.4f}" if abs(v) < 1e9 else f"{v:.4g}" for v in prof["values"])
        kind = f" ({prof['method']})" if prof["method"] != method else ""
        print(f"  #{i}{kind}: strategies {strat}  values ({vals})  nash_gap {prof['nash_gap']:.2e}")
    if any(len(c) > 1 for c in common.get("cliques", [])):
        cliques = ", ".join("{" + ", ".join(f"#{i}" for i in c) + "}" for c in common["cliques"])
        print(
            "  maximal cliques (any mix of a clique's row strategies with any mix of its "
            f"column strategies is an equilibrium): {cliques}"
        )
    return 0


# ---------------------------------------------------------------- train / eval
def cmd_train(args) -> int:
    from arena.cli.commands import train_command

    return train_command(args)


def cmd_eval(args) -> int:
    from arena.cli.commands import eval_command

    return eval_command(args)


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's one-line errors (argparse prints its usage first)."""

    def error(self, message: str):
        self.exit(2, f"arena: error: {message}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="arena",
        description="A self-play league for game theory: train, rate, measure against Nash, play.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    g = sub.add_parser("games", help="list games, or 'games show SPEC' for one game")
    g.add_argument("spec", nargs="*", help="'show SPEC' (or just SPEC) to describe one game")
    g.add_argument("--json", action="store_true", help="machine-readable output")
    g.add_argument("--seed", type=int, default=0, help="seed of the random playthrough")
    g.set_defaults(func=cmd_games)

    s = sub.add_parser("solve", help="equilibria of a normal-form game")
    s.add_argument("spec", help="matrix:NAME, a .toml or .nfg file, matrix_rps, nfg_game(...)")
    s.add_argument(
        "--method",
        choices=["lp", "vertex", "support", "replicator", "alpharank"],
        default=None,
        help="default: lp for two-player zero-sum, vertex enumeration (all extreme equilibria) "
        "for other two-player games, replicator dynamics plus all pure equilibria for n players",
    )
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_solve)

    t = sub.add_parser("train", help="train one learner by self-play")
    t.add_argument("algo", help="iql, vdn, qmix, mappo, ippo, maddpg or mmd")
    t.add_argument("game", help="game spec")
    t.add_argument(
        "--steps", type=int, default=20000, help="environment steps (summed over copies)"
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default=None, help="checkpoint directory (default runs/ALGO-GAME)")
    t.add_argument("--device", default="cpu", help="cpu or cuda")
    t.add_argument("--batch", type=int, default=64, help="environment copies stepped together")
    t.add_argument("--against", default=None, help="train against this POLICY instead of self-play")
    t.add_argument(
        "--measure-every",
        type=int,
        default=None,
        help="env steps between measurements of the policy (default: a tenth of --steps): exact "
        "exploitability where the game is small enough, else the return against uniform random",
    )
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="evaluate a policy against another, or against Nash (--nash)")
    e.add_argument("policy", help="random, a checkpoint directory, or DB:MEMBER")
    e.add_argument(
        "--game",
        default=None,
        help="game spec (default: the game of the checkpoint or league the policy comes from)",
    )
    e.add_argument(
        "--against",
        default="random",
        help="random, self (the policy at every seat), a checkpoint directory, or DB:MEMBER",
    )
    e.add_argument("--games", type=int, default=1000, help="number of games (seats rotate)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--nash", action="store_true", help="NashConv / exploitability of the policy")
    e.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds for an exploiter lower bound (--nash on big games)",
    )
    e.add_argument("--device", default="cpu")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_eval)

    _add_league_parsers(sub)
    return p


def _add_league_parsers(sub) -> None:
    lg = sub.add_parser(
        "league", help="run and inspect leagues: league run|status|ratings|members|eval"
    )
    lsub = lg.add_subparsers(dest="league_command", metavar="SUBCOMMAND")

    def _league(args):
        from arena.cli.commands import league_command

        return league_command(args)

    r = lsub.add_parser("run", help="run (or resume) a league from a TOML config")
    r.add_argument("config", help="league TOML file (see examples/)")
    r.add_argument("--db", default=None, help="SQLite file (default: beside the config, NAME.db)")
    r.add_argument(
        "--steps", type=int, default=None, help="stop after this many learner steps in total"
    )
    r.add_argument("--minutes", type=float, default=None, help="stop after this many minutes")
    r.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes: learners' rounds side by side, and evaluation matches",
    )
    r.add_argument("--backend", choices=["serial", "process", "ray"], default="serial")
    r.add_argument("--address", default=None, help="Ray cluster address")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.add_argument(
        "--no-report", action="store_true", help="do not write the HTML/Markdown report at the end"
    )
    r.add_argument(
        "--seeds",
        default=None,
        metavar="SEEDS",
        help="run the league once per seed (e.g. 0-4 or 0,3,7; stores NAME-seedS.db) and print "
        "the mean and a 95%% interval of each learner's final exploitability and rating",
    )
    r.set_defaults(func=_league)
    for name, helptext in (
        ("status", "summary of a league database"),
        ("members", "members of a league"),
    ):
        q = lsub.add_parser(name, help=helptext)
        q.add_argument("db")
        q.add_argument("--json", action="store_true")
        q.set_defaults(func=_league)
    q = lsub.add_parser("ratings", help="ratings table")
    q.add_argument("db")
    q.add_argument("--system", choices=["elo", "bt", "melo"], default="elo")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_league)
    q = lsub.add_parser("eval", help="evaluate a league now: meta-game, meta-Nash, Nash gaps")
    q.add_argument("db")
    q.add_argument("--games", type=int, default=None, help="games per pair")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_league)
    lg.set_defaults(func=lambda a: (lg.print_help(), 2)[1])

    rp = sub.add_parser("report", help="HTML and Markdown report of a league")
    rp.add_argument("db")
    rp.add_argument("--out", default=None, help="output directory (default: DB's name + _report)")

    def _report(args):
        from arena.cli.commands import report_command

        return report_command(args)

    rp.set_defaults(func=_report)

    for name, helptext in (
        ("play", "play against an agent in a window"),
        ("watch", "watch two policies play"),
    ):
        v = sub.add_parser(name, help=helptext)
        v.add_argument("game", help="game spec")
        if name == "play":
            v.add_argument(
                "--against", default="random", help="random, a checkpoint directory, or DB:MEMBER"
            )
            v.add_argument(
                "--seat",
                type=int,
                default=0,
                help="your seat: the game's player index (player 0 moves first in most games)",
            )
        else:
            v.add_argument("a", help="first POLICY")
            v.add_argument("b", help="second POLICY")
        v.add_argument("--seed", type=int, default=0)
        v.add_argument(
            "--screenshot",
            metavar="PATH",
            default=None,
            help="save the last frame as a PNG when the window closes",
        )

        def _view(args, _name=name):
            from arena.cli.commands import view_command

            return view_command(args, _name)

        v.set_defaults(func=_view)

    b = sub.add_parser("bench", help="run the benchmark suite")
    b.add_argument("--quick", action="store_true")

    def _bench(args):
        from arena.cli.commands import bench_command

        return bench_command(args)

    b.set_defaults(func=_bench)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from games.core import ArenaError

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("arena: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `arena games | head`: the reader left; say nothing more, and keep
        # Python from complaining again when it flushes stdout at exit.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except ArenaError as e:
        print(f"arena: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"arena: error: {_os_error_line(e)}", file=sys.stderr)
        return 2
    except RecursionError:
        print(
            "arena: error: input nested too deeply to read; flatten the file (no more than a few hundred levels)",
            file=sys.stderr,
        )
        return 2
