"""Progress output: a rich progress bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time


class Progress:
    """Reports ``done / total`` with named fields (steps/s, pool size, Elo...).

    On a terminal it draws a rich progress bar; when output is redirected it
    prints one plain line at most every ``every`` seconds, plus the last one.
    """

    def __init__(
        self, total: float, description: str, quiet: bool = False, every: float = 5.0, stream=None
    ):
        self.total = total
        self.description = description
        self.quiet = quiet
        self.every = every
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self._last_print = -1e9
        self._bar = None
        self._task = None
        self.done = 0.0
        self.fields: dict[str, object] = {}
        if not quiet and self.stream.isatty():
            from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[info]}"),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(description, total=total, info="")

    def _info(self) -> str:
        return "  ".join(f"{k} {_fmt(v)}" for k, v in self.fields.items())

    def update(self, done: float, force: bool = False, **fields) -> None:
        """Set the progress and fields; ``force`` prints a plain line now (a slow phase begins)."""
        self.done = done
        self.fields.update(fields)
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=min(done, self.total), info=self._info())
            return
        now = time.monotonic()
        if force or now - self._last_print >= self.every:
            self._last_print = now
            self._line()
            self._printed = done

    def _line(self) -> None:
        pct = min(100.0, 100.0 * self.done / self.total) if self.total else 100.0
        el = time.monotonic() - self.start
        print(
            f"[{self.description}] {pct:5.1f}% {el:6.1f}s  {self._info()}",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif not self.quiet and getattr(self, "_printed", None) != self.done:
            self._line()


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)
