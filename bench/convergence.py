"""Exploitability at equal wall-clock budgets: five methods, three poker-like games, one run.

    python bench/convergence.py [--budgets 30,60,120,300,600]
        [--games kuhn_poker,leduc_poker,liars_dice] [--methods mmd,mappo,psro,nfsp,cfr+]
        [--points 8] [--seed 0] [--out docs/figures]

Not a test: it prints a Markdown table per game (method x budget) and writes it
to ``OUT/convergence_table.md``, with a figure per game
``OUT/convergence_{game}.png`` (log-scale y). ``liars_dice`` is
``liars_dice(numdice=1,dice_sides=6)``.

The number is OpenSpiel's *exploitability*, NashConv / 2 (two-player zero-sum):
the mean of the two players' best-response gains, 0 at a Nash equilibrium.
Each method trains with one torch thread, the methods one after another. A
budget is training wall-clock time: the clock is paused while measuring. A
method is measured the first time its clock passes each budget (after the
update, episode or iteration in flight), so the time of a cell is the budget
or a little past it; the table's detail lines give that time and the steps.
``--points`` more measurements, spaced geometrically, draw the curves.

1. ``mmd``, magnetic mirror descent (Sokota et al. 2023; ``agents/mmd.py``),
   defaults, last iterate, self-play through :func:`arena.train.train`
   (``batch=256, rollout_len=8``); exact NashConv of ``learner.freeze()``.
2. ``mappo`` with its defaults, the same way.
3. ``psro``: our PSRO-style league (``examples/kuhn_psro.toml``,
   ``examples/leduc_psro.toml``; for liar's dice :data:`LIARS_DICE_PSRO`, the
   Leduc league with rounds half as long) through :class:`arena.league.League`
   in a temporary store. Each round stores the exact NashConv of the meta-Nash
   mixture of the frozen members; its time is the wall time at the end of the
   round minus the league's evaluation seconds. A round is not split, so the
   cell of a budget is the last round that ended by then ("-": none had).
4. OpenSpiel NFSP (Heinrich & Silver 2016; ``open_spiel.python.pytorch.nfsp``)
   with the settings of OpenSpiel's ``examples/nfsp_{kuhn,leduc}_pytorch.py``
   (liar's dice has no example: it reuses the Leduc settings), one episode at a
   time through ``rl_environment``; its average-policy network is tabulated
   over every information state and measured with ``pyspiel.exploitability``.
5. OpenSpiel CFR+ (Tammelin 2014; C++ ``pyspiel.CFRPlusSolver``): the tabular
   reference, exploitability of its average policy, one iteration at a time.

The ratio column of each budget is the method's exploitability over NFSP's at
that budget (below 1: less exploitable than NFSP).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.kuhn_league import NFSP_SETTINGS  # noqa: E402

GAMES = {
    "kuhn_poker": "kuhn_poker",
    "leduc_poker": "leduc_poker",
    "liars_dice": "liars_dice(numdice=1,dice_sides=6)",
}
METHODS = ("mmd", "mappo", "psro", "nfsp", "cfr+")
LABELS = {
    "mmd": "mmd (last iterate)",
    "mappo": "mappo (self-play)",
    "psro": "PSRO league (meta-Nash mixture)",
    "nfsp": "OpenSpiel NFSP (average policy)",
    "cfr+": "OpenSpiel CFR+ (average policy)",
}

LIARS_DICE_PSRO = """\
# The Leduc PSRO league (examples/leduc_psro.toml) on liar's dice, 1 die of 6
# sides each, with rounds half as long so that short budgets see a few.
[league]
name = "liars_dice_psro"
game = "liars_dice(numdice=1,dice_sides=6)"
seed = 0
steps = 5000000
batch = 128
rollout_len = 8
round_steps = 32768

[[learner]]
name = "br"
algorithm = "iql"
role = "main"
matchmaking = "nash"

[learner.config]
gamma = 1.0
steps_per_update = 8.0
buffer_size = 40000
eps_decay_steps = 20000
eps_end = 0.05

[snapshots]
every_steps = 32768
capacity = 1000

