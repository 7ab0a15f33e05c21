"""Dialogs of the experiments screen: start a run, and a run's full record."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static
from textual_plotext import PlotextPlot

from cockpit.training.catalog import families_for
from cockpit.training.query import recorded_threshold
from cockpit.training.runs import Run


class NewRunDialog(ModalScreen[dict | None]):
    """Family, params and seed; returns them, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="newrun.cancel"),
        Binding("ctrl+s", "submit", "Start", id="newrun.submit", priority=True),
    ]

    def __init__(self, task: str) -> None:
        super().__init__()
        self.ml_task = task

    def compose(self) -> ComposeResult:
        options = [(f.title, f.name) for f in families_for(self.ml_task)]
        with Vertical(classes="dialog"):
            yield Label(
                "New run  (Tab next field · Enter or ctrl+s start · Esc cancel)", classes="dialog-title"
            )
            yield Horizontal(
                Label("Model", classes="dialog-label"),
                Select(options, value=options[0][1], allow_blank=False, id="family", compact=True),
                classes="dialog-row",
            )
            yield Horizontal(
                Label("Params", classes="dialog-label"),
                Input(placeholder="name=value, name=value", id="params", compact=True),
                classes="dialog-row",
            )
            yield Horizontal(
                Label("Seed", classes="dialog-label"),
                Input("42", type="integer", id="seed", compact=True),
                classes="dialog-row",
            )

    def on_mount(self) -> None:
        self.query_one("#family", Select).focus()

    def on_input_submitted(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        text = self.query_one("#params", Input).value
        params = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
        seed = self.query_one("#seed", Input).value or "42"
        self.dismiss({"family": self.query_one("#family", Select).value, "params": params, "seed": int(seed)})


class RunDetail(ModalScreen[None]):
    """Everything a run recorded, in full (the table cuts long params and errors), and its
    learning curve when it has one."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="rundetail.close")]

    def __init__(self, run: Run, task: str = "") -> None:
        super().__init__()
        self.record, self.ml_task = run, task

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog run-detail"):
            yield Label(f"{self.record.label} · {self.record.status}  (Esc close)", classes="dialog-title")
            with VerticalScroll():
                yield Static(describe(self.record, self.ml_task), id="run-record")
                if self.record.curve:
                    yield PlotextPlot(id="curve")

    def on_mount(self) -> None:
        curve = self.record.learning_curve
        if curve is None:
            return
        plt = self.query_one("#curve", PlotextPlot).plt
        plt.title(f"{curve.metric} by {curve.param}")
        for series, values, marker in (("train", curve.train, "dot"), ("validation", curve.validation, "x")):
            points = [(s, v) for s, v in zip(curve.steps, values, strict=False) if v is not None]
            if points:
                plt.plot([p[0] for p in points], [p[1] for p in points], marker=marker, label=series)


def describe(run: Run, task: str = "") -> str:
    params = ", ".join(
        f"{k}={v}" for k, v in sorted(run.params.items()) if k not in ("verbose", "n_jobs", "warm_start")
    )
    lines = [
        f"model      {run.family}   seed {run.seed}   {run.duration_s or 0:.2f} s",
        f"params     {params}",
        f"data       v{run.version_id} · split {run.split_id} · feature spec v{run.feature_spec_version}",
        f"code       {(run.git_commit or 'not in git')[:12]}{' (dirty tree)' if run.git_dirty else ''}",
        f"python     {run.python_version} · "
        + ", ".join(f"{k} {v}" for k, v in (run.library_versions or {}).items() if k != "python"),
        f"artifact   {(run.artifact_sha256 or '-')[:16]}",
    ]
    if run.error:
        lines.append(f"error      {run.error}")
    for name, values in (("validation", run.validation_metrics), ("train", run.train_metrics)):
        if values:
            shown = "  ".join(f"{k}{_at(task, k)} {v:.4f}" for k, v in values.items())
            lines.append(f"{name:10} {shown}")
    thresholds = {recorded_threshold(task, k) for k in run.validation_metrics or {}} - {None}
    at = min(thresholds) if thresholds else None
    if at is not None:
        lines.append(f"threshold  @{at:g}: these metrics take the positive class above {at:g}, as trained")
        if run.threshold is not None:
            lines.append(
                f"           Evaluation uses the run's tuned threshold {run.threshold:.3f}"
                + (f" ({run.threshold_reason})" if run.threshold_reason else "")
            )
        else:
            lines.append("           Evaluation tunes the run's own threshold on validation (5, V)")
    return "\n".join(lines)


def _at(task: str, metric: str) -> str:
    at = recorded_threshold(task, metric)
    return "" if at is None else f"@{at:g}"


class SweepDialog(ModalScreen[dict | None]):
    """A random sweep: family, trials, parallel jobs, time budget, stop at target."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="sweep.cancel"),
        Binding("ctrl+s", "submit", "Start", id="sweep.submit", priority=True),
    ]

    def __init__(self, task: str) -> None:
        super().__init__()
        self.ml_task = task

    def compose(self) -> ComposeResult:
        options = [(f.title, f.name) for f in families_for(self.ml_task) if f.name != "dummy"]
        with Vertical(classes="dialog"):
            yield Label("Random sweep  (Tab next field · ctrl+s start · Esc cancel)", classes="dialog-title")
            rows = [
                ("Model", Select(options, value=options[0][1], allow_blank=False, id="family", compact=True)),
                ("Trials", Input("10", type="integer", id="trials", compact=True)),
                ("Parallel jobs", Input("2", type="integer", id="jobs", compact=True)),
                ("Time budget s", Input(placeholder="none", type="number", id="budget", compact=True)),
                (
                    "Stop at target",
                    Select(
                        [("no", False), ("yes", True)],
                        value=False,
                        allow_blank=False,
                        id="target",
                        compact=True,
                    ),
                ),
            ]
            for label, widget in rows:
                yield Horizontal(Label(label, classes="dialog-label"), widget, classes="dialog-row")

    def on_mount(self) -> None:
        self.query_one("#family", Select).focus()

    def on_input_submitted(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        try:
            budget = self.query_one("#budget", Input).value
            self.dismiss(
                {
                    "family": self.query_one("#family", Select).value,
                    "trials": max(1, int(self.query_one("#trials", Input).value or 10)),
                    "n_jobs": max(1, int(self.query_one("#jobs", Input).value or 2)),
                    "time_budget_s": float(budget) if budget else None,
                    "stop_on_target": bool(self.query_one("#target", Select).value),
                }
            )
        except ValueError as exc:
            self.notify(f"Not a number: {exc}", severity="error")
