"""Regenerate the tutorial's figures: run every command of docs/tutorial.md, then plot.

    python docs/make_figures.py              # run all commands (about 8 minutes on 2 cores), plot
    python docs/make_figures.py --plot-only  # plot again from runs/tutorial/
    python docs/make_figures.py --tiny --runs DIR --figures DIR   # tests/test_tutorial.py

The commands are read from the ```bash blocks of docs/tutorial.md, so the
figures come from exactly the commands the tutorial shows. They run from the
repository root and write under ``runs/tutorial/`` (removed first, since a
league database resumes rather than restarts). ``--tiny`` shrinks their
budgets (``--steps`` of ``arena train`` and ``arena league run``, ``--tiny`` of
``docs/experiments.py``) and runs them in this process, which is what keeps the
tutorial's test fast; figures are then written wherever ``--figures`` says.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TUTORIAL = ROOT / "docs" / "tutorial.md"
FIGURES = ROOT / "docs" / "figures"
RUNS = "runs/tutorial"  # as the tutorial's commands write it, relative to the repository root

TINY_TRAIN_STEPS = "256"  # arena train: one update
TINY_LEAGUE_STEPS = "4096"  # arena league run: two rounds, so two snapshots to rate
LEAGUES = ("latest", "self_play", "pfsp", "nash")
LEAGUE_LABELS = {
    "latest": "latest only (naive self-play)",
    "self_play": "self-play + 20% past snapshots",
    "pfsp": "PFSP",
    "nash": "Nash (PSRO)",
}


# ---------------------------------------------------------------------------
# The tutorial's commands


def tutorial_commands(path: Path = TUTORIAL) -> list[str]:
    """Every command line of the ```bash blocks of the tutorial, in order.

    Blank lines and ``#`` comments are skipped. Every command must start with
    ``arena`` or ``python docs/``: the tutorial shows nothing else to run.
    """
    out, inside = [], False
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            inside = stripped == "```bash" if not inside else False
            continue
        if not inside or not stripped or stripped.startswith("#"):
            continue
        if not (stripped.startswith("arena ") or stripped.startswith("python docs/")):
            raise ValueError(
                f"{path}:{n}: '{stripped}' is neither an arena command nor python docs/..."
            )
        out.append(stripped)
    return out


def command_argv(command: str, tiny: bool, runs: str = RUNS) -> list[str]:
    """The argv of one tutorial command; with ``tiny``, its budgets shrunk.

    Paths under ``runs/tutorial`` are moved under ``runs``.
    """
    argv = shlex.split(command, comments=True)
    argv = [runs + a[len(RUNS) :] if a.startswith(RUNS) else a for a in argv]
    if argv[:2] == ["python", "docs/experiments.py"]:
        if runs != RUNS:
            argv += ["--out", runs]
        if tiny:
            argv.append("--tiny")
    elif tiny and argv[:2] == ["arena", "train"]:
        argv = _set_option(argv, "--steps", TINY_TRAIN_STEPS)
    elif tiny and argv[:3] == ["arena", "league", "run"]:
        argv = _set_option(argv, "--steps", TINY_LEAGUE_STEPS)
    return argv


def _set_option(argv: list[str], option: str, value: str) -> list[str]:
    if option in argv:
        k = argv.index(option)
        return argv[: k + 1] + [value] + argv[k + 2 :]
    return argv + [option, value]


def run_command(argv: list[str], in_process: bool) -> float:
    """Run one command from the repository root; returns its seconds.

    Raises:
        RuntimeError: the command failed (its exit status and output).
    """
    t0 = time.monotonic()
    if not in_process:
        exe = [sys.executable] + argv[1:] if argv[0] == "python" else argv
        res = subprocess.run(exe, cwd=ROOT)
        if res.returncode != 0:
            raise RuntimeError(f"'{shlex.join(argv)}' exited with status {res.returncode}")
        return time.monotonic() - t0
    buf = io.StringIO()
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            if argv[0] == "arena":
                from arena.cli import main

                code = main(argv[1:])
            else:
                code = _experiments().main(argv[2:])
    finally:
        os.chdir(old)
    if code != 0:
        raise RuntimeError(
            f"'{shlex.join(argv)}' exited with status {code}:\n{buf.getvalue()[-2000:]}"
        )
    return time.monotonic() - t0


