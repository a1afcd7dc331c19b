"""Peak memory of a league run over time: does RSS stay flat after warm-up?

    python bench/memory.py [--minutes 10] [--interval 1.0] [--game tic_tac_toe]

Runs ``arena league run`` in a child process for ``--minutes`` (a tic-tac-toe
league: a MAPPO main agent with PFSP, a snapshot every 2,048 steps into a
pool of 8 with eviction, evaluation matches for every snapshot and a
population evaluation every 20,000 steps) and samples the child's resident
set size from ``/proc/PID/status`` (``VmRSS``, and ``VmHWM`` for the peak)
every ``--interval`` seconds. No psutil, no resource module.

Verdict: the first 25% of the run is warm-up (imports, the first snapshots,
the pool filling up); after it, RSS is *flat* if it grows by less than 5%
(or 16 MB, whichever is larger) between the median of the first and of the
last tenth of the remaining samples. The least-squares slope (MB/min) is
printed with it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIG = """
[league]
name = "memory"
game = "{game}"
seed = 0
steps = 1000000000
batch = 64
rollout_len = 16
round_steps = 2048

[[learner]]
name = "main"
algorithm = "mappo"
matchmaking = "pfsp"

[snapshots]
every_steps = 2048
capacity = 8

[evaluation]
games_per_pair = 64
every_steps = 20000

[[reference]]
name = "random"
policy = "random"
"""


def read_status(pid: int) -> tuple[float, float] | None:
    """``(VmRSS, VmHWM)`` of ``pid`` in MB, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    vals = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            vals[key] = float(rest.split()[0]) / 1024.0
    if "VmRSS" not in vals:
        return None  # a zombie: exited, not yet reaped
    return vals["VmRSS"], vals.get("VmHWM", vals["VmRSS"])


def flatness(t: np.ndarray, rss: np.ndarray, warmup: float = 0.25) -> dict:
    """Growth after warm-up: ``{start_mb, end_mb, growth_mb, slope_mb_per_min, flat}``."""
    keep = t >= t[-1] * warmup
    tt, rr = t[keep], rss[keep]
    k = max(1, len(rr) // 10)
    start, end = float(np.median(rr[:k])), float(np.median(rr[-k:]))
    slope = float(np.polyfit(tt / 60.0, rr, 1)[0]) if len(rr) > 2 else 0.0
    growth = end - start
    return dict(
        start_mb=start,
        end_mb=end,
        growth_mb=growth,
        slope_mb_per_min=slope,
        flat=bool(growth < max(0.05 * start, 16.0)),
    )


def run(
    minutes: float = 10.0,
    interval: float = 1.0,
    game: str = "tic_tac_toe",
    workdir: str | None = None,
) -> dict:
    """Run the league and sample it; returns the samples, the verdict and the league's size."""
    work = Path(workdir or tempfile.mkdtemp(prefix="arena-memory-"))
    cfg = work / "memory.toml"
    cfg.write_text(CONFIG.format(game=game))
    db = work / "memory.db"
    cmd = [
        sys.executable,
        "-m",
        "arena.cli",
        "league",
        "run",
        str(cfg),
        "--db",
        str(db),
        "--minutes",
        str(minutes),
        "--quiet",
        "--no-report",
    ]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.monotonic()
    child = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    times, rss, peak = [], [], 0.0
    while child.poll() is None:
        s = read_status(child.pid)
        if s is not None:
            times.append(time.monotonic() - t0)
            rss.append(s[0])
            peak = max(peak, s[1])
        time.sleep(interval)
    err = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if child.returncode != 0:
        raise RuntimeError(f"league run failed ({child.returncode}): {err.strip()[-500:]}")
    out = dict(
        times=np.array(times), rss=np.array(rss), peak_mb=peak, seconds=time.monotonic() - t0
    )
    out.update(flatness(out["times"], out["rss"]))
    from leagues.store import Store

    store = Store.open(db, readonly=True)
    try:
        out["members"] = len(store.members())
        out["matches"] = len(store.matches())
        state = store.learner_state("main")
        out["steps"] = int(state.counters["step"]) if state is not None else 0
    finally:
        store.close()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--game", default="tic_tac_toe")
    args = ap.parse_args(argv)
    r = run(args.minutes, args.interval, args.game)
    print(
        f"league on {args.game}: {r['seconds']:.0f} s, {r['steps']:,} learner steps, {r['members']} members, {r['matches']:,} matches"
    )
    t, m = r["times"], r["rss"]
    for q in np.linspace(0, len(t) - 1, min(11, len(t))).astype(int):
        print(f"  t={t[q]:7.1f} s  RSS {m[q]:8.1f} MB")
    print(
        f"peak {r['peak_mb']:.1f} MB; after warm-up {r['start_mb']:.1f} -> {r['end_mb']:.1f} MB "
        f"({r['growth_mb']:+.1f} MB, slope {r['slope_mb_per_min']:+.2f} MB/min): {'flat' if r['flat'] else 'GROWING'}"
    )


if __name__ == "__main__":
    main()
