"""Learners in parallel: a league's rounds on the serial backend, a process pool and Ray.

    python bench/scaling.py [--learners 2 4] [--workers 2] [--rounds 3] [--round-steps 4096]
                            [--backends serial process ray]

Leagues of 2 and 4 learners with AlphaStar's roles (a main agent, a main
exploiter, league exploiters; MAPPO) on Kuhn poker, each run on the serial
backend, on a local process pool and on a local Ray runtime (``--workers``
actors): in each generation every learner plays one round, on its own worker.
Each league first plays one warm-up generation (workers start, import torch,
the initial snapshots are evaluated), then ``--rounds`` generations are timed.
Printed per league: wall-clock seconds per generation, learner env steps per
second, the speed-up over serial, and whether the stores hold the same league
(they must). Rates are wall-clock (the machine's load average is printed with
them: other jobs share its cores).

A second table gives the terms of docs/scaling.md's model of a generation,
measured in the same runs (seconds per round or per generation):
``learn``: one learner's collect/learn loop (serial, in the coordinator);
``dispatch``: the backend's ``run`` of a generation's rounds, wall clock
(workers in parallel, shipping the states both ways included);
``snapshot``: freezing a snapshot with its evaluation matches against every
active member; ``evaluate``: a population evaluation; ``commit``: the rest of
a round's finish (ratings, the learner checkpoint, the SQLite transaction).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ROLES = ["main", "main_exploiter", "league_exploiter", "league_exploiter"]
RULES = {"main": "pfsp", "main_exploiter": "uniform", "league_exploiter": "pfsp"}


def config(n_learners: int, round_steps: int, steps: int) -> str:
    """A league of ``n_learners`` MAPPO learners on Kuhn poker (evaluation off: rounds only)."""
    learners = ""
    for k, role in enumerate(ROLES[:n_learners]):
        learners += f"""
[[learner]]
name = "l{k}"
algorithm = "mappo"
role = "{role}"
matchmaking = "{RULES[role]}"

[learner.config]
hidden = [64, 64]
epochs = 2
"""
    return f"""
[league]
name = "scaling"
game = "kuhn_poker"
seed = 0
steps = {steps}
batch = 64
rollout_len = 16
round_steps = {round_steps}
{learners}
[snapshots]
every_steps = {round_steps}
capacity = 16

[evaluation]
games_per_pair = 16
every_steps = 0

[[reference]]
name = "random"
policy = "random"
"""


class Timers:
    """Wall-clock seconds spent in a few League methods (the model's terms)."""

    TERMS = {"learn": "_play_here", "snapshot": "_freeze", "evaluate": "_evaluate"}

    def __init__(self, league):
        self.total = collections.defaultdict(float)
        self.calls = collections.Counter()
        self.on = False
        for term, method in {**self.TERMS, "finish": "_finish_round"}.items():
            self._wrap(league, term, getattr(league, method), method)
        self._wrap(league.backend, "dispatch", league.backend.run, "run")

    def _wrap(self, obj, term, fn, name):
        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                if self.on:
                    self.total[term] += time.perf_counter() - t0
                    self.calls[term] += 1

        setattr(obj, name, timed)

    def per_call(self) -> dict[str, float]:
        out = {k: self.total[k] / self.calls[k] for k in self.calls}
        # A round's finish without its snapshot and evaluation: ratings, checkpoint, commit.
        rest = self.total["finish"] - self.total["snapshot"] - self.total["evaluate"]
        out["commit"] = rest / max(self.calls["finish"], 1)
        return out


def measure(n_learners: int, backend_name: str, workers: int, rounds: int, round_steps: int, d):
    """``{seconds_per_round, steps_per_s, table, terms}`` of one league on one backend."""
    from arena.backends import make_backend
    from arena.league import League

    cfg = Path(d) / f"scaling{n_learners}.toml"
    cfg.write_text(config(n_learners, round_steps, (rounds + 1) * round_steps))
    db = Path(d) / f"scaling{n_learners}-{backend_name}.db"
    backend = make_backend(backend_name, workers)
    league = League.open(cfg, db, backend=backend)
    timers = Timers(league)
    try:
        league.run(steps=round_steps)  # warm-up generation: workers start, initial snapshots
        timers.on = True
        before, t0 = league.total_steps(), time.perf_counter()
        league.run()
        seconds = time.perf_counter() - t0
        steps = league.total_steps() - before
    finally:
        league.close()
        backend.close()
    return {
        "seconds_per_round": seconds / rounds,
        "steps_per_s": steps / seconds,
        "table": _table(db),
        "terms": timers.per_call(),
    }


def _table(db):
    from leagues.store import Store

    s = Store.open(db, readonly=True)
    try:
        return (
            [(m.name, m.step) for m in s.members()],
            [(r.step, tuple(r.seats), tuple(r.returns)) for r in s.matches()],
            [r.sha256 for r in s.snapshots()],
        )
    finally:
        s.close()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learners", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="timed generations per league")
    ap.add_argument("--round-steps", type=int, default=4096)
    ap.add_argument("--backends", nargs="+", default=["serial", "process", "ray"])
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)  # the serial league on one core, like each worker
    if "ray" in args.backends:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a throwaway local runtime
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    header = "| learners | backend | s / generation | learner steps / s | speed-up | same league |"
    rows, terms = [header, "|---|---|---|---|---|---|"], []
    with tempfile.TemporaryDirectory() as d:
        for n in args.learners:
            got = {}
            for name in ["serial", *[b for b in args.backends if b != "serial"]]:
                got[name] = measure(
                    n,
                    name,
                    1 if name == "serial" else args.workers,
                    args.rounds,
                    args.round_steps,
                    d,
                )
            serial = got["serial"]
            for name, row in got.items():
                label = name if name == "serial" else f"{name} ({args.workers})"
                ratio = row["steps_per_s"] / serial["steps_per_s"]
                rows.append(
                    f"| {n} | {label} | {row['seconds_per_round']:.2f} | {row['steps_per_s']:,.0f} "
                    f"| {ratio:.2f}x | {row['table'] == serial['table']} |"
                )
                t = row["terms"]
                terms.append(
                    f"| {n} | {label} | "
                    + " | ".join(
                        f"{t[k]:.3f}" if k in t else "-"
                        for k in ("learn", "dispatch", "snapshot", "evaluate", "commit")
                    )
                    + " |"
                )
    print("\n".join(rows))
    print()
    print(
        "| learners | backend | learn (s/round) | dispatch (s/generation) | snapshot (s/snapshot) "
        "| evaluate (s/evaluation) | commit (s/round) |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(terms))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
