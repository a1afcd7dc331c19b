"""The benchmark suite: one table, every row measured side by side in one run.

    python -m bench [--quick] [--only SECTION,...] [--minutes M]
    arena bench [--quick]

Sections (each also runs alone: ``python bench/NAME.py --help``):

* ``stepping``: ``game.vector(B)`` random play against a plain pyspiel loop
  (``bench/stepping.py``), tic-tac-toe and Kuhn poker at ``B = 256``;
* ``neural``: ``arena.rollout.play`` with MLP policies, batched (``B = 256``)
  and unbatched, against the same plain loop (``bench/neural_play.py``);
* ``training``: IQL self-play episodes/s against OpenSpiel's pytorch DQN on
  tic-tac-toe at equal budgets, with play quality (``bench/training.py``;
  needs dm-tree);
* ``ratings``: Elo, Bradley-Terry and mElo on 1M matches (``bench/ratings_fit.py``);
* ``metanash``: certified meta-Nash at 100, 300 and 1000 members against a
  plain scipy linprog (``bench/metanash.py``);
* ``backends``: evaluation matches on the serial, process-pool and Ray
  backends (``bench/backends.py``);
* ``memory``: RSS of a league run over ``--minutes`` (``bench/memory.py``;
  10 minutes, 1 with ``--quick``).

Longer runs that are not sections (minutes to an hour each): exploitability at
equal wall-clock budgets for mmd, mappo, the PSRO league, OpenSpiel NFSP and
CFR+ on Kuhn, Leduc and liar's dice (``bench/convergence.py``, which writes
``docs/figures/convergence_table.md`` and ``convergence_{game}.png``), and the
PSRO league against NFSP alone (``bench/kuhn_league.py``).

Single-process rows are CPU seconds (``time.process_time``), steady on a
shared machine; side-by-side ratios are medians over alternating windows.
Backends and memory are wall-clock (the load average is printed).
"""

from __future__ import annotations

import os

# One thread for every library before any of them loads: the suite measures
# per-core speed, and on a loaded 2-core machine threaded BLAS is 10x slower.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SECTIONS = ("stepping", "neural", "training", "ratings", "metanash", "backends", "memory")


