"""Alert rules (metric, threshold, windows in a row, severity, the action it proposes),
alerts that fire, are acknowledged with a comment, and resolve — each an audit event."""

from __future__ import annotations

import json
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
from cockpit.monitoring.service import JUDGED
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
    """What a check found: every window, the open alerts, days from the newest data to now,
    and which windows the rules judged for the first time."""

    windows: list[Window]
    firing: list[Alert]
    freshness_days: float | None
    notifications: tuple[notify.Delivery, ...] = ()  # webhook posts sent after the alerts' commits
    judged: tuple[str, ...] = ()  # windows the rules judged for the first time (or anew: changed)

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


def freshness_days(windows: list[Window], now: str | None = None) -> int | None:
    """Whole days from the newest production data (a batch's time, a logged request) to
    `now`, by default the current time (storage.clock, which tests freeze): a feed that
    stopped in 2009 is years stale. None when nothing was monitored. The check and the
    screen both read freshness here."""
    newest = max((w.newest for w in windows if w.newest), default=None)
    if newest is None:
        return None
    reference = parse_moment(now, "--now") if now is not None else clock.now()
    return (_naive(reference) - _naive(parse_moment(newest, "time"))).days


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def check(
    ws: Workspace, project: Project, now: str | None = None, cluster: ClusterChoice | None = None
) -> Check:
    """Recompute the windows (their batches counted on the Dask `cluster` when given), fire
    and resolve alerts; returns windows and open alerts. Every rule judges every window it
    has not judged before (or whose figure changed since), not only the newest one. A `now`
    that is not a date is refused before anything is computed or written."""
    if now is not None:
        parse_moment(now, "--now")
    windows = compute_windows(ws, project, cluster)
    rules = ensure_rules(ws, project)
    freshness = freshness_days(windows, now)
    if windows:
        windows[-1] = windows[-1].with_freshness(freshness)
    judged: set[str] = set()
    for rule in rules:
        judged.update(_judge(ws, project, rule, windows))
    firing = [a for a in open_alerts(ws, project) if a.rule_id in {r.id for r in rules}]
    order = [w.window for w in windows]
    return Check(
        windows,
        firing,
        freshness,
        tuple(notify.deliver_pending(ws, project)),
        tuple(sorted(judged, key=lambda name: order.index(name) if name in order else -1)),
    )


