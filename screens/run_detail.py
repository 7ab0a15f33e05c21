"""A run's full record: where it came from (the catalogue, a class, a pipeline factory, a
script with its argv, a notebook, a model file), everything it pinned and scored, its learning
curve, and the metric steps it logged, drawn live while it runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Label, Static
from textual_plotext import PlotextPlot

from cockpit.training import detail
from cockpit.training.origin import origin_text
from cockpit.training.query import recorded_threshold
from cockpit.training.runs import Run
from cockpit.workspace import Workspace
from screens import work
from screens.guard import guarded, report_error

REFRESH_S = 1.0  # how often a running run's steps are read again
MARKERS = ("dot", "x", "+", "o", "*", "#")


@dataclass
class DetailRead(Message):
    """The run's record and steps, read again off the UI thread."""

    shown: detail.RunDetail


class RunDetail(ModalScreen[None]):
    """Everything a run recorded, in full (the table cuts long params and errors), its
    learning curve when it has one, and the metric steps it logged: the newest of each as
    text and their curves, read again every REFRESH_S while the run is running. `m` shows
    one metric at a time, then all again."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="rundetail.close"),
        Binding("m", "next_metric", "Next metric", id="rundetail.metric"),
    ]

    def __init__(self, run: Run, task: str = "", workspace: Workspace | None = None) -> None:
        super().__init__()
        self.record, self.ml_task, self.workspace = run, task, workspace
        self.shown: detail.RunDetail | None = None
        self.metric_index = 0  # 0: every metric; i: the i-th alone
        self.timer: Timer | None = None
        self._reading = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog run-detail"):
            yield Label(self._title(), id="run-title", classes="dialog-title")
            with VerticalScroll():
                yield Static(describe_head(self.record), id="run-head")
                yield Static(id="steps-latest")
                yield PlotextPlot(id="steps-plot")
                yield Static(describe(self.record, self.ml_task), id="run-record")
                if self.record.curve:
                    yield PlotextPlot(id="curve")

    def on_mount(self) -> None:
        self._show_steps()
        self._draw_curve()
        if self.workspace is not None:
            self._read()
            if self.record.status == "running":
                self.timer = self.set_interval(REFRESH_S, self._read)

    # -- reading the run again -------------------------------------------------------

    def _read(self) -> None:
        """Read the run and its steps in a thread worker (one at a time)."""
        if self._reading or self.workspace is None:
            return
        self._reading = True
        run_id = self.record.id

        def read(job: work.Job) -> DetailRead:
            return DetailRead(detail.run_detail(job.workspace, job.project, run_id))

        if work.start(self, self.workspace, "Run detail", read) is None:
            self._reading = False

    @guarded
    def on_detail_read(self, read: DetailRead) -> None:
        self._reading = False
        if read.shown != self.shown:
            self.shown, self.record = read.shown, read.shown.run
            self.query_one("#run-title", Label).update(self._title())
            self.query_one("#run-head", Static).update(describe_head(self.record))
            self.query_one("#run-record", Static).update(describe(self.record, self.ml_task))
            self._show_steps()
        if not read.shown.live and self.timer is not None:
            self.timer.stop()  # it ended: nothing more to read
            self.timer = None

    def on_work_failed(self, failed: work.WorkFailed) -> None:
        self._reading = False
        if self.timer is not None:  # an error read once is read again every second: say it once
            self.timer.stop()
            self.timer = None
        report_error(self.app, failed.error, title=f"{failed.task} failed")

    # -- drawing ----------------------------------------------------------------------

    def _title(self) -> str:
        run = self.record
        name = run.family if run.kind == "catalog" else _model(run)
        if name == detail.NO_MODEL:
            name = f"{run.kind}, no model{' yet' if run.status == 'running' else ''}"
        keys = "m metric · Esc close" if self.shown and len(self.shown.series) > 1 else "Esc close"
        return f"run {run.id} ({name}) · {'▶ ' if run.status == 'running' else ''}{run.status}  ({keys})"

    def _show_steps(self) -> None:
        """The newest point of each logged metric, and their curves (hidden when none)."""
        series = self.shown.series if self.shown else ()
        waiting = not series and self.record.external and self.record.status == "running"
        latest = self.query_one("#steps-latest", Static)
        plot = self.query_one("#steps-plot", PlotextPlot)
        latest.display, plot.display = bool(series) or waiting, bool(series)
        if waiting:
            latest.update("steps      none logged yet")
            return
        if not series or self.shown is None:
            return
        points = self.shown.points
        text = " · ".join(f"{s.key} {_value(s.last)} (step {s.steps[-1]})" for s in series if s.steps)
        latest.update(f"steps      {text}\n           {points:,} point{'s' if points != 1 else ''} logged")
        self.metric_index %= len(series) + 1
        chosen = series if self.metric_index == 0 else (series[self.metric_index - 1],)
        plt = plot.plt
        plt.clear_figure()
        plt.title(" · ".join(s.key for s in chosen) + " by step")
        for index, s in enumerate(chosen):
            shown = [(x, y) for x, y in zip(s.steps, s.values, strict=True) if y is not None]
            if shown:
                marker = MARKERS[index % len(MARKERS)]
                plt.plot([p[0] for p in shown], [p[1] for p in shown], marker=marker, label=s.key)
        steps = sorted({x for s in chosen for x in s.steps})
        if steps:
            plt.xticks(_integer_ticks(steps[0], steps[-1]))
        plt.xlabel("step")
        plot.refresh()

    def action_next_metric(self) -> None:
        if self.shown and len(self.shown.series) > 1:
            self.metric_index += 1
            self._show_steps()

    def _draw_curve(self) -> None:
        curve = self.record.learning_curve
        if curve is None or not self.query("#curve"):
            return
        plt = self.query_one("#curve", PlotextPlot).plt
        plt.title(f"{curve.metric} by {curve.param}")
        for series, values, marker in (("train", curve.train, "dot"), ("validation", curve.validation, "x")):
            points = [(s, v) for s, v in zip(curve.steps, values, strict=False) if v is not None]
            if points:
                plt.plot([p[0] for p in points], [p[1] for p in points], marker=marker, label=series)


def _integer_ticks(low: int, high: int, most: int = 6) -> list[int]:
    """At most `most` whole steps from low to high, evenly spread (steps are counts)."""
    every = max(1, -(-(high - low) // (most - 1)))
    return list(range(low, high + 1, every))


def _model(run: Run) -> str:
    return detail.model_label(run.family, run.model_class)


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"


def _seconds(run: Run) -> str:
    """How long it took; a running run, how long it has run so far (created_at to now)."""
    if run.duration_s is not None:
        return f"{run.duration_s:.2f} s"
    if run.status != "running":
        return "- s"
    started = datetime.fromisoformat(run.created_at)
    now = datetime.now(started.tzinfo or UTC)
    return f"{max((now - started).total_seconds(), 0.0):.0f} s so far"


def describe_head(run: Run) -> str:
    """What the run trains and where it came from: above its steps, the rest below them."""
    lines = [f"model      {_model_text(run)}   seed {run.seed}   {_seconds(run)}"]
    if run.kind == "pipeline":
        lines.append(f"factory    {run.family}")
    elif run.kind != "catalog" and run.model_class and run.family != run.model_class:
        lines.append(f"class      {run.family}")  # the model's import path
    return "\n".join([*lines, *source_lines(run)])


def describe(run: Run, task: str = "") -> str:
    """The rest of the run's record, as lines of `label  text`."""
    params = ", ".join(
        f"{k}={v}" for k, v in sorted(run.params.items()) if k not in ("verbose", "n_jobs", "warm_start")
    )
    lines = [
        f"params     {params or '-'}",
        f"data       {_data(run)}",
        f"code       {(run.git_commit or 'not in git')[:12]}{' (dirty tree)' if run.git_dirty else ''}",
        f"python     {run.python_version or 'not recorded'}"
        + "".join(f" · {k} {v}" for k, v in (run.library_versions or {}).items() if k != "python"),
        f"artifact   {(run.artifact_sha256 or '-')[:16]}",
    ]
    if run.input_schema:
        names = [c["name"] for c in run.input_schema]
        lines.append(f"inputs     {len(names)} column{'s' if len(names) != 1 else ''}: {', '.join(names)}")
    if run.error:
        lines.append(f"error      {run.error}")
    # an external run's own code scored it unless cockpit scored it on a split since: at
    # which threshold, cockpit cannot say
    own = run.external and run.split_id is None
    for name, values in (("validation", run.validation_metrics), ("train", run.train_metrics)):
        if values:
            shown = "  ".join(f"{k}{'' if own else _at(task, k)} {_value(v)}" for k, v in values.items())
            lines.append(f"{name:10} {shown}")
    thresholds = {recorded_threshold(task, k) for k in run.validation_metrics or {}} - {None}
    at = min(thresholds) if thresholds and not own else None
    if own and thresholds:
        lines.append("threshold  as the run's own code scored it (cockpit did not score these metrics)")
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


