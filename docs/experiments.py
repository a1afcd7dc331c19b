"""The tutorial's experiments that have no ``arena`` command of their own.

Run from the repository root (each section takes a few minutes at most on 2 cores)::

    python docs/experiments.py nonstationarity   # section 2: independent learners cycle
    python docs/experiments.py credit            # section 3: IQL vs VDN vs QMIX on matrix games
    python docs/experiments.py scaling           # section 6: cost of more agents

Every section trains with the project's own learners (``agents``) through its
own training loop (``arena.train.train``), prints what it measured and writes
it to ``OUT/SECTION.json`` (default ``runs/tutorial/``), which
``docs/make_figures.py`` turns into the tutorial's figures. ``--tiny`` shrinks
every budget so that ``tests/test_tutorial.py`` runs the whole tutorial in
seconds (the numbers are then meaningless).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ is not an installed package
    sys.path.insert(0, str(ROOT))

import games  # noqa: E402
from games.matrix import MatrixGame, common_payoff, normal_form  # noqa: E402
from games.solvers import nash_gap  # noqa: E402

SECTIONS = ("nonstationarity", "credit", "scaling")


@dataclasses.dataclass(frozen=True)
class Budget:
    """Training budgets of every section (full, or ``--tiny`` for the test)."""

    nonstationarity_steps: int = 40_000
    """Env steps of independent Q-learning per game (one step = one round of the game)."""
    credit_steps: int = 1_000
    """Env steps per (game, algorithm, seed) run: the setting of bench/vd_matrix_table.py."""
    credit_seeds: int = 3
    """Seeds per cell of the credit-assignment table."""
    scaling_coordination_steps: int = 2_000
    """Env steps of IQL/VDN/QMIX per run on the n-player coordination game."""
    scaling_seeds: int = 3
    """Seeds per (n, algorithm) on the coordination game."""
    scaling_rendezvous_steps: int = 20_000
    """Env steps of MADDPG per run on control:rendezvous(players=n)."""
    eval_games: int = 512
    """Episodes used to score a trained rendezvous policy and the random baseline."""


FULL = Budget()
TINY = Budget(
    nonstationarity_steps=512,
    credit_steps=64,
    credit_seeds=1,
    scaling_coordination_steps=128,
    scaling_seeds=1,
    scaling_rendezvous_steps=512,
    eval_games=16,
)


def _torch_one_thread() -> None:
    import torch

    torch.set_num_threads(1)  # small networks: one thread is fastest on 2 shared cores


def _write(out: Path, section: str, data: dict) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{section}.json"
    path.write_text(json.dumps(data, indent=1))
    return path


# ---------------------------------------------------------------------------
# Section 2: non-stationarity


NONSTATIONARITY_GAMES = ("matrix:rock_paper_scissors", "matrix:matching_pennies")

# IQL as an independent learner that tracks its opponent: a small replay
# buffer (the last ~1,000 games), constant epsilon 0.1 and a fast target
# network, so its Q-values follow the opponent's recent play. Each player's
# greedy policy is then a best response to the other's recent behaviour:
# a sampled, sliding-window version of fictitious play (Brown 1951).
TRACKING_IQL = dict(
    hidden=(32, 32),
    lr=2e-3,
    buffer_size=2_000,
    learning_starts=256,
    batch_size=128,
    steps_per_update=8.0,
    target_period=20,
    eps_start=0.1,
    eps_end=0.1,
    eps_decay_steps=1,
)


def greedy_profile(learner, game) -> np.ndarray:
    """``[P, A]``: every seat's greedy policy at the (only) state of a one-shot game."""
    ts = game.vector(1, 0).reset()
    p = game.info.num_players
    act = learner.act(ts.obs[0], ts.legal[0], np.arange(p), np.random.default_rng(0))
    return np.asarray(act.probs, np.float64)


def running_mean(profiles: np.ndarray) -> np.ndarray:
    """``[T, P, A]`` -> the time-averaged profile after each of the ``T`` updates."""
    return np.cumsum(profiles, axis=0) / np.arange(1, len(profiles) + 1)[:, None, None]


