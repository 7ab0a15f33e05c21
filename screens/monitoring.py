"""Stage 7 screen: a summary row, the per-feature drift table (worst first), alerts, and
plots — drift over time, a feature reference vs current, the metric over time with its
target. Series differ by marker as well as colour, so they read with NO_COLOR."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Header, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from cockpit.deployment.batch import list_batches
from cockpit.deployment.moves import Move
from cockpit.monitoring import alerts
from cockpit.monitoring.axes import bin_labels, share_bars, time_positions, time_ticks
from cockpit.monitoring.checks import FeatureDrift, Window
from cockpit.monitoring.predictions import MIN_DRIFT_ROWS
from cockpit.problem import current_spec
from cockpit.projects import Project
from cockpit.text import counted, cut
from cockpit.workspace import Workspace
from screens.base import StageScreen
from screens.confirm import ConfirmReason
from screens.fit_table import FitTable, show_active_row
from screens.footer import KeysFooter
from screens.guard import guarded, notify_errors
from screens.keys import bindings
from screens.stage_keys import MONITORING_KEYS
from screens.work import Job, WorkFailed

PLOTS = ["drift", "metric", "feature", "prediction", "latency"]
DRIFT_COLUMNS = ("Feature", "PSI", "JS", "p-value", "Missing", "New values")
ALERT_COLUMNS = ("Id", "Severity", "Status", "Message")
Y_AXIS = 10  # characters plotext keeps left of the plot for the y labels
SIZES = ("month", "week", "day")


class MonitoringScreen(StageScreen):
    """Is the world drifting away from the model, and what should happen about it?"""

    TITLE = "Monitoring"
    CSS_PATH = "monitoring.tcss"
    BINDINGS = bindings(MONITORING_KEYS)
    KEYS = MONITORING_KEYS
    TABS = ("drift", "performance", "alerts", "plots")

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.windows: list[Window] = []
        self.alerts: list[alerts.Alert] = []
        self.drift_threshold = 0.2  # until the project's drift rule is read
        self.plot_index = 0
        self.feature: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="monitor-summary")
        with TabbedContent(initial="drift"):
            with TabPane("Drift", id="drift"):
                yield FitTable(DRIFT_COLUMNS, "New values", whole=DRIFT_COLUMNS[1:5], id="drift-table")
            with TabPane("Performance", id="performance"):
                yield DataTable(id="performance-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Alerts", id="alerts"):
                yield FitTable(
                    ALERT_COLUMNS,
                    "Message",
                    whole=ALERT_COLUMNS[:3],
                    wrap=True,
                    id="alerts-table",
                )
            with TabPane("Plots", id="plots"), Horizontal():
                yield PlotextPlot(id="monitor-plot")
                yield Static(id="monitor-bins")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#performance-table", DataTable).add_columns(
            "Window", "Scope", "Rows", "Metric", "vs all"
        )
        self.refresh_data()

    @notify_errors
    def refresh_data(self) -> None:
        project = self.app.project
        if project is None:
            return
        self.windows = alerts.stored_windows(self.workspace, project)
        self.alerts = alerts.open_alerts(self.workspace, project)
        self.drift_threshold = alerts.drift_threshold(self.workspace, project)
        self._show()

    def _show(self) -> None:
        summary = self.query_one("#monitor-summary", Static)
        if not self.windows:
            summary.update(
                "Production data is stored but not checked yet: press v to check (cockpit monitor check)."
                if list_batches(self.workspace, self.app.project, 1)
                else "No monitored windows yet: score production data (cockpit predict / "
                "monitor ingest), then press v to check."
            )
            return
        scored = [w for w in self.windows if w.rows]
        latest = scored[-1] if scored else self.windows[-1]
        drifted = latest.drifted(self.drift_threshold)
        spec = current_spec(self.workspace, self.app.project)
        measured = [w for w in self.windows if w.metric_value is not None]
        metric_text = "no labels yet"
        if measured:
            last = measured[-1]
            target = f" (target {spec.metric_goal()})" if spec.metric_goal() else ""
            few = f" ({counted(last.labelled, 'labelled row')})" if last.labelled < MIN_DRIFT_ROWS else ""
            metric_text = f"{last.metric} {last.metric_value:.3f} in {last.window}{few}{target}"
        firing = [a for a in self.alerts if a.status == "firing"]
        age = alerts.freshness_days(self.windows)  # the same figure as monitor check's, to now
        data_line = (
            f"{latest.window}: {latest.rows:,} rows · newest data {age} d old · drifted: "
            f"{', '.join(drifted) or 'none'}"
        )
        room = max(20, self.size.width - 2)  # one line each: the tabs keep their room at 80x24
        named = f" ({', '.join(sorted({a.window or '-' for a in firing}))})" if firing else ""
        # the windows last: a cut line loses window names, not the counts
        alert_line = (
            f"{metric_text} · alerts: {len(self.alerts) - len(firing)} acked, {len(firing)} firing{named}"
        )
        summary.update(
            "\n".join(cut(line, room) for line in (data_line, alert_line, _service_text(self.windows)))
        )
        self._performance()
        ordered = sorted(latest.features.items(), key=lambda kv: -(kv[1].psi or 0))
        self.query_one("#drift-table", FitTable).set_rows(
            [
                (
                    [
                        name,
                        _fmt(stats.psi),
                        _fmt(stats.js),
                        "-" if stats.p_value is None else f"{stats.p_value:.1e}",
                        f"{stats.missing:.1%}",
                        ", ".join(stats.new_categories),
                    ],
                    name,
                )
                for name, stats in ordered
            ]
        )
        self.feature = self.feature or (ordered[0][0] if ordered else None)
        self.query_one("#alerts-table", FitTable).set_rows(
            [([str(a.id), a.severity, a.status, a.message], str(a.id)) for a in self.alerts]
        )
        self._plot()

    def _performance(self) -> None:
        table = self.query_one("#performance-table", DataTable)
        table.clear()
        for w in reversed([w for w in self.windows if w.metric_value is not None]):
            overall = w.metric_value
            table.add_row(w.window, f"all ({w.metric})", f"{w.labelled:,}", f"{overall:.3f}", "")
            scopes = [(f"model v{k}", v) for k, v in w.by_version.items()]
            scopes += [
                (f"{column}={group}", v)
                for column, groups in w.by_segment.items()
                for group, v in groups.items()
            ]
            for scope, found in scopes:
                value = found.value
                table.add_row(
                    "",
                    scope[:28],
                    f"{found.rows:,}",
                    _fmt(value),
                    "-" if value is None else f"{value - overall:+.3f}",
                )

    @guarded
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "drift-table" and event.row_key.value:
            self.feature = event.row_key.value

    @guarded
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a table (it has the focus): the row in full."""
        self.action_show_row()

    @notify_errors
    def action_show_row(self) -> None:
        """The highlighted drift, performance or alert row in full (an alert's action too)."""
        if self.query_one(TabbedContent).active == "plots":
            return
        show_active_row(self, "Monitoring")

    def _plot(self) -> None:
        plot = self.query_one("#monitor-plot", PlotextPlot)
        bins = self.query_one("#monitor-bins", Static)
        plt = plot.plt
        plt.clear_figure()
        if not self.windows:
            return
        kind = PLOTS[self.plot_index % len(PLOTS)]
        # before its first layout the plot has no size: the screen's width is near it
        width = plot.size.width or bins.size.width or self.size.width
        plot.display = kind not in ("prediction", "feature")
        bins.display = not plot.display
        if not plot.display:
            title, lines = self._prediction_bins(width) if kind == "prediction" else self._feature_bins(width)
            bins.update("\n".join([cut(f"{title} · g: next plot", width), *lines]))
            return
        else:
            # windows at their place in time: a gap of months shows as one
            names = [w.window for w in self.windows]
            xs = time_positions(names)
            draw = {"drift": self._plot_drift, "metric": self._plot_metric, "latency": self._plot_latency}
            title = draw[kind](plt, xs)
            plt.xlim(xs[0], max(xs[-1], xs[0] + 1))  # every time plot spans every window
            plt.xticks(*time_ticks(names, xs, max(10, width - Y_AXIS)))
        plt.title(cut(f"{title} · g: next plot", max(20, width - Y_AXIS - 2)))
        plot.refresh()

    def on_resize(self) -> None:
        """Date labels are chosen for the plot's width: choose again."""
        if self.windows:
            self._plot()

    def _plot_drift(self, plt, xs: list[float]) -> str:
        scored = [(x, w.max_psi) for x, w in zip(xs, self.windows, strict=True) if w.max_psi is not None]
        answered = [
            (x, w.prediction_psi)
            for x, w in zip(xs, self.windows, strict=True)
            if w.prediction_psi is not None
        ]
        for points, marker, label in ((scored, "dot", "max feature PSI"), (answered, "x", "prediction PSI")):
            if points:
                plt.plot([p[0] for p in points], [p[1] for p in points], marker=marker, label=label)
        plt.horizontal_line(self.drift_threshold)
        return f"Drift by window (line: alert at PSI {self.drift_threshold:g})"

    def _plot_metric(self, plt, xs: list[float]) -> str:
        measured = [
            (x, w.metric_value) for x, w in zip(xs, self.windows, strict=True) if w.metric_value is not None
        ]
        if measured:
            plt.plot(
                [m[0] for m in measured],
                [m[1] for m in measured],
                marker="dot",
                label=self.windows[-1].metric or "metric",
            )
        spec = current_spec(self.workspace, self.app.project)
        if spec.metric_target is not None:
            plt.horizontal_line(spec.metric_target)
        if not measured:
            return "No labelled rows yet (cockpit monitor labels FILE)"
        return "Metric on labelled rows by window (line: target)"

    def _plot_latency(self, plt, xs: list[float]) -> str:
        served = [(x, w) for x, w in zip(xs, self.windows, strict=True) if w.requests]
        if served:
            plt.plot(
                [x for x, _ in served], [w.p50_latency_ms for _, w in served], marker="dot", label="p50 ms"
            )
            plt.plot(
                [x for x, _ in served], [w.p95_latency_ms for _, w in served], marker="x", label="p95 ms"
            )
        budget = current_spec(self.workspace, self.app.project).latency_budget_ms
        if budget is not None:
            plt.horizontal_line(budget)
        if not served:
            return "No service requests logged yet (cockpit serve)"
        return "Service latency by window" + (" (line: budget)" if budget else "")

    def _prediction_bins(self, width: int) -> tuple[str, list[str]]:
        """The newest window's answers per class or score bin beside the validation answers
        the prediction PSI compares them with."""
        latest = next((w for w in reversed(self.windows) if w.prediction_shares), None)
        if latest is None:
            return "No prediction drift measured yet", []
        shares = latest.prediction_shares or []
        if latest.prediction_classes:
            labels, order = latest.prediction_classes, list(range(len(shares)))
        else:
            labels, order = bin_labels(shares, latest.prediction_edges)
        reference = latest.prediction_reference or [0.0] * len(shares)
        what = "class" if latest.prediction_classes else "score bin"
        series = [("validation (reference)", reference), (latest.window, shares)]
        return f"Answers by {what}, prediction PSI {_fmt(latest.prediction_psi)}", share_bars(
            labels, order, series, width
        )

    def _feature_bins(self, width: int) -> tuple[str, list[str]]:
        """The feature's share per reference bin (named by its value range, or category) in
        the newest window that has it, beside the training shares its PSI compares them with
        (the Drift tab's PSI)."""
        name = self.feature
        latest = next((w for w in reversed(self.windows) if name and w.features.get(name)), None)
        if not name or latest is None:
            return "No feature drift measured yet", []
        found: FeatureDrift = latest.features[name]
        labels, order = bin_labels(found.shares, found.edges)
        if not order:
            return (
                f"{name[:24]}: {'too few rows' if found.too_few_rows else 'no values'} in {latest.window}",
                [],
            )
        if found.reference is None:
            return f"{name[:24]}: checked by an older cockpit; press v to check again", []
        series = [
            ("training (reference)", _share_list(found.reference, found)),
            (latest.window, _share_list(found.shares, found)),
        ]
        return f"{name[:24]} share by bin, PSI {_fmt(found.psi)}", share_bars(labels, order, series, width)

    def action_next_plot(self) -> None:
        self.plot_index += 1
        self.query_one(TabbedContent).active = "plots"
        self._plot()

    @notify_errors
    def action_window_size(self) -> None:
        from cockpit.monitoring.service import set_window_size, window_size

        current = window_size(self.workspace, self.app.project)
        size = SIZES[(SIZES.index(current) + 1) % len(SIZES)]
        set_window_size(self.workspace, self.app.project, size)
        self.notify(f"Windows by {size}: checking again…")
        self.action_check()

    def action_check(self) -> None:
        self.query_one("#monitor-summary", Static).update("Checking every window…")
        self.start_work("Check", _check)

    @guarded
    def on_checked(self, done: Checked) -> None:
        firing = done.result.firing
        self.notify(
            f"{len(firing)} alert(s) firing" if firing else "No alert",
            severity="warning" if firing else "information",
        )
        self.refresh_data()

    def work_failed(self, failed: WorkFailed) -> None:
        self.refresh_data()

    def action_acknowledge(self) -> None:
        if not self.alerts:
            self.notify("No open alert", severity="warning")
            return
        row = self.query_one("#alerts-table", DataTable).cursor_row
        alert = self.alerts[min(row, len(self.alerts) - 1)]

        def confirmed(comment: str | None) -> None:
            if comment:
                alerts.acknowledge(self.workspace, self.app.project, alert.id, comment)
                self.notify(f"Alert {alert.id} acknowledged")
                self.refresh_data()

        moves = _ack_moves(self.workspace, self.app.project, alert)
        self.app.push_screen(ConfirmReason(f"Acknowledge alert {alert.id}?", changes=moves), confirmed)


