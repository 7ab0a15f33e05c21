"""Stage 1 screen: the problem spec form, its live grade, and its version history."""

from __future__ import annotations

from dataclasses import replace

from textual import events
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.widgets import (
    DataTable,
    Header,
    Input,
    Label,
    ProgressBar,
    Select,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)

from cockpit import problem as stage
from cockpit.deployment.moves import Move
from cockpit.errors import CockpitError
from cockpit.problem.grader import grade
from cockpit.projects import get_project
from cockpit.text import cut
from cockpit.workspace import Workspace
from screens.fit_table import FitTable
from screens.footer import KeysFooter
from screens.guard import guarded, notify_errors
from screens.keys import bindings
from screens.row_detail import show_row
from screens.stage_keys import PROBLEM_KEYS
from screens.unsaved import DiscardEdits, GuardsEdits

# (field, label, widget kind, placeholder)
FORM = [
    ("statement", "What is predicted", "area", "Predict whether ... within ..., so that ..."),
    ("target", "Target column", "input", "column name"),
    ("labels", "Labels: who, how", "input", "e.g. mentors mark stalled learners after 4 weeks"),
    ("audience", "Who it serves", "input", "the people who act on a prediction"),
    ("decision", "Decision driven", "input", "what someone does differently"),
    ("usage", "Batch or online", "select", ""),
    ("latency_budget_ms", "Latency budget ms", "number", "online only, e.g. 100"),
    ("time_window", "Time window", "input", "e.g. within 30 days of the prediction"),
    ("metric", "Success metric", "select", ""),
    ("metric_target", "Metric target", "number", "e.g. 0.8"),
    ("costlier_mistake", "Costlier mistake", "select", ""),
    ("cost_ratio", "How many times", "number", "e.g. 5 (a miss costs 5x a false alarm)"),
    ("baseline", "Baseline to beat", "input", "today's rule or process"),
    ("constraints", "Constraints", "input", "latency, cost, privacy, regulation"),
    ("segments", "Groups to check", "input", "segment columns, comma separated"),
    ("risks", "Risks and ethics", "area", "who could be harmed by a wrong prediction, how"),
    ("human_path", "Human path", "area", "who can review, override or appeal"),
]
# Fields are where ctrl+u is pressed, and Input and TextArea bind it to "delete to the line
# start": the form's revert goes first, as the footer promises.
REVERT_FIRST = {"problem.revert"}
STATUS_MARK = {"ok": "✓ ok", "n/a": "· n/a", "missing": "✗ missing", "vague": "! vague"}


