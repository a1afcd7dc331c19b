"""General-sum and n-player honesty: each algorithm's NashConv after self-play against uniform random's.

    python bench/general_sum.py                    # every general-sum catalog game, seeds 0-2
    python bench/general_sum.py --steps 20000 --seeds 0,1,2 --games stag_hunt,volunteers_dilemma

Not a test: it prints a Markdown table (and writes ``docs/figures/general_sum_table.md``).

For each general-sum game of the matrix catalog (two- and three-player,
one-shot and repeated), each algorithm trains by self-play (every seat the
learner's; :func:`arena.train.train`, ``batch=64``, ``rollout_len=8``) for
``--steps`` env steps from each seed, and the exact NashConv of its final
policy (:func:`arena.evaluation.tabular.exact_nash_conv`, the sum over players
of the best-response gain) is compared with uniform random's. A cell reads
``mean [min-max]`` over the seeds; ``*`` marks a mean above uniform random's,
i.e. worse than not learning at all by this measure. NashConv 0 is a Nash
equilibrium; a low NashConv says nothing about welfare (all-defect in the
prisoner's dilemma is the unique equilibrium).

Variants tried where the default ends above random (``VARIANTS``): MADDPG
with a prosocial reward (``prosocial=1``: each player maximises the sum),
MAPPO with a larger entropy bonus, and the magnet learner ``mmd`` with a
uniform magnet (an entropy-regularised, quantal-response target).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GAMES = (
    "prisoners_dilemma",
    "stag_hunt",
    "battle_of_sexes",
    "chicken",
    "shapleys_game",
    "three_player_matching_pennies",
    "volunteers_dilemma",
    "iterated_prisoners_dilemma(horizon=5)",
)
ALGORITHMS = {
    "iql": {},
    "mappo": {},
    "ippo": {},
    "maddpg": {},
    "mmd": {},
}
VARIANTS = {
    "maddpg prosocial=1": ("maddpg", {"prosocial": 1.0}),
    "mappo ent_coef=0.1": ("mappo", {"ent_coef": 0.1}),
    "mmd magnet=uniform": ("mmd", {"magnet": "uniform"}),
}


def nash_conv_after_training(spec: str, algo: str, overrides: dict, steps: int, seed: int) -> float:
    import games
    from agents.registry import make_learner
    from arena.evaluation.tabular import exact_nash_conv
    from arena.train import train

    game = games.load(spec)
    learner = make_learner(algo, game.info, seed=seed, **overrides)
    train(learner, game, steps, seed, batch=64, rollout_len=8)
    return float(exact_nash_conv(game, learner.freeze()).nash_conv)


def random_nash_conv(spec: str) -> float:
    import games
    from agents.baselines import random_policy
    from arena.evaluation.tabular import exact_nash_conv

    game = games.load(spec)
    return float(exact_nash_conv(game, random_policy(game.info)).nash_conv)


def main(argv=None) -> int:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--games", default=",".join(GAMES))
    ap.add_argument("--out", default=str(ROOT / "docs" / "figures" / "general_sum_table.md"))
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    specs = [f"matrix:{g}" for g in args.games.split(",")]
    columns = {**{a: (a, o) for a, o in ALGORITHMS.items()}, **VARIANTS}
    t0 = time.time()
    rows = []
    for spec in specs:
        base = random_nash_conv(spec)
        cells = [spec.removeprefix("matrix:"), f"{base:.3f}"]
        for label, (algo, overrides) in columns.items():
            vals = np.array(
                [nash_conv_after_training(spec, algo, overrides, args.steps, s) for s in seeds]
            )
            mark = " *" if vals.mean() > base + 1e-9 else ""
            cells.append(f"{vals.mean():.3f} [{vals.min():.3f}-{vals.max():.3f}]{mark}")
            print(f"{spec} {label}: {vals.round(3).tolist()} (random {base:.3f})", flush=True)
        rows.append(cells)
    header = ["game", "uniform random", *columns]
    lines = [
        f"NashConv after {args.steps:,} self-play env steps, seeds {args.seeds} "
        f"(mean [min-max]; * = above uniform random); measured in {time.time() - t0:.0f} s.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]
    text = "\n".join(lines)
    print("\n" + text)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
