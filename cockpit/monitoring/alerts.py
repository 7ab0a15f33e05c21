"""Alert rules (metric, threshold, windows in a row, severity, the action it proposes),
alerts that fire, are acknowledged with a comment, and resolve — each an audit event."""

from __future__ import annotations

import math
import operator
from datetime import UTC, datetime
from typing import Any

from cockpit.audit import current_user
from cockpit.errors import CockpitError
from cockpit.evaluation import metrics
from cockpit.monitoring.batches import parse_moment
from cockpit.monitoring.checks import DEFAULT_RULES, compute_windows
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock

OPS = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le}
METRICS = (
    "max_psi",
    "prediction_psi",
    "missing_rate",
    "metric_value",
    "false_positive_rate",
    "freshness_days",
    "rows",
    "p95_latency_ms",
    "p50_latency_ms",
    "error_rate",
    "fallback_rate",
    "requests",
    "requests_per_min",
    "warned_rows",
    "warned_rate",
)
SEVERITIES = ("info", "warning", "critical")
MAX_WINDOWS = 366  # windows in a row before a rule fires: a year of daily windows at most


def default_rules(ws: Workspace, project: Project) -> list[tuple]:
    """(metric, op, threshold, windows, severity, action, source) from cockpit and the spec."""
    from cockpit.problem import current_spec

    spec = current_spec(ws, project)
    defaults = [(*r, "default") for r in DEFAULT_RULES]
    defaults.append(("freshness_days", ">", 45.0, 1, "warning", "check the data feed", "default"))
    if spec.metric_target is not None:
        lower = metrics.metric_column(spec.metric) in metrics.LOWER_IS_BETTER
        defaults.append(
            (
                "metric_value",
                ">" if lower else "<",
                spec.metric_target,
                1,
                "critical",
                "retrain on recent labelled data, or roll back",
                "spec target",
            )
        )
    if spec.latency_budget_ms is not None:
        defaults.append(
            (
                "p95_latency_ms",
                ">",
                spec.latency_budget_ms,
                1,
                "warning",
                "investigate the service: roll back the last deploy or add capacity",
                "spec latency budget",
            )
        )
    return defaults


def ensure_rules(ws: Workspace, project: Project) -> list[dict[str, Any]]:
    """The project's rules. A default (from cockpit or the spec) whose metric has no rule yet
    is added, so a latency budget set after the first check still gets its rule."""
    rules = ws.store.rows("SELECT * FROM alert_rules WHERE project_id = ? ORDER BY id", [project.id])
    covered = {r["metric"] for r in rules}
    missing = [d for d in default_rules(ws, project) if d[0] not in covered]
    if not missing:
        return rules
    with ws.store.transaction():
        for metric, op, threshold, windows, severity, action, source in missing:
            ws.store.insert(
                "alert_rules",
                {
                    "project_id": project.id,
                    "metric": metric,
                    "op": op,
                    "threshold": threshold,
                    "windows": windows,
                    "severity": severity,
                    "action": action,
                    "source": source,
                },
            )
    return ws.store.rows("SELECT * FROM alert_rules WHERE project_id = ? ORDER BY id", [project.id])


def add_rule(
    ws: Workspace,
    project: Project,
    metric: str,
    op: str,
    threshold: float,
    windows: int = 1,
    severity: str = "warning",
    action: str = "investigate",
) -> int:
    """A user's rule; every part is checked before anything is written."""
    if metric not in METRICS:
        raise CockpitError(f"unknown monitored metric {metric!r}; one of {', '.join(METRICS)}")
    if op not in OPS:
        raise CockpitError(f"operator {op!r}: use one of {', '.join(OPS)}")
    if not math.isfinite(threshold):
        raise CockpitError(f"the threshold of {metric} {op} {threshold} is not a finite number")
    if not 1 <= windows <= MAX_WINDOWS:
        raise CockpitError(f"windows {windows}: a rule fires after 1 to {MAX_WINDOWS} windows in a row")
    if severity not in SEVERITIES:
        raise CockpitError(f"severity {severity!r}: use one of {', '.join(SEVERITIES)}")
    if not action.strip():
        raise CockpitError("a rule says what should happen when it fires (--action TEXT)")
    ensure_rules(ws, project)
    with ws.store.transaction():
        rule_id = ws.store.insert(
            "alert_rules",
            {
                "project_id": project.id,
                "metric": metric,
                "op": op,
                "threshold": threshold,
                "windows": windows,
                "severity": severity,
                "action": action,
                "source": "user",
            },
        )
        ws.record("monitoring", "rule add", project.id, {"rule": rule_id, "metric": metric})
    return rule_id


