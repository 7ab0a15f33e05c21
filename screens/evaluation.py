"""Stage 5 screen: the gate verdict and the three numbers that matter first, then tabs
for metrics, curves, the confusion matrix, the gate's rules, segments, robustness and
importance, all of one run (the screen's subject)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Header, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from cockpit.errors import CockpitError
from cockpit.evaluation import gate as gating
from cockpit.evaluation import intervals
from cockpit.evaluation import report as reporting
from cockpit.evaluation.view import RunEvaluation, run_choices, run_evaluation
from cockpit.projects import Project
from cockpit.training import query
from cockpit.training.detail import model_labels
from cockpit.training.runs import get_run
from cockpit.workspace import Workspace
from screens import evaluation_tabs as tabs
from screens.base import StageScreen
from screens.dialogs_input import PromptDialog
from screens.footer import KeysFooter
from screens.guard import error_text, guarded, notify_errors
from screens.keys import bindings
from screens.run_picker import NO_RUN, RunPicker
from screens.stage_keys import EVALUATION_KEYS
from screens.work import Job, WorkFailed


@dataclass(frozen=True, slots=True)
class Subject:
    """What every tab shows: one run of one project (run None: the project's default run,
    not yet known)."""

    project_id: int
    run_id: int | None

    def loading(self) -> str:
        return f"Loading run {self.run_id}…" if self.run_id is not None else "Loading…"


LOADING = "Loading evaluation"


class EvaluationScreen(StageScreen):
    """Does the model pass the gate, and by how much?

    `subject` is the one place that says which run the screen shows. Changing it empties
    every tab to "Loading run N…" and reads the run's evaluation in a worker; a result for
    any other subject (a run picked since, another project) is dropped. Every tab is drawn
    from one `RunEvaluation` by `_show`, so no tab can keep another run's data."""

    TITLE = "Evaluation"
    CSS_PATH = "evaluation.tcss"
    BINDINGS = bindings(EVALUATION_KEYS)
    KEYS = EVALUATION_KEYS
    TABS = ("metrics", "curves", "confusion", "rules", "segments", "robustness", "importance")

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.subject: Subject | None = None
        self.reference_id: int | None = None
        self.bootstrap: int | None = None  # segment intervals' resamples (None: analytic)
        self.view: RunEvaluation | None = None
        self.curve = 0

    @property
    def run_id(self) -> int | None:
        """The run the screen shows (or is loading)."""
        return self.subject.run_id if self.subject else None

    @property
    def evaluation(self) -> reporting.Evaluation | None:
        return self.view.evaluation if self.view else None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="verdict")
        with TabbedContent(initial="metrics"):
            with TabPane("Metrics", id="metrics"):
                yield Static(id="metrics-note", classes="note")
                yield DataTable(id="metrics-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Curves", id="curves"):
                yield Static(id="curves-note", classes="note")
                yield PlotextPlot(id="curve-plot")
            with TabPane("Confusion", id="confusion"):
                yield Static(id="confusion-note", classes="note")
                yield DataTable(id="confusion-table", cursor_type="row")
            with TabPane("Gate", id="rules"):
                yield Static(id="rules-note", classes="note")
                yield DataTable(id="rules-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Segments", id="segments"):
                yield Static(id="segments-note", classes="note")
                yield DataTable(id="segments-table", cursor_type="row", zebra_stripes=True)
                yield Static(id="fairness", classes="detail")
            with TabPane("Robustness", id="robustness"):
                yield Static(id="robustness-note", classes="note")
                yield Static(id="robustness-text")
            with TabPane("Importance", id="importance"):
                yield Static(id="importance-note", classes="note")
                yield DataTable(id="importance-table", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.refresh_data()

    def on_resize(self) -> None:
        # the metrics table's names and the gate's wrapped details follow the width
        if self.view is not None and self.view.evaluation is not None:
            self._show(self.view)

    # -- the subject -----------------------------------------------------------

    def refresh_data(self) -> None:
        """Read the shown run again; after a project switch, the new project's default run."""
        project = self.app.project
        if project is None:
            return
        if self.subject is None or self.subject.project_id != project.id:
            self.reference_id = None
            self.show_run(None)
        else:
            self._load(self.subject)

    def show_run(self, run_id: int | None) -> None:
        """Make `run_id` (None: the project's default) the subject: every tab says it is
        loading until the run's evaluation is read."""
        project = self.app.project
        if project is None:
            return
        self.subject = Subject(project.id, run_id)
        self.view = None
        self.curve = 0
        self._empty_tabs(self.subject.loading())
        self._load(self.subject)

    def _load(self, subject: Subject) -> None:
        self.start_work(LOADING, functools.partial(_load, subject))

    @guarded
    def on_loaded(self, loaded: Loaded) -> None:
        if loaded.subject != self.subject:
            return  # read for a run (or project) the screen no longer shows
        view = loaded.view
        if view is None:
            self._empty_tabs("No finished run to evaluate yet: train one on the Experiments screen (4).")
            return
        self.subject = Subject(loaded.subject.project_id, view.run.id)
        if view != self.view:  # coming back to an unchanged run: what is drawn is still true
            self._show(view)

    def work_failed(self, failed: WorkFailed) -> None:
        if failed.task == LOADING:
            self._empty_tabs(f"Could not read run {self.run_id}: {error_text(failed.error)}")
            return
        if self.view is not None:  # the header said "Evaluating…": what is known is shown again
            self._show(self.view)
        self.refresh_data()

    # -- drawing ---------------------------------------------------------------

    def _empty_tabs(self, why: str) -> None:
        """Every tab empty and saying `why` (loading, not evaluated yet, no run)."""
        self.view = None
        self.query_one("#verdict", Static).update(why)
        for tab in self.TABS:
            self.query_one(f"#{tab}-note", Static).update(why)
        for table in self.query(DataTable):
            table.clear(columns=True)
        for plot in self.query(PlotextPlot):
            plot.plt.clear_figure()
            plot.refresh()
        self.query_one("#fairness", Static).update("")
        self.query_one("#robustness-text", Static).update("")

    def _show(self, view: RunEvaluation) -> None:
        e = view.evaluation
        if e is None and not view.run.artifact_sha256:  # e.g. imported from MLflow without a model
            self._empty_tabs(
                f"{view.run.label} · no model: cockpit holds no model of this run, so there is "
                "nothing to evaluate; r picks another run."
            )
            self.view = view
            return
        if e is None:
            self._empty_tabs(
                f"{view.run.label} · not evaluated yet: v evaluates it on the test split "
                "(a recorded look), V on validation, r picks another run."
            )
            self.view = view
            return
        self.view = view
        gate_text = ""
        if view.gate and e.part == "test":
            gate_text = " · GATE ✓ PASS" if view.gate.passed else " · GATE ✗ FAIL"
        threshold = f" at {e.threshold:.3f}" if e.threshold is not None else ""
        lines = [f"{view.run.label} · {e.rows_label}{threshold}{gate_text}", tabs.headline(view, e)]
        lines += [f"! {tabs.short_warning(w)}" for w in e.warnings]
        self.query_one("#verdict", Static).update("\n".join(lines))
        for tab in self.TABS:
            note = self.PAINTERS[tab](self, view, e)
            self.query_one(f"#{tab}-note", Static).update(f"{view.run.label} · {note}")

    def _paint_metrics(self, view: RunEvaluation, e: reporting.Evaluation) -> str:
        columns, rows = tabs.metrics_rows(view, e, self.size.width)
        tabs.fill(self.query_one("#metrics-table", DataTable), columns, rows)
        legend = f" · {tabs.SHORT_LEGEND}" if "Base" in columns else ""
        return tabs.metrics_note(view, e, self.size.width) + legend

    def _paint_curves(self, view: RunEvaluation, e: reporting.Evaluation) -> str:
        return tabs.draw_curve(self.query_one("#curve-plot", PlotextPlot), view, e, self.curve)

    def _paint_confusion(self, view: RunEvaluation, e: reporting.Evaluation) -> str:
        tabs.fill(self.query_one("#confusion-table", DataTable), *tabs.confusion_rows(e))
        return e.rows_label + (" · MAE by target range" if e.confusion is None else "")

    def _paint_rules(self, view: RunEvaluation, e: reporting.Evaluation) -> str:
        tabs.fill(self.query_one("#rules-table", DataTable), *tabs.rules_rows(view.gate, self.size.width))
        if view.gate is None:
            return "no gate yet: v evaluates on the test split and runs the gate"
        return f"gate {'PASS' if view.gate.passed else 'FAIL'} · evaluation {view.gate.evaluation_id}"

    def _paint_segments(self, view: RunEvaluation, e: reporting.Evaluation) -> str:
        tabs.fill(self.query_one("#segments-table", DataTable), *tabs.segments_rows(e))
        lines = tabs.fairness_lines(e)
        self.query_one("#fairness", Static).update("\n".join(lines[1:]))
        return lines[0]

    def _paint_robustness(self, view: RunEvaluation, e: reporting.Evaluation) -> str:
        lines = tabs.robustness_lines(e, view.project.task)
        self.query_one("#robustness-text", Static).update("\n".join(lines))
        return f"edge cases and latency on {e.rows_label} rows; stability on validation (as said)"

    def _paint_importance(self, view: RunEvaluation, e: reporting.Evaluation) -> str:
        tabs.fill(self.query_one("#importance-table", DataTable), *tabs.importance_rows(e))
        return tabs.importance_note(e)

    # One painter per tab, each drawing its tab from the view and returning its note.
    PAINTERS: ClassVar[dict[str, Callable[[EvaluationScreen, RunEvaluation, reporting.Evaluation], str]]] = {
        "metrics": _paint_metrics,
        "curves": _paint_curves,
        "confusion": _paint_confusion,
        "rules": _paint_rules,
        "segments": _paint_segments,
        "robustness": _paint_robustness,
        "importance": _paint_importance,
    }

    # -- actions ---------------------------------------------------------------

    def action_next_curve(self) -> None:
        self.curve += 1
        self.query_one(TabbedContent).active = "curves"
        if self.view is not None and self.view.evaluation is not None:
            note = self._paint_curves(self.view, self.view.evaluation)
            self.query_one("#curves-note", Static).update(f"{self.view.run.label} · {note}")

    def action_evaluate(self, part: str) -> None:
        if self.view is None:
            loading = self.subject is not None and self.subject.run_id is not None
            self.notify(
                f"Run {self.run_id} is still loading" if loading else "No run to evaluate", severity="warning"
            )
            return
        run = self.view.run
        how = f" (segment intervals: bootstrap {self.bootstrap})" if self.bootstrap else ""
        self.query_one("#verdict", Static).update(f"Evaluating {run.label} on {part}…{how}")
        work = functools.partial(_evaluate, run.id, part, self.reference_id, self.bootstrap)
        self.start_work("Evaluation", work)

    @guarded
    def on_evaluated(self, done: Evaluated) -> None:
        result = done.result
        if isinstance(result, gating.GateResult):
            self.notify(
                f"Gate {'PASS' if result.passed else 'FAIL'} for run {done.run_id}",
                severity="information" if result.passed else "error",
            )
        if done.run_id == self.run_id:
            self.refresh_data()

    @notify_errors
    def action_pick_run(self) -> None:
        project = self.app.project
        if project is None:
            return
        choices = run_choices(self.workspace, project, include=self.run_id)
        if not choices:
            self.notify("No finished run yet: train one on the Experiments screen (4)", severity="warning")
            return

        def chosen(run_id: int | None) -> None:
            if run_id is not None and run_id != self.run_id:
                self.show_run(run_id)

        names = model_labels(self.workspace, [c.run_id for c in choices], short=False)
        self.app.push_screen(RunPicker(choices, self.run_id, "Run to evaluate", names=names), chosen)

    @notify_errors
    def action_pick_reference(self) -> None:
        from cockpit.evaluation.references import production_run

        project = self.app.project
        if project is None:
            return
        production = production_run(self.workspace, project)
        marks = {production.id: "production"} if production else {}
        choices = [
            c
            for c in run_choices(self.workspace, project, include=production.id if production else None)
            if c.run_id != self.run_id
        ]

        def chosen(run_id: int | None) -> None:
            if run_id is None:
                return
            self.reference_id = None if run_id == NO_RUN else run_id
            if self.reference_id is None:
                self.notify("No reference model")
            else:
                self.notify(f"Reference: run {run_id} (v evaluates against it)")

        names = model_labels(self.workspace, [c.run_id for c in choices], short=False)
        picker = RunPicker(
            choices, self.reference_id, "Compare with", none="no reference", marks=marks, names=names
        )
        self.app.push_screen(picker, chosen)

    def action_pick_bootstrap(self) -> None:
        """How the next evaluation's segment intervals are made: N bootstrap resamples, or 0
        for the analytic ones (Esc keeps the current choice)."""

        def chosen(text: str | None) -> None:
            if text is None:
                return
            try:
                self.bootstrap = intervals.resamples_asked(text)
            except CockpitError as exc:
                self.notify(str(exc), severity="error")
                return
            if self.bootstrap:
                self.notify(f"Segment intervals: bootstrap {self.bootstrap} (v evaluates with it)")
            else:
                self.notify("Segment intervals: analytic")

        current = str(self.bootstrap or 0)
        prompt = PromptDialog("Bootstrap resamples (0: analytic)", "0: analytic intervals", current)
        self.app.push_screen(prompt, chosen)

    @notify_errors
    def action_export(self) -> None:
        from pathlib import Path

        from cockpit.evaluation.markdown import to_markdown

        view = self.view
        if view is None or view.evaluation is None:
            self.notify("Evaluate first (v)", severity="warning")
            return
        evaluation = view.evaluation
        default = str(self.workspace.root / f"evaluation-run-{view.run.id}.md")

        def chosen(path: str | None) -> None:
            if path:
                target = Path(path).expanduser()
                target.write_text(to_markdown(evaluation, view.run.label, view.gate))
                self.notify(f"Wrote {target}")

        self.app.push_screen(PromptDialog("Write the report to", value=default), chosen)


@dataclass
class Loaded(Message):
    """The evaluation of `subject`'s run was read; None when the project has no run to show."""

    subject: Subject
    view: RunEvaluation | None


def _load(subject: Subject, job: Job) -> Loaded:
    ws, project = job.workspace, job.project
    if project.id != subject.project_id:
        return Loaded(subject, None)  # dropped: the screen has moved on to another project
    run_id = subject.run_id
    if run_id is None:
        run_id = _default_run(ws, project)
        if run_id is None:
            return Loaded(subject, None)
    return Loaded(subject, run_evaluation(ws, project, run_id))


def _default_run(ws: Workspace, project: Project) -> int | None:
    """The run evaluated last, else the best finished run on the spec's metric."""
    evaluated = reporting.last_evaluated_run(ws, project)
    if evaluated is not None:
        return evaluated
    return query.best_run(ws, project)


@dataclass
class Evaluated(Message):
    """`run_id` was evaluated; on the test split the result is the gate's verdict."""

    run_id: int
    result: gating.GateResult | reporting.Evaluation


def _evaluate(run_id: int, part: str, reference_id: int | None, bootstrap: int | None, job: Job) -> Evaluated:
    ws, project = job.workspace, job.project
    run = get_run(ws, project, run_id)
    against = get_run(ws, project, reference_id) if reference_id else None
    if part == "test":
        return Evaluated(run_id, gating.gate(ws, project, run, against, bootstrap=bootstrap))
    return Evaluated(run_id, reporting.evaluate(ws, project, run, part, against, bootstrap=bootstrap))