def _experiments():
    """docs/experiments.py as a module (docs/ is not a package)."""
    name = "tutorial_experiments"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "experiments.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod  # dataclasses look their module up here
        spec.loader.exec_module(mod)
    return sys.modules[name]


# ---------------------------------------------------------------------------
# Figures


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {"font.size": 9, "axes.titlesize": 10, "figure.dpi": 110, "axes.grid": False}
    )
    return plt


def _save(fig, figures: Path, name: str) -> Path:
    figures.mkdir(parents=True, exist_ok=True)
    path = figures / f"tutorial_{name}.png"
    fig.savefig(path, bbox_inches="tight")
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _load(runs: Path, section: str) -> dict:
    return json.loads((runs / f"{section}.json").read_text())


def fig_games(runs: Path, figures: Path) -> Path:
    """Section 1: three two-player games, one of each kind, with their equilibria (``arena solve``)."""
    import games
    from games.matrix import from_openspiel
    from games.solvers import solve

    plt = _plt()
    specs = [
        ("matrix:climbing", "cooperative"),
        ("matrix_brps", "zero-sum (OpenSpiel)"),
        ("matrix:stag_hunt", "general-sum"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 4.6))
    fig.subplots_adjust(wspace=0.45)
    for ax, (spec, label) in zip(axes, specs):
        game = games.load(spec)
        if not hasattr(game, "payoffs"):
            game = from_openspiel(game.pyspiel_game, name=spec)
        pay = game.payoffs[0]
        names = [game.action_name(0, a) for a in range(pay.shape[1])]
        ax.imshow(pay[0], cmap="RdYlGn", aspect="auto")
        for r in range(pay.shape[1]):
            for c in range(pay.shape[2]):
                text = (
                    f"{pay[0, r, c]:g}"
                    if label != "general-sum"
                    else f"{pay[0, r, c]:g}, {pay[1, r, c]:g}"
                )
                ax.text(c, r, text, ha="center", va="center", fontsize=10)
        ax.set_xticks(range(len(names)), names)
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("player 1 (columns)")
        ax.set_ylabel("player 0 (rows)")
        eqs = solve(game)
        lines = []
        for e in eqs:
            s0, s1 = (np.round(s, 3) + 0.0 for s in e["strategies"])
            lines.append(f"({_fmt(s0)}), ({_fmt(s1)}) -> {_fmt(np.round(e['values'], 3) + 0.0)}")
        ax.set_title(f"{spec}\n{label}: {len(eqs)} equilibri{'um' if len(eqs) == 1 else 'a'}")
        ax.text(
            0.5,
            -0.18,
            "\n".join(lines),
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=8,
            family="monospace",
        )
    fig.suptitle(
        "Payoffs (player 0's; both players' in the general-sum game) and every equilibrium (arena solve)",
        y=1.02,
    )
    return _save(fig, figures, "games")


def _fmt(s) -> str:
    return ", ".join(f"{x:g}" for x in s)


