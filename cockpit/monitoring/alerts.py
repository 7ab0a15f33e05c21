"""Alert rules (metric, threshold, windows in a row, severity, the action it proposes),
alerts that fire, are acknowledged with a comment, and resolve — each an audit event."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from cockpit.audit import current_user
from cockpit.cluster import ClusterChoice
from cockpit.errors import CockpitError
from cockpit.evaluation import metrics
from cockpit.monitoring import notify
from cockpit.monitoring.batches import parse_moment
from cockpit.monitoring.checks import DEFAULT_RULES, Window, compute_windows
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


@dataclass(frozen=True, slots=True)
class Rule:
    """An alert rule: it fires when `metric op threshold` holds for `windows` windows in a
    row, with a severity and the action it proposes; `source` says who made it."""

    id: int
    project_id: int
    metric: str
    op: str
    threshold: float
    windows: int
    severity: str
    action: str
    source: str
    notify: str | None = None  # a webhook posted when an alert of the rule fires and resolves

    def holds(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert a rule raised: firing, acknowledged (by whom, with a comment) or resolved;
    with its rule's severity, metric and proposed action."""

    id: int
    project_id: int
    rule_id: int
    status: str
    window: str | None
    value: float | None
    message: str
    fired_at: str
    acknowledged_by: str | None
    comment: str | None
    acknowledged_at: str | None
    resolved_at: str | None
    severity: str
    metric: str
    action: str

    def as_dict(self) -> dict[str, Any]:
        """As `monitor check --json` prints a firing alert (the action is in the message)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "action"}


@dataclass(frozen=True, slots=True)
class Check:
    """What a check found: every window, the alerts firing, days since the newest data."""

    windows: list[Window]
    firing: list[Alert]
    freshness_days: float | None
    notifications: tuple[notify.Delivery, ...] = ()  # webhook posts sent after the alerts' commits

    def coverage(self) -> str:
        """What was monitored, each in its own unit: '8 batches (9,120 rows) in 8 months,
        2026-01 to 2026-08, and 38 service requests in 2026-11'."""
        return coverage(self.windows)


def coverage(windows: list[Window]) -> str:
    """Batches and service requests are counted apart: a window of requests alone is not a
    monitored batch, and windows are named by their size (months, weeks, days)."""
    scored = [w for w in windows if w.batches]
    served = [w for w in windows if w.requests]
    parts = []
    if scored:
        batches = sum(w.batches for w in scored)
        parts.append(
            f"{batches} batch{'es' * (batches != 1)} ({sum(w.rows for w in scored):,} rows) in "
            f"{_count(scored)}{_span(scored)}"
        )
    if served:
        requests = sum(w.requests or 0 for w in served)
        parts.append(f"{requests:,} service request{'s' * (requests != 1)} in {_count(served, named=True)}")
    return ", and ".join(parts) or "nothing yet (no scored batch, no service request)"


def _count(windows: list[Window], named: bool = False) -> str:
    """'8 months', or the window's name when there is one and `named`."""
    if named and len(windows) == 1:
        return windows[0].window
    return f"{len(windows)} {windows[0].size}{'s' * (len(windows) != 1)}"


def _span(windows: list[Window]) -> str:
    return f", {windows[0].window} to {windows[-1].window}" if len(windows) > 1 else f" ({windows[0].window})"


_ALERTS = "SELECT a.*, r.severity, r.metric, r.action FROM alerts a JOIN alert_rules r ON r.id = a.rule_id "


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


def _rules(ws: Workspace, project: Project, where: str = "", params: tuple = ()) -> list[Rule]:
    rows = ws.store.rows(
        f"SELECT * FROM alert_rules WHERE project_id = ? {where} ORDER BY id", [project.id, *params]
    )
    return [Rule(**row) for row in rows]


def ensure_rules(ws: Workspace, project: Project) -> list[Rule]:
    """The project's rules. A default (from cockpit or the spec) whose metric has no rule yet
    is added, so a latency budget set after the first check still gets its rule."""
    rules = _rules(ws, project)
    covered = {r.metric for r in rules}
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
    return _rules(ws, project)


def drift_threshold(ws: Workspace, project: Project) -> float:
    """The PSI above which a feature counts as drifted: the lowest threshold of the
    project's max_psi rules that fire on a rise (the default rule's before any is stored)."""
    rising = _rules(ws, project, "AND metric = 'max_psi' AND op IN ('>', '>=')")
    default = next(r[2] for r in DEFAULT_RULES if r[0] == "max_psi")
    return min((r.threshold for r in rising), default=default)