[matchmaking]
nash_payoffs = "exact"

[evaluation]
games_per_pair = 16
every_steps = 32768

[[reference]]
name = "random"
policy = "random"
"""
PSRO_CONFIGS = {
    "kuhn_poker": ROOT / "examples/kuhn_psro.toml",
    "leduc_poker": ROOT / "examples/leduc_psro.toml",
    "liars_dice": LIARS_DICE_PSRO,
}
NFSP_SETTINGS = {**NFSP_SETTINGS, "liars_dice": NFSP_SETTINGS["leduc_poker"]}


@dataclass
class Curve:
    """One method's measurements on one game: ``(train seconds, exploitability, steps)``."""

    method: str
    game: str
    points: list[tuple[float, float, int]] = field(default_factory=list)
    cells: dict[float, tuple[float, float, int]] = field(default_factory=dict)
    """Budget -> the measurement taken for it."""
    steps_unit: str = "env steps"
    eval_seconds: float = 0.0
    wall_seconds: float = 0.0


def measurement_times(budgets: list[float], points: int) -> list[float]:
    """The budgets plus ``points`` times spaced geometrically from 1 s to the last budget."""
    grid = np.geomspace(1.0, max(budgets), points).tolist() if points > 1 else []
    return sorted(set(budgets) | {round(t, 1) for t in grid if t < max(budgets)})


class Schedule:
    """Measure the first time the training clock passes each mark; cells for the budgets."""

    def __init__(self, curve: Curve, budgets: list[float], points: int):
        self.curve = curve
        self.budgets = sorted(budgets)
        self.marks = measurement_times(budgets, points)

    def due(self, train_s: float) -> bool:
        return bool(self.marks) and train_s >= self.marks[0]

    def done(self) -> bool:
        return not self.marks

    def record(self, train_s: float, expl: float, steps: int, eval_s: float) -> None:
        self.curve.points.append((train_s, float(expl), int(steps)))
        self.curve.eval_seconds += eval_s
        for b in self.budgets:
            if b not in self.curve.cells and train_s >= b:
                self.curve.cells[b] = (train_s, float(expl), int(steps))
        while self.marks and train_s >= self.marks[0]:
            self.marks.pop(0)
        print(
            f"  {self.curve.method:6s} {train_s:7.1f} s {steps:>12,d} {self.curve.steps_unit:10s}"
            f" exploitability {expl:.5f}  (measured in {eval_s:.1f} s)",
            flush=True,
        )


class _Stop(Exception):
    """Raised from ``on_update`` when the last budget has been measured."""


# ---------------------------------------------------------------------------
# Ours: self-play learners and the league


def run_self_play(method: str, game_key: str, budgets, points: int, seed: int) -> Curve:
    """Self-play ``method`` (a registry name) with its defaults; last-iterate exploitability."""
    import torch

    import games
    from agents.registry import make_learner
    from arena.evaluation.tabular import exact_nash_conv
    from arena.train import train

    torch.set_num_threads(1)
    game = games.load(GAMES[game_key])
    learner = make_learner(method, game.info, seed=seed)
    curve = Curve(method, game_key)
    sched = Schedule(curve, budgets, points)
    state = {"train": 0.0, "start": time.perf_counter()}
    wall0 = time.perf_counter()

    def on_update(metrics: dict) -> None:
        now = time.perf_counter()
        state["train"] += now - state["start"]
        if sched.due(state["train"]):
            expl = exact_nash_conv(game, learner.freeze()).exploitability
            sched.record(state["train"], expl, metrics["env_steps"], time.perf_counter() - now)
            if sched.done():
                raise _Stop
        state["start"] = time.perf_counter()

    try:
        train(learner, game, 1 << 60, seed, batch=256, rollout_len=8, on_update=on_update)
    except _Stop:
        pass
    curve.wall_seconds = time.perf_counter() - wall0
    return curve


