"""Service health per monitoring window, from the prediction service's request log: volume,
throughput, latency p50 / p95, error and fallback rates, rows answered outside the training
domain (warned), and the scores it answered (for prediction drift in windows that have no
scored batch)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from cockpit.deployment.serving_log import log_figures, merge_figures, percentile
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

WINDOW_SIZES = ("day", "week", "month")
JUDGED = "monitor_judged:{}"  # per alert rule: {window: value} of the windows it judged last


def window_size(ws: Workspace, project: Project) -> str:
    return ws.setting(f"monitor_window:{project.id}", "month") or "month"


def set_window_size(ws: Workspace, project: Project, size: str) -> None:
    """Windows by day, week or month; the stored windows of the old size are dropped."""
    if size not in WINDOW_SIZES:
        raise CockpitError(f"window size {size!r}: use one of {', '.join(WINDOW_SIZES)}")
    with ws.store.transaction():
        ws.set_setting(f"monitor_window:{project.id}", size)
        ws.store.conn.execute("DELETE FROM monitor_windows WHERE project_id = ?", [project.id])
        forget_judged(ws, project)  # windows of the old size are not the new ones
        ws.record("monitoring", "window size", project.id, {"size": size})


def forget_judged(ws: Workspace, project: Project) -> None:
    """Every alert rule judges every window again at the next check."""
    ws.store.conn.execute(
        "DELETE FROM settings WHERE key IN (SELECT 'monitor_judged:' || id FROM alert_rules "
        "WHERE project_id = ?)",
        [project.id],
    )


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
    refused_requests: int  # refused for a missing or wrong token: not answers, not errors
    aborted_requests: int  # left by their client before the answer: not errors
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
    "refused_requests",
    "aborted_requests",
)


def service_windows(ws: Workspace, project: Project, size: str) -> dict[str, ServiceWindow]:
    """Per window: requests, requests per minute while serving, p50 / p95 latency (ms),
    error rate (non-200 answers), fallback rate (rows answered by the rule), the rows
    answered with training-domain warnings (count, and share of the rows answered), and the
    requests refused for the token or aborted by their client (counted apart: not errors).
    Days whose rows retention removed (`serve --keep-days`) count by their kept figures."""
    log = request_log(ws, project, size, "request_id, status, route, latency_ms, score, warnings")
    parts: dict[str, list[dict[str, Any]]] = {}
    if not log.empty:
        for window, rows in log.groupby("window", sort=False):
            parts.setdefault(str(window), []).append(log_figures(rows, sketch=False))
    for found in ws.store.rows("SELECT day, figures FROM request_days WHERE project_id = ?", [project.id]):
        parts.setdefault(window_of(found["day"], size), []).append(json.loads(found["figures"]))
    if not parts:
        return {}
    counted = _counted(ws, project, size)
    return {
        window: _window(found, counted.get((window, "refused"), 0), counted.get((window, "aborted"), 0))
        for window, found in parts.items()
    }


def _window(parts: list[dict[str, Any]], refused: int, aborted: int) -> ServiceWindow:
    import numpy as np
    import pandas as pd

    total = parts[0]
    for part in parts[1:]:
        total = merge_figures(total, part)
    span = (pd.Timestamp(total["last"]) - pd.Timestamp(total["first"])).total_seconds() / 60
    latency = total["latency"] or [[0.0, 1.0]]
    values, weights = [v for v, _ in latency], [w for _, w in latency]
    scores = [value for value, weight in total["scores"] for _ in range(max(1, round(weight)))]
    return ServiceWindow(
        requests=total["requests"],
        requests_per_min=round(total["requests"] / max(span, 1.0), 2),
        p50_latency_ms=round(percentile(values, 50, weights) or 0.0, 2),
        p95_latency_ms=round(percentile(values, 95, weights) or 0.0, 2),
        error_rate=round(total["errors"] / max(total["requests"], 1), 4),
        fallback_rate=round(total["fallback_rows"] / max(total["rows"], 1), 4),
        warned_rows=total["warned_rows"],
        warned_rate=round(total["warned_rows"] / total["scored_rows"], 4) if total["scored_rows"] else 0.0,
        refused_requests=refused,
        aborted_requests=aborted,
        newest=total["last"],
        scores=pd.Series(np.asarray(scores, dtype=float)),
    )


def _counted(ws: Workspace, project: Project, size: str) -> dict[tuple[str, str], int]:
    """Refused and aborted requests (counted per minute by the service) per window and kind."""
    counted: dict[tuple[str, str], int] = {}
    for found in ws.store.rows(
        "SELECT substr(minute, 1, 10) AS day, kind, sum(requests) AS n FROM request_counts "
        "WHERE project_id = ? GROUP BY day, kind",
        [project.id],
    ):
        key = (window_of(found["day"], size), found["kind"])
        counted[key] = counted.get(key, 0) + found["n"]
    return counted