def add_rule(
    ws: Workspace,
    project: Project,
    metric: str,
    op: str,
    threshold: float,
    windows: int = 1,
    severity: str = "warning",
    action: str = "investigate",
    notify_url: str | None = None,
) -> int:
    """A user's rule, with the webhook its alerts are posted to, if any; every part is checked
    before anything is written."""
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
    if notify_url is not None:
        notify_url = notify.check_url(notify_url)
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
                "notify": notify_url,
            },
        )
        details: dict[str, Any] = {"rule": rule_id, "metric": metric}
        if notify_url:
            details["notify"] = notify.shown(notify_url)
        ws.record("monitoring", "rule add", project.id, details)
    return rule_id


def _freshness(windows: list[Window], now: str | None) -> float | None:
    """Days from the newest production data to `now` (default: the newest data itself)."""
    if not windows:
        return None
    newest = max(w.newest or "" for w in windows)
    reference = now or newest
    return (_naive(parse_moment(reference, "--now")) - _naive(parse_moment(newest, "time"))).days


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def check(
    ws: Workspace, project: Project, now: str | None = None, cluster: ClusterChoice | None = None
) -> Check:
    """Recompute the windows (their batches counted on the Dask `cluster` when given), fire
    and resolve alerts; returns windows and firing alerts. A `now` that is not a date is
    refused before anything is computed or written."""
    if now is not None:
        parse_moment(now, "--now")
    windows = compute_windows(ws, project, cluster)
    rules = ensure_rules(ws, project)
    freshness = _freshness(windows, now)
    if windows:
        windows[-1] = windows[-1].with_freshness(freshness)
    firing = []
    for rule in rules:
        # Only windows that have the metric count: labels arrive late, so the newest window
        # may have drift numbers but no performance yet.
        measured = [w for w in windows if w.value(rule.metric) is not None]
        hits = [rule.holds(w.value(rule.metric)) for w in measured]
        latest = measured[-1] if measured else None
        holds = len(hits) >= rule.windows and all(hits[-rule.windows :])
        value = latest.value(rule.metric) if latest else None
        firing += _update_alert(ws, project, rule, holds, latest, value, measured, hits)
    return Check(windows, firing, freshness, tuple(notify.deliver_pending(ws, project)))


def _update_alert(
    ws: Workspace,
    project: Project,
    rule: Rule,
    holds: bool,
    latest: Window | None,
    value: float | None,
    windows: list[Window],
    hits: list[bool],
) -> list[Alert]:
    open_alert = ws.store.one("SELECT * FROM alerts WHERE rule_id = ? AND status != 'resolved'", [rule.id])
    if holds and latest is not None and value is not None:
        first = next((w.window for w, h in zip(windows, hits, strict=True) if h), None)
        message = (
            f"{rule.metric} {value:.4g} {rule.op} {rule.threshold:g} in "
            f"{latest.window} (since {first}); proposed: {rule.action}"
        )
        if open_alert is None:
            with ws.store.transaction():
                alert_id = ws.store.insert(
                    "alerts",
                    {
                        "project_id": project.id,
                        "rule_id": rule.id,
                        "status": "firing",
                        "window": latest.window,
                        "value": value,
                        "message": message,
                        "fired_at": clock.now_iso(),
                    },
                )
                ws.record(
                    "monitoring",
                    "alert fired",
                    project.id,
                    {"alert": alert_id, "metric": rule.metric, "value": value},
                )
                if rule.notify:
                    text = notify.fired_text(project, alert_id, rule.severity, message)
                    notify.queue(ws, project.id, alert_id, "fired", rule.notify, text)
        else:
            ws.store.update(
                "alerts",
                {"id": open_alert["id"]},
                {"window": latest.window, "value": value, "message": message},
            )
        return [
            Alert(**row)
            for row in ws.store.rows(_ALERTS + "WHERE a.rule_id = ? AND a.status != 'resolved'", [rule.id])
        ]
    if open_alert is not None:
        with ws.store.transaction():
            ws.store.update(
                "alerts", {"id": open_alert["id"]}, {"status": "resolved", "resolved_at": clock.now_iso()}
            )
            ws.record("monitoring", "alert resolved", project.id, {"alert": open_alert["id"]})
            if rule.notify:
                condition = f"{rule.metric} {rule.op} {rule.threshold:g}"
                text = notify.resolved_text(
                    project, open_alert["id"], rule.severity, condition, open_alert["fired_at"]
                )
                notify.queue(ws, project.id, open_alert["id"], "resolved", rule.notify, text)
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


def open_alerts(ws: Workspace, project: Project) -> list[Alert]:
    rows = ws.store.rows(
        _ALERTS + "WHERE a.project_id = ? AND a.status != 'resolved' ORDER BY a.id", [project.id]
    )
    return [Alert(**row) for row in rows]


def stored_windows(ws: Workspace, project: Project) -> list[Window]:
    import json

    return [
        Window.from_stats(json.loads(r["stats"]))
        for r in ws.store.rows(
            "SELECT stats FROM monitor_windows WHERE project_id = ? ORDER BY window", [project.id]
        )
    ]
