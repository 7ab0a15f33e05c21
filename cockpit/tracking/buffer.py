"""Metric points held briefly and written in small batches. No thread writes them (SQLite
connections are per thread): every call on the run (log_metric, log_metrics once it holds
all its keys, log_param(s), log_model) writes what is held when 500 points wait or half a
second has passed since the last write, and the run's end writes the rest. A loop that logs
an epoch every few seconds has each epoch's points written at its first call after the
pause (log them with one log_metrics to have them written together); a fast one writes a
batch twice a second. Either way the runs table and the run detail see the curve grow while
the script runs."""

from __future__ import annotations

import time
from collections.abc import Callable

Point = tuple[str, int, float | None]

EVERY_POINTS = 500
EVERY_S = 0.5


class StepBuffer:
    def __init__(
        self,
        write: Callable[[list[Point]], int],
        every_points: int = EVERY_POINTS,
        every_s: float = EVERY_S,
    ) -> None:
        self.write = write
        self.every_points, self.every_s = every_points, every_s
        self.pending: list[Point] = []
        self.next_step: dict[str, int] = {}  # per key: the step a point logged without one gets
        self.last_write = time.monotonic()
        self.written = 0

    def add(self, key: str, step: int | None, value: float | None) -> int:
        """Hold one point (its step: the key's next one when None); returns the step used."""
        if step is None:
            step = self.next_step.get(key, 0)
        self.next_step[key] = max(self.next_step.get(key, 0), step + 1)
        self.pending.append((key, step, value))
        return step

    def tick(self) -> None:
        """Write the held points when enough wait or enough time has passed."""
        if not self.pending:
            return
        now = time.monotonic()
        if len(self.pending) >= self.every_points or now - self.last_write >= self.every_s:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        if self.pending:
            self.written += self.write(self.pending)
            self.pending = []  # kept when the write fails: the next flush tries them again
        self.last_write = time.monotonic() if now is None else now