def run_psro(game_key: str, budgets, points: int, seed: int) -> Curve:
    """The PSRO league for the game until its clock passes the last budget."""
    import torch

    from arena.evaluation.record import PopulationEvaluation
    from arena.league import League

    del points, seed  # a round is not split; the config holds the seed
    torch.set_num_threads(1)
    config = PSRO_CONFIGS[game_key]
    text = config.read_text() if isinstance(config, Path) else config
    curve = Curve("psro", game_key, steps_unit="env steps")
    budgets = sorted(budgets)
    tmp = Path(tempfile.mkdtemp(prefix="arena-convergence-"))
    try:
        cfg_path = tmp / "league.toml"
        cfg_path.write_text(text)
        league = League.open(cfg_path, tmp / "league.db")
        if league.cfg.league.game != GAMES[game_key]:
            raise SystemExit(f"{game_key}: the league plays {league.cfg.league.game}")
        state = {"eval_s": 0.0, "seen": 0}
        t0 = time.perf_counter()

        def on_round(report) -> None:
            now = time.perf_counter()
            rows = league.store.evaluations("league")
            for row in rows[state["seen"] :]:
                rec = PopulationEvaluation.from_json(row.payload)
                state["eval_s"] += float(rec.seconds)
                expl = rec.meta_nash_gap.exploitability
                if expl is None:
                    continue
                train_s = now - t0 - state["eval_s"]
                curve.points.append((train_s, float(expl), int(row.step)))
                print(
                    f"  psro   {train_s:7.1f} s {row.step:>12,d} env steps  exploitability "
                    f"{expl:.5f}  ({len(rec.members)} members, evaluated in {rec.seconds:.1f} s)",
                    flush=True,
                )
            state["seen"] = len(rows)
            if now - t0 - state["eval_s"] >= budgets[-1]:
                league.stop_requested = True

        try:
            league.run(steps=1 << 40, on_round=on_round)
        finally:
            league.close()
        curve.eval_seconds = state["eval_s"]
        curve.wall_seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for b in budgets:  # the last round that ended by the budget
        before = [p for p in curve.points if p[0] <= b]
        if before:
            curve.cells[b] = before[-1]
    return curve


# ---------------------------------------------------------------------------
# OpenSpiel's NFSP and CFR+


class NFSPTable:
    """NFSP's average-policy networks tabulated over every information state, so that
    C++ ``pyspiel.exploitability`` measures them (the policy NFSP's own ``step``
    plays in average mode: masked logits, softmax)."""

    def __init__(self, game, agents):
        from open_spiel.python import policy

        self.agents = agents
        self.table = policy.TabularPolicy(game)
        self.rows = []  # per player: (row indices, info-state tensors [N, D], legal mask [N, A])
        for p in range(2):
            states = self.table.states_per_player[p]
            idx = np.array([self.table.state_lookup[s] for s in states])
            obs = np.array(
                [self.table.states[i].information_state_tensor(p) for i in idx], np.float32
            )
            self.rows.append((idx, obs, self.table.legal_actions_mask[idx].astype(bool)))

    def exploitability(self, game) -> float:
        import pyspiel
        import torch
        from open_spiel.python import policy
        from open_spiel.python.pytorch import dqn

        with torch.no_grad():
            for p, (idx, obs, legal) in enumerate(self.rows):
                logits = self.agents[p]._avg_network(torch.from_numpy(obs))
                logits = torch.where(
                    torch.from_numpy(legal),
                    logits,
                    torch.full_like(logits, dqn.ILLEGAL_ACTION_LOGITS_PENALTY),
                )
                probs = torch.softmax(logits, dim=-1).numpy() * legal
                self.table.action_probability_array[idx] = probs / probs.sum(1, keepdims=True)
        return float(
            pyspiel.exploitability(game, policy.python_policy_to_pyspiel_policy(self.table))
        )