def fig_nonstationarity(runs: Path, figures: Path) -> Path:
    """Section 2: each player's greedy policy and its time average; NashConv of both."""
    plt = _plt()
    data = _load(runs, "nonstationarity")
    specs = [k for k in data if k.startswith("matrix:")]
    fig, axes = plt.subplots(2, len(specs), figsize=(6 * len(specs), 6.5), sharex="col")
    axes = np.atleast_2d(axes).reshape(2, len(specs))
    for col, spec in enumerate(specs):
        d = data[spec]
        steps = np.array(d["steps"]) / 1000
        pol, avg = np.array(d["policy"]), np.array(d["average"])
        first = d["actions"][0]
        ax = axes[0, col]
        for p, color in ((0, "tab:blue"), (1, "tab:orange")):
            ax.plot(
                steps,
                pol[:, p, 0],
                color=color,
                lw=0.6,
                alpha=0.6,
                label=f"player {p}: greedy policy",
            )
            ax.plot(steps, avg[:, p, 0], color=color, lw=2.2, label=f"player {p}: time average")
        nash = 1.0 / len(d["actions"])
        ax.axhline(nash, color="k", ls=":", lw=1, label=f"Nash ({nash:.3g})")
        ax.set_ylabel(f"P({first})")
        ax.set_ylim(-0.03, 1.5)
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1])
        ax.set_title(f"{spec.removeprefix('matrix:')}: independent Q-learners")
        ax.legend(fontsize=7, loc="upper center", ncol=3)
        ax = axes[1, col]
        ax.semilogy(
            steps,
            np.maximum(d["nash_gap"], 1e-4),
            color="tab:red",
            lw=1,
            label="current greedy policies",
        )
        ax.semilogy(
            steps,
            np.maximum(d["average_nash_gap"], 1e-4),
            color="tab:green",
            lw=2,
            label="time-averaged policies",
        )
        ax.set_ylabel("NashConv (games.solvers.nash_gap)")
        ax.set_xlabel("env steps (thousands)")
        ax.set_ylim(1e-3, 5)
        ax.legend(fontsize=8)
    fig.suptitle(
        "Non-stationarity: each learner chases the other; only the average approaches Nash"
    )
    fig.tight_layout()
    return _save(fig, figures, "nonstationarity")


def fig_credit(runs: Path, figures: Path) -> Path:
    """Section 3: where IQL, VDN and QMIX settle (seeds at the optimum; most frequent outcome)."""
    plt = _plt()
    data = _load(runs, "credit")
    algs, specs = data["algorithms"], data["games"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9))
    for ax, proto in zip(axes, ("uniform", "annealed")):
        share = np.zeros((len(specs), len(algs)))
        for gi, spec in enumerate(specs):
            for ai, alg in enumerate(algs):
                got = [
                    r
                    for r in data["runs"]
                    if (r["protocol"], r["game"], r["algorithm"]) == (proto, spec, alg)
                ]
                share[gi, ai] = np.mean(
                    [abs(r["return"] - data["optimum"][spec]) < 1e-6 for r in got]
                )
                outcomes = [
                    f"{r['return']:g}"
                    if "two_step" in spec
                    else f"({r['joint_action']}) {r['return']:g}"
                    for r in got
                ]
                modal = max(dict.fromkeys(outcomes), key=outcomes.count)
                optimal = int(round(share[gi, ai] * len(got)))
                text = f"{optimal}/{len(got)} optimal\nmost: {modal}"
                ax.text(ai, gi, text, ha="center", va="center", fontsize=8)
        ax.imshow(share, cmap="Greens", vmin=0, vmax=1.4, aspect="auto")
        ax.set_xticks(range(len(algs)), [a.upper() for a in algs])
        ax.set_yticks(
            range(len(specs)),
            [f"{s.removeprefix('matrix:')} (opt. {data['optimum'][s]:g})" for s in specs],
        )
        ax.set_title(f"{proto} exploration")
    fig.suptitle(
        f"Credit assignment: {data['steps']} env steps of self-play per run, seeds 0-{data['seeds'] - 1}; greedy joint action (return) after training; green: share of seeds at the optimum"
    )
    fig.tight_layout()
    return _save(fig, figures, "credit")


def fig_monotonic(runs: Path, figures: Path) -> Path:
    """Section 3: the nonmonotonic payoff and the best additive and monotonic fits."""
    plt = _plt()
    nm = _load(runs, "credit")["nonmonotonic"]
    q = np.array(nm["payoff"])
    panels = [
        ("true payoff (optimum (a,a) = 8)", q),
        ("best additive fit (VDN)", np.array(nm["additive_fit"])),
        (
            f"best monotonic fit (QMIX)\nerror {nm['monotonic_keeps_optimum']['squared_error']:.0f}, keeps (a,a)",
            np.array(nm["monotonic_keeps_optimum"]["fit"]),
        ),
        (
            f"best monotonic fit without (a,a)\nerror {nm['monotonic_loses_optimum']['squared_error']:.0f}",
            np.array(nm["monotonic_loses_optimum"]["fit"]),
        ),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.3))
    for ax, (title, m) in zip(axes, panels):
        ax.imshow(m, cmap="RdYlGn", vmin=-12, vmax=8)
        best = m >= m.max() - 1e-3
        for r in range(3):
            for c in range(3):
                ax.text(
                    c,
                    r,
                    f"{m[r, c]:.1f}",
                    ha="center",
                    va="center",
                    fontsize=10,
                    fontweight="bold" if best[r, c] else "normal",
                )
        ax.set_xticks(range(3), list("abc"))
        ax.set_yticks(range(3), list("abc"))
        ax.set_title(title, fontsize=9)
    fig.suptitle(
        "nonmonotonic: least-squares fits under uniform exploration (bold: the greedy joint action(s))",
        y=1.04,
    )
    return _save(fig, figures, "monotonic")


