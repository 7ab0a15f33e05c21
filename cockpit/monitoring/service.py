"""Service health per monitoring window, from the prediction service's request log: volume,
throughput, latency p50 / p95, error and fallback rates, rows answered outside the training
domain (warned), and the scores it answered (for prediction drift in windows that have no
scored batch)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

WINDOW_SIZES = ("day", "week", "month")


def window_size(ws: Workspace, project: Project) -> str:
    return ws.setting(f"monitor_window:{project.id}", "month") or "month"


def set_window_size(ws: Workspace, project: Project, size: str) -> None:
    """Windows by day, week or month; the stored windows of the old size are dropped."""
    if size not in WINDOW_SIZES:
        raise CockpitError(f"window size {size!r}: use one of {', '.join(WINDOW_SIZES)}")
    with ws.store.transaction():
        ws.set_setting(f"monitor_window:{project.id}", size)
        ws.store.conn.execute("DELETE FROM monitor_windows WHERE project_id = ?", [project.id])
        ws.record("monitoring", "window size", project.id, {"size": size})


def window_of(at: str, size: str) -> str:
    """The window an ISO timestamp falls in: 2026-04, 2026-W14 or 2026-04-02."""
    if size == "day":
        return at[:10]
    if size == "week":
        year, week, _ = date.fromisoformat(at[:10]).isocalendar()
        return f"{year}-W{week:02d}"
    return at[:7]


def window_keys(stamps: pd.Series, size: str) -> pd.Series:
    """`window_of` for a column of timestamps, vectorised."""
    import pandas as pd

    text = stamps.astype(str)
    if size == "day":
        return text.str[:10]
    if size == "month":
        return text.str[:7]
    calendar = pd.to_datetime(text.str[:10]).dt.isocalendar()
    return calendar["year"].astype(str) + "-W" + calendar["week"].astype(str).str.zfill(2)


def request_log(ws: Workspace, project: Project, size: str, columns: str, where: str = "") -> pd.DataFrame:
    """The project's request log rows (`at` and `columns`, optionally narrowed by `where`),
    each with its monitoring `window`."""
    import pandas as pd

    log = pd.read_sql_query(
        f"SELECT at, {columns} FROM requests WHERE project_id = ? {where}", ws.store.conn, params=[project.id]
    )
    if not log.empty:
        log["window"] = window_keys(log["at"], size)
    return log


@dataclass(frozen=True, slots=True)
class ServiceWindow:
    """The prediction service's health in one monitoring window."""

    requests: int
    requests_per_min: float  # while serving: from the first request of the window to its last
    p50_latency_ms: float
    p95_latency_ms: float
    error_rate: float  # non-200 answers
    fallback_rate: float  # rows answered by the fallback rule
    warned_rows: int  # rows answered with training-domain warnings
    warned_rate: float  # their share of the rows answered
    newest: str
    scores: pd.Series  # the models' scores, for prediction drift

    def figures(self) -> dict[str, Any]:
        """The health figures a monitoring window shows, by name."""
        return {f: getattr(self, f) for f in FIGURES}


FIGURES = (
    "requests",
    "requests_per_min",
    "p50_latency_ms",
    "p95_latency_ms",
    "error_rate",
    "fallback_rate",
    "warned_rows",
    "warned_rate",
)


def service_windows(ws: Workspace, project: Project, size: str) -> dict[str, ServiceWindow]:
    """Per window: requests, requests per minute while serving, p50 / p95 latency (ms),
    error rate (non-200 answers), fallback rate (rows answered by the rule), and the rows
    answered with training-domain warnings (count, and share of the rows answered)."""
    import numpy as np
    import pandas as pd

    log = request_log(ws, project, size, "request_id, status, route, latency_ms, score, warnings")
    if log.empty:
        return {}
    log["fallback"] = log["route"] == "fallback"
    log["warned"] = log["warnings"].notna()
    requests = log.groupby("request_id", sort=False).agg(
        window=("window", "first"),
        at=("at", "first"),
        status=("status", "first"),
        latency=("latency_ms", "max"),
    )
    requests["moment"] = pd.to_datetime(requests["at"], format="ISO8601", utc=True)
    windows: dict[str, ServiceWindow] = {}
    for window, group in requests.groupby("window"):
        rows = log[log["window"] == window]
        span = (group["moment"].max() - group["moment"].min()).total_seconds() / 60
        latency = group["latency"].to_numpy(dtype=float)
        answered = rows[(rows["status"] == 200) & rows["route"].isin(["production", "canary"])]
        scored = rows[rows["status"] == 200]
        windows[str(window)] = ServiceWindow(
            requests=int(len(group)),
            requests_per_min=round(len(group) / max(span, 1.0), 2),
            p50_latency_ms=round(float(np.percentile(latency, 50)), 2),
            p95_latency_ms=round(float(np.percentile(latency, 95)), 2),
            error_rate=round(float((group["status"] != 200).mean()), 4),
            fallback_rate=round(float(rows["fallback"].mean()), 4),
            warned_rows=int(scored["warned"].sum()),
            warned_rate=round(float(scored["warned"].mean()), 4) if len(scored) else 0.0,
            newest=str(group["at"].max()),
            scores=pd.to_numeric(answered["score"], errors="coerce").dropna(),
        )
    return windows
