"""Exploitability over wall-clock time: our league (PSRO-style, Nash matchmaking)
against OpenSpiel's NFSP, on Kuhn or Leduc poker, for the same budget.

    python bench/kuhn_league.py --game kuhn_poker --seconds 300
    python bench/kuhn_league.py --game leduc_poker --seconds 600

Not a test: it prints a table and saves a figure (``docs/figures/kuhn_league.png``
or ``leduc_league.png``). The two run one after the other, each with one torch
thread.

* Ours: the example league (``examples/kuhn_psro.toml`` or
  ``examples/leduc_psro.toml``) through the normal :class:`arena.league.League`
  API, in a temporary store. Every round the league stores an evaluation with
  the exact NashConv of the meta-Nash mixture of its frozen members (PSRO's
  measure); its time is the wall time at the end of that round minus the time
  the league spent in its evaluations (measurement, not training).
* NFSP (Heinrich & Silver 2016): ``open_spiel.python.pytorch.nfsp`` with the
  settings of OpenSpiel's own ``examples/nfsp_{kuhn,leduc}_pytorch.py``, one
  episode at a time through ``rl_environment``; at checkpoints the clock is
  paused and the exploitability of the average policy is computed with
  ``open_spiel.python.algorithms.exploitability``.

Both are reported as OpenSpiel's *exploitability* = NashConv / 2 (two-player
zero-sum), the mean best-response gain, so the numbers compare like with like.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIGS = {"kuhn_poker": "examples/kuhn_psro.toml", "leduc_poker": "examples/leduc_psro.toml"}
FIGURES = {
    "kuhn_poker": "docs/figures/kuhn_league.png",
    "leduc_poker": "docs/figures/leduc_league.png",
}
# OpenSpiel's examples/nfsp_kuhn_pytorch.py and nfsp_leduc_pytorch.py.
NFSP_SETTINGS = {
    "kuhn_poker": dict(
        hidden=[128],
        reservoir_buffer_capacity=int(2e6),
        anticipatory_param=0.1,
        kwargs=dict(
            replay_buffer_capacity=int(2e5),
            epsilon_decay_duration=int(3e6),
            epsilon_start=0.06,
            epsilon_end=0.001,
        ),
    ),
    "leduc_poker": dict(
        hidden=[128],
        reservoir_buffer_capacity=int(2e6),
        anticipatory_param=0.1,
        kwargs=dict(
            replay_buffer_capacity=int(2e5),
            min_buffer_size_to_learn=1000,
            batch_size=128,
            learn_every=64,
            rl_learning_rate=0.01,
            sl_learning_rate=0.01,
            optimizer_str="sgd",
            loss_str="mse",
            update_target_network_every=19200,
            discount_factor=1.0,
            epsilon_decay_duration=int(20e6),
            epsilon_start=0.06,
            epsilon_end=0.001,
        ),
    ),
}


def checkpoints(seconds: float) -> list[float]:
    """Measurement times: a geometric grid plus the table's times."""
    grid = set(np.round(np.geomspace(2.0, seconds, 24), 1).tolist())
    grid |= {t for t in (30.0, 60.0, 120.0, 300.0, 600.0) if t <= seconds}
    return sorted(grid)


# ---------------------------------------------------------------------------
# Ours


def run_league(game: str, seconds: float, config: Path, seed: int | None = None) -> dict:
    """Run the league of ``config`` for ``seconds`` of training time; the meta-Nash curve."""
    import torch

    from arena.evaluation.record import PopulationEvaluation
    from arena.league import League

    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-"))
    try:
        cfg_path = tmp / config.name
        text = config.read_text()
        if seed is not None:
            text = text.replace("seed = 0", f"seed = {seed}", 1)
        cfg_path.write_text(text)
        league = League.open(cfg_path, tmp / "league.db")
        if league.cfg.league.game != game:
            raise SystemExit(f"{config}: plays {league.cfg.league.game}, not {game}")
        points = []  # (train seconds, nash_conv of the meta-Nash mixture, steps, members)
        state = {"eval_s": 0.0, "seen": 0, "rounds": 0}
        t0 = time.perf_counter()

        def on_round(report) -> None:
            now = time.perf_counter()
            state["rounds"] += 1
            rows = league.store.evaluations("league")
            for row in rows[state["seen"] :]:
                state["eval_s"] += float(row.payload.get("seconds", 0.0))
                rec = PopulationEvaluation.from_json(row.payload)
                if rec.meta_nash_gap.nash_conv is not None:
                    points.append(
                        (
                            now - t0 - state["eval_s"],
                            rec.meta_nash_gap.nash_conv,
                            row.step,
                            len(rec.members),
                        )
                    )
            state["seen"] = len(rows)
            if now - t0 - state["eval_s"] >= seconds:
                league.stop_requested = True

        try:
            league.run(steps=1 << 40, on_round=on_round)
        finally:
            league.close()
        return {
            "label": f"ours: {config.name} (meta-Nash mixture)",
            "points": points,
            "eval_seconds": state["eval_s"],
            "wall_seconds": time.perf_counter() - t0,
            "rounds": state["rounds"],
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# OpenSpiel's NFSP


def run_nfsp(game_name: str, seconds: float, seed: int = 0) -> dict:
    """NFSP self-play for ``seconds`` of training time; exploitability of the average policy."""
    import torch
    from open_spiel.python import policy, rl_environment
    from open_spiel.python.algorithms import exploitability
    from open_spiel.python.pytorch import nfsp

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)  # NFSP's own sampling uses the global numpy generator
    env = rl_environment.Environment(game_name, players=2)
    game = env.game
    s = NFSP_SETTINGS[game_name]
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

    class AveragePolicy(policy.Policy):
        def __init__(self):
            super().__init__(game, [0, 1])
            self._obs = {"info_state": [None, None], "legal_actions": [None, None]}

        def action_probabilities(self, state, player_id=None):
            p = state.current_player()
            legal = state.legal_actions(p)
            self._obs["current_player"] = p
            self._obs["info_state"][p] = state.information_state_tensor(p)
            self._obs["legal_actions"][p] = legal
            ts = rl_environment.TimeStep(
                observations=self._obs, rewards=None, discounts=None, step_type=None
            )
            with agents[p].temp_mode_as(nfsp.MODE.AVERAGE_POLICY):
                probs = agents[p].step(ts, is_evaluation=True).probs
            return {a: probs[a] for a in legal}

    avg = AveragePolicy()
    marks = checkpoints(seconds)
    points = []
    train = 0.0
    episodes = 0
    eval_s = 0.0
    t0 = time.perf_counter()
    while marks:
        start = time.perf_counter()
        ts = env.reset()
        while not ts.last():
            out = agents[ts.observations["current_player"]].step(ts)
            ts = env.step([out.action])
        for a in agents:
            a.step(ts)
        episodes += 1
        train += time.perf_counter() - start
        if train >= marks[0]:
            e0 = time.perf_counter()
            expl = exploitability.exploitability(game, avg)
            eval_s += time.perf_counter() - e0
            points.append((train, 2.0 * float(expl), episodes, None))
            while marks and train >= marks[0]:
                marks.pop(0)
    return {
        "label": "OpenSpiel NFSP (average policy)",
        "points": points,
        "eval_seconds": eval_s,
        "wall_seconds": time.perf_counter() - t0,
        "episodes": episodes,
    }