def _metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _smooth(x: np.ndarray, k: int) -> np.ndarray:
    if len(x) < k or k <= 1:
        return x
    return np.convolve(x, np.ones(k) / k, mode="valid")


OPTIMA = {"tiny_hanabi": 10.0}  # the best joint policy (P0 signals its card), by enumeration


def fig_ctde(runs: Path, figures: Path) -> Path:
    """Section 4: MAPPO vs IPPO learning curves and critic explained variance."""
    plt = _plt()
    runs_by = {}
    for d in sorted((runs / "ctde").glob("*/metrics.jsonl")):
        algo, game, seed = d.parent.name.split("-", 2)
        runs_by.setdefault((game, algo), []).append(_metrics(d))
    # the game with several seeds first: its return, its critics, then the others' returns
    gamelist = sorted(
        dict.fromkeys(g for g, _ in runs_by), key=lambda g: -len(runs_by[(g, "mappo")])
    )
    panels = [(gamelist[0], "return"), (gamelist[0], "explained_variance")]
    panels += [(g, "return") for g in gamelist[1:]]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8))
    colors = {"mappo": "tab:blue", "ippo": "tab:orange"}
    for ax, (game, key) in zip(np.atleast_1d(axes), panels):
        for algo in ("mappo", "ippo"):
            for k, ms in enumerate(runs_by.get((game, algo), [])):
                rows = [m for m in ms if key in m]
                x = np.array([m["env_steps"] for m in rows]) / 1000
                y = np.array([m[key] for m in rows], np.float64)
                w = max(1, len(y) // 15)
                label = (
                    f"{algo.upper()} ({'central' if algo == 'mappo' else 'local'} critic)"
                    if k == 0
                    else None
                )
                ax.plot(
                    x[w - 1 :] if len(y) >= w else x,
                    _smooth(y, w),
                    color=colors[algo],
                    lw=1.4,
                    alpha=0.85,
                    label=label,
                )
        if game in OPTIMA and key == "return":
            ax.axhline(OPTIMA[game], color="k", ls=":", lw=1, label=f"optimum {OPTIMA[game]:g}")
        ax.set_xlabel("env steps (thousands)")
        ax.set_ylabel("episode return" if key == "return" else "critic explained variance")
        what = "how much of the return the critic predicts" if key != "return" else "return"
        if key == "return" and len(runs_by.get((game, "mappo"), [])) == 1:
            what += " (the two curves overlap)"
        ax.set_title(f"{game}: {what}")
        ax.legend(fontsize=8)
    fig.suptitle(
        "Centralized training, decentralized execution: same actors, different critics (one line per seed)"
    )
    fig.tight_layout()
    return _save(fig, figures, "ctde")


def _league_store(runs: Path, name: str):
    from leagues.store import Store

    return Store.open(runs / "leagues" / f"{name}.db", readonly=True)


def fig_leagues(runs: Path, figures: Path) -> Path:
    """Section 5: exact NashConv over time of the learner and of the pool's meta-Nash mixture."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    colors = dict(zip(LEAGUES, ("tab:red", "tab:orange", "tab:purple", "tab:green")))
    for name in LEAGUES:
        with _league_store(runs, name) as store:
            rows = store.evaluations("nash_gap")
        for ax, who in zip(axes, ("learner", "meta_nash")):
            pts = [(r.step, r.payload["nash_conv"]) for r in rows if r.payload.get("who") == who]
            if pts:
                x, y = zip(*pts)
                ax.plot(
                    np.array(x) / 1000,
                    y,
                    marker="o",
                    ms=3,
                    color=colors[name],
                    label=LEAGUE_LABELS[name],
                )
    axes[0].set_title("the live learner")
    axes[1].set_title("the meta-Nash mixture of the frozen snapshots")
    axes[0].set_ylabel("exact NashConv")
    for ax in axes:
        ax.set_xlabel("learner env steps (thousands)")
        ax.legend(fontsize=8)
    fig.suptitle(
        "Biased rock-paper-scissors (matrix_brps): four matchmaking rules, from each league's stored evaluations"
    )
    fig.tight_layout()
    return _save(fig, figures, "leagues")


def snapshot_scores(runs: Path, name: str):
    """Names, observed mean scores ``[n, n]`` and game counts among a league's snapshots."""
    import games
    from leagues.matchmaking import PayoffTable

    with _league_store(runs, name) as store:
        game_spec = store.config()[1]["league"]["game"]
        members = [m for m in store.members() if m.kind == "snapshot"]
        matches = store.matches()
    kind = games.load(game_spec).info.kind
    ids = [m.id for m in members]
    table = PayoffTable()
    for row in matches:
        if all(s in ids for s in row.seats):
            table.add_match(row.seats, row.returns, kind)
    n = len(ids)
    score, count = np.full((n, n), np.nan), np.zeros((n, n))
    for a, i in enumerate(ids):
        for b, j in enumerate(ids):
            count[a, b] = table.games(i, j, decayed=False)
            if a != b and count[a, b] > 0:
                score[a, b] = table.win_rate(i, j, decayed=False)
    return [m.name for m in members], score, count


def rating_predictions(score: np.ndarray, count: np.ndarray) -> dict:
    """Bradley-Terry (batch Elo) and mElo2k fits of observed scores, their predictions and errors."""
    from leagues.ratings import bradley_terry, elo_expected, melo_expected, melo_fit

    n = len(score)
    wins = np.nan_to_num(score) * count
    elo = bradley_terry(wins, prior=0.1)
    i, j = np.nonzero(np.triu(count, 1) > 0)
    r, c = melo_fit(i, j, score[i, j], n, 1, weight=count[i, j], rng=np.random.default_rng(0))
    pred_elo = elo_expected(elo[:, None], elo[None, :])
    pred_melo = melo_expected(r[:, None], r[None, :], c[:, None, :], c[None, :, :])
    mask = (count > 0) & ~np.eye(n, dtype=bool)

    def err(pred):
        return (
            float(np.average(np.abs(pred[mask] - score[mask]), weights=count[mask]))
            if mask.any()
            else float("nan")
        )

    return {
        "elo": elo,
        "melo": r,
        "pred_elo": pred_elo,
        "pred_melo": pred_melo,
        "err_elo": err(pred_elo),
        "err_melo": err(pred_melo),
    }


def strongest_cycle(score: np.ndarray):
    """The 3-cycle ``(a, b, c)`` maximizing its weakest win (a beats b beats c beats a), and that win.

    None when no three members beat each other in a cycle (each > 1/2).
    """
    n, best = len(score), None
    s = np.nan_to_num(score, nan=0.0)
    for a in range(n):
        for b in range(n):
            for c in range(n):
                if len({a, b, c}) == 3:
                    w = min(s[a, b], s[b, c], s[c, a])
                    if w > 0.5 and (best is None or w > best[1]):
                        best = ((a, b, c), float(w))
    return best


def fig_ratings(runs: Path, figures: Path) -> Path:
    """Section 5: observed win rates among naive self-play's snapshots vs Elo's and mElo's predictions."""
    plt = _plt()
    names, score, count = snapshot_scores(runs, "latest")
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2))
    fig.subplots_adjust(wspace=0.08)
    if len(names) < 2:
        for ax in axes:
            ax.text(0.5, 0.5, "fewer than two snapshots", ha="center", va="center")
        return _save(fig, figures, "ratings")
    fit = rating_predictions(score, count)
    order = np.argsort(-fit["elo"])
    panels = [
        ("observed score of row vs column", score),
        (f"Elo (Bradley-Terry) prediction\nmean abs. error {fit['err_elo']:.3f}", fit["pred_elo"]),
        (f"mElo2k prediction\nmean abs. error {fit['err_melo']:.3f}", fit["pred_melo"]),
    ]
    labels = [f"{names[k].split('@')[-1]} ({fit['elo'][k] + 1200:.0f})" for k in order]
    for ax, (title, m) in zip(axes, panels):
        shown = m[np.ix_(order, order)].copy()
        np.fill_diagonal(shown, np.nan)
        im = ax.imshow(shown, cmap="RdBu", vmin=0, vmax=1)
        ax.set_xticks(
            range(len(order)), [names[k].split("@")[-1] for k in order], rotation=90, fontsize=6
        )
        ax.set_yticks(range(len(order)), labels if ax is axes[0] else [], fontsize=6)
        ax.set_title(title)
    axes[0].set_ylabel("snapshot: step (Bradley-Terry Elo), best first")
    axes[0].set_xlabel("opponent snapshot (step)")
    fig.colorbar(im, ax=axes, shrink=0.8, label="P(row beats column), draws count 1/2")
    cyc = strongest_cycle(score)
    if cyc is not None:
        a, b, c = (names[k].split("@")[-1] for k in cyc[0])
        note = f"\nfor example {a} beats {b}, {b} beats {c}, {c} beats {a}, each at least {cyc[1]:.0%} of games"
    else:
        note = ""
    fig.suptitle(
        f"Naive self-play's snapshots on matrix_brps: a single rating cannot hold a cycle{note}"
    )
    return _save(fig, figures, "ratings")