class ProblemScreen(GuardsEdits):
    """What is predicted, for whom, judged how: a form graded as you type."""

    TITLE = "Problem"
    EDITS = "problem spec edits"
    CSS_PATH = "problem.tcss"
    BINDINGS = [replace(b, priority=b.id in REVERT_FIRST) for b in bindings(PROBLEM_KEYS)]
    KEYS = PROBLEM_KEYS

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.saved: stage.ProblemSpec | None = None
        self._project_id: int | None = None  # whose spec the form holds
        self._loading = False
        self._regrade_timer = None
        self._choices_for: str | None = None  # the task whose choices the Selects offer

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="readiness"):
            yield Label(id="readiness-text")
            yield ProgressBar(total=100, show_eta=False, show_percentage=False, id="readiness-bar")
        with TabbedContent(initial="spec"):
            with TabPane("Spec", id="spec"), VerticalScroll(id="form"):
                yield Static(id="task-line", classes="form-note")
                # One grid of label and field cells, each row as high as its field: a row
                # container per field was 17 more widgets to mount, style and lay out.
                with Grid(id="form-grid") as grid:
                    grid.styles.grid_rows = " ".join("3" if kind == "area" else "1" for *_, kind, _ in FORM)
                    for name, label, kind, placeholder in FORM:
                        yield Label(label, classes="form-label")
                        yield self._field(name, kind, placeholder)
            with TabPane("Grade", id="grade"):
                yield FitTable(("Field", "Status", "Why it matters"), "Why it matters", id="grade-table")
                yield Static(id="grade-why")
            with TabPane("History", id="history"):
                yield FitTable(
                    ("v", "Score", "Saved", "By", "Changed"),
                    "Changed",
                    whole=("v", "Score", "Saved"),
                    id="history-table",
                )
                with VerticalScroll(id="history-diff-box"):
                    yield Static(id="history-diff")
        yield KeysFooter()

    def _field(self, name: str, kind: str, placeholder: str):
        if kind == "area":
            return TextArea(
                id=f"f-{name}", classes="form-area", soft_wrap=True, placeholder=placeholder, compact=True
            )
        if kind == "select":
            return Select([], id=f"f-{name}", prompt="choose", compact=True)
        input_type = "number" if kind == "number" else "text"
        return Input(
            id=f"f-{name}",
            placeholder=placeholder,
            type=input_type,
            compact=True,
            select_on_focus=False,  # typing must not replace a whole field by surprise
        )

    def on_mount(self) -> None:
        self.query_one("#form").can_focus = False  # Tab goes field to field
        self.refresh_data()

    # -- loading and saving ---------------------------------------------------

    @notify_errors
    def refresh_data(self) -> None:
        project = self.app.project
        if project is None:
            self.query_one("#task-line", Static).update("No project: create one first.")
            return
        # Reading the store again (on coming back, after a dialog) keeps unsaved edits: only
        # saving, reverting or discarding them (screens/unsaved.py) drops them.
        keep_edits = self._project_id == project.id and bool(self.unsaved_changes())
        self._project_id = project.id
        self.saved = stage.current_spec(self.workspace, project)
        self.query_one("#task-line", Static).update(
            f"Predicts a {project.task} target for project {project.name}. "
            "Tab moves between fields · ctrl+s saves · ctrl+u reverts · Esc leaves a field."
        )
        if not keep_edits:
            self._set_choices(project.task)
            self._fill_form(self.saved)
        self._fill_history()
        self._regrade()

    def _set_choices(self, task: str) -> None:
        # Setting a Select's options empties it and restyles it twice: only when they change.
        if self._choices_for == task:
            return
        self._choices_for = task
        self.query_one("#f-usage", Select).set_options([(u, u) for u in stage.USAGES])
        self.query_one("#f-metric", Select).set_options([(m, m) for m in stage.METRICS[task]])
        mistakes = [
            ("false negatives (misses)", "false_negative"),
            ("false positives (false alarms)", "false_positive"),
            ("about equal", "equal"),
        ]
        self.query_one("#f-costlier_mistake", Select).set_options(mistakes)

    def _fill_form(self, spec: stage.ProblemSpec) -> None:
        self._loading = True
        texts = _form_texts(spec)
        shown = self.form_values()
        for name, _, _, _ in FORM:
            # A field that already shows its text is left as it is: setting it again parsed,
            # wrapped and redrew it and sent a change to grade again, at every visit.
            if shown[name] == texts[name]:
                continue
            widget = self.query_one(f"#f-{name}")
            if isinstance(widget, TextArea):
                widget.text = texts[name]
            elif isinstance(widget, Select):
                widget.value = texts[name] or Select.NULL
            elif isinstance(widget, Input):
                widget.value = texts[name]
            _cursor_to_end(widget)
        self.call_after_refresh(self._done_loading)

    def _done_loading(self) -> None:
        self._loading = False
        self._regrade()

    def form_values(self) -> dict:
        values = {}
        for name, _, kind, _ in FORM:
            widget = self.query_one(f"#f-{name}")
            if kind == "area":
                values[name] = widget.text
            elif kind == "select":
                values[name] = "" if widget.value == Select.NULL else widget.value
            else:
                values[name] = widget.value
        return values

    def form_spec(self) -> stage.ProblemSpec:
        project = self.app.project
        spec = stage.spec_from_mapping({**self.form_values(), "task": project.task}, "form")
        return spec

    def is_dirty(self) -> bool:
        return bool(self.unsaved_changes())

    @notify_errors
    def action_save(self) -> None:
        project = self.app.project
        if project is None:
            self.notify("No project to save a spec for", severity="error")
            return
        try:
            saved = stage.save_spec(self.workspace, project, self.form_spec())
        except CockpitError as exc:
            self.notify(str(exc), title="Not saved", severity="error")
            return
        if saved is None:
            self.notify("Nothing changed since the saved version")
            return
        self.app.project = get_project(self.workspace, project.name) or project
        self.notify(f"Saved spec version {saved.version} · readiness {saved.score}%")
        self.refresh_data()

    def action_revert(self) -> None:
        """ctrl+u: back to the saved version; more than one changed field asks first."""
        changed = self.unsaved_changes()
        if not changed:
            self.notify("Nothing to revert: the form is the saved version")
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.discard_edits()
                self.notify(f"Back to the saved version: {', '.join(c.what for c in changed)}")

        if len(changed) == 1:
            answered(True)
        else:
            question = f"Revert {len(changed)} fields to the saved version?"
            self.app.push_screen(DiscardEdits(question, changed), answered)

    def unsaved_changes(self) -> tuple[Move, ...]:
        """The fields whose value differs from the saved spec's, saved → form (values
        compared, so "0.80" is 0.8; text compared while a field holds no valid value)."""
        if self.saved is None:
            return ()
        try:
            now = _form_texts(self.form_spec())
        except CockpitError:
            now = self.form_values()
        saved = _form_texts(self.saved)
        return tuple(
            Move(label, _short(saved[name]), _short(now[name]))
            for name, label, _, _ in FORM
            if now[name] != saved[name]
        )

    def discard_edits(self) -> None:
        if self.saved is not None:
            self._fill_form(self.saved)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Entering a field puts the cursor after its text, nothing selected."""
        _cursor_to_end(event.widget)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    @guarded
    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """On Grade and History the table takes the keys (↑↓, Enter); the form's fields
        are entered with Tab, so single keys keep working there."""
        tables = event.pane.query(DataTable)
        if tables:
            tables.first().focus()
        elif self.focused is not None and event.pane in self.focused.ancestors:
            # `[`/`]` from a table moved the focus into the form's first field: no field
            # takes it, so the next key acts as a key instead of typing (Tab enters a field).
            self.set_focus(None)

    # -- live grading ---------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        self._regrade_soon()

    def on_text_area_changed(self) -> None:
        self._regrade_soon()

    def on_select_changed(self) -> None:
        self._regrade_soon()

    def _regrade_soon(self) -> None:
        """Grade once typing pauses, not on every key."""
        if self._regrade_timer is not None:
            self._regrade_timer.stop()
        self._regrade_timer = self.set_timer(0.2, self._regrade)

    @notify_errors
    def _regrade(self) -> None:
        if self._loading or self.app.project is None:
            return
        try:
            spec = self.form_spec()
        except CockpitError as exc:
            self.query_one("#readiness-text", Label).update(f"! {exc}")
            return
        result = self._grade = grade(spec)
        dirty = " · unsaved" if self.unsaved_changes() else ""
        to_fix = len(result.problems)
        self.query_one("#readiness-text", Label).update(f"Readiness {result.score}% · {to_fix} to fix{dirty}")
        self.query_one("#readiness-bar", ProgressBar).update(progress=result.score)
        order = {"missing": 0, "vague": 1, "ok": 2, "n/a": 3}
        findings = sorted(result.findings, key=lambda f: (order[f.status], -f.weight))
        self.query_one("#grade-table", FitTable).set_rows(
            [([f.label, STATUS_MARK[f.status], f.why], f.field) for f in findings]
        )

    @notify_errors
    def _fill_history(self) -> None:
        rows = []
        previous = stage.ProblemSpec()
        self._versions = stage.history(self.workspace, self.app.project)
        for version in self._versions:
            changed = ", ".join(stage.diff(previous, version.spec)) or "-"
            at = version.created_at.replace("T", " ")[:16]
            rows.append(
                (
                    [str(version.version), f"{version.score}%", at, version.created_by, changed],
                    str(version.version),
                )
            )
            previous = version.spec
        self.query_one("#history-table", FitTable).set_rows(rows)
        self.query_one("#history-diff", Static).update(
            "Select a version to see what it changed."
            if self._versions
            else "No version saved yet: fill the form and press ctrl+s."
        )

    @guarded
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        if event.data_table.id == "grade-table":
            finding = next(f for f in self._grade.findings if f.field == event.row_key.value)
            self.query_one("#grade-why", Static).update(f"{finding.label} ({finding.field}): {finding.why}")
            return
        number = int(event.row_key.value)
        lines = [f"v{number} vs v{number - 1}:" if number > 1 else "v1 (first version):"]
        lines += [f"  {name}: {change}" for name, change in self._version_changes(number).items()]
        self.query_one("#history-diff", Static).update("\n".join(lines))

    def _version_changes(self, number: int) -> dict[str, str]:
        """What version `number` changed, field by field: "old → new"."""
        previous = next((v.spec for v in self._versions if v.version == number - 1), stage.ProblemSpec())
        current = next(v for v in self._versions if v.version == number)
        return {name: f"{old!r} → {new!r}" for name, (old, new) in stage.diff(previous, current.spec).items()}

    @guarded
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter opens the row in full: a finding, or a version with every change it made."""
        table = event.data_table
        if not isinstance(table, FitTable) or event.row_key.value is None:
            return
        if table.id == "history-table":
            full = {**table.full_row(), **self._version_changes(int(event.row_key.value))}
            show_row(self, table, full=full, title=f"Problem spec v{event.row_key.value}")
        else:
            table.show_full_row("Problem · grade")


def _form_texts(spec: stage.ProblemSpec) -> dict[str, str]:
    """Each field's text as the form shows `spec` ("" for a blank select)."""
    values = spec.as_dict()
    texts = {}
    for name, _, _, _ in FORM:
        value = values[name]
        if isinstance(value, list):
            texts[name] = ", ".join(value)
        elif isinstance(value, float):
            texts[name] = f"{value:g}"
        else:
            texts[name] = "" if value is None else str(value)
    return texts


def _short(text: str, width: int = 30) -> str:
    text = " ".join(text.split())
    if not text:
        return "(empty)"
    return cut(text, width)


def _cursor_to_end(widget: object) -> None:
    if isinstance(widget, Input):
        widget.cursor_position = len(widget.value)
    elif isinstance(widget, TextArea):
        widget.move_cursor(widget.document.end)