def _model_text(run: Run) -> str:
    """The catalogue family by its name, another model by its class; an external run's model
    before it is logged, as not known yet."""
    label = _model(run)
    if run.kind == "catalog":
        return run.family
    if label == detail.NO_MODEL:
        return "not logged yet" if run.status == "running" else "none logged"
    if run.status == "failed" and not run.artifact_sha256:  # its class is known: it was logged
        return f"{label} logged, not scored: {run.error or 'no error recorded'}"
    return label


# what origin_text says already; the origin's other facts follow it by name
SAID = {
    "script": ("script", "argv"),
    "file": ("file", "sha256"),
    "notebook": ("kernel", "cwd"),
}


def source_lines(run: Run) -> list[str]:
    """Where a run from outside the catalogue came from, as the card, the review and compare
    say it (training/origin.py), then every other fact its origin records by name: the
    script's folder and interpreter, the file's format, a retrain's refit. None for the
    catalogue."""
    if run.kind == "catalog":
        return []
    if run.kind == "mlflow":
        return [f"source     {origin_text(run)}", *(f"           {fact}" for fact in mlflow_facts(run))]
    origin = {
        k: v
        for k, v in (run.origin or {}).items()
        if k not in (*SAID.get(run.kind, ()), "retrained_from", "reproduces", "rerun")
    }
    facts = [f"in {origin.pop('cwd')}"] if origin.get("cwd") else []
    for key, value in origin.items():
        if value is True:  # a flag: its name says it ("refit")
            facts.append(key.replace("_", " "))
        elif value not in (None, False, "", [], {}):
            facts.append(f"{key.replace('_', ' ')} {value}")
    return [f"source     {origin_text(run)}", *(f"           {fact}" for fact in facts)]