def fig_scaling(runs: Path, figures: Path) -> Path:
    """Section 6: joint actions and network sizes vs players; MADDPG's learning curves on rendezvous."""
    plt = _plt()
    data = _load(runs, "scaling")
    coord, rdv = data["coordination"], data["rendezvous"]
    players = sorted({r["players"] for r in coord})
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    ax = axes[0]
    ax.semilogy(players, [3**n for n in players], "k-o", label="joint actions (3 per agent)")
    ax.semilogy(
        players, [3 * n for n in players], "k--o", label="per-agent utilities (IQL/VDN/QMIX)"
    )
    for alg, style in (("iql", "tab:blue"), ("qmix", "tab:green")):
        ax.semilogy(
            players,
            [
                next(r["parameters"] for r in coord if r["players"] == n and r["algorithm"] == alg)
                for n in players
            ],
            "o-",
            color=style,
            label=f"{alg.upper()} parameters",
        )
    ax.semilogy(
        [r["players"] for r in rdv],
        [r["critic_parameters"] for r in rdv],
        "o-",
        color="tab:red",
        label="MADDPG critic parameters",
    )
    ax.set_xlabel("agents")
    ax.set_xticks(players)
    ax.set_title("what grows with the number of agents")
    ax.legend(fontsize=7)
    ax = axes[1]
    for alg, color in (("iql", "tab:blue"), ("vdn", "tab:orange"), ("qmix", "tab:green")):
        ax.plot(
            players,
            [
                np.mean(
                    [
                        r["seconds_per_1k_steps"]
                        for r in coord
                        if r["players"] == n and r["algorithm"] == alg
                    ]
                )
                for n in players
            ],
            "o-",
            color=color,
            label=f"{alg.upper()}, coordination game",
        )
    ax.plot(
        [r["players"] for r in rdv],
        [r["seconds_per_1k_steps"] for r in rdv],
        "o-",
        color="tab:red",
        label="MADDPG, rendezvous",
    )
    ax.set_xlabel("agents")
    ax.set_xticks(players)
    ax.set_ylabel("seconds per 1,000 env steps (this machine)")
    ax.set_ylim(bottom=0)
    ax.set_title("wall-clock cost per step")
    ax.legend(fontsize=7)
    ax = axes[2]
    for r, color in zip(rdv, ("tab:blue", "tab:orange", "tab:red", "tab:purple")):
        y = 1.0 - np.array(r["returns"]) / r["random_return"]
        w = max(1, len(y) // 12)
        x = np.array(r["steps"]) / 1000
        ax.plot(
            x[w - 1 :] if len(y) >= w else x,
            _smooth(y, w),
            color=color,
            label=f"{r['players']} agents: {100 * r['distance_removed']:.0f}% at the end (greedy)",
        )
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("env steps (thousands)")
    ax.set_ylabel("share of random play's distance removed")
    ax.set_title("MADDPG on control:rendezvous(players=n): sample cost")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, figures, "scaling")