def nonstationarity(budget: Budget, seed: int = 0) -> dict:
    """Independent Q-learners in self-play on two zero-sum games whose Nash is mixed.

    Records after every update each player's greedy policy, its running
    average over updates, and the NashConv (:func:`games.solvers.nash_gap`)
    of both profiles.
    """
    from agents.registry import make_learner
    from arena.train import train

    out = {}
    for spec in NONSTATIONARITY_GAMES:
        game = games.load(spec)
        payoffs = game.payoffs[0]
        learner = make_learner("iql", game.info, seed=seed, **TRACKING_IQL)
        steps, profiles = [], []

        def record(m, learner=learner, game=game, steps=steps, profiles=profiles):
            steps.append(m["env_steps"])
            profiles.append(greedy_profile(learner, game))

        t0 = time.monotonic()
        train(
            learner,
            game,
            budget.nonstationarity_steps,
            seed,
            batch=64,
            rollout_len=2,
            on_update=record,
        )
        pol = np.array(profiles)
        avg = running_mean(pol)
        gap = [nash_gap(payoffs, list(x)) for x in pol]
        avg_gap = [nash_gap(payoffs, list(x)) for x in avg]
        out[spec] = {
            "actions": [game.action_name(0, a) for a in range(game.info.num_actions)],
            "steps": steps,
            "policy": pol.tolist(),
            "average": avg.tolist(),
            "nash_gap": gap,
            "average_nash_gap": avg_gap,
            "seconds": time.monotonic() - t0,
        }
        switches = int(np.sum(np.any(pol[1:].argmax(-1) != pol[:-1].argmax(-1), axis=-1)))
        print(
            f"{spec}: {len(steps)} updates, {switches} changes of a greedy action; "
            f"NashConv of the current policies {np.mean(gap[len(gap) // 2 :]):.3f} "
            f"(mean over the second half), of the time-averaged policies {avg_gap[-1]:.3f} at the end; "
            f"time-average {np.round(avg[-1], 3).tolist()}"
        )
    return out


# ---------------------------------------------------------------------------
# Section 3: credit assignment


def additive_fit(q: np.ndarray) -> np.ndarray:
    """Least-squares fit of ``q [A, A]`` by ``q1(a) + q2(b)`` under uniform weights.

    What VDN can represent (Sunehag et al. 2018): the fit is the row mean plus
    the column mean minus the grand mean.
    """
    q = np.asarray(q, np.float64)
    return q.mean(1)[:, None] + q.mean(0)[None, :] - q.mean()