# ---------------------------------------------------------------------------
# Report


def value_at(points: list, t: float) -> float | None:
    """The last measurement at or before ``t`` seconds (None before the first)."""
    before = [p for p in points if p[0] <= t + 1e-9]
    return before[-1][1] if before else None


def _fmt(x: float) -> str:
    return f"{x:.4f}" if x >= 1e-3 else f"{x:.1e}"


def table(results: list[dict], seconds: float) -> str:
    times = [t for t in (30, 60, 120, 300, 600) if t <= seconds]
    head = "| method | " + " | ".join(f"{t} s" for t in times) + " |"
    lines = [
        "exploitability = NashConv / 2 (OpenSpiel's), training wall-clock seconds",
        head,
        "|" + "---|" * (len(times) + 1),
    ]
    for r in results:
        # the budget's column: the last measurement (the run stops just past the budget)
        vals = [value_at(r["points"], t if t < seconds else float("inf")) for t in times]
        cells = ["-" if v is None else _fmt(v / 2) for v in vals]
        lines.append(f"| {r['label']} | " + " | ".join(cells) + " |")
    for r in results:
        for level in (0.05, 1e-3):
            first = next((p[0] for p in r["points"] if p[1] / 2 < level), None)
            when = "not within the budget" if first is None else f"after {first:.1f} s"
            lines.append(f"{r['label']}: exploitability below {level:g} {when}")
    return "\n".join(lines)


def figure(results: list[dict], game: str, seconds: float, path: Path, goal: float | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    floor = 1e-5  # a log axis cannot show 0: an exact Nash is drawn at the floor
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for r in results:
        pts = np.array([(p[0], max(p[1] / 2, floor)) for p in r["points"]], dtype=float)
        if len(pts):
            ax.plot(pts[:, 0], pts[:, 1], marker=".", label=r["label"])
    if goal is not None:
        ax.axhline(goal, color="grey", ls="--", lw=1, label=f"goal {goal}")
    ax.set_yscale("log")
    ax.set_xlabel("training wall-clock seconds (evaluation excluded), 1 torch thread")
    ax.set_ylabel(f"exploitability (NashConv / 2; < {floor:g} drawn at {floor:g})")
    ax.set_title(f"{game}: exploitability over time")
    ax.set_xlim(0, seconds * 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--game", default="kuhn_poker", choices=sorted(CONFIGS))
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument(
        "--config", type=Path, default=None, help="league TOML (default: the game's example)"
    )
    ap.add_argument("--seed", type=int, default=None, help="league seed (default: the config's)")
    ap.add_argument("--skip-nfsp", action="store_true")
    ap.add_argument("--skip-ours", action="store_true")
    ap.add_argument("--figure", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the curves as JSON")
    ap.add_argument(
        "--results",
        type=Path,
        nargs="*",
        default=[],
        help="curves saved by earlier runs (--json) to add to the table and figure",
    )
    args = ap.parse_args(argv)
    config = args.config or ROOT / CONFIGS[args.game]
    results = [r for path in args.results for r in json.loads(path.read_text())]
    if not args.skip_ours:
        r = run_league(args.game, args.seconds, config, args.seed)
        print(
            f"ours: {r['rounds']} rounds, {len(r['points'])} evaluations, "
            f"{r['wall_seconds']:.0f} s in all of which {r['eval_seconds']:.0f} s evaluation",
            flush=True,
        )
        results.append(r)
        if args.json:  # each part as soon as it ends
            args.json.write_text(json.dumps(results, indent=1))
    if not args.skip_nfsp:
        r = run_nfsp(args.game, args.seconds)
        print(
            f"nfsp: {r['episodes']} episodes, {r['wall_seconds']:.0f} s in all of which "
            f"{r['eval_seconds']:.0f} s evaluation",
            flush=True,
        )
        results.append(r)
    print(table(results, args.seconds))
    fig = args.figure or ROOT / FIGURES[args.game]
    figure(results, args.game, args.seconds, fig, 0.05 if args.game == "kuhn_poker" else None)
    print(f"figure: {fig}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
