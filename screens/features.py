"""Stage 3 screen: the feature spec per column, edited by keys, and a preview of the
columns the model will actually see."""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Header, Static

from cockpit import features as stage
from cockpit.deployment.moves import Move
from cockpit.errors import CockpitError
from cockpit.workspace import Workspace
from screens.dialogs_input import PromptDialog
from screens.fit_table import FitTable
from screens.footer import KeysFooter
from screens.guard import guarded, notify_errors
from screens.keys import bindings
from screens.row_detail import show_row
from screens.stage_keys import FEATURE_KEYS
from screens.unsaved import GuardsEdits
from screens.work import Job, WorkFailed

if TYPE_CHECKING:
    import pandas as pd

CHOICES = {
    "role": stage.ROLES,
    "kind": stage.KINDS,
    "scaling": stage.SCALINGS,
    "encoding": stage.ENCODINGS,
    "missing": ("median", "mean", "most_frequent"),
}


class FeaturesScreen(GuardsEdits):
    """How each column becomes model input."""

    TITLE = "Features"
    EDITS = "feature edits"
    CSS_PATH = "features.tcss"
    BINDINGS = bindings(FEATURE_KEYS)
    KEYS = FEATURE_KEYS

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.saved_version: int | None = None
        self.saved: list[stage.ColumnSpec] = []
        self.specs: list[stage.ColumnSpec] = []
        self._project_id: int | None = None  # whose spec the table holds
        self.kinds: dict[str, stage.ColumnKinds] = {}  # the kinds each column's data can take

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="features-summary")
        yield FitTable(("Column", "Role", "Kind", "How"), "How", cap=28, id="features-table")
        yield Static(id="features-note")
        yield Static("v previews the transformed columns", id="features-preview")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.refresh_data()

    def unsaved_changes(self) -> tuple[Move, ...]:
        """Each field of each column that differs from the saved spec (values compared, so
        an edit undone by hand leaves nothing unsaved)."""
        saved = {s.column: s for s in self.saved}
        return tuple(change for spec in self.specs for change in _changes(saved.get(spec.column), spec))

    def discard_edits(self) -> None:
        self.specs = list(self.saved)
        self._fill()

    @notify_errors
    def refresh_data(self) -> None:
        project = self.app.project
        if project is None:
            return
        # Reading the store again (on coming back, after a dialog) keeps unsaved edits: only
        # saving or discarding them (screens/unsaved.py) drops them.
        edits = self.specs if self._project_id == project.id and self.unsaved_changes() else None
        self._project_id = project.id
        try:
            self.saved_version, self.saved = stage.current_spec(self.workspace, project)
            self.kinds = stage.column_kinds(self.workspace, project)
        except CockpitError as exc:
            self.query_one("#features-summary", Static).update(str(exc))
            self.specs = self.saved = []
            self.kinds = {}
            self._fill()
            return
        self.specs = list(self.saved) if edits is None else edits
        self._fill()

    def _fill(self) -> None:
        """The table, the cursor kept on its row (screens/fit_table.py)."""
        self.query_one(FitTable).set_rows(
            [([s.column, s.role, s.kind, _how(s)], s.column) for s in self.specs]
        )
        self._summary()

    def _summary(self) -> None:
        if not self.specs:
            return
        features = sum(s.role == "feature" for s in self.specs)
        saved = (
            f"spec v{self.saved_version}"
            if self.saved_version
            else "defaults inferred from the data (saved as v1 by the first run)"
        )
        dirty = " · unsaved changes (ctrl+s)" if self.unsaved_changes() else ""
        entity = stage.entity_column(self.specs) or "none (rows keyed by their feature values)"
        unfit = [s.column for s in self.specs if self._problem(s)]
        wrong = f" · ! {', '.join(unfit)}: kind does not fit the data" if unfit else ""
        self.query_one("#features-summary", Static).update(
            f"{saved} · {features} features · entity id: {entity}{dirty}{wrong}"
        )

    def _problem(self, spec: stage.ColumnSpec) -> str | None:
        return stage.kind_problem(spec, self.kinds.get(spec.column))

    @guarded
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Why inference treated the highlighted column as it did, when it says, and why its
        kind does not fit its data, when it does not (an old spec)."""
        self._note(next((s for s in self.specs if s.column == event.row_key.value), None))

    def _note(self, spec: stage.ColumnSpec | None) -> None:
        problem = self._problem(spec) if spec is not None else None
        note = ""
        if spec is not None and problem:
            note = f"! {spec.column} {problem}"
        elif spec is not None and spec.note:
            note = f"{spec.column}: {spec.note}"
        self.query_one("#features-note", Static).update(note)

    @guarded
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter: the column's whole treatment, and why inference chose it."""
        spec = self._current()
        if spec is not None:
            full = self.query_one(FitTable).full_row()
            show_row(
                self, event.data_table, full={**full, "Missing values": spec.missing, "Why": spec.note or "-"}
            )

    def _current(self) -> stage.ColumnSpec | None:
        if not self.specs:
            return None
        return self.specs[self.query_one(FitTable).cursor_row]

    def _replace(self, new: stage.ColumnSpec) -> None:
        self.specs = [new if s.column == new.column else s for s in self.specs]
        self._fill()
        self._note(new)

    def action_cycle(self, field: str) -> None:
        spec = self._current()
        if spec is None:
            return
        if field == "kind":
            self._cycle_kind(spec)
            return
        options = CHOICES[field]
        if field == "role":
            if spec.column == self.app.project.target:
                self.notify("The target's role is fixed by the project", severity="warning")
                return
            options = tuple(r for r in options if r != "target")
        value = getattr(spec, field)
        following = options[(options.index(value) + 1) % len(options)] if value in options else options[0]
        self._replace(replace(spec, **{field: following}))

    def _cycle_kind(self, spec: stage.ColumnSpec) -> None:
        """The next of the kinds the column's data can take (features.kinds_for). A kind it
        cannot take (a spec saved before kinds were checked) is said, then left."""
        known = self.kinds.get(spec.column)
        options = known.kinds if known is not None else stage.KINDS
        if spec.kind not in options:
            said = self._problem(spec) or f"can be {' or '.join(options)}"
            self.notify(f"{spec.column} {said}", title=f"{spec.kind} does not fit", severity="warning")
            following = options[0]
        else:
            following = options[(options.index(spec.kind) + 1) % len(options)]
        saved = next((s for s in self.saved if s.column == spec.column), None)
        if saved is not None and saved.kind == following:
            # as saved (so cycling the kind round leaves the spec as saved)
            self._replace(replace(spec, kind=following, missing=saved.missing, date_parts=saved.date_parts))
            return
        missing = "median" if following == "numeric" else "constant"
        self._replace(replace(stage.with_kind(spec, following, known), missing=missing))

    def action_cycle_how(self) -> None:
        spec = self._current()
        if spec is None:
            return
        if spec.kind == "numeric":
            self.action_cycle("scaling")
        elif spec.kind == "categorical":
            self.action_cycle("encoding")
        else:
            self.action_edit_details()

    def action_edit_details(self) -> None:
        spec = self._current()
        if spec is None:
            return
        if spec.kind == "date":
            prompt, value = (
                f"Date parts of {spec.column} ({', '.join(stage.DATE_PARTS)})",
                ", ".join(spec.date_parts),
            )
        elif spec.kind == "categorical":
            prompt, value = f"Ordinal order of {spec.column}, low to high", ", ".join(spec.order)
        elif spec.kind == "text":
            prompt, value = f"TF-IDF vocabulary size of {spec.column}", str(spec.max_features)
        else:
            self.notify("Numbers have no details: e cycles scaling, m the missing-value fill")
            return

        def done(text: str | None) -> None:
            if text is None:
                return
            try:
                self._replace(_with_details(spec, text))
            except ValueError:
                self.notify("The vocabulary size is a whole number", severity="error")

        self.app.push_screen(PromptDialog(prompt, value=value), done)

    @notify_errors
    def action_save(self) -> None:
        project = self.app.project
        try:
            version = stage.save_spec(self.workspace, project, self.specs)
        except CockpitError as exc:
            self.notify(str(exc), title="Not saved", severity="error")
            return
        self.notify("Nothing changed" if version is None else f"Saved feature spec v{version}")
        self.refresh_data()

    def action_preview(self) -> None:
        if self.specs:
            self.query_one("#features-preview", Static).update("Transforming a sample…")
            self.start_work("Preview", functools.partial(_preview, list(self.specs)))

    @guarded
    def on_previewed(self, done: Previewed) -> None:
        frame = done.frame
        names = list(frame.columns)
        first = ", ".join(f"{n}={frame.iloc[0][n]:.3g}" for n in names[:6])
        self.query_one("#features-preview", Static).update(
            f"{len(names)} model inputs: {', '.join(names[:8])}"
            f"{' …' if len(names) > 8 else ''}\nrow 1: {first} …"
        )

    def work_failed(self, failed: WorkFailed) -> None:
        self.query_one("#features-preview", Static).update(f"✗ {failed.error}")


