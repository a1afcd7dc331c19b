"""Training metrics a researcher can read: a CSV and TensorBoard event files beside the run.

``arena train`` writes into its checkpoint folder, ``arena league run`` into
``<db stem>_metrics/`` beside the store. Both hold:

* ``metrics.csv``: one row per scalar, long format, appended as the run goes
  (a resumed league appends to the same file):
  ``step,wall_s,name,value`` where ``step`` is learner env steps (the league
  clock for leagues), ``wall_s`` seconds since this process started the run,
  ``name`` a ``/``-separated tag (``main/exploitability``,
  ``main/loss_actor``, ``meta_nash/exploitability``, ``main/return_vs/random``)
  and ``value`` the number;
* TensorBoard event files (``torch.utils.tensorboard.SummaryWriter``, the
  ``tensorboard`` package) with the same tags:
  ``tensorboard --logdir <folder>``.

The CSV is derived data: the league store stays the record (a row lost to a
kill between a round's commit and its CSV line is still in the store's
evaluations and ratings).
"""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path

CSV_NAME = "metrics.csv"
HEADER = ("step", "wall_s", "name", "value")


class MetricsLog:
    """Appends scalars to ``folder/metrics.csv`` and to TensorBoard event files in ``folder``."""

    def __init__(self, folder: str | os.PathLike, tensorboard: bool = True):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / CSV_NAME
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._file = open(self.path, "a", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file)
        if new:
            self._csv.writerow(HEADER)
        self._t0 = time.monotonic()
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # the tensorboard package is missing: the CSV alone
                self._tb = None
            else:
                self._tb = SummaryWriter(str(self.folder))

    def add(self, step: int, scalars: dict[str, float]) -> None:
        """Log ``scalars`` (finite numbers only; others are skipped) at ``step``."""
        wall = round(time.monotonic() - self._t0, 3)
        for name, value in scalars.items():
            if value is None or isinstance(value, bool):
                continue
            try:
                v = float(value)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(v):
                continue
            self._csv.writerow((int(step), wall, name, repr(v)))
            if self._tb is not None:
                self._tb.add_scalar(name, v, int(step))
        self._file.flush()

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_csv(path: str | os.PathLike) -> list[tuple[int, float, str, float]]:
    """The rows of a ``metrics.csv`` as ``(step, wall_s, name, value)``."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or tuple(rows[0]) != HEADER:
        raise ValueError(f"{path}: not a metrics.csv (header {rows[:1]})")
    return [(int(r[0]), float(r[1]), r[2], float(r[3])) for r in rows[1:]]


def round_scalars(name: str, metrics: dict, win_rate: float | None = None) -> dict[str, float]:
    """A learner's per-round scalars: its update metrics, under ``name/``."""
    out = {f"{name}/{k}": v for k, v in metrics.items() if isinstance(v, (int, float))}
    if win_rate is not None:
        out[f"{name}/win_rate"] = win_rate
    return out


def record_scalars(rec) -> dict[str, float]:
    """Scalars of a population evaluation (:class:`arena.evaluation.record.PopulationEvaluation`).

    Each learner's exploitability and NashConv (tagged ``_lower_bound`` when an
    exploiter bound), its return against each reference, and the frozen
    meta-Nash mixture's exploitability.
    """
    out: dict[str, float] = {}

    def gap(prefix: str, g) -> None:
        if g.nash_conv is None:
            return
        suffix = "" if g.method == "exact" else "_lower_bound"
        out[f"{prefix}/nash_conv{suffix}"] = g.nash_conv
        if g.exploitability is not None:
            out[f"{prefix}/exploitability{suffix}"] = g.exploitability

    refs = [i for i, k in enumerate(rec.member_kinds) if k == "reference"]
    for row in rec.learners:
        gap(row.name, row.gap)
        for i in refs:
            if i < len(row.returns) and row.returns[i] is not None:
                out[f"{row.name}/return_vs/{rec.members[i]}"] = row.returns[i]
    gap("meta_nash", rec.meta_nash_gap)
    return out
