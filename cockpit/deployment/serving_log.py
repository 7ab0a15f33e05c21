"""The prediction service's request log: every request (one row per scored row) is queued
by the server and written to the `requests` table in batches by a background thread with
its own workspace connection, on an interval or when enough rows wait, and drained on
shutdown, so nothing is lost and answering never waits for the disk."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock
from storage.store import create_private_file

log = logging.getLogger("cockpit.serve")

COLUMNS = (
    "project_id",
    "request_id",
    "at",
    "status",
    "entity",
    "model_version",
    "route",
    "latency_ms",
    "prediction",
    "score",
    "error",
    "shadow_version",
    "shadow_prediction",
    "shadow_score",
    "shadow_error",
    "warnings",
)
TEXT = {"entity", "route", "prediction", "error", "shadow_prediction", "shadow_error", "warnings"}
INSERT = f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
_STOP = object()


class RequestLog:
    """Queue rows from any thread with `put`; a flusher thread writes them in batches."""

    def __init__(self, dot_dir: Path, interval: float = 0.5, batch: int = 200) -> None:
        self.dot_dir, self.interval, self.batch = Path(dot_dir), interval, batch
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.written = 0
        self._ws: Workspace | None = None
        self._thread = threading.Thread(target=self._run, name="cockpit-request-log", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def pending(self) -> int:
        """Rows queued and not yet picked up by the flusher."""
        return self.queue.qsize()

    def put(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.queue.put(row)

    def close(self, timeout: float = 60.0) -> None:
        """Write everything queued so far, then stop the thread."""
        self.queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        pending: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.interval
        try:
            while True:
                try:
                    item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    item = None
                stopping = item is _STOP
                if item is not None and not stopping:
                    pending.append(item)
                due = time.monotonic() >= deadline
                if pending and (stopping or due or len(pending) >= self.batch):
                    pending = self._write(pending, final=stopping)
                if due:
                    deadline = time.monotonic() + self.interval
                if stopping:
                    return
        finally:
            if self._ws is not None:
                self._ws.close()

    def _write(self, rows: list[dict[str, Any]], final: bool) -> list[dict]:
        """Write rows in one transaction; returns what is still unwritten (kept for retry)."""
        for attempt in range(5 if final else 1):
            try:
                if self._ws is None:  # opened here: SQLite connections stay in their thread
                    self._ws = Workspace(self.dot_dir)
                redact = self._ws.store.redact
                values = [
                    [
                        redact(str(row[c])) if c in TEXT and row.get(c) is not None else row.get(c)
                        for c in COLUMNS
                    ]
                    for row in rows
                ]
                with self._ws.store.transaction():
                    self._ws.store.conn.executemany(INSERT, values)
                self.written += len(rows)
                return []
            except Exception:
                log.exception("could not write %d request log rows (attempt %d)", len(rows), attempt + 1)
                if final:
                    time.sleep(0.2 * (attempt + 1))
        if final:  # the last resort: never drop them silently
            spill = self.dot_dir / "logs" / f"requests-unwritten-{int(time.time())}.jsonl"
            try:
                # the workspace's file mode: 0600, or 0660 when it is shared with a group
                create_private_file(spill, *([self._ws.artifacts.file_mode] if self._ws else []))
                with open(spill, "a", encoding="utf-8") as out:
                    out.writelines(json.dumps(row, default=str) + "\n" for row in rows)
                log.error("%d request log rows written to %s instead", len(rows), spill)
            except OSError:
                log.exception("%d request log rows could not be written anywhere", len(rows))
            return []
        return rows


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return round(sorted_values[index], 2)


@dataclass(frozen=True, slots=True)
class ServiceStats:
    """What the request log says about the service since a moment."""

    requests: int
    rows: int  # rows answered (a request may carry many)
    errors: int  # requests that did not answer 200
    fallback_rows: int
    warned_rows: int  # rows answered with a training-domain warning
    routes: dict[str, int]  # rows per route
    p50_ms: float | None  # request latency; None when nothing was logged
    p95_ms: float | None
    since: str | None
    at: str

    def as_dict(self) -> dict[str, Any]:
        """As /health reports it under "log"."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def service_stats(
    ws: Workspace, project: Project, since: str | None = None, limit: int = 20_000
) -> ServiceStats:
    """Requests, errors, routes, rows answered with training-domain warnings and latency
    percentiles from the log (the latest `limit` rows since `since`): what /health and the
    deployment screen show."""
    rows = ws.store.rows(
        "SELECT request_id, status, route, latency_ms, error, warnings FROM requests "
        "WHERE project_id = ? AND at >= ? ORDER BY id DESC LIMIT ?",
        [project.id, since or "", limit],
    )
    latencies: dict[str, float] = {}
    failed: set[str] = set()
    routes: dict[str, int] = {}
    warned = 0
    for row in rows:
        latencies[row["request_id"]] = row["latency_ms"] or 0.0
        warned += row["warnings"] is not None
        if row["status"] != 200:
            failed.add(row["request_id"])
        if row["route"]:
            routes[row["route"]] = routes.get(row["route"], 0) + 1
    ordered = sorted(latencies.values())
    return ServiceStats(
        requests=len(latencies),
        rows=len(rows),
        errors=len(failed),
        fallback_rows=routes.get("fallback", 0),
        warned_rows=warned,
        routes=routes,
        p50_ms=_percentile(ordered, 0.50),
        p95_ms=_percentile(ordered, 0.95),
        since=since,
        at=clock.now_iso(),
    )


def recent_service_stats(ws: Workspace, project: Project, hours: float = 24) -> ServiceStats:
    """`service_stats` over the last `hours` (the deployment screen's service line)."""
    since = (clock.now() - timedelta(hours=hours)).isoformat(timespec="seconds")
    return service_stats(ws, project, since=since)