def run_nfsp(game_key: str, budgets, points: int, seed: int) -> Curve:
    """NFSP self-play, one episode at a time; exploitability of the average policy."""
    import pyspiel
    import torch
    from open_spiel.python import rl_environment
    from open_spiel.python.pytorch import nfsp

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)  # NFSP's own sampling uses the global numpy generator
    # a loaded game: a spec string with parameters is not a game name to Environment
    env = rl_environment.Environment(pyspiel.load_game(GAMES[game_key]))
    game = env.game
    s = NFSP_SETTINGS[game_key]
    info_size = env.observation_spec()["info_state"][0]
    num_actions = env.action_spec()["num_actions"]
    agents = [
        nfsp.NFSP(
            p,
            info_size,
            num_actions,
            s["hidden"],
            s["reservoir_buffer_capacity"],
            s["anticipatory_param"],
            seed=seed + p,
            **s["kwargs"],
        )
        for p in range(2)
    ]
    table = NFSPTable(game, agents)
    curve = Curve("nfsp", game_key, steps_unit="episodes")
    sched = Schedule(curve, budgets, points)
    train_s, episodes = 0.0, 0
    wall0 = time.perf_counter()
    while not sched.done():
        start = time.perf_counter()
        ts = env.reset()
        while not ts.last():
            out = agents[ts.observations["current_player"]].step(ts)
            ts = env.step([out.action])
        for a in agents:
            a.step(ts)
        episodes += 1
        train_s += time.perf_counter() - start
        if sched.due(train_s):
            e0 = time.perf_counter()
            expl = table.exploitability(game)
            sched.record(train_s, expl, episodes, time.perf_counter() - e0)
    curve.wall_seconds = time.perf_counter() - wall0
    return curve


def run_cfr_plus(game_key: str, budgets, points: int, seed: int) -> Curve:
    """CFR+ (C++), one iteration at a time; exploitability of the average policy."""
    import pyspiel

    del seed  # deterministic
    game = pyspiel.load_game(GAMES[game_key])
    solver = pyspiel.CFRPlusSolver(game)
    curve = Curve("cfr+", game_key, steps_unit="iterations")
    sched = Schedule(curve, budgets, points)
    train_s, iterations = 0.0, 0
    wall0 = time.perf_counter()
    while not sched.done():
        start = time.perf_counter()
        solver.evaluate_and_update_policy()
        iterations += 1
        train_s += time.perf_counter() - start
        if sched.due(train_s):
            e0 = time.perf_counter()
            expl = pyspiel.exploitability(game, solver.average_policy())
            sched.record(train_s, expl, iterations, time.perf_counter() - e0)
    curve.wall_seconds = time.perf_counter() - wall0
    return curve


RUNNERS = {
    "mmd": lambda g, b, n, s: run_self_play("mmd", g, b, n, s),
    "mappo": lambda g, b, n, s: run_self_play("mappo", g, b, n, s),
    "psro": run_psro,
    "nfsp": run_nfsp,
    "cfr+": run_cfr_plus,
}


# ---------------------------------------------------------------------------
# Report


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if x == 0:
        return "0"
    return f"{x:.4f}" if x >= 1e-3 else f"{x:.1e}"


def _ratio(x: float | None, ref: float | None) -> str:
    if x is None or ref is None or ref <= 0:
        return "-"
    if x == 0:
        return "0"
    return f"{x / ref:.2f}" if x / ref >= 0.01 else f"{x / ref:.1e}"


