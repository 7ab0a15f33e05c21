"""Stage 4 screen: the runs comparison table — virtual, sorted and filtered in SQL — with
runs and sweeps started, watched and cancelled from here, diffs, plots and reproduce."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Header, Input, Label, ProgressBar, Static

from cockpit.deployment.moves import Move
from cockpit.errors import CockpitError
from cockpit.evaluation import metrics
from cockpit.problem import current_spec
from cockpit.training import detail, query
from cockpit.training import runs as training
from cockpit.workspace import Workspace
from screens.base import StageScreen
from screens.confirm import ConfirmReason
from screens.footer import KeysFooter
from screens.guard import guarded, notify_errors
from screens.keys import bindings
from screens.run_dialogs import NewRunDialog, RunDetail, SweepDialog
from screens.run_views import CompareView, SweepPlot
from screens.runs_table import Column, RunsTable
from screens.stage_keys import EXPERIMENT_KEYS
from screens.work import Job, WorkFailed

if TYPE_CHECKING:
    from cockpit.training.reproduce import Reproduction
    from cockpit.training.sweeps import SweepHandle, SweepResult

STATUS_MARK = {
    "running": "▶ running",
    "finished": "✓ done",
    "failed": "✗ failed",
    "cancelled": "■ cancel",
    "interrupted": "! interr.",
}
MODEL_WIDTH = 18  # the model column's width at 80 columns (a longer class name ends in …)
PARAMS_ROOM = 20  # a wider terminal's room goes to longer class names until the note has this
TASK_METRICS = {
    "binary": ["roc_auc", "recall", "precision", "f1"],
    "multiclass": ["f1", "accuracy", "balanced_accuracy"],
    "regression": ["rmse", "mae", "r2"],
}


class ExperimentsScreen(StageScreen):
    """Which run is best, can it be reproduced, and how are the running ones doing."""

    TITLE = "Experiments"
    CSS_PATH = "experiments.tcss"
    BINDINGS = bindings(EXPERIMENT_KEYS)
    KEYS = EXPERIMENT_KEYS

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.active: dict[int, training.RunHandle] = {}
        self.progress: dict[int, str] = {}
        self.sort = "id"
        self.descending = True
        self.filter_text = ""
        self._project_id: int | None = None
        self._data_version: int | None = None  # the store's, when the table was last read
        # task, metric, goal, the models the runs train: what the columns depend on
        self._layout: tuple[str, str, tuple[str, float] | None, detail.ModelsSeen] | None = None
        self._latest: dict[int, tuple[detail.Latest, ...]] = {}  # running runs' newest steps, by id
        self._metrics: list[str] = []  # the metric columns offered (TASK_METRICS, or what runs have)
        self._splits: list[int] = []  # the splits the finished runs are on, newest first

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="runs-summary")
        with Horizontal(id="query-bar"):
            yield Label(id="sort-label")
            yield Input(
                placeholder="/ filter: recall>0.8 family=random_forest", id="runs-filter", compact=True
            )
        with Horizontal(id="active-bar"):
            yield Label(id="active-label")
            yield ProgressBar(total=1.0, show_eta=False, id="active-progress")
        yield RunsTable([], id="runs-table")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#active-bar").display = False
        self.refresh_data()
        self.set_interval(2.0, self._poll)
        self.query_one(RunsTable).focus()

    @guarded
    def _poll(self) -> None:
        """Every 2 s while shown: read the store again only if another connection wrote to
        it, or a run's process died (which writes nothing until it is marked here)."""
        project = self.app.project
        # is_current first: the app has no screen at all while it shuts down
        if not self.is_current or self.app.screen is not self or project is None:
            return
        if (
            project.id != self._project_id
            or self.workspace.data_version() != self._data_version
            or training.mark_interrupted(self.workspace, project)
        ):
            self.refresh_data()

    def on_resize(self) -> None:
        """Columns grow and shrink with the terminal (the params note takes what is left)."""
        if self._layout is not None:
            self.query_one(RunsTable).set_columns(self._columns(*self._layout))

    # -- the table -------------------------------------------------------------

    def _columns(
        self, task: str, metric: str, goal: tuple[str, float] | None, seen: detail.ModelsSeen
    ) -> list[Column]:
        """Run, model, status, the primary metric and its target, the sort column (always
        shown, titled with ↓/↑), more metrics while they fit, and the params note. When a run
        came from outside the catalogue, the model column is as wide as its class's name
        (MODEL_WIDTH, more while the params note keeps PARAMS_ROOM) and a source column says
        where each run came from."""

        def marks(row: query.RunRow) -> str:
            table = self.query_one(RunsTable)
            return ("●" if row.id in table.marked else " ") + ("★" if row.id == table.best_id else " ")

        def target(row: query.RunRow) -> str:
            if goal is None or row.score is None or row.metric != goal[0]:
                return " "
            return "✓" if not metrics.better(goal[0], goal[1], row.score) else "✗"

        sorted_by = metric if self.sort == "score" else self.sort
        arrow = "↓" if self.descending else "↑"

        def title(name: str, text: str) -> str:
            return text + arrow if name == sorted_by else text

        def metric_column(name: str) -> Column:
            text = title(name, metric_title(task, name))
            return Column(text, max(8, len(text)), lambda r: _number(r.metrics.get(name)), True, name)

        columns = [
            Column("", 2, marks),
            Column(title("id", "Run"), 5, lambda r: str(r.id), True),
            Column(
                "Model",
                9 if seen.catalog_only else min(MODEL_WIDTH, max(9, seen.widest)),
                lambda r: detail.model_label(r.family, r.model_class),
            ),
        ]
        if not seen.catalog_only:
            columns.append(Column("Source", 9, lambda r: r.kind))
        columns += [
            Column("Status", 9, lambda r: self.progress.get(r.id, STATUS_MARK.get(r.status, r.status))),
            metric_column(metric),
            Column("Tgt", 3, target),
        ]
        if sorted_by == "duration":
            columns.append(Column(title("duration", "Secs"), 7, lambda r: _seconds(r.duration_s), True))
        elif sorted_by not in ("id", metric):
            columns.append(metric_column(sorted_by))
        room = max(0, self.size.width - sum(c.width + 1 for c in columns) - 3)
        model = columns[2]
        if seen.widest > model.width and room > PARAMS_ROOM:
            grown = min(seen.widest - model.width, room - PARAMS_ROOM)
            columns[2] = dataclasses.replace(model, width=model.width + grown)
            room -= grown
        for other in self._metrics or TASK_METRICS[task]:
            column = metric_column(other)
            if other not in (metric, sorted_by) and room >= column.width + 1 + 14:
                columns.append(column)
                room -= column.width + 1
        columns.append(Column("Params", max(10, room), lambda r: _params_note(r, self._latest.get(r.id, ()))))
        return columns

    def _fetch(self, listing: query.Listing, offset: int, limit: int) -> list[query.RunRow]:
        """A page of rows, and the newest logged steps of its running runs."""
        rows = listing.page(offset, limit)
        self._latest.update(
            detail.latest_points(self.workspace, [r.id for r in rows if r.status == "running"])
        )
        return rows

    @notify_errors
    def refresh_data(self, keep_cursor: bool = True) -> None:
        """Read the runs again. The cursor stays on its run (by id) unless `keep_cursor` is
        False (a new sort or filter: the first row) or the project changed."""
        project = self.app.project
        if project is None:
            return
        self._data_version = self.workspace.data_version()
        if project.id != self._project_id:
            self._project_id, keep_cursor = project.id, False
            self.sort, self.descending, self.filter_text = "id", True, ""
            self.query_one("#runs-filter", Input).value = ""
        training.mark_interrupted(self.workspace, project)
        spec = current_spec(self.workspace, project)
        metric = metrics.primary_metric(project.task, spec.metric)
        goal = (metric, spec.metric_target) if spec.metric_target is not None else None
        table = self.query_one(RunsTable)
        row = table.current if keep_cursor else None
        kept = row.id if row is not None else None
        seen = detail.models_seen(self.workspace, project.id)
        self._metrics = self._offered_metrics(project.task, project.id, seen)
        self._layout = (project.task, metric, goal, seen)
        table.columns = self._columns(*self._layout)
        try:
            made = query.make_query(project.id, self.sort, self.filter_text, self.descending)
        except CockpitError as exc:
            self.reject_filter("#runs-filter", str(exc))
            self.filter_text = ""
            made = query.make_query(project.id, self.sort, "", self.descending)
        # Validation scores of two splits are on different rows: ★ ranks the newest split's runs.
        self._splits = query.run_splits(self.workspace, project.id)
        ranked = query.ranked_split(self._splits)
        table.best_id = query.best_run_id(self.workspace, project.id, metric, ranked)
        runs = query.listing(self.workspace, made)
        total = runs.count()
        self._latest.clear()
        table.load(functools.partial(self._fetch, runs), total, kept, runs.position)
        self._summary(project, metric, spec, total)

    def _offered_metrics(self, task: str, project_id: int, seen: detail.ModelsSeen) -> list[str]:
        """The metric columns and sorts offered: the task's usual ones when every run is
        cockpit's own (each scores them all); else those some run has, then the task's other
        metrics some run has (a run imported from MLflow has what its code logged)."""
        if seen.catalog_only:
            return TASK_METRICS[task]
        usual = TASK_METRICS[task]
        others = [
            m for m in query.task_metrics(task) if m not in usual and query.NUMERIC_FIELDS.get(m) == f"m_{m}"
        ]
        return query.metrics_present(self.workspace, project_id, [*usual, *others])

    def _summary(self, project, metric: str, spec, shown: int) -> None:
        total = query.run_count(self.workspace, project.id)
        arrow = "↓" if self.descending else "↑"
        self.query_one("#sort-label", Label).update(f"sort {self.sort} {arrow} · {shown:,} shown ")
        if not total:
            self.query_one("#runs-summary", Static).update(
                "No runs yet: n trains one, w starts a sweep (or cockpit train --model dummy)."
            )
            return
        best_id = self.query_one(RunsTable).best_id
        text = f"{total:,} run{'s' if total != 1 else ''}"
        splits = self._splits
        if len(splits) > 1:
            text += f" on {len(splits)} splits (scores on other rows do not rank)"
        if best_id:
            best = training.get_run(self.workspace, project, best_id)
            title = metric_title(project.task, metric)
            among = f" on split {splits[0]}:" if len(splits) > 1 else ""
            text += f" · ★ best{among} val. {title} {_number(best.score)} (run {best_id})"
            if spec.metric_target is not None and metrics.metric_column(spec.metric) == metric:
                met = not metrics.better(metric, spec.metric_target, best.score)
                text += f" · target {spec.metric_goal()} {'✓ met' if met else '✗ not met'}"
        # Said for the task, not for the columns on screen, so the line stays put across sorts.
        thresholds = {query.recorded_threshold(project.task, m) for m in TASK_METRICS[project.task]}
        for at in sorted(t for t in thresholds if t is not None):
            mark = query.threshold_mark(at)
            if self._layout is not None and not self._layout[3].catalog_only:
                # a run of the user's own code (a script, MLflow) scored itself: cockpit
                # cannot say at which threshold
                text += f"\n{mark}: threshold {at:g} if cockpit trained it, else as logged; "
                text += "Evaluation (5) tunes"
            else:
                text += f"\n{mark}: at threshold {at:g}, as trained; Evaluation (5) tunes each run's own"
        self.query_one("#runs-summary", Static).update(text)

    # -- query keys --------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#runs-filter", Input).focus()

    @guarded
    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "runs-filter":
            self.filter_text = event.value.strip()
            self.refresh_data(keep_cursor=False)
            self.query_one(RunsTable).focus()

    def action_cycle_sort(self) -> None:
        project = self.app.project
        choices = ["id", "score", *(self._metrics or TASK_METRICS[project.task]), "duration"]
        self.sort = choices[(choices.index(self.sort) + 1) % len(choices)] if self.sort in choices else "id"
        self.descending = self.sort == "id" or self.sort not in metrics.LOWER_IS_BETTER
        if self.sort == "score":
            metric = metrics.primary_metric(project.task, current_spec(self.workspace, project).metric)
            self.descending = metric not in metrics.LOWER_IS_BETTER
        self.refresh_data(keep_cursor=False)

    def action_flip_sort(self) -> None:
        self.descending = not self.descending
        self.refresh_data(keep_cursor=False)

    def action_mark(self) -> None:
        self.query_one(RunsTable).toggle_mark()

    # -- run keys ----------------------------------------------------------------

    def _current_run(self) -> training.Run | None:
        row = self.query_one(RunsTable).current
        return training.get_run(self.workspace, self.app.project, row.id) if row else None

    def action_detail(self) -> None:
        run = self._current_run()
        if run is not None:
            self.app.push_screen(RunDetail(run, self.app.project.task, self.workspace))

    @notify_errors
    def action_diff(self) -> None:
        from cockpit.training.compare import compare

        marked = sorted(self.query_one(RunsTable).marked)
        if len(marked) < 2:
            self.notify("Mark two or more runs with space first", severity="warning")
            return
        self.app.push_screen(CompareView(compare(self.workspace, self.app.project, marked)))

    @notify_errors
    def action_plot(self) -> None:
        run = self._current_run()
        group = query.imported_group(run) if run is not None else None
        if run is None or (run.sweep_id is None and group is None):
            self.notify("The highlighted run is not part of a sweep", severity="warning")
            return
        if run.sweep_id is not None:
            label: int | str = run.sweep_id
            points = query.sweep_points(self.workspace, run.sweep_id)
        else:  # an imported run: the runs of its MLflow parent run, else of its MLflow experiment
            assert group is not None
            points = query.imported_points(self.workspace, self.app.project.id, group)
            origin = run.origin or {}
            label = (
                f"MLflow parent run {group[1][:8]}"
                if group[0] == "parent"
                else f"MLflow experiment {origin.get('experiment', group[1])}"
            )
        if not points:
            self.notify(f"No run of {label} has a {run.metric} score to plot", severity="warning")
            return
        spec = current_spec(self.workspace, self.app.project)
        target = spec.metric_target if metrics.metric_column(spec.metric) == run.metric else None
        self.app.push_screen(SweepPlot(label, run.metric, points, target))

    def action_new_run(self) -> None:
        def chosen(request: dict | None) -> None:
            if request:
                self.start_work("Training", functools.partial(_train, request), exclusive=False)

        self.app.push_screen(NewRunDialog(self.app.project.task), chosen)

    @guarded
    def on_run_started(self, started: RunStarted) -> None:
        self.active[started.handle.run_id] = started.handle
        self.notify(f"Run {started.handle.run_id} started")
        self.refresh_data()

    @guarded
    def on_run_progress(self, step: RunProgress) -> None:
        self.progress[step.run_id] = f"▶ {step.fraction:.0%}"
        self.query_one("#active-bar").display = True
        self.query_one("#active-label", Label).update(f"run {step.run_id}: {step.message}  ")
        self.query_one("#active-progress", ProgressBar).update(progress=step.fraction)
        self.query_one(RunsTable).refresh()

    @guarded
    def on_run_ended(self, ended: RunEnded) -> None:
        self.active.pop(ended.run_id, None)
        self.progress.pop(ended.run_id, None)
        self.notify(
            f"Run {ended.run_id} {ended.status}",
            severity="information" if ended.status == "finished" else "warning",
        )
        self._work_ended()

    def action_new_sweep(self) -> None:
        def chosen(request: dict | None) -> None:
            if request:
                self.notify(f"Sweep of {request['trials']} {request['family']} trials started")
                self.start_work("Sweep", functools.partial(_sweep, request), exclusive=False)

        self.app.push_screen(SweepDialog(self.app.project.task), chosen)

    @guarded
    def on_sweep_started(self, started: SweepStarted) -> None:
        self.sweep_handle = started.handle

    @guarded
    def on_sweep_progress(self, step: SweepProgress) -> None:
        self.query_one("#active-bar").display = True
        self.query_one("#active-label", Label).update(f"sweep {step.done}/{step.total}: {step.message}  ")
        self.query_one("#active-progress", ProgressBar).update(progress=step.done / step.total)
        self.refresh_data()

    @guarded
    def on_sweep_ended(self, ended: SweepEnded) -> None:
        self.sweep_handle = None
        result = ended.result
        note = f" ({result.reason})" if result.reason else ""
        self.notify(
            f"Sweep {result.sweep_id} {result.status}{note}: "
            f"{len(result.run_ids)} runs, best run {result.best_run_id}"
        )
        self._work_ended()

    def action_reproduce(self) -> None:
        run = self._current_run()
        if run is None or run.status != "finished":
            self.notify("Only a finished run can be reproduced", severity="warning")
            return
        self.notify(f"Reproducing run {run.id} in a fresh process…")
        self.start_work("Reproduce", functools.partial(_reproduce, run.id), exclusive=False)

    @guarded
    def on_reproduced(self, done: Reproduced) -> None:
        result = done.result
        verdict = "identical" if result.identical else "DIFFERS"
        self.notify(
            f"Run {result.run} reproduced: {verdict}. {result.detail}",
            severity="information" if result.identical else "error",
            timeout=10,
        )
        self._work_ended()

    def work_failed(self, failed: WorkFailed) -> None:
        self._work_ended()

    def _work_ended(self) -> None:
        self.query_one("#active-bar").display = bool(self.active)
        self.refresh_data()

    def action_stop_sweep(self) -> None:
        handle = getattr(self, "sweep_handle", None)
        if handle is None or handle.process.poll() is not None:
            self.notify("No sweep is running from this screen", severity="warning")
            return
        handle.stop()
        self.notify("Stopping the sweep: finished trials stay recorded")

    def action_cancel_run(self) -> None:
        """Kill the highlighted running run, once a confirm with a reason says so."""
        run = self._current_run()
        if run is None or run.status != "running":
            self.notify("The highlighted run is not running", severity="warning")
            return

        def confirmed(reason: str | None) -> None:
            if reason:
                self._kill(run.id, reason)

        if run.external:  # cockpit holds no process of it: the user's code stops itself
            question = (
                f"Cancel run {run.id} ({run.kind})? It is recorded as cancelled at once; your "
                "code stops at its next logged metric (cockpit.start_run raises there)."
            )
            move = Move(f"run {run.id}", "training", "cancelled")
        else:
            question = f"Kill {run.label}? Its training stops at once and is lost."
            move = Move(f"run {run.id}", "training", "killed (cancelled)")
        self.app.push_screen(ConfirmReason(question, changes=(move,)), confirmed)

    @notify_errors
    def _kill(self, run_id: int, reason: str) -> None:
        run = training.get_run(self.workspace, self.app.project, run_id)
        status = run.status
        if status != "running":  # it ended while the dialog was open
            ended = "finished" if status == "finished" else f"ended ({status})"
            self.notify(f"Run {run_id} already {ended}: nothing killed", severity="warning")
            self.refresh_data()
            return
        handle = self.active.get(run_id)
        if handle is not None:
            handle.cancel(reason)
        else:
            training.cancel_run(self.workspace, self.app.project, run_id, reason)
        self.notify(f"Run {run_id} {'cancelled' if run.external else 'killed'}: {reason}")
        self.refresh_data()


