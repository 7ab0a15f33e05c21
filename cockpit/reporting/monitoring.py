"""`cockpit report monitoring`: the windows the last `cockpit monitor check` stored and the
alerts not resolved, as a page — the check's table (`monitor check`), drift, the metric and
latency over time at each window's place in time (as the monitoring screen plots them), and
the newest window's drift per feature. Nothing is checked again."""

from __future__ import annotations

from cockpit.deployment.registry import alias_version_id
from cockpit.monitoring.alerts import coverage, drift_threshold, open_alerts, stored_windows
from cockpit.monitoring.axes import time_positions, time_ticks
from cockpit.monitoring.checks import Window
from cockpit.projects import Project
from cockpit.reporting.page import (
    Report,
    cell,
    figure,
    header,
    number,
    paragraph,
    plots,
    pointer,
    section,
    table,
    text,
)
from cockpit.reporting.svg import Series, bar_chart, line_plot
from cockpit.workspace import Workspace

TICK_ROOM = 70  # characters of axis the date labels share (time_ticks keeps them apart)


def monitoring_report(ws: Workspace, project: Project) -> Report:
    windows = stored_windows(ws, project)
    # the newest window with drift figures (a window of service requests alone has none)
    drifting = next((w for w in reversed(windows) if w.features), None)
    threshold = drift_threshold(ws, project)
    alerts = open_alerts(ws, project)
    checked = ws.store.scalar(
        "SELECT max(computed_at) FROM monitor_windows WHERE project_id = ?", [project.id]
    )
    data = {
        "project": project.name,
        "checked_at": checked,
        "coverage": coverage(windows),
        "drift_threshold": threshold,
        "windows": [w.as_dict() | {"drifted": w.drifted(threshold)} for w in windows],
        "alerts": [a.as_dict() | {"action": a.action} for a in alerts],
        "features_window": drifting.window if drifting else None,
        "features": _feature_figures(drifting) if drifting else {},
    }
    meta = header(
        project, f"last checked {figure(checked, '/checked_at')}", figure(data["coverage"], "/coverage")
    )
    body = [meta, _alerts(data["alerts"])]
    if windows:
        body += [_plots(windows, threshold), _windows(windows, threshold), _features(drifting, threshold)]
    elif alias_version_id(ws, project, "production") is None:  # as monitor check says it
        body.append(paragraph("Nothing deployed yet: nothing to monitor (cockpit deploy VERSION first)"))
    else:
        body.append(paragraph("No window checked yet: cockpit monitor check"))
    return Report(f"Monitoring: {project.name}", data, "\n".join(b for b in body if b))


def _alerts(alerts: list[dict]) -> str:
    if not alerts:
        return section("Alerts", paragraph("No alert firing or acknowledged."))
    rows = [
        [
            cell(a["id"], f"/alerts/{i}/id"),
            cell(a["severity"], f"/alerts/{i}/severity"),
            cell(a["status"], f"/alerts/{i}/status"),
            cell(a["window"], f"/alerts/{i}/window"),
            number(a["value"], f"/alerts/{i}/value"),
            cell(a["message"], f"/alerts/{i}/message"),
            cell(a["fired_at"], f"/alerts/{i}/fired_at"),
        ]
        for i, a in enumerate(alerts)
    ]
    headers = ["alert", "severity", "status", "window", "value", "message", "fired at"]
    return section("Alerts not resolved", table(headers, rows))


def _plots(windows: list[Window], threshold: float) -> str:
    names = [w.window for w in windows]
    xs = time_positions(names)
    ticks = time_ticks(names, xs, TICK_ROOM)

    def over_time(figure_name: str, label: str) -> Series:
        found = [(x, w.value(figure_name)) for x, w in zip(xs, windows, strict=True)]
        kept = [(x, v) for x, v in found if v is not None]
        return Series(label, [x for x, _ in kept], [v for _, v in kept])

    drift = [over_time("max_psi", "max feature PSI"), over_time("prediction_psi", "prediction PSI")]
    metric = next((w.metric for w in reversed(windows) if w.metric), None) or "metric"
    latency = [over_time("p50_latency_ms", "p50 ms"), over_time("p95_latency_ms", "p95 ms")]
    return section(
        "Over time",
        plots(
            line_plot(
                "Drift by window",
                [s for s in drift if s.xs],
                y_label="PSI",
                x_ticks=ticks,
                hlines=[(threshold, f"drift rule {threshold:g}")],
            ),
            line_plot(f"{metric} on labelled rows", [over_time("metric_value", metric)], x_ticks=ticks),
            bar_chart("Rows scored by window", names, [w.rows for w in windows], "rows"),
            line_plot("Service latency", [s for s in latency if s.xs], y_label="ms", x_ticks=ticks),
        ),
    )


def _windows(windows: list[Window], threshold: float) -> str:
    """The table `cockpit monitor check` prints, its figures from the JSON."""
    rows = []
    for i, w in enumerate(windows):
        key = f"/windows/{i}"
        rows.append(
            [
                cell(w.window, key + "/window"),
                _figure_cell(w, "rows", key),
                _figure_cell(w, "max_psi", key),
                cell(", ".join(w.drifted(threshold)) or "-"),
                _figure_cell(w, "metric_value", key),
                _figure_cell(w, "labelled", key),
                _figure_cell(w, "requests", key),
                _figure_cell(w, "p95_latency_ms", key),
                _figure_cell(w, "error_rate", key),
                _figure_cell(w, "warned_rate", key),
            ]
        )
    notes = [
        paragraph(f"note {text(w.window)}: " + figure(note, f"/windows/{i}/notes/{j}"))
        for i, w in enumerate(windows)
        for j, note in enumerate(w.notes)
        if "notes" in w.measured
    ]
    headers = ["window", "rows", "max PSI", "drifted", "metric", "labelled", "requests", "p95 ms", "errors"]
    return section("Windows", table([*headers, "warned"], rows), *notes)


def _figure_cell(w: Window, name: str, key: str) -> str:
    """A window's figure from the JSON when the window has it ('-' when it has none)."""
    if name not in w.measured:
        return cell("-")
    return number(w.value(name), f"{key}/{name}")


def _features(latest: Window | None, threshold: float) -> str:
    if latest is None:
        return ""
    ordered = sorted(latest.features.items(), key=lambda kv: -(kv[1].psi or 0))
    if not ordered:
        return ""
    chart = bar_chart(
        f"Feature drift in {latest.window} (drifted in red)",
        [name for name, _ in ordered],
        [found.psi for _, found in ordered],
        "PSI",
        [(found.psi or 0) > threshold for _, found in ordered],
        hlines=[(threshold, f"{threshold:g}")],
    )
    rows = []
    for name, found in ordered:
        key = "/features" + pointer(name)
        rows.append(
            [
                cell(name),
                number(found.psi, key + "/psi"),
                number(found.missing, key + "/missing"),
                number(found.p_value, key + "/p_value"),
                cell(", ".join(found.new_categories) or "-"),
            ]
        )
    return section(
        f"Features in {latest.window}, the newest window with drift figures",
        plots(chart),
        table(["feature", "PSI", "missing", "p-value", "new categories"], rows),
    )


def _feature_figures(latest: Window) -> dict[str, dict]:
    """A window's figures per feature, as the page's feature table shows them."""
    return {
        name: {
            "psi": found.psi,
            "missing": found.missing,
            "p_value": found.p_value,
            "new_categories": found.new_categories,
        }
        for name, found in latest.features.items()
    }