def game_table(game_key: str, curves: list[Curve], budgets: list[float], command: str) -> str:
    """Markdown: a row per method, per budget its exploitability and its ratio to NFSP."""
    nfsp = next((c for c in curves if c.method == "nfsp"), None)
    head = ["method"]
    for b in budgets:
        head += [f"{b:g} s", "/ NFSP"]
    lines = [
        f"### {GAMES[game_key]}",
        "",
        f"`{command}` ({time.strftime('%Y-%m-%d')}, load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for c in curves:
        cells = [LABELS[c.method]]
        for b in budgets:
            v = c.cells.get(b, (None, None, None))[1]
            ref = nfsp.cells.get(b, (None, None, None))[1] if nfsp else None
            cells += [_fmt(v), _ratio(v, ref)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Measured at (training seconds, steps):")
    lines.append("")
    for c in curves:
        at = "; ".join(
            f"{b:g} s: {c.cells[b][0]:.1f} s, {c.cells[b][2]:,} {c.steps_unit}"
            if b in c.cells
            else f"{b:g} s: none"
            for b in budgets
        )
        lines.append(
            f"- {LABELS[c.method]}: {at} (measuring took {c.eval_seconds:.0f} s, "
            f"{c.wall_seconds:.0f} s wall in all)"
        )
    return "\n".join(lines)


TABLE_HEAD = (
    "## Exploitability (NashConv / 2) at equal training wall-clock budgets\n\n"
    "Written by `bench/convergence.py`: per game one run, the methods one after another, "
    "one torch thread each, on a machine shared with other jobs; measurement time excluded. "
    "'/ NFSP' is the method's exploitability over OpenSpiel NFSP's at that budget. "
    "NFSP on liar's dice uses OpenSpiel's Leduc settings.\n"
)


def merge_tables(old: str, new: dict[str, str]) -> str:
    """The table file with the sections of the games just run replaced (others kept)."""
    sections = {}
    for part in old.split("\n### ")[1:]:
        spec = part.split("\n", 1)[0].strip()
        sections[spec] = "### " + part.strip()
    for g, text in new.items():
        sections[GAMES[g]] = text.strip()
    order = [GAMES[g] for g in GAMES if GAMES[g] in sections]
    order += [k for k in sections if k not in order]
    return TABLE_HEAD + "\n" + "\n\n".join(sections[k] for k in order) + "\n"


def figure(game_key: str, curves: list[Curve], budgets: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    floor = 1e-6  # a log axis cannot show 0: an exact Nash is drawn at the floor
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for c in curves:
        pts = np.array([(t, max(e, floor)) for t, e, _ in c.points], dtype=float)
        if len(pts):
            ax.plot(pts[:, 0], pts[:, 1], marker=".", label=LABELS[c.method])
    for b in budgets:
        ax.axvline(b, color="grey", lw=0.6, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("training wall-clock seconds (measurement excluded), 1 torch thread")
    ax.set_ylabel("exploitability (NashConv / 2)")
    ax.set_title(f"{GAMES[game_key]}: exploitability over time")
    ax.set_xlim(0, max(budgets) * 1.05)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _list(text: str, allowed, what: str) -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in items if x not in allowed]
    if bad or not items:
        raise SystemExit(f"--{what} {text!r}: unknown {', '.join(bad)}; use {', '.join(allowed)}")
    return items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budgets", default="30,60,120,300,600", help="seconds, comma-separated")
    ap.add_argument("--games", default=",".join(GAMES))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--points", type=int, default=8, help="extra measurements for the curves")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "docs/figures")
    ap.add_argument("--json", type=Path, default=None, help="also write the curves as JSON")
    args = ap.parse_args(argv)
    try:
        budgets = sorted({float(x) for x in args.budgets.split(",") if x.strip()})
    except ValueError:
        raise SystemExit(f"--budgets {args.budgets!r}: write seconds like 30,60") from None
    if not budgets or budgets[0] <= 0:
        raise SystemExit(f"--budgets {args.budgets!r}: give positive seconds like 30,60")
    game_keys = _list(args.games, GAMES, "games")
    methods = _list(args.methods, METHODS, "methods")

    import torch

    torch.set_num_threads(1)
    command = " ".join(
        ["python bench/convergence.py", *(argv if argv is not None else sys.argv[1:])]
    )
    t0 = time.perf_counter()
    print(
        f"# convergence: budgets {', '.join(f'{b:g}' for b in budgets)} s; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, torch {torch.__version__}",
        flush=True,
    )
    tables, dump = [], []
    for g in game_keys:
        curves = []
        for m in methods:
            print(f"{g} / {m}", flush=True)
            curves.append(RUNNERS[m](g, budgets, args.points, args.seed))
            dump.append(curves[-1].__dict__ | {"cells": list(curves[-1].cells.items())})
            if args.json:
                args.json.write_text(json.dumps(dump, indent=1))
        tables.append(game_table(g, curves, budgets, command))
        print("\n" + tables[-1] + "\n", flush=True)
        figure(g, curves, budgets, args.out / f"convergence_{g}.png")
    path = args.out / "convergence_table.md"
    text = merge_tables(path.read_text() if path.exists() else "", dict(zip(game_keys, tables)))
    args.out.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"table: {path}; {time.perf_counter() - t0:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