def _judge(ws: Workspace, project: Project, rule: Rule, windows: list[Window]) -> set[str]:
    """One rule over every window that has its metric (labels arrive late: a window may
    have drift figures but no performance yet), in one transaction. A breach (the rule
    holding `windows` windows in a row) that reaches the newest window keeps one alert
    that follows it and resolves once the newest window is clear. A breach that ends in an
    older window, found when one of its windows is judged for the first time (a batch
    ingested with an earlier --at, labels that arrived late), gets its own alert naming
    that window; it stays open until acknowledged or the breach leaves the data (a
    dropped batch). An alert already raised for a breach (open, acknowledged or resolved)
    is never raised again. Returns the windows judged for the first time."""
    measured = [w for w in windows if w.value(rule.metric) is not None]
    names = [w.window for w in measured]
    values = [float(w.value(rule.metric)) for w in measured]
    hits = [rule.holds(v) for v in values]
    k = rule.windows
    breaches = _runs([i + 1 >= k and all(hits[i + 1 - k : i + 1]) for i in range(len(hits))])
    before = _judged(ws, rule)
    new = {n for n, v in zip(names, values, strict=True) if before.get(n) != v}
    newest_judged = max(before, default=None)
    rows = ws.store.rows("SELECT * FROM alerts WHERE rule_id = ? ORDER BY id", [rule.id])
    open_rows = [r for r in rows if r["status"] != "resolved"]
    # an open alert that followed the newest window at the last check (all of them before any check)
    following = [r for r in open_rows if newest_judged is None or (r["window"] or "") >= newest_judged]
    kept: set[int] = set()
    with ws.store.transaction():
        current = breaches[-1] if breaches and breaches[-1][1] == len(names) - 1 else None
        if current is not None:
            spans = set(names[current[0] - k + 1 : current[1] + 1])
            ongoing = [r for r in open_rows if r["window"] in spans] or following
            last = len(names) - 1
            text = _message(rule, values[last], names[last], names[current[0] - k + 1], late=False)
            if ongoing:
                ws.store.update(
                    "alerts",
                    {"id": ongoing[-1]["id"]},
                    {"window": names[last], "value": values[last], "message": text},
                )
                kept.add(ongoing[-1]["id"])
            else:
                _fire(ws, project, rule, names[last], values[last], text)
        for row in following:  # the newest window no longer breaches
            if row["id"] not in kept:
                _resolve(ws, project, rule, row)
                kept.add(row["id"])
        covered: set[str] = set()
        for first, last in breaches:
            spans = set(names[first - k + 1 : last + 1])
            covered |= spans
            if (first, last) == current or not spans & new or any(r["window"] in spans for r in rows):
                continue
            text = _message(rule, values[last], names[last], names[first - k + 1], late=True)
            _fire(ws, project, rule, names[last], values[last], text)
        for row in open_rows:  # an older breach that left the data (its batches dropped)
            if row["id"] not in kept and row["window"] not in covered:
                _resolve(ws, project, rule, row)
        ws.set_setting(JUDGED.format(rule.id), json.dumps(dict(zip(names, values, strict=True))))
    return new


def _judged(ws: Workspace, rule: Rule) -> dict[str, float]:
    stored = ws.setting(JUDGED.format(rule.id))
    return json.loads(stored) if stored else {}


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """(first, last) indexes of each run of consecutive true flags."""
    found: list[tuple[int, int]] = []
    for i, flag in enumerate(flags):
        if not flag:
            continue
        if found and found[-1][1] == i - 1:
            found[-1] = (found[-1][0], i)
        else:
            found.append((i, i))
    return found


def _message(rule: Rule, value: float, window: str, since: str, late: bool) -> str:
    when = f"in {window} (since {since}" + ("; a past breach, not the newest window)" if late else ")")
    return f"{rule.metric} {value:.4g} {rule.op} {rule.threshold:g} {when}; proposed: {rule.action}"


def _fire(ws: Workspace, project: Project, rule: Rule, window: str, value: float, message: str) -> None:
    alert_id = ws.store.insert(
        "alerts",
        {
            "project_id": project.id,
            "rule_id": rule.id,
            "status": "firing",
            "window": window,
            "value": value,
            "message": message,
            "fired_at": clock.now_iso(),
        },
    )
    ws.record(
        "monitoring",
        "alert fired",
        project.id,
        {"alert": alert_id, "metric": rule.metric, "value": value, "window": window},
    )
    if rule.notify:
        text = notify.fired_text(project, alert_id, rule.severity, message)
        notify.queue(ws, project.id, alert_id, "fired", rule.notify, text)


def _resolve(ws: Workspace, project: Project, rule: Rule, row: dict[str, Any]) -> None:
    ws.store.update("alerts", {"id": row["id"]}, {"status": "resolved", "resolved_at": clock.now_iso()})
    ws.record("monitoring", "alert resolved", project.id, {"alert": row["id"]})
    if rule.notify:
        condition = f"{rule.metric} {rule.op} {rule.threshold:g}"
        text = notify.resolved_text(project, row["id"], rule.severity, condition, row["fired_at"])
        notify.queue(ws, project.id, row["id"], "resolved", rule.notify, text)


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
    return [
        Window.from_stats(json.loads(r["stats"]))
        for r in ws.store.rows(
            "SELECT stats FROM monitor_windows WHERE project_id = ? ORDER BY window", [project.id]
        )
    ]