@dataclass
class Checked(Message):
    """Every window was checked: `result` holds the windows and the firing alerts."""

    result: alerts.Check


def _check(job: Job) -> Checked:
    return Checked(alerts.check(job.workspace, job.project))


def _ack_moves(ws: Workspace, project: Project, alert: alerts.Alert) -> tuple[Move, ...]:
    """What acknowledging `alert` changes: its status, and the review's verdict when this
    alert's hold is all that keeps the reviewed version from READY (read from the review)."""
    from cockpit.review import review, review_subject

    moves = [Move(f"alert {alert.id}", alert.status, "acknowledged")]
    subject = review_subject(ws, project) if alert.severity == "critical" else None
    if subject is not None:
        found = review(ws, project, subject.version)
        hold = f"critical alert {alert.id} firing"
        held = [s for s in found.steps if hold in s.held]
        # the only reason, and the held step is waived or its other evidence says yes
        only = not found.ready and found.reasons() == [hold] and bool(held)
        if only and (
            held[0].decision == "waive" or all(text.startswith(hold + ":") for text in held[0].failing)
        ):
            moves.append(Move(f"review v{found.version}", "NOT READY", "READY"))
    return tuple(moves)


def _service_text(windows: list[Window]) -> str:
    served = [w for w in windows if w.requests]
    if not served:
        return "service: no requests logged"
    w = served[-1]
    return (
        f"service {w.window}: {w.requests:,} requests · p95 {w.p95_latency_ms:.0f} ms"
        f" · errors {w.error_rate:.1%} · fallback {w.fallback_rate:.1%}"
        + (f" · warned {w.warned_rate:.1%}" if w.warned_rows else "")
    )


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def _share_list(shares: list[float] | dict[str, float] | None, like: FeatureDrift) -> list[float]:
    """Shares in the order of `like`'s bins (a category missing from them: 0)."""
    if isinstance(like.shares, dict):
        mine = shares if isinstance(shares, dict) else {}
        return [mine.get(key, 0.0) for key in like.shares]
    return list(shares) if isinstance(shares, list) else []