def _freshness(windows: list[dict], now: str | None) -> float | None:
    """Days from the newest production data to `now` (default: the newest data itself)."""
    if not windows:
        return None
    newest = max(w["newest"] for w in windows)
    reference = now or newest
    return (_naive(parse_moment(reference, "--now")) - _naive(parse_moment(newest, "time"))).days


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def check(ws: Workspace, project: Project, now: str | None = None) -> dict[str, Any]:
    """Recompute the windows, fire and resolve alerts; returns windows and firing alerts.
    A `now` that is not a date is refused before anything is computed or written."""
    if now is not None:
        parse_moment(now, "--now")
    windows = compute_windows(ws, project)
    rules = ensure_rules(ws, project)
    freshness = _freshness(windows, now)
    if windows:
        windows[-1]["freshness_days"] = freshness
    firing = []
    for rule in rules:
        # Only windows that have the metric count: labels arrive late, so the newest window
        # may have drift numbers but no performance yet.
        measured = [w for w in windows if w.get(rule["metric"]) is not None]
        hits = [OPS[rule["op"]](w[rule["metric"]], rule["threshold"]) for w in measured]
        latest = measured[-1] if measured else None
        holds = len(hits) >= rule["windows"] and all(hits[-rule["windows"] :])
        value = latest.get(rule["metric"]) if latest else None
        firing += _update_alert(ws, project, rule, holds, latest, value, measured, hits)
    return {"windows": windows, "firing": firing, "freshness_days": freshness}


def _update_alert(ws, project, rule, holds, latest, value, windows, hits) -> list[dict]:
    open_alert = ws.store.one("SELECT * FROM alerts WHERE rule_id = ? AND status != 'resolved'", [rule["id"]])
    if holds:
        first = next((w["window"] for w, h in zip(windows, hits, strict=True) if h), None)
        message = (
            f"{rule['metric']} {value:.4g} {rule['op']} {rule['threshold']:g} in "
            f"{latest['window']} (since {first}); proposed: {rule['action']}"
        )
        if open_alert is None:
            with ws.store.transaction():
                alert_id = ws.store.insert(
                    "alerts",
                    {
                        "project_id": project.id,
                        "rule_id": rule["id"],
                        "status": "firing",
                        "window": latest["window"],
                        "value": value,
                        "message": message,
                        "fired_at": clock.now_iso(),
                    },
                )
                ws.record(
                    "monitoring",
                    "alert fired",
                    project.id,
                    {"alert": alert_id, "metric": rule["metric"], "value": value},
                )
        else:
            ws.store.update(
                "alerts",
                {"id": open_alert["id"]},
                {"window": latest["window"], "value": value, "message": message},
            )
        return [
            ws.store.one(
                "SELECT a.*, r.severity, r.metric FROM alerts a JOIN alert_rules r "
                "ON r.id = a.rule_id WHERE a.rule_id = ? AND a.status != 'resolved'",
                [rule["id"]],
            )
        ]
    if open_alert is not None:
        with ws.store.transaction():
            ws.store.update(
                "alerts", {"id": open_alert["id"]}, {"status": "resolved", "resolved_at": clock.now_iso()}
            )
            ws.record("monitoring", "alert resolved", project.id, {"alert": open_alert["id"]})
    return []


def acknowledge(ws: Workspace, project: Project, alert_id: int, comment: str) -> None:
    row = ws.store.one("SELECT status FROM alerts WHERE id = ? AND project_id = ?", [alert_id, project.id])
    if row is None:
        raise CockpitError(f"no alert {alert_id} in project {project.name!r}")
    if row["status"] == "resolved":
        raise CockpitError(f"alert {alert_id} is resolved already")
    if not comment.strip():
        raise CockpitError("acknowledging takes a comment: what is being done about it")
    with ws.store.transaction():
        ws.store.update(
            "alerts",
            {"id": alert_id},
            {
                "status": "acknowledged",
                "acknowledged_by": current_user(),
                "comment": comment,
                "acknowledged_at": clock.now_iso(),
            },
        )
        ws.record("monitoring", "alert acknowledged", project.id, {"alert": alert_id, "comment": comment})


def open_alerts(ws: Workspace, project: Project) -> list[dict[str, Any]]:
    return ws.store.rows(
        "SELECT a.*, r.severity, r.metric, r.action FROM alerts a JOIN "
        "alert_rules r ON r.id = a.rule_id WHERE a.project_id = ? AND "
        "a.status != 'resolved' ORDER BY a.id",
        [project.id],
    )


def stored_windows(ws: Workspace, project: Project) -> list[dict[str, Any]]:
    import json

    return [
        json.loads(r["stats"])
        for r in ws.store.rows(
            "SELECT stats FROM monitor_windows WHERE project_id = ? ORDER BY window", [project.id]
        )
    ]
