"""Metric steps a run logs while it trains (a loss per epoch, a score per boosting round),
appended in small batches so the runs table and the run detail show them live."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from cockpit.errors import CockpitError
from cockpit.workspace import Workspace
from storage import clock


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """One logged metric's points, in step order."""

    key: str
    steps: list[int]
    values: list[float | None]

    @property
    def last(self) -> float | None:
        return self.values[-1] if self.values else None


def check_key(key: str) -> str:
    """A metric name as logged: non-empty text without control characters."""
    if not isinstance(key, str) or not key.strip() or any(ord(c) < 32 for c in key):
        raise CockpitError(f"metric name {key!r}: give non-empty text")
    return key.strip()


def append_steps(ws: Workspace, run_id: int, points: Iterable[tuple[str, int, float | None]]) -> int:
    """Append (key, step, value) points to a run in one transaction; NaN and inf are kept as
    missing (None). Returns how many were written."""
    at = clock.now_iso()
    rows = [
        (run_id, key, int(step), float(value) if value is not None and math.isfinite(value) else None, at)
        for key, step, value in points
    ]
    if not rows:
        return 0
    with ws.store.transaction():
        ws.store.conn.executemany(
            "INSERT INTO run_steps (run_id, key, step, value, logged_at) VALUES (?, ?, ?, ?, ?)", rows
        )
    return len(rows)


def metric_series(ws: Workspace, run_id: int) -> list[MetricSeries]:
    """Every metric the run logged by step, keys in the order first logged."""
    series: dict[str, MetricSeries] = {}
    for row in ws.store.rows("SELECT key, step, value FROM run_steps WHERE run_id = ? ORDER BY id", [run_id]):
        entry = series.setdefault(row["key"], MetricSeries(row["key"], [], []))
        entry.steps.append(row["step"])
        entry.values.append(row["value"])
    for entry in series.values():
        order = sorted(range(len(entry.steps)), key=entry.steps.__getitem__)
        entry.steps[:] = [entry.steps[i] for i in order]
        entry.values[:] = [entry.values[i] for i in order]
    return list(series.values())


def step_counts(ws: Workspace, run_ids: list[int]) -> dict[int, int]:
    """How many points each run has logged (for the runs table's live column)."""
    if not run_ids:
        return {}
    marks = ",".join("?" * len(run_ids))
    rows = ws.store.rows(
        f"SELECT run_id, COUNT(*) AS n FROM run_steps WHERE run_id IN ({marks}) GROUP BY run_id", run_ids
    )
    return {r["run_id"]: r["n"] for r in rows}
