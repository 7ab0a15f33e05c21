"""The prediction service's request log. Every answered request (one row per scored row) is
queued by the server and written to the `requests` table in batches by a background thread
with its own workspace connection, on an interval or when enough rows wait, and drained on
shutdown, so answering never waits for the disk. Requests that are not answers (refused for
the token, aborted by the client) are only counted, per minute and kind, in `request_counts`:
no client can grow the store by one row per request.

When the store cannot be written (a full disk), rows are held and retried; past `hold` rows,
and at shutdown, they are written to logs/requests-unwritten-*.jsonl; rows that cannot be
written there either are counted as lost and said so, never dropped silently. `pending` is
every row not yet written anywhere."""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock, faults
from storage.store import create_private_file

if TYPE_CHECKING:
    import pandas as pd

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
COUNT = (
    "INSERT INTO request_counts (project_id, minute, kind, requests) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (project_id, minute, kind) DO UPDATE SET requests = requests + excluded.requests"
)
KINDS = ("refused", "aborted")
HOLD = 50_000  # rows held in memory while the store cannot be written, before spilling
PRUNE_EVERY = 3600.0  # seconds between two retention passes
_STOP = object()


class RequestLog:
    """Queue rows from any thread with `put`, count refused and aborted requests with `count`;
    a flusher thread writes them in batches."""

    def __init__(
        self,
        dot_dir: Path,
        interval: float = 0.5,
        batch: int = 200,
        hold: int = HOLD,
        retention: tuple[Project, int] | None = None,
    ) -> None:
        self.dot_dir, self.interval, self.batch, self.hold = Path(dot_dir), interval, batch, hold
        self.retention = retention  # (project, keep_days): rows older are pruned at start, then hourly
        self._next_prune = 0.0
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.written = self.spilled = self.lost = 0
        self.counts_spilled = self.counts_lost = 0  # refused / aborted requests not in the store
        self.held = 0  # rows taken from the queue and not yet written anywhere
        self.failing: str | None = None  # why the last write to the store failed, while it fails
        self.counted: Counter[str] = Counter()  # refused / aborted requests since start
        self._counts: Counter[tuple[int, str, str]] = Counter()  # (project, minute, kind) to write
        self._lock = threading.Lock()
        self._wake = threading.Event()  # set when a batch is full or at close: write now
        self._closed = False
        self._ws: Workspace | None = None
        self._thread = threading.Thread(target=self._run, name="cockpit-request-log", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def pending(self) -> int:
        """Rows not yet written anywhere: queued, or held while the store cannot be written."""
        return self.queue.qsize() + self.held

    def put(self, rows: list[dict[str, Any]]) -> None:
        """Queue rows; the flusher is woken only when a batch is full (waking it for every
        request would make the request's thread hand over the GIL, a wait for a core on a
        loaded machine), else it takes them at its interval."""
        for row in rows:
            self.queue.put(row)
        if self.queue.qsize() >= self.batch:
            self._wake.set()

    def count(self, project_id: int, kind: str) -> None:
        """One refused or aborted request, counted in its minute (no row of its own)."""
        assert kind in KINDS
        with self._lock:
            self.counted[kind] += 1
            self._counts[(project_id, clock.now_iso()[:16], kind)] += 1
            late = self._closed
        if late:  # a request cancelled as the service stopped: written now, not left in memory
            self._write_late()

    def close(self, timeout: float = 60.0) -> None:
        """Write everything queued so far, then stop the thread; counts made meanwhile or
        later are written from here (or spilled), never left in memory."""
        self.queue.put(_STOP)
        self._wake.set()
        self._thread.join(timeout)
        with self._lock:
            self._closed = True
        self._write_late()

    def _write_late(self) -> None:
        """Counts the flusher thread did not take, written from this thread."""
        with self._lock:
            if not self._counts or self._thread.is_alive():
                return
        self._ws = None  # the flusher's connection is closed and not this thread's
        try:
            self._write([], final=True)
        finally:
            if self._ws is not None:
                self._ws.close()
                self._ws = None

    def _run(self) -> None:
        pending: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.interval
        try:
            while True:
                self._wake.wait(max(0.0, deadline - time.monotonic()))
                self._wake.clear()
                stopping = False
                while not stopping:  # everything queued so far
                    try:
                        item = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    stopping = item is _STOP
                    if not stopping:
                        pending.append(item)
                        self.held += 1
                due = time.monotonic() >= deadline
                if self.retention is not None and time.monotonic() >= self._next_prune:
                    self._prune()
                full = len(pending) >= self.batch and self.failing is None  # failing: retry when due
                if (pending or self._counts) and (stopping or due or full):
                    pending = self._write(pending, final=stopping)
                    if len(pending) > self.hold:
                        pending = self._spill(pending)
                if due:
                    deadline = time.monotonic() + self.interval
                if stopping:
                    return
        finally:
            if self._ws is not None:
                self._ws.close()

    def _prune(self) -> None:
        assert self.retention is not None
        self._next_prune = time.monotonic() + PRUNE_EVERY
        try:
            if self._ws is None:
                self._ws = Workspace(self.dot_dir)
            removed = prune_request_log(self._ws, *self.retention)
            if removed:
                log.warning(
                    "request log retention: %d rows older than %d days removed", removed, self.retention[1]
                )
        except Exception as exc:  # retried next hour; serving goes on
            log.error("request log retention failed: %s", exc)

    def _write(self, rows: list[dict[str, Any]], final: bool) -> list[dict]:
        """Write rows and counts in one transaction; returns the rows still unwritten (held
        for the next try; at shutdown, spilled to a file)."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        for attempt in range(5 if final else 1):
            try:
                faults.disk_full("request-log")
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
                    self._ws.store.conn.executemany(COUNT, [(*key, n) for key, n in counts.items()])
                self.written += len(rows)
                self.held -= len(rows)
                self.failing = None
                return []
            except Exception as exc:
                if self.failing is None or final:  # once while it lasts, not every half second
                    log.error("could not write %d request log rows (try %d): %s", len(rows), attempt + 1, exc)
                self.failing = f"{type(exc).__name__}: {exc}"[:300]
                if final:
                    time.sleep(0.2 * (attempt + 1))
        if final:  # rows and counts go to the unwritten file
            return self._spill(rows, counts)
        with self._lock:  # counts are kept for the next try
            self._counts.update(counts)
        return rows

    def _spill(self, rows: list[dict[str, Any]], counts: Counter | None = None) -> list[dict]:
        """The last resort, rows written to logs/requests-unwritten-*.jsonl (and, at stop, the
        refused / aborted counts, one line each: {"request_counts": {...}}); when that fails
        too (the disk is full), no empty file is left and the rows are counted as lost."""
        counts = counts or Counter()
        counted = sum(counts.values())
        lines = [
            {"request_counts": {"project_id": p, "minute": minute, "kind": kind, "requests": n}}
            for (p, minute, kind), n in counts.items()
        ]
        if not rows and not lines:
            return []
        spill = self.dot_dir / "logs" / f"requests-unwritten-{int(time.time())}-{os.getpid()}.jsonl"
        existed = spill.exists()
        try:
            faults.disk_full("request-log-spill")
            # the workspace's file mode: 0600, or 0660 when it is shared with a group
            create_private_file(spill, *([self._ws.artifacts.file_mode] if self._ws else []))
            with open(spill, "a", encoding="utf-8") as out:
                out.writelines(json.dumps(row, default=str) + "\n" for row in [*rows, *lines])
                out.flush()
                os.fsync(out.fileno())
            self.spilled += len(rows)
            self.counts_spilled += counted
            log.error(
                "%d request log rows and %d request counts written to %s instead", len(rows), counted, spill
            )
        except OSError as exc:
            if not existed:
                spill.unlink(missing_ok=True)
            self.lost += len(rows)
            self.counts_lost += counted
            log.error(
                "%d request log rows and %d request counts could not be written anywhere (%s): lost",
                len(rows),
                counted,
                exc,
            )
        self.held -= len(rows)
        return []

    def health(self) -> dict[str, Any]:
        """The log's part of /health."""
        return {
            "written": self.written,
            "pending": self.pending,
            "spilled": self.spilled,
            "lost": self.lost,
            "counts_spilled": self.counts_spilled,
            "counts_lost": self.counts_lost,
            "failing": self.failing,
        }


def log_figures(rows: pd.DataFrame, sketch: bool = True) -> dict[str, Any]:
    """What a window needs of some request log rows: counts, first and last moments, and the
    latencies and answered scores as (value, weight) pairs; with `sketch`, at most 101 pairs
    each (their percentiles: what a day whose rows are removed keeps)."""
    import pandas as pd

    requests = rows.groupby("request_id", sort=False).agg(
        at=("at", "first"), status=("status", "first"), latency=("latency_ms", "max")
    )
    scored = rows[rows["status"] == 200]
    answered = scored[scored["route"].isin(["production", "canary"])]
    scores = pd.to_numeric(answered["score"], errors="coerce").dropna()
    return {
        "requests": int(len(requests)),
        "rows": int(len(rows)),
        "errors": int((requests["status"] != 200).sum()),
        "fallback_rows": int((rows["route"] == "fallback").sum()),
        "scored_rows": int(len(scored)),
        "warned_rows": int(scored["warnings"].notna().sum()),
        "first": str(requests["at"].min()),
        "last": str(requests["at"].max()),
        "latency": _weighted(requests["latency"].fillna(0.0), sketch),
        "scores": _weighted(scores, sketch),
    }


def merge_figures(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two `log_figures` of the same day as one."""
    counts = ("requests", "rows", "errors", "fallback_rows", "scored_rows", "warned_rows")
    summed = {k: a[k] + b[k] for k in counts}
    merged = {
        **summed,
        "first": min(a["first"], b["first"]),
        "last": max(a["last"], b["last"]),
        "latency": a["latency"] + b["latency"],
        "scores": a["scores"] + b["scores"],
    }
    if "versions" in a or "versions" in b:
        versions = {k: dict(v) for k, v in a.get("versions", {}).items()}
        for name, theirs in b.get("versions", {}).items():
            ours = versions.setdefault(name, {"requests": 0, "rows": 0, "last": theirs["last"]})
            ours.update(
                requests=ours["requests"] + theirs["requests"],
                rows=ours["rows"] + theirs["rows"],
                last=max(ours["last"], theirs["last"]),
            )
        merged["versions"] = versions
    return merged


def version_figures(rows: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """What each model version answered of some request log rows: its requests, their rows
    and the last moment — what the review counts of a version's traffic, kept for a day whose
    rows retention removes."""
    answered = rows.dropna(subset=["model_version"])
    return {
        str(int(version)): {
            "requests": int(part["request_id"].nunique()),
            "rows": int(len(part)),
            "last": str(part["at"].max()),
        }
        for version, part in answered.groupby("model_version", sort=True)
    }


SKETCH = 101


def _weighted(values, sketch: bool) -> list[list[float]]:
    import numpy as np

    array = np.sort(np.asarray(values, dtype=float))
    if not sketch or len(array) <= SKETCH:
        return [[float(v), 1.0] for v in array]
    return [[float(v), len(array) / SKETCH] for v in np.quantile(array, np.linspace(0, 1, SKETCH))]


def prune_request_log(ws: Workspace, project: Project, keep_days: int) -> int:
    """Remove the request log's rows of the days before the last `keep_days` (whole days, so a
    day's figures are complete), keeping each removed day's `log_figures` in request_days for
    monitoring windows; one transaction. Returns the rows removed."""
    import pandas as pd

    cutoff = (clock.now() - timedelta(days=keep_days)).date().isoformat()
    old = pd.read_sql_query(
        "SELECT at, request_id, status, route, latency_ms, score, warnings, model_version FROM requests "
        "WHERE project_id = ? AND at < ?",
        ws.store.conn,
        params=[project.id, cutoff],
    )
    if old.empty:
        return 0
    kept = {
        row["day"]: json.loads(row["figures"])
        for row in ws.store.rows("SELECT day, figures FROM request_days WHERE project_id = ?", [project.id])
    }
    figures = []
    for day, rows in old.groupby(old["at"].astype(str).str[:10]):
        found = {**log_figures(rows), "versions": version_figures(rows)}
        figures.append(
            (project.id, str(day), json.dumps(merge_figures(kept[day], found) if day in kept else found))
        )
    with ws.store.transaction():
        ws.store.conn.executemany(
            "INSERT INTO request_days (project_id, day, figures) VALUES (?, ?, ?) "
            "ON CONFLICT (project_id, day) DO UPDATE SET figures = excluded.figures",
            figures,
        )
        removed = ws.store.conn.execute(
            "DELETE FROM requests WHERE project_id = ? AND at < ?", [project.id, cutoff]
        ).rowcount
        ws.record(
            "deployment", "request log retention", project.id, {"keep_days": keep_days, "rows": removed}
        )
    return removed


def percentile(values: list[float], q: float, weights: list[float] | None = None) -> float | None:
    """The q-th percentile (0-100) of request latencies by nearest rank: the smallest
    logged latency that at least q% of the requests (by weight: a day kept as a sketch)
    did not exceed, numpy's "inverted_cdf". One definition for the deployment screen,
    /health, the monitoring windows and `monitor check`: it is a latency a request really
    had, and it means the same on raw rows and on the sketches retention keeps. None when
    nothing was logged."""
    import numpy as np

    if not len(values):
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q, weights=weights, method="inverted_cdf"))


@dataclass(frozen=True, slots=True)
class ServiceStats:
    """What the request log says about the service since a moment."""

    requests: int
    rows: int  # rows answered (a request may carry many)
    errors: int  # requests that did not answer 200
    fallback_rows: int
    warned_rows: int  # rows answered with a training-domain warning
    routes: dict[str, int]  # rows per route
    refused: int  # requests refused for a missing or wrong token (not errors)
    aborted: int  # requests their client left before the answer (not errors)
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
        # a request's latency is its slowest row's, as the monitoring windows count it
        latencies[row["request_id"]] = max(latencies.get(row["request_id"], 0.0), row["latency_ms"] or 0.0)
        warned += row["warnings"] is not None
        if row["status"] != 200:
            failed.add(row["request_id"])
        if row["route"]:
            routes[row["route"]] = routes.get(row["route"], 0) + 1
    counted = dict.fromkeys(KINDS, 0)
    for found in ws.store.rows(
        "SELECT kind, sum(requests) AS n FROM request_counts WHERE project_id = ? AND minute >= ? "
        "GROUP BY kind",
        [project.id, (since or "")[:16]],
    ):
        counted[found["kind"]] = found["n"]
    ordered = list(latencies.values())
    return ServiceStats(
        requests=len(latencies),
        rows=len(rows),
        errors=len(failed),
        fallback_rows=routes.get("fallback", 0),
        warned_rows=warned,
        routes=routes,
        refused=counted["refused"],
        aborted=counted["aborted"],
        p50_ms=_rounded(percentile(ordered, 50)),
        p95_ms=_rounded(percentile(ordered, 95)),
        since=since,
        at=clock.now_iso(),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def recent_service_stats(ws: Workspace, project: Project, hours: float = 24) -> ServiceStats:
    """`service_stats` over the last `hours` (the deployment screen's service line)."""
    since = (clock.now() - timedelta(hours=hours)).isoformat(timespec="seconds")
    return service_stats(ws, project, since=since)
