"""Training throughput: env steps/s and updates/s per algorithm, and IQL vs
OpenSpiel's pytorch DQN on tic_tac_toe at equal wall-clock budgets.

    python bench/training.py [--seconds S]

Not a test: it prints a table. OpenSpiel's DQN (open_spiel.python.pytorch.dqn,
which needs dm-tree) trains two agents by self-play through rl_environment,
one episode at a time; ours steps 128 copies together. Play quality of both is
measured the same way: 2000 games against uniform random per seat.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _quality(game, policy, seed=0, n=2000):
    from agents.baselines import UniformRandom
    from arena.rollout import play

    res = play(game, [policy, UniformRandom()], n, seed=seed)
    out = []
    for seat in range(2):
        rows = res.seats[:, seat] == 0
        mine = res.returns[rows, seat]
        out.append(float((mine >= 0).mean()))  # did not lose
    return out


def ours(
    algo: str, spec: str, seconds: float, seed: int = 0, batch: int = 128, rollout_len: int = 8
):
    """Train ``algo`` by self-play for ``seconds``; return throughput and quality."""
    import torch

    import games
    from agents.registry import make_learner
    from arena.rollout import Collector
    from arena.train import self_play_matchup

    torch.set_num_threads(1)
    game = games.load(spec)
    learner = make_learner(algo, game.info, seed=seed)
    col = Collector(game, [learner], self_play_matchup(game.info.num_players), batch, seed)
    updates = episodes = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        rollout, eps = col.collect(rollout_len)
        learner.learn(rollout)
        updates += 1
        episodes += len(eps)
    el = time.perf_counter() - t0
    row = {
        "algo": algo,
        "game": spec,
        "env_steps/s": col.total_steps / el,
        "updates/s": updates / el,
        "episodes/s": episodes / el,
        "episodes": episodes,
    }
    if spec == "tic_tac_toe":
        row["not_lose_first"], row["not_lose_second"] = _quality(game, learner.freeze())
    return row


def openspiel_dqn(seconds: float, seed: int = 0):
    """OpenSpiel's pytorch DQN self-play on tic_tac_toe (its own example's settings)."""
    import torch
    from open_spiel.python import rl_environment
    from open_spiel.python.pytorch import dqn

    import games
    from agents.base import Act

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    env = rl_environment.Environment("tic_tac_toe")
    env.seed(seed)
    size = env.observation_spec()["info_state"][0]
    n_act = env.action_spec()["num_actions"]
    agents = [
        dqn.DQN(
            p,
            size,
            n_act,
            hidden_layers_sizes=[64, 64],
            replay_buffer_capacity=int(1e5),
            batch_size=32,
            seed=seed + p,
        )
        for p in range(2)
    ]
    episodes = steps = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        ts = env.reset()
        while not ts.last():
            p = ts.observations["current_player"]
            out = agents[p].step(ts)
            ts = env.step([out.action])
            steps += 1
        for a in agents:
            a.step(ts)
        episodes += 1
    el = time.perf_counter() - t0

    class Greedy:
        def act(self, obs, legal, player, rng, explore=False):
            with torch.no_grad():
                q = np.stack(
                    [
                        agents[int(p)]._q_network(torch.as_tensor(o[None])).numpy()[0]
                        for o, p in zip(obs, player)
                    ]
                )
            q[~legal] = -np.inf
            a = q.argmax(-1)
            probs = np.zeros(legal.shape)
            probs[np.arange(len(a)), a] = 1.0
            return Act(a, probs)

    first, second = _quality(games.load("tic_tac_toe"), Greedy())
    return {
        "algo": "openspiel dqn",
        "game": "tic_tac_toe",
        "env_steps/s": steps / el,
        "updates/s": float("nan"),
        "episodes/s": episodes / el,
        "episodes": episodes,
        "not_lose_first": first,
        "not_lose_second": second,
    }


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="training budget per row")
    ap.add_argument("--algos", default="iql,mappo,vdn,qmix,maddpg")
    args = ap.parse_args(argv)
    rows = []
    try:
        rows.append(openspiel_dqn(args.seconds))
    except ImportError as e:
        print(f"(OpenSpiel DQN skipped: {e}; pip install dm-tree)")
    for algo in args.algos.split(","):
        for spec in ("tic_tac_toe", "matrix:climbing"):
            if algo in ("vdn", "qmix") and spec == "tic_tac_toe":
                continue  # cooperative-only learners
            rows.append(ours(algo, spec, args.seconds))
    base = rows[0]["episodes/s"] if rows and rows[0]["algo"] == "openspiel dqn" else None
    print(
        f"\n{'algorithm':<14} {'game':<16} {'env steps/s':>12} {'updates/s':>10} {'episodes/s':>11} {'vs DQN':>7} {'not lose 1st/2nd':>17}"
    )
    for r in rows:
        ratio = f"{r['episodes/s'] / base:6.1f}x" if base and r["game"] == "tic_tac_toe" else ""
        q = f"{r['not_lose_first']:.3f}/{r['not_lose_second']:.3f}" if "not_lose_first" in r else ""
        print(
            f"{r['algo']:<14} {r['game']:<16} {r['env_steps/s']:>12,.0f} {r['updates/s']:>10.1f} {r['episodes/s']:>11,.0f} {ratio:>7} {q:>17}"
        )
    return rows


if __name__ == "__main__":
    main()