@dataclass
class Previewed(Message):
    """The model's input columns on a sample of the current data version."""

    frame: pd.DataFrame


def _preview(specs: list[stage.ColumnSpec], job: Job) -> Previewed:
    from cockpit.data.datasets import get_version, load_frame
    from cockpit.feature_pipeline import preview

    frame = load_frame(job.workspace, get_version(job.workspace, job.project)).head(500)
    return Previewed(preview(specs, frame, rows=3))


def _how(spec: stage.ColumnSpec) -> str:
    """The treatment, without the kind the Kind column already shows."""
    return spec.summary().removeprefix(f"{spec.kind} · ") if spec.role == "feature" else "-"


COMPARED = [f.name for f in fields(stage.ColumnSpec) if f.name not in ("column", "note")]


def _changes(saved: stage.ColumnSpec | None, spec: stage.ColumnSpec) -> list[Move]:
    """What an edit changed in one column, field by field ("new" for a column not saved)."""
    if saved is None:
        return [Move(spec.column, "not in the saved spec", spec.summary())]
    return [
        Move(f"{spec.column} {name}", _shown(getattr(saved, name)), _shown(getattr(spec, name)))
        for name in COMPARED
        if getattr(saved, name) != getattr(spec, name)
    ]


def _shown(value: object) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def _with_details(spec: stage.ColumnSpec, text: str) -> stage.ColumnSpec:
    items = [v.strip() for v in text.split(",") if v.strip()]
    if spec.kind == "date":
        return replace(spec, date_parts=items)
    if spec.kind == "categorical":
        return replace(spec, order=items, encoding="ordinal" if items else "onehot")
    return replace(spec, max_features=int(text))