# -- the work: training, sweeps and reproductions in child processes, watched from threads --


@dataclass
class RunStarted(Message):
    """A run's child process is training (`handle` cancels it)."""

    handle: training.RunHandle


@dataclass
class RunProgress(Message):
    run_id: int
    fraction: float
    message: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunProgress) and message.run_id == self.run_id


@dataclass
class RunEnded(Message):
    run_id: int
    status: str


@dataclass
class SweepStarted(Message):
    """A sweep's child process is running (`handle` stops it)."""

    handle: SweepHandle


@dataclass
class SweepProgress(Message):
    done: int
    total: int
    message: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SweepProgress)


@dataclass
class SweepEnded(Message):
    result: SweepResult


@dataclass
class Reproduced(Message):
    result: Reproduction


def _train(request: dict, job: Job) -> RunEnded:
    handle = training.start_run(
        job.workspace, job.project, request["family"], request["params"], request["seed"]
    )
    job.post(RunStarted(handle))
    status = handle.wait(lambda fraction, message: job.post(RunProgress(handle.run_id, fraction, message)))
    return RunEnded(handle.run_id, status)


def _sweep(request: dict, job: Job) -> SweepEnded:
    from cockpit.training.sweeps import SweepHandle

    handle = SweepHandle(
        job.workspace,
        job.project,
        request["family"],
        request["trials"],
        request["n_jobs"],
        request["time_budget_s"],
        request["stop_on_target"],
        scheduler=request.get("scheduler"),
    )
    job.post(SweepStarted(handle))
    return SweepEnded(handle.wait(lambda done, total, message: job.post(SweepProgress(done, total, message))))