def mlflow_facts(run: Run) -> list[str]:
    """An imported MLflow run's facts beyond origin_text, one short line each: its name and
    status there, its registered versions and aliases, the models it logged, its datasets,
    the tags its user set (MLflow's own mlflow.* tags are said above or by their fields),
    and what the import noted. Its final metrics are the validation/train lines below."""
    origin = run.origin or {}
    facts = []
    if origin.get("run_name"):
        facts.append(f"run name {origin['run_name']}")
    if origin.get("status") == "SCHEDULED":  # the others read as the run's own status
        facts.append("status in MLflow SCHEDULED")
    if origin.get("registered"):
        facts.append("registered in MLflow " + ", ".join(origin["registered"]))
    for model in origin.get("models") or []:
        how = "imported" if model.get("loaded") else model.get("note") or "not loadable"
        facts.append(f"model {model.get('name')} ({', '.join(model.get('flavours') or [])}): {how}")
    for data in origin.get("datasets") or []:
        facts.append(f"dataset {data.get('name')} ({data.get('context') or 'no context'})")
    tags = {k: v for k, v in (origin.get("tags") or {}).items() if not k.startswith("mlflow.")}
    parent = (origin.get("tags") or {}).get("mlflow.parentRunId")
    if parent:
        facts.append(f"parent run {parent}")
    if tags:
        facts.append("tags " + " ".join(f"{k}={v}" for k, v in tags.items()))
    if origin.get("source_name"):
        facts.append(f"code {origin['source_name']} ({(origin.get('source_type') or '?').lower()})")
    facts.extend(origin.get("notes") or [])
    return facts


def _data(run: Run) -> str:
    if run.split_id is None and not run.artifact_sha256:
        return "none named yet: cockpit holds no model of this run to score on it"
    if run.split_id is None:
        return "none named yet: the model was logged on rows cockpit does not hold"
    return f"v{run.version_id} · split {run.split_id} · feature spec v{run.feature_spec_version}"


def _at(task: str, metric: str) -> str:
    at = recorded_threshold(task, metric)
    return "" if at is None else f"@{at:g}"
