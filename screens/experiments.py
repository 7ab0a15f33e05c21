"""Stage 4 screen: training runs — start them, watch them, cancel them, read them."""

from __future__ import annotations

import functools

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, Static
from textual.worker import Worker, WorkerState

from cockpit import metrics
from cockpit.training import runs as training
from cockpit.workspace import Workspace
from screens.guard import notify_errors
from screens.keys import Key, bindings
from screens.run_dialogs import NewRunDialog, RunDetail

EXPERIMENT_KEYS = [
    Key("experiments.new", "n", "new_run", "New run", cli="train",
        help="Train a model in a child process (cockpit train --model FAMILY)"),
    Key("experiments.cancel", "x", "cancel_run", "Cancel run", cli="cancel",
        help="Stop the highlighted running run at once (cockpit cancel RUN)"),
    Key("experiments.detail", "enter", "detail", "Details", show=False, cli="runs",
        help="Everything the highlighted run recorded, with its learning curve"),
    Key("experiments.refresh", "r", "refresh_data", "Refresh", show=False,
        help="Read the runs again"),
]
STATUS_MARK = {"running": "▶ running", "finished": "✓ done", "failed": "✗ failed",
               "cancelled": "■ cancelled", "interrupted": "! interrupted"}
LIMIT = 500


class ExperimentsScreen(Screen):
    """Which run is best, and how the running ones are doing."""

    TITLE = "Experiments"
    CSS_PATH = "experiments.tcss"
    BINDINGS = bindings(EXPERIMENT_KEYS)
    KEYS = EXPERIMENT_KEYS

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.active: dict[int, training.RunHandle] = {}
        self.progress: dict[int, str] = {}
        self.runs: list[training.Run] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="runs-summary")
        with Horizontal(id="active-bar"):
            yield Label(id="active-label")
            yield ProgressBar(total=1.0, show_eta=False, id="active-progress")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key, width in (("Run", "id", 5), ("Model", "family", 19), ("Status", "status", 12),
                                  ("Score", "score", 6), ("Secs", "secs", 5), ("Note", "note", None)):
            table.add_column(label, key=key, width=width)
        self.query_one("#active-bar").display = False
        self.refresh_data()
        self.set_interval(2.0, self._poll)

    def on_screen_resume(self) -> None:
        self.refresh_data()

    def _poll(self) -> None:
        if self.app.screen is self:
            self.refresh_data()

    @notify_errors
    def refresh_data(self) -> None:
        project = self.app.project
        if project is None:
            return
        self.runs = training.list_runs(self.workspace, project, LIMIT)
        self._fill()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        best = self._best()
        room = max(10, self.size.width - 63)  # the fixed columns take the rest
        for run in self.runs:
            note = self.progress.get(run.id) or run.error or _params_note(run, self.app.project.task)
            mark = "★" if best and run.id == best.id else " "
            table.add_row(f"{mark}{run.id}", run.family[:19], STATUS_MARK.get(run.status, run.status),
                          f"{run.score:.4f}" if run.score is not None else "-",
                          f"{run.duration_s:.1f}" if run.duration_s else "-", note[:room],
                          key=str(run.id))
        if self.runs:
            table.move_cursor(row=min(row, len(self.runs) - 1))
        self._summary(best)

    def _best(self) -> training.Run | None:
        scored = [r for r in self.runs if r.score is not None and r.metric]
        if not scored:
            return None
        best = scored[0]
        for run in scored[1:]:
            if metrics.better(run.metric, run.score, best.score):
                best = run
        return best

    def _summary(self, best: training.Run | None) -> None:
        from cockpit.problem import current_spec

        summary = self.query_one("#runs-summary", Static)
        if not self.runs:
            summary.update("No runs yet: press n to train one (or cockpit train --model dummy).")
            return
        text = f"{len(self.runs)} runs"
        if best:
            text += f" · best validation {best.metric} {best.score:.4f} (★ run {best.id})"
            spec = current_spec(self.workspace, self.app.project)
            if spec.metric_target is not None and metrics.metric_column(spec.metric) == best.metric:
                met = not metrics.better(best.metric, spec.metric_target, best.score)
                text += f" · target {spec.metric_goal()} {'✓ met' if met else '✗ not met'}"
        summary.update(text)

    # -- actions ---------------------------------------------------------------

    def _highlighted(self) -> training.Run | None:
        if not self.runs:
            return None
        return self.runs[self.query_one(DataTable).cursor_row]

    def action_new_run(self) -> None:
        project = self.app.project
        if project is None:
            return

        def chosen(request: dict | None) -> None:
            if request:
                self.run_worker(lambda: self._train(request), thread=True, group="train",
                                exit_on_error=False, description=request["family"])

        self.app.push_screen(NewRunDialog(project.task), chosen)

    def _train(self, request: dict) -> tuple[int, str]:
        with self.workspace.reopen() as ws:
            handle = training.start_run(ws, self.app.project, request["family"],
                                        request["params"], request["seed"])
        self.app.call_from_thread(self._started, handle)
        status = handle.wait(lambda f, m: self.app.call_from_thread(self._on_progress,
                                                                    handle.run_id, f, m))
        return handle.run_id, status

    def _started(self, handle: training.RunHandle) -> None:
        self.active[handle.run_id] = handle
        self.notify(f"Run {handle.run_id} started")
        self.refresh_data()

    def _on_progress(self, run_id: int, fraction: float, message: str) -> None:
        self.progress[run_id] = f"{fraction:.0%} {message}"
        bar = self.query_one("#active-bar")
        bar.display = True
        self.query_one("#active-label", Label).update(f"run {run_id}: {message}  ")
        self.query_one("#active-progress", ProgressBar).update(progress=fraction)
        table = self.query_one(DataTable)
        if str(run_id) in {k.value for k in table.rows}:
            table.update_cell(str(run_id), "note", self.progress[run_id][: max(10, self.size.width - 63)])

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "train":
            return
        if event.state == WorkerState.ERROR:
            self.notify(str(event.worker.error), title="Run not started", severity="error",
                        timeout=10)
            self.refresh_data()
        elif event.state == WorkerState.SUCCESS:
            run_id, status = event.worker.result
            self.active.pop(run_id, None)
            self.progress.pop(run_id, None)
            self.query_one("#active-bar").display = bool(self.active)
            self.notify(f"Run {run_id} {status}",
                        severity="information" if status == "finished" else "warning")
            self.refresh_data()

    def action_cancel_run(self) -> None:
        run = self._highlighted()
        if run is None or run.status != "running":
            self.notify("The highlighted run is not running", severity="warning")
            return
        handle = self.active.get(run.id)
        if handle is not None:
            handle.cancel()
        else:
            training.cancel_run(self.workspace, self.app.project, run.id)
        self.notify(f"Run {run.id} cancelled")
        self.refresh_data()

    def action_detail(self) -> None:
        run = self._highlighted()
        if run is not None:
            self.app.push_screen(RunDetail(run))

    def on_data_table_row_selected(self) -> None:
        self.action_detail()


def _params_note(run: training.Run, task: str) -> str:
    """The key params that differ from the estimator's defaults."""
    defaults = _defaults(run.family, task)
    keys = ("C", "alpha", "max_depth", "n_estimators", "max_iter", "learning_rate",
            "min_samples_leaf", "class_weight")
    shown = [f"{k}={run.params[k]}" for k in keys
             if k in run.params and run.params[k] is not None and run.params[k] != defaults.get(k)]
    return " ".join(shown)


@functools.cache
def _defaults(family: str, task: str) -> dict:
    from cockpit.training.catalog import default_params

    try:
        return default_params(family, task)
    except Exception:  # noqa: BLE001 - an unknown family shows all its params
        return {}