class Table:
    """Rows ``(section, measure, ours, baseline, ratio, note)`` printed as they come and at the end."""

    HEAD = ("section", "measure", "ours", "baseline", "ratio", "goal / note")

    def __init__(self):
        self.rows: list[tuple[str, ...]] = []

    def add(self, section, measure, ours="", baseline="", ratio="", note="") -> None:
        row = tuple(str(x) for x in (section, measure, ours, baseline, ratio, note))
        self.rows.append(row)
        print("  " + " | ".join(row), flush=True)

    def render(self) -> str:
        widths = [max(len(r[k]) for r in [self.HEAD, *self.rows]) for k in range(len(self.HEAD))]
        widths[-1] = 0
        lines = [" | ".join(h.ljust(w) for h, w in zip(self.HEAD, widths)).rstrip()]
        lines.append("-+-".join("-" * max(w, 11) for w in widths))
        for r in self.rows:
            lines.append(" | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        return "\n".join(lines)


def _rate(x: float, unit: str = "/s") -> str:
    return f"{x:,.0f}{unit}"


def stepping(t: Table, quick: bool) -> None:
    import games
    from bench.stepping import EnvRunner, PlainRunner, compare

    seconds, windows = (1.0, 4) if quick else (4.0, 10)
    for spec in ("tic_tac_toe", "kuhn_poker"):
        game = games.load(spec)
        runners = {"env": EnvRunner(game, 256), "plain": PlainRunner(game.pyspiel_game, fast=False)}
        rate, ratio = compare(runners, seconds, windows)
        t.add(
            "stepping",
            f"{spec} VectorEnv B=256 vs pyspiel loop",
            _rate(rate["env"], " steps/s"),
            _rate(rate["plain"], " steps/s"),
            f"{ratio['plain']:.2f}",
            "goal >= 0.8",
        )


def neural(t: Table, quick: bool) -> None:
    from bench.neural_play import measure

    seconds, windows = (1.5, 4) if quick else (4.0, 8)
    rows = measure("tic_tac_toe", seconds, windows, 256)
    for r in rows:
        note = "goal >= 0.5" if r["name"].startswith("self-play") else ""
        t.add(
            "neural play",
            f"tic_tac_toe {r['name']} B={r['B']} vs pyspiel random loop",
            _rate(r["play"], " steps/s"),
            _rate(r["plain"], " steps/s"),
            f"{r['ratio']:.2f}",
            note,
        )
    batched = next(r for r in rows if r["name"] == "two MLPs")["play"]
    single = next(r for r in rows if r["B"] == 1)["play"]
    t.add(
        "neural play",
        "batched (B=256) vs unbatched (B=1), two MLPs",
        _rate(batched, " steps/s"),
        _rate(single, " steps/s"),
        f"{batched / single:.0f}x",
        "same policies, same games",
    )


def training(t: Table, quick: bool) -> None:
    from bench import training as tr

    seconds = 8.0 if quick else 60.0
    try:
        import tree  # noqa: F401  (dm-tree: OpenSpiel's pytorch DQN needs it)

        theirs = tr.openspiel_dqn(seconds)
    except ImportError as e:
        theirs = None
        t.add(
            "training",
            "IQL vs OpenSpiel DQN (tic_tac_toe)",
            note=f"DQN row skipped: {e}; pip install dm-tree",
        )
    ours = tr.ours("iql", "tic_tac_toe", seconds)
    quality = f"not-lose vs random 1st/2nd: ours {ours['not_lose_first']:.2f}/{ours['not_lose_second']:.2f}"
    if theirs is not None:
        quality += f", DQN {theirs['not_lose_first']:.2f}/{theirs['not_lose_second']:.2f}"
        t.add(
            "training",
            f"tic_tac_toe self-play episodes/s, {seconds:.0f} s each (IQL vs OpenSpiel DQN)",
            _rate(ours["episodes/s"], " ep/s"),
            _rate(theirs["episodes/s"], " ep/s"),
            f"{ours['episodes/s'] / theirs['episodes/s']:.1f}x",
            quality,
        )
    else:
        t.add(
            "training",
            "tic_tac_toe IQL self-play episodes/s",
            _rate(ours["episodes/s"], " ep/s"),
            note=quality,
        )


def ratings(t: Table, quick: bool) -> None:
    from bench.ratings_fit import measure

    rows = measure(1_000_000, 100, raw=not quick)
    for r in rows:
        if quick and r["name"] == "melo online":
            continue
        t.add(
            "ratings",
            f"{r['name']}, 1M matches, 100 members",
            f"{r['seconds']:.3f} s",
            "",
            "",
            f"corr {r['corr']:.3f}, log-loss {r['loss']:.4f} (true {rows[0]['loss_true']:.4f}); {r['note']}",
        )


def metanash(t: Table, quick: bool) -> None:
    from bench.metanash import measure

    lead = {100: "0.03 s", 300: "0.6 s", 1000: "31 s"}
    for r in measure((100, 300, 1000), baseline_max=300 if quick else 1000):
        base = (
            f"{r['base_s']:.3f} s (gap {r['base_gap']:.0e})"
            if r["base_s"] is not None
            else "skipped"
        )
        ratio = f"{r['base_s'] / max(r['ours_s'], 1e-6):.0f}x" if r["base_s"] is not None else ""
        goal = "goal < 5 s, gap < 1e-6" if r["n"] == 1000 else ""
        t.add(
            "meta-Nash",
            f"{r['game']} N={r['n']} (support {r['support']}, restricted {r['restricted']})",
            f"{r['ours_s']:.3f} s (gap {r['ours_gap']:.0e})",
            base,
            ratio,
            "; ".join(x for x in (goal, f"lead's linprog: {lead[r['n']]}") if x),
        )


def backends(t: Table, quick: bool) -> None:
    from bench.backends import measure

    games_per_match, n_matches = (1000, 4) if quick else (2000, 12)
    rows = measure(games_per_match, n_matches, workers=2)
    load = os.getloadavg()[0]
    serial = rows[0]
    one_core = serial["total"] / serial["driver_cpu_s"]
    t.add(
        "backends",
        "one core (serial: games per CPU second)",
        _rate(one_core, " games/s"),
        "",
        "",
        f"a pool of 2 at best: {_rate(2 * one_core, ' games/s')}; the wall rates below depend on the load",
    )
    for r in rows:
        if "note" in r:
            t.add("backends", r["backend"], note=r["note"])
            continue
        t.add(
            "backends",
            f"eval matches {r['backend']}, {r['total']:,} games (warm)",
            _rate(r["games_per_s"], " games/s"),
            _rate(serial["games_per_s"], " games/s"),
            f"{r['games_per_s'] / serial['games_per_s']:.2f}",
            f"cold start {r['cold_s']:.1f} s; same games as serial: {r['identical']}; load {load:.1f} on {os.cpu_count()} CPUs",
        )


def memory(t: Table, quick: bool, minutes: float | None) -> None:
    from bench.memory import run

    minutes = minutes if minutes is not None else (1.0 if quick else 10.0)
    r = run(minutes, interval=1.0)
    verdict = "flat" if r["flat"] else "growing"
    t.add(
        "memory",
        f"league RSS over {minutes:g} min ({r['steps']:,} steps, {r['members']} members)",
        f"peak {r['peak_mb']:.0f} MB",
        "",
        "",
        f"after warm-up {r['start_mb']:.0f} -> {r['end_mb']:.0f} MB ({r['slope_mb_per_min']:+.1f} MB/min): {verdict}",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short version (about 4 minutes)")
    ap.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections of {', '.join(SECTIONS)}",
    )
    ap.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="memory section length (default 10, 1 with --quick)",
    )
    args = ap.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; use {', '.join(SECTIONS)}")
    import torch

    torch.set_num_threads(1)
    table = Table()
    t0 = time.perf_counter()
    print(
        f"arena benchmark suite{' (quick)' if args.quick else ''}: {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}, torch {torch.__version__}",
        flush=True,
    )
    for name in only:
        start = time.perf_counter()
        try:
            if name == "memory":
                memory(table, args.quick, args.minutes)
            else:
                globals()[name](table, args.quick)
        except Exception as e:  # noqa: BLE001 - one broken section must not hide the others
            table.add(
                name,
                "FAILED",
                note=f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}",
            )
        print(f"  ({name}: {time.perf_counter() - start:.0f} s)", flush=True)
    print()
    print(table.render())
    print(f"\n{time.perf_counter() - t0:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