def monotonic_fits(q: np.ndarray) -> list[dict]:
    """Least-squares fits of ``q [A, B]`` by functions monotonic in each agent's utility.

    QMIX's ``Q_tot = f(q1(a), q2(b))`` with ``f`` nondecreasing in each
    argument (Rashid et al. 2018) can represent exactly the tables that are
    nondecreasing along some ordering of the rows and some ordering of the
    columns. For every pair of orderings this solves that isotonic
    least-squares problem (SLSQP; 9 unknowns for 3x3); this is the projection
    that Weighted QMIX (Rashid et al. 2020) analyses, here under uniform
    weights (the data of uniform exploration).

    Returns:
        The distinct fits, best first: ``fit``, ``squared_error`` and
        ``greedy``, the joint action ``[a, b]`` that is the fit's unique
        maximum, or None when the maximum is tied (the greedy joint action is
        then arbitrary).
    """
    from scipy.optimize import minimize

    q = np.asarray(q, np.float64)
    m, n = q.shape

    def at(x, i, j):
        return x.reshape(m, n)[i, j]

    fits = {}
    for rows in itertools.permutations(range(m)):
        for cols in itertools.permutations(range(n)):
            cons = []
            for lo, hi in zip(rows, rows[1:]):
                for j in range(n):
                    cons.append(
                        {
                            "type": "ineq",
                            "fun": lambda x, lo=lo, hi=hi, j=j: at(x, hi, j) - at(x, lo, j),
                        }
                    )
            for lo, hi in zip(cols, cols[1:]):
                for i in range(m):
                    cons.append(
                        {
                            "type": "ineq",
                            "fun": lambda x, lo=lo, hi=hi, i=i: at(x, i, hi) - at(x, i, lo),
                        }
                    )
            res = minimize(
                lambda x: float(((x - q.ravel()) ** 2).sum()),
                np.zeros(m * n),
                jac=lambda x: 2.0 * (x - q.ravel()),
                constraints=cons,
                method="SLSQP",
                options={"ftol": 1e-12, "maxiter": 500},
            )
            fit = np.round(res.x.reshape(m, n), 4)
            key = fit.tobytes()
            if key in fits:
                continue
            top = np.flatnonzero(fit.ravel() >= fit.max() - 1e-3)
            fits[key] = {
                "fit": fit.tolist(),
                "squared_error": float(((fit - q) ** 2).sum()),
                "greedy": [int(top[0] // n), int(top[0] % n)] if len(top) == 1 else None,
            }
    return sorted(fits.values(), key=lambda f: f["squared_error"])


def credit(budget: Budget) -> dict:
    """Where IQL, VDN and QMIX settle on the cooperative matrix games of bench/vd_matrix_table.py."""
    from bench import vd_matrix_table as vd

    runs = []
    t0 = time.monotonic()
    for proto in ("uniform", "annealed"):
        for spec in vd.GAMES:
            for alg in vd.ALGORITHMS:
                for seed in range(budget.credit_seeds):
                    value, joint = vd.settle(alg, spec, seed, proto, steps=budget.credit_steps)
                    runs.append(
                        {
                            "protocol": proto,
                            "game": spec,
                            "algorithm": alg,
                            "seed": seed,
                            "return": value,
                            "joint_action": joint,
                        }
                    )
    optimum = {}
    for spec in vd.GAMES:
        game = games.load(spec)
        optimum[spec] = 8.0 if "two_step" in spec else float(game.payoffs[0][0].max())
    for proto in ("uniform", "annealed"):
        print(
            f"\nexploration: {proto}; seeds 0-{budget.credit_seeds - 1}; cell: joint action (return) x seeds"
        )
        print("| game | optimum | " + " | ".join(vd.ALGORITHMS) + " |")
        print("|---|---|" + "---|" * len(vd.ALGORITHMS))
        for spec in vd.GAMES:
            cells = []
            for alg in vd.ALGORITHMS:
                got = [
                    r
                    for r in runs
                    if (r["protocol"], r["game"], r["algorithm"]) == (proto, spec, alg)
                ]
                labels = [
                    f"{r['return']:g}"
                    if "two_step" in spec
                    else f"({r['joint_action']}) {r['return']:g}"
                    for r in got
                ]
                cells.append(", ".join(f"{k} x{labels.count(k)}" for k in dict.fromkeys(labels)))
            print(
                f"| {spec.removeprefix('matrix:')} | {optimum[spec]:g} | "
                + " | ".join(cells)
                + " |"
            )
    q = games.load("matrix:nonmonotonic").payoffs[0][0]
    add = additive_fit(q)
    mono = monotonic_fits(q)
    names = "abc"
    print("\nnonmonotonic: the best additive (VDN) fit under uniform data")
    print(np.round(add, 2))
    best = [
        f"({names[i // 3]},{names[i % 3]})" for i in np.flatnonzero(add.ravel() >= add.max() - 1e-9)
    ]
    print(
        f"  greedy joint action(s) {', '.join(best)}, worth 0 in the game; the optimum (a,a) is worth 8"
    )
    keeps = next(f for f in mono if f["greedy"] == [0, 0])
    loses = next(f for f in mono if f["greedy"] != [0, 0])
    print("best monotonic (QMIX) fit that keeps (a,a) as its greedy joint action:")
    print(f"  squared error {keeps['squared_error']:.1f}: {np.round(keeps['fit'], 1).tolist()}")
    g = loses["greedy"]
    where = f"({names[g[0]]},{names[g[1]]})" if g else "tied"
    print(f"best monotonic fit that does not (greedy {where}):")
    print(f"  squared error {loses['squared_error']:.1f}: {np.round(loses['fit'], 1).tolist()}")
    return {
        "runs": runs,
        "optimum": optimum,
        "games": list(vd.GAMES),
        "algorithms": list(vd.ALGORITHMS),
        "steps": budget.credit_steps,
        "seeds": budget.credit_seeds,
        "nonmonotonic": {
            "payoff": q.tolist(),
            "additive_fit": add.tolist(),
            "monotonic_keeps_optimum": keeps,
            "monotonic_loses_optimum": loses,
        },
        "seconds": time.monotonic() - t0,
    }


# ---------------------------------------------------------------------------
# Section 6: scaling


SCALING_PLAYERS = (2, 3, 5)
SCALING_VALUE_ALGORITHMS = ("iql", "vdn", "qmix")
COORDINATION_ACTIONS = 3


def coordination(num_players: int, num_actions: int = COORDINATION_ACTIONS) -> MatrixGame:
    """Everyone gets 1 when all ``num_players`` pick the same action, else 0.

    The n-player pure coordination game (Schelling 1960; Lewis 1969); the
    catalog's ``pure_coordination`` is its two-player case.
    """
    table = np.zeros((num_actions,) * num_players)
    for a in range(num_actions):
        table[(a,) * num_players] = 1.0
    return normal_form(
        common_payoff(table, num_players), name=f"coordination({num_players} players)"
    )


def _input_size(module) -> int:
    """Inputs of a network's first linear layer (what a critic sees)."""
    from torch import nn

    return int(next(m for m in module.modules() if isinstance(m, nn.Linear)).in_features)


def _parameters(*modules) -> int:
    return int(sum(p.numel() for m in modules if m is not None for p in m.parameters()))


def scaling(budget: Budget) -> dict:
    """How the joint action space, network sizes, wall-clock and sample cost grow with the number of agents."""
    from agents.baselines import random_policy
    from agents.registry import make_learner
    from arena.rollout import play
    from arena.train import train
    from bench.vd_matrix_table import MATRIX

    coord = []
    for n in SCALING_PLAYERS:
        game = coordination(n)
        for alg in SCALING_VALUE_ALGORITHMS:
            for seed in range(budget.scaling_seeds):
                learner = make_learner(
                    alg,
                    game.info,
                    seed,
                    **MATRIX,
                    eps_decay_steps=int(0.75 * budget.scaling_coordination_steps),
                )
                t0 = time.monotonic()
                train(
                    learner, game, budget.scaling_coordination_steps, seed, batch=64, rollout_len=1
                )
                seconds = time.monotonic() - t0
                joint = greedy_profile(learner, game).argmax(-1)
                coord.append(
                    {
                        "players": n,
                        "algorithm": alg,
                        "seed": seed,
                        "joint_actions": COORDINATION_ACTIONS**n,
                        "parameters": _parameters(learner.q, learner.mixer),
                        "seconds_per_1k_steps": 1000.0
                        * seconds
                        / budget.scaling_coordination_steps,
                        "coordinated": bool(np.all(joint == joint[0])),
                    }
                )
    print(
        "n-player coordination game (3 actions each), "
        f"{budget.scaling_coordination_steps} env steps, seeds 0-{budget.scaling_seeds - 1}:"
    )
    print("| players | joint actions | algorithm | parameters | s per 1k env steps | coordinated |")
    print("|---|---|---|---|---|---|")
    for n in SCALING_PLAYERS:
        for alg in SCALING_VALUE_ALGORITHMS:
            rows = [r for r in coord if r["players"] == n and r["algorithm"] == alg]
            print(
                f"| {n} | {COORDINATION_ACTIONS**n} | {alg} | {rows[0]['parameters']:,} | "
                f"{np.mean([r['seconds_per_1k_steps'] for r in rows]):.2f} | "
                f"{sum(r['coordinated'] for r in rows)}/{len(rows)} |"
            )

    rendezvous = []
    for n in SCALING_PLAYERS:
        spec = f"control:rendezvous(players={n})"
        game = games.load(spec)
        learner = make_learner("maddpg", game.info, 0, batch_size=128, replay_ratio=8.0)
        t0 = time.monotonic()
        hist = train(learner, game, budget.scaling_rendezvous_steps, 0, batch=64, rollout_len=16)
        seconds = time.monotonic() - t0
        random_ret = float(
            play(game, [random_policy(game.info)], budget.eval_games, seed=123).mean_returns()[0]
        )
        learned = float(
            play(game, [learner.freeze()], budget.eval_games, seed=123).mean_returns()[0]
        )
        rendezvous.append(
            {
                "players": n,
                "spec": spec,
                "critic_input": _input_size(learner.critic),
                "actor_parameters": _parameters(learner.actor),
                "critic_parameters": _parameters(learner.critic),
                "steps": [m["env_steps"] for m in hist if "return" in m],
                "returns": [m["return"] for m in hist if "return" in m],
                "random_return": random_ret,
                "learned_return": learned,
                "distance_removed": 1.0 - learned / random_ret,
                "seconds_per_1k_steps": 1000.0 * seconds / budget.scaling_rendezvous_steps,
            }
        )
    print(
        f"\ncontrol:rendezvous(players=n), MADDPG, {budget.scaling_rendezvous_steps} env steps, seed 0 "
        f"(return: minus the mean pairwise distance summed over 10 rounds; {budget.eval_games} episodes):"
    )
    print(
        "| players | critic input | critic parameters | s per 1k env steps | random return | learned return | distance removed |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rendezvous:
        print(
            f"| {r['players']} | {r['critic_input']} | {r['critic_parameters']:,} | {r['seconds_per_1k_steps']:.2f} | "
            f"{r['random_return']:.2f} | {r['learned_return']:.2f} | {100 * r['distance_removed']:.0f}% |"
        )
    return {"coordination": coord, "rendezvous": rendezvous}


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("section", choices=SECTIONS)
    ap.add_argument("--out", default="runs/tutorial", help="folder for SECTION.json")
    ap.add_argument(
        "--tiny", action="store_true", help="tiny budgets (for tests; the numbers mean nothing)"
    )
    args = ap.parse_args(argv)
    _torch_one_thread()
    budget = TINY if args.tiny else FULL
    t0 = time.monotonic()
    data = {"nonstationarity": nonstationarity, "credit": credit, "scaling": scaling}[args.section](
        budget
    )
    data["budget"] = dataclasses.asdict(budget)
    path = _write(Path(args.out), args.section, data)
    print(f"\nwrote {path} ({time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
