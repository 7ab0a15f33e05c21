"""`monitor check --prom-textfile PATH`: the windows' drift, decay and freshness and the open
alerts as Prometheus gauges, for node_exporter's textfile collector (a cron job runs
the check; Prometheus scrapes node_exporter; Grafana draws it).

prometheus_client's write_to_textfile writes a temporary file beside PATH and renames it over
PATH, so the collector never reads half a file. Each window figure is read as alert rules read
it, from the newest window that has it (its `window` label names which); a figure no window
has (no labels yet: no metric value) has no sample at all, never a 0.
"""

from __future__ import annotations

import time
from pathlib import Path

from cockpit.errors import CockpitError
from cockpit.monitoring.alerts import SEVERITIES, Check
from cockpit.projects import Project

PREFIX = "cockpit_monitor_"
# (the window's figure, the gauge's name, its help): drift, decay, volume
WINDOW_GAUGES = (
    ("max_psi", "max_psi", "Largest PSI of a feature against the training reference"),
    ("prediction_psi", "prediction_psi", "PSI of the model's answers against the reference"),
    ("missing_rate", "missing_rate", "Largest share of missing values of a feature"),
    ("metric_value", "metric_value", "The spec's metric on the window's labelled rows"),
    (
        "false_positive_rate",
        "false_positive_rate",
        "False positive rate on the window's labelled rows",
    ),
    ("labelled", "labelled_rows", "Rows of the window with a label"),
    ("rows", "rows", "Rows scored in the window"),
)


def check_path(path: Path) -> None:
    """Refuse a path the collector would not read, or cannot be written, before the check."""
    if path.suffix != ".prom":
        raise CockpitError(
            f"--prom-textfile {path}: node_exporter's textfile collector reads only *.prom files"
        )
    if not path.parent.is_dir():
        raise CockpitError(f"--prom-textfile {path}: no folder {path.parent}")


def write_textfile(result: Check, project: Project, path: Path) -> None:
    """Write the check's gauges to `path` (a .prom file) at once, or refuse in one line."""
    from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

    check_path(path)
    registry = CollectorRegistry()
    for figure, name, help_text in WINDOW_GAUGES:
        # as an alert rule reads it: the newest window that has the figure (the newest window
        # may hold service requests only, or no labels yet), named in the `window` label
        measured = [w for w in result.windows if w.value(figure) is not None]
        if not measured:
            continue
        window = measured[-1]
        labels = ["project", "window"] + (["metric"] if figure == "metric_value" else [])
        values = [project.name, window.window] + ([window.metric or ""] if figure == "metric_value" else [])
        Gauge(PREFIX + name, help_text, labels, registry=registry).labels(*values).set(window.value(figure))
    drifted = [w for w in result.windows if any(f.psi is not None for f in w.features.values())]
    if drifted:
        drift = Gauge(
            PREFIX + "feature_psi",
            "PSI of each feature in the newest window that has scored batches",
            ["project", "window", "feature"],
            registry=registry,
        )
        for feature, found in sorted(drifted[-1].features.items()):
            if found.psi is not None:
                drift.labels(project.name, drifted[-1].window, feature).set(found.psi)
    if result.freshness_days is not None:
        Gauge(
            PREFIX + "freshness_days",
            "Days from the newest production data to the check",
            ["project"],
            registry=registry,
        ).labels(project.name).set(result.freshness_days)
    firing = Gauge(
        PREFIX + "alerts_firing", "Open alerts by severity", ["project", "severity"], registry=registry
    )
    for severity in SEVERITIES:
        firing.labels(project.name, severity).set(sum(a.severity == severity for a in result.firing))
    alert = Gauge(
        PREFIX + "alert",
        "1 for each open alert: its id, rule metric, severity and status",
        ["project", "alert", "metric", "severity", "status"],
        registry=registry,
    )
    for open_alert in result.firing:
        alert.labels(
            project.name, str(open_alert.id), open_alert.metric, open_alert.severity, open_alert.status
        ).set(1)
    Gauge(
        PREFIX + "last_check_timestamp_seconds",
        "When this file was written (Unix time)",
        ["project"],
        registry=registry,
    ).labels(project.name).set(time.time())
    try:
        write_to_textfile(str(path), registry)
    except OSError as exc:
        raise CockpitError(
            f"--prom-textfile {path}: cannot write it ({exc.strerror or exc}); the check was recorded"
        ) from None