FIGURES_BY_NAME = {
    "games": fig_games,
    "nonstationarity": fig_nonstationarity,
    "credit": fig_credit,
    "monotonic": fig_monotonic,
    "ctde": fig_ctde,
    "leagues": fig_leagues,
    "ratings": fig_ratings,
    "scaling": fig_scaling,
}


def summary(runs: Path) -> dict:
    """Headline numbers for the tutorial's text (printed at the end)."""
    out = {}
    ns = _load(runs, "nonstationarity")
    for spec in (k for k in ns if k.startswith("matrix:")):
        d = ns[spec]
        half = len(d["nash_gap"]) // 2
        out[spec] = {
            "current_gap_second_half": float(np.mean(d["nash_gap"][half:])),
            "average_gap_end": d["average_nash_gap"][-1],
            "average_end": np.round(d["average"][-1], 3).tolist(),
        }
    for game in sorted(
        {p.parent.name.split("-", 2)[1] for p in (runs / "ctde").glob("*/metrics.jsonl")}
    ):
        for algo in ("mappo", "ippo"):
            finals, evs = [], []
            for p in sorted((runs / "ctde").glob(f"{algo}-{game}-*/metrics.jsonl")):
                ms = _metrics(p)
                tail = ms[-max(1, len(ms) // 10) :]
                finals.append(float(np.mean([m["return"] for m in tail if "return" in m])))
                evs.append(float(np.mean([m["explained_variance"] for m in tail])))
            out[f"{algo}/{game}"] = {
                "return_last_10pct": finals,
                "explained_variance_last_10pct": evs,
            }
    for name in LEAGUES:
        with _league_store(runs, name) as store:
            rows = store.evaluations("nash_gap")
        for who in ("learner", "meta_nash"):
            ys = [r.payload["nash_conv"] for r in rows if r.payload.get("who") == who]
            out[f"league {name} {who}"] = {
                "final": ys[-1] if ys else None,
                "mean": float(np.mean(ys)) if ys else None,
            }
    names, score, count = snapshot_scores(runs, "latest")
    if len(names) >= 2:
        fit = rating_predictions(score, count)
        cyc = strongest_cycle(score)
        out["ratings latest"] = {
            "snapshots": len(names),
            "err_elo": fit["err_elo"],
            "err_melo": fit["err_melo"],
            "bt_range": [float(fit["elo"].min()), float(fit["elo"].max())],
            "observed_range": [float(np.nanmin(score)), float(np.nanmax(score))],
            "cycle": None if cyc is None else [[names[k] for k in cyc[0]], cyc[1]],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--plot-only", action="store_true", help="do not run the commands; plot what runs/ holds"
    )
    ap.add_argument("--tiny", action="store_true", help="tiny budgets, in this process (for tests)")
    ap.add_argument("--runs", default=RUNS, help="where the commands write (default runs/tutorial)")
    ap.add_argument(
        "--figures", default=str(FIGURES), help="where the PNGs go (default docs/figures)"
    )
    args = ap.parse_args(argv)
    runs_arg = args.runs  # commands get it as given: relative paths are relative to ROOT
    runs = Path(runs_arg) if Path(runs_arg).is_absolute() else ROOT / runs_arg
    t_all = time.monotonic()
    if not args.plot_only:
        import torch

        torch.set_num_threads(1)
        if runs.exists():
            shutil.rmtree(runs)  # leagues resume from their database: start clean
        for command in tutorial_commands():
            argv_ = command_argv(command, args.tiny, runs_arg)
            seconds = run_command(argv_, in_process=args.tiny)
            print(f"[{seconds:6.1f} s] {shlex.join(argv_)}", flush=True)
    written = [f(runs, Path(args.figures)) for f in FIGURES_BY_NAME.values()]
    for p in written:
        print(f"figure: {p}")
    print(json.dumps(summary(runs), indent=1, default=float))
    print(f"total {time.monotonic() - t_all:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