def _reproduce(run_id: int, job: Job) -> Reproduced:
    from cockpit.training.reproduce import reproduce

    return Reproduced(reproduce(job.workspace, job.project, run_id))


def _number(value) -> str:
    return "-" if value is None else f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def metric_title(task: str, name: str) -> str:
    """A metric's column title with its threshold, as the run picker names it."""
    return query.threshold_label(task, name, short=True)


NOTE_PARAMS = (
    "C",
    "alpha",
    "class_weight",
    "max_depth",
    "n_estimators",
    "max_iter",
    "learning_rate",
    "min_samples_leaf",
    "max_features",
    "max_leaf_nodes",
    "num_leaves",
    "l2_regularization",
    "strategy",
)


def _params_note(row: query.RunRow, latest: tuple[detail.Latest, ...]) -> str:
    """A running run's newest logged steps; else the params people tune, read from the run's
    record (no estimator is imported, so the table paints without loading scikit-learn):
    those of NOTE_PARAMS (a pipeline's `model__max_depth` too), or every param a script,
    notebook or file run logged itself."""
    if row.error and row.status != "finished":
        return row.error
    if latest:
        step = max(p.step for p in latest)
        return f"step {step}: " + " ".join(f"{p.key} {_short(p.value)}" for p in latest)
    params = row.params
    if row.kind in training.EXTERNAL_SOURCES:
        return " ".join(f"{k}={_short(v)}" for k, v in params.items() if v is not None)
    if row.kind == "catalog":
        return " ".join(f"{k}={_short(params[k])}" for k in NOTE_PARAMS if params.get(k) is not None)
    order = {name: i for i, name in enumerate(NOTE_PARAMS)}
    tuned = [k for k in params if k.rsplit("__", 1)[-1] in order and params[k] is not None]
    tuned.sort(key=lambda k: order[k.rsplit("__", 1)[-1]])
    return " ".join(f"{k}={_short(params[k])}" for k in tuned)


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else "-" if value is None else str(value)
