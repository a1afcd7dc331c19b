"""Learning curves on MPE simple_spread through the PettingZoo adapter.

    python bench/simple_spread.py [--steps 300000] [--evals 10] [--seed 0]
        [--algos mappo,maddpg,maddpg_continuous] [--out docs/figures/simple_spread_curve.png]

Game: ``pettingzoo:mpe2.simple_spread_v3(N=3,max_cycles=25)`` (discrete
actions) and the same with ``continuous_actions=True``: three agents, three
landmarks, 25 steps; each step every agent gets half the global reward (minus
the sum over landmarks of the distance to the nearest agent) plus half its
own collision penalty (-1 per agent it touches). The number we report is the
mean episode return per agent.

Each algorithm learns by self-play (every seat is the learner, parameters
shared across agents by a player one-hot) for ``--steps`` env steps (one step
= one joint step of one env copy; continuous MADDPG gets twice as many) from
16 copies, in rollouts of 25 steps.
Every ``--steps / --evals`` steps the policy as it acts without exploration
(MAPPO and discrete MADDPG still sample from their softmax; continuous MADDPG
is deterministic) plays ``--eval-games`` episodes from fixed seeds. Three
reference policies play the same episodes: uniform random (the baseline),
standing still (a policy that has learned nothing but to stop drifting) and a
scripted assignment policy (each agent heads for its landmark in the
assignment with the least total distance: what good play looks like). Hyperparameters are the
learners' defaults except where ``CONFIGS`` says.

Speed is bounded by the env: mpe2 steps about 3.4k random env-steps/s on one
core here, and an update costs little beside it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

import games  # noqa: E402
from agents.base import Act  # noqa: E402
from agents.baselines import random_policy  # noqa: E402
from agents.registry import make_learner  # noqa: E402
from arena.rollout import Collector, play  # noqa: E402
from arena.train import self_play_matchup  # noqa: E402

SPREAD = "pettingzoo:mpe2.simple_spread_v3(N=3,max_cycles=25)"
SPREAD_CONTINUOUS = "pettingzoo:mpe2.simple_spread_v3(N=3,max_cycles=25,continuous_actions=True)"

# name -> (game spec, algorithm, config overrides, budget as a multiple of --steps).
# Continuous MADDPG gets twice the steps: it starts standing still (its tanh actor
# outputs cancelling pushes) and only passes that after about 300k steps.
CONFIGS: dict[str, tuple[str, str, dict, float]] = {
    "mappo": (SPREAD, "mappo", {}, 1.0),
    "maddpg": (SPREAD, "maddpg", {}, 1.0),
    "maddpg_continuous": (SPREAD_CONTINUOUS, "maddpg", {}, 2.0),
}
BATCH = 16
ROLLOUT = 25
EVAL_SEED = 10_000


class StandStill:
    """Never pushes: discrete action 0 ("no action"), or all-zero forces when continuous."""

    def __init__(self, continuous: bool):
        self.continuous = continuous

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        n = len(obs)
        if self.continuous:
            return Act(np.zeros((n, 5), np.float32), None, np.zeros(n, np.float32))
        probs = np.zeros((n, legal.shape[1]))
        probs[:, 0] = 1.0
        return Act(np.zeros(n, np.int64), probs, np.zeros(n, np.float32))


class Assignment:
    """A scripted reference: every agent computes the landmark assignment with the least total
    distance (all agents see the same relative positions, so they agree) and pushes towards
    its own landmark, damped by its velocity. Reads simple_spread's observation layout
    ``[vel(2), pos(2), landmarks(2N), other agents(2(N-1)), comm(2(N-1))]``."""

    def __init__(self, n: int, continuous: bool, damping: float = 0.3):
        self.n, self.continuous, self.damping = n, continuous, damping
        self.perms = np.array(list(itertools.permutations(range(n))))

    def act(self, obs, legal, player, rng, explore=False) -> Act:
        n, rows = self.n, np.arange(len(obs))
        vel = obs[:, 0:2]
        marks = obs[:, 4 : 4 + 2 * n].reshape(-1, n, 2)
        others = obs[:, 4 + 2 * n : 2 + 4 * n].reshape(-1, n - 1, 2)
        agents = np.concatenate([np.zeros((len(obs), 1, 2)), others], axis=1)  # me first
        dist = np.linalg.norm(agents[:, :, None] - marks[:, None], axis=-1)  # [N, agent, mark]
        cost = dist[:, np.arange(n)[None, :], self.perms].sum(-1)  # [N, perms]
        mine = self.perms[cost.argmin(1), 0]
        goal = marks[rows, mine] - self.damping * vel
        if self.continuous:
            g = np.clip(4.0 * goal, -1.0, 1.0)
            a = np.zeros((len(obs), 5), np.float32)
            a[:, 1], a[:, 2] = np.maximum(-g[:, 0], 0), np.maximum(g[:, 0], 0)
            a[:, 3], a[:, 4] = np.maximum(-g[:, 1], 0), np.maximum(g[:, 1], 0)
            return Act(a, None, np.zeros(len(obs), np.float32))
        axis = np.abs(goal).argmax(1)
        comp = goal[rows, axis]
        act = np.where(axis == 0, np.where(comp < 0, 1, 2), np.where(comp < 0, 3, 4))
        act = np.where(np.abs(comp) < 0.05, 0, act).astype(np.int64)
        return Act(act, np.eye(legal.shape[1])[act], np.zeros(len(obs), np.float32))


def evaluate(game: games.Game, policy, n_games: int) -> float:
    """Mean episode return per agent of ``policy`` in every seat over ``n_games`` fixed episodes."""
    return float(play(game, [policy], n_games, seed=EVAL_SEED, batch=50).mean_returns()[0])


def learning_curve(name: str, steps: int, evals: int, eval_games: int, seed: int) -> dict:
    """Train one configuration for its share of ``steps``; evaluate it every ``steps // evals``
    steps (and once before learning)."""
    spec, algo, overrides, factor = CONFIGS[name]
    every = steps // evals
    evals = round(evals * factor)
    game = games.load(spec)
    learner = make_learner(algo, game.info, seed=seed, **overrides)
    collector = Collector(game, [learner], self_play_matchup(game.info.num_players), BATCH, seed)
    random_return = evaluate(game, random_policy(game.info), eval_games)
    continuous = game.info.continuous_actions
    still = evaluate(game, StandStill(continuous), eval_games)
    scripted = evaluate(game, Assignment(game.info.num_players, continuous), eval_games)
    curve = [(0, evaluate(game, learner.freeze(), eval_games))]
    start = time.perf_counter()
    for k in range(1, evals + 1):
        while collector.total_steps < k * every:
            rollout, _ = collector.collect(ROLLOUT, explore=True)
            learner.learn(rollout)
        curve.append((collector.total_steps, evaluate(game, learner.freeze(), eval_games)))
        print(f"  {name}: {curve[-1][0]:>7d} steps  return {curve[-1][1]:7.2f}", flush=True)
    seconds = time.perf_counter() - start
    return {
        "name": name,
        "spec": spec,
        "algorithm": algo,
        "overrides": overrides,
        "random": random_return,
        "stand_still": still,
        "scripted": scripted,
        "curve": curve,
        "seconds": seconds,
    }


def plot(results: list[dict], path: str, steps: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    refs: dict[str, dict[str, float]] = {}
    for i, r in enumerate(results):
        x, y = zip(*r["curve"])
        ax.plot(
            x, y, marker="o", ms=3, color=colors[i], label=f"{r['name']} ({r['seconds']:.0f} s)"
        )
        kind = "continuous" if "continuous" in r["spec"] else "discrete"
        for ref in ("random", "stand_still", "scripted"):
            refs.setdefault(ref, {}).setdefault(kind, r[ref])
    styles = {"random": ("gray", "--"), "stand_still": ("peru", "-."), "scripted": ("black", ":")}
    for ref, by_kind in refs.items():
        color, ls = styles[ref]
        name = ref.replace("_", " ")
        if max(by_kind.values()) - min(by_kind.values()) < 0.5:  # one line is enough
            by_kind = {"": float(np.mean(list(by_kind.values())))}
        for j, (kind, value) in enumerate(sorted(by_kind.items())):
            label = f"{name} ({kind})" if kind else name
            ax.axhline(value, ls=ls, color=color, lw=1, alpha=1.0 if j == 0 else 0.5, label=label)
    ax.set_xlabel("env steps (joint steps of one copy)")
    ax.set_ylabel("mean episode return per agent")
    ax.set_title("MPE simple_spread_v3 (N=3, 25 steps)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 0.86), ncol=2, framealpha=0.9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--steps",
        type=int,
        default=300_000,
        help="env steps per algorithm (times its CONFIGS factor)",
    )
    parser.add_argument("--evals", type=int, default=10, help="evaluation points after the start")
    parser.add_argument("--eval-games", type=int, default=100, help="episodes per evaluation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--algos", default=",".join(CONFIGS), help="comma-separated names from CONFIGS"
    )
    parser.add_argument("--out", default="docs/figures/simple_spread_curve.png")
    parser.add_argument("--json", default="", help="also write the numbers here")
    parser.add_argument(
        "--from-json", default="", help="only redraw the figure and table from --json output"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.from_json:
        with open(args.from_json) as f:
            results = json.load(f)
        args.steps = max(r["curve"][-1][0] for r in results)
    else:
        results = [
            learning_curve(name, args.steps, args.evals, args.eval_games, args.seed)
            for name in args.algos.split(",")
        ]
    plot(results, args.out, args.steps)
    print(
        "\n| learner | actions | random | stand still | scripted | start | final | best | steps | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ys = [y for _, y in r["curve"]]
        kind = "continuous" if "continuous" in r["spec"] else "discrete"
        print(
            f"| {r['algorithm']} | {kind} | {r['random']:.2f} | {r['stand_still']:.2f} | "
            f"{r['scripted']:.2f} | {ys[0]:.2f} | {ys[-1]:.2f} | "
            f"{max(ys):.2f} | {r['curve'][-1][0]} | {r['seconds']:.0f} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print(f"\nfigure: {args.out}")


if __name__ == "__main__":
    main()
