"""Stage 2 screen: dataset versions with lineage, the profile, the validation report
(worst first) and the cleaning recipe being built, with a preview of its effect."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Header, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from cockpit.data import checks, datasets, recipes
from cockpit.data import splits as splitting
from cockpit.data.profile import ColumnProfile
from cockpit.text import counted, cut
from cockpit.workspace import Workspace
from screens.base import StageScreen
from screens.dialogs_input import PromptDialog
from screens.fit_table import FitTable
from screens.footer import KeysFooter
from screens.guard import guarded, notify_errors
from screens.keys import bindings
from screens.row_detail import show_row
from screens.split_dialog import SplitDialog
from screens.split_panel import SplitPanel
from screens.stage_keys import DATA_KEYS
from screens.work import Job, WorkFailed

if TYPE_CHECKING:
    import pandas as pd

NARROW = 72  # below this width the profile's plot gives way to its table and stats
SEVERITY_MARK = {"error": "✗ error", "warning": "! warn", "info": "· info"}
VERSIONS_HINT = "Enter selects a version · i imports a file"


def _table(
    table_id: str, columns: tuple[str, ...], flex: str, whole: tuple[str, ...], cap: int = 24
) -> FitTable:
    """A table whose `flex` column takes the width the others leave, and whose `whole`
    columns (numbers) are never cut (screens/fit_table.py)."""
    return FitTable(columns, flex, whole=whole, cap=cap, id=table_id)


class DataScreen(StageScreen):
    """Is the data valid and versioned? Versions, profile, validation and cleaning."""

    TITLE = "Data"
    CSS_PATH = "data.tcss"
    BINDINGS = bindings(DATA_KEYS)
    KEYS = DATA_KEYS
    TABS = ("versions", "profile", "validation", "recipe", "splits")

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.version: datasets.DatasetVersion | None = None
        self.report: checks.Report | None = None
        self.profile: list[ColumnProfile] = []
        self.steps: list[dict] = []
        self.effects: list[str] = []  # the recipe preview's effect of each step
        self.versions: list[datasets.DatasetVersion] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="data-summary")
        with TabbedContent(initial="versions"):
            with TabPane("Versions", id="versions"):
                yield _table(
                    "versions-table",
                    ("v", "Name", "Rows", "From", "Recipe", "Imported"),
                    "Name",
                    whole=("v", "Rows", "From", "Imported"),
                )
                yield Static(VERSIONS_HINT, id="version-detail", classes="hint")
            with TabPane("Profile", id="profile"), Horizontal(id="profile-body"):
                yield _table(
                    "profile-table", ("Column", "Type", "Null", "Distinct"), "Column", ("Null", "Distinct")
                )
                with Vertical(id="profile-side"):
                    with Vertical(id="profile-plot-box"):
                        yield PlotextPlot(id="profile-plot")
                    yield Static(id="profile-stats")
            with TabPane("Validation", id="validation"):
                yield _table(
                    "findings-table",
                    ("Severity", "Check", "Column", "Rows", "Finding"),
                    "Finding",
                    whole=("Rows",),
                    cap=18,
                )
                yield Static(id="finding-detail", classes="detail")
            with TabPane("Recipe", id="recipe"):
                yield _table("recipe-table", ("#", "Step", "Effect"), "Effect", whole=("#",), cap=34)
                yield Static(id="recipe-preview", classes="detail")
            with TabPane("Splits", id="splits"):
                yield SplitPanel(id="split-panel")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.refresh_data()

    def on_resize(self, event: events.Resize) -> None:
        self.query_one("#profile-body").set_class(event.size.width < NARROW, "narrow")

    def _fit(self, table_id: str) -> FitTable:
        return self.query_one(f"#{table_id}", FitTable)

    # -- loading ---------------------------------------------------------------

    @notify_errors
    def refresh_data(self) -> None:
        project = self.app.project
        if project is None:
            self.query_one("#data-summary", Static).update("No project yet.")
            return
        versions = self.versions = datasets.list_versions(self.workspace, project)
        keep = self.version.id if self.version and self.version.project_id == project.id else None
        self.version = next((v for v in versions if v.id == keep), versions[-1] if versions else None)
        self._fill_versions(versions)
        self.steps = json.loads(self.workspace.setting(self._draft_key(), "[]") or "[]")
        self._load_version()

    def _draft_key(self) -> str:
        return f"data.recipe_draft.{self.app.project.id}"

    def _load_version(self) -> None:
        version = self.version
        if version is None:
            self.query_one("#data-summary", Static).update(
                "No data yet: press i to import a CSV or Parquet file (or cockpit data import FILE)."
            )
            self.profile, self.report = [], None
        else:
            self.profile = datasets.column_profiles(self.workspace, version)
            self.report = checks.latest_report(self.workspace, version)
        self._fill_summary()
        self._fill_profile()
        self._fill_findings()
        self._fill_recipe()
        self._fill_split()

    def _fill_split(self) -> None:
        split = None
        if self.version is not None:
            made = [
                s
                for s in splitting.list_splits(self.workspace, self.app.project)
                if s.version_id == self.version.id
            ]
            split = made[-1] if made else None
        self.query_one(SplitPanel).show(split, self.app.project.target if self.app.project else "")

    def _fill_summary(self) -> None:
        """The version and its verdict on the first line, where a narrow terminal cannot
        push the verdict out of view; where it came from on the second."""
        version = self.version
        if version is None:
            return
        if self.report is None:
            verdict = "not validated yet (v)"
        else:
            verdict = (
                f"{'✓ passed' if self.report.passed else '✗ FAILED'} · "
                f"{counted(self.report.count('error'), 'error')}, "
                f"{counted(self.report.count('warning'), 'warning')}"
            )
        self.query_one("#data-summary", Static).update(
            f"{version.label} · {version.rows:,} rows × {version.n_columns} cols · {verdict}\n"
            f"{_upper_first(_lineage(version))}"
        )

    def _fill_versions(self, versions: list[datasets.DatasetVersion]) -> None:
        rows = []
        for v in versions:
            mark = "▶" if self.version and v.id == self.version.id else " "
            cells = [
                f"{mark}{v.id}",
                v.name,
                f"{v.rows:,}",
                f"v{v.parent_id}" if v.parent_id else "-",
                f"{len(v.recipe)} steps" if v.recipe else "-",
                v.created_at[:10],  # the time is in the line under the table
            ]
            rows.append((cells, str(v.id)))
        table = self._fit("versions-table")
        table.set_rows(rows)
        if self.version is not None:  # the cursor starts on the version shown
            table.move_cursor(row=next(i for i, v in enumerate(versions) if v.id == self.version.id))

    def _fill_profile(self) -> None:
        self._fit("profile-table").set_rows(
            [([c.name, c.type, f"{c.null_pct:.1f}%", str(c.distinct)], c.name) for c in self.profile]
        )
        if self.profile:
            self._plot_column(self.profile[0])

    def _fill_findings(self) -> None:
        table = self._fit("findings-table")
        detail = self.query_one("#finding-detail", Static)
        if self.report is None:
            table.set_rows([])
            detail.update("Not validated yet: press v.")
            return
        table.set_rows(
            [
                (
                    [SEVERITY_MARK[f.severity], f.check, f.column or "-", str(f.rows), f.message],
                    str(number),
                )
                for number, f in enumerate(self.report.findings)
            ]
        )
        if not self.report.findings:
            detail.update("No findings: the data passes every check.")

    def _fill_recipe(self) -> None:
        self.effects = []
        self._show_steps()
        preview = self.query_one("#recipe-preview", Static)
        if not self.steps:
            preview.update(
                "The recipe is empty: on the Validation tab, a adds the highlighted "
                "finding's fix, A adds them all."
            )
        elif self.version is not None:
            preview.update("Previewing…")
            self.start_work(PREVIEW, functools.partial(_preview_recipe, self.version, list(self.steps)))

    def _show_steps(self) -> None:
        """Each step and its effect on the version (… until the preview has run)."""
        effects = self.effects or ["…"] * len(self.steps)
        self._fit("recipe-table").set_rows(
            [
                ([str(number), recipes.describe(step), effect], str(number))
                for number, (step, effect) in enumerate(zip(self.steps, effects, strict=True), start=1)
            ]
        )

    # -- highlighted rows ------------------------------------------------------

    @guarded
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key is None:
            return
        if event.data_table.id == "versions-table":
            self._show_version_detail(int(key))
        elif event.data_table.id == "profile-table":
            column = next((c for c in self.profile if c.name == key), None)
            if column:
                self._plot_column(column)
        elif event.data_table.id == "findings-table" and self.report:
            finding = self.report.findings[int(key)]
            lines = [
                f"{finding.severity.upper()} {finding.check} · {finding.column or 'all columns'}"
                f" · {finding.rows} rows: {finding.message}"
            ]
            if finding.examples:
                lines.append("e.g. " + ", ".join(map(repr, finding.examples[:5])))
            if finding.fix:
                lines.append(f"fix: {recipes.describe(finding.fix)}  (a adds it to the recipe)")
            self.query_one("#finding-detail", Static).update("\n".join(lines))

    def _show_version_detail(self, version_id: int) -> None:
        """The highlighted version in full under the table: its whole name and lineage."""
        version = next((v for v in self.versions if v.id == version_id), None)
        if version is None:
            return
        self.query_one("#version-detail", Static).update(
            f"{version.label} · {version.rows:,} rows × {version.n_columns} cols · {_lineage(version)}"
            f" · at {version.created_at.replace('T', ' ')[:16]} · sha256 {version.content_sha256[:12]}"
            f"\n{VERSIONS_HINT}"
        )

    @guarded
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter selects a version on the Versions tab; elsewhere it opens the row in full."""
        table = event.data_table
        if table.id == "versions-table" and event.row_key.value:
            project = self.app.project
            self.version = datasets.get_version(self.workspace, project, int(event.row_key.value))
            self.versions = datasets.list_versions(self.workspace, project)
            self._fill_versions(self.versions)
            self._load_version()
            self.notify(f"Selected {self.version.label}")
        elif table.id == "findings-table" and self.report and event.row_key.value is not None:
            finding = self.report.findings[int(event.row_key.value)]
            extra = {"Examples": ", ".join(map(repr, finding.examples)) if finding.examples else "-"}
            extra["Fix"] = recipes.describe(finding.fix) if finding.fix else "none"
            show_row(self, table, full={**self._fit("findings-table").full_row(), **extra}, title="Finding")
        elif isinstance(table, FitTable):
            table.show_full_row(f"{self.title} · {(table.id or '').removesuffix('-table')}")

    def _plot_column(self, column: ColumnProfile) -> None:
        plot = self.query_one("#profile-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        plt.title(f"{column.name} ({column.type})")
        histogram = column.histogram
        if histogram and column.type == "numeric":
            edges = histogram.edges
            centres = [(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)]
            plt.bar(centres, histogram.counts, marker="hd")
            ticks = [edges[0], edges[len(edges) // 2], edges[-1]]
            plt.xticks(ticks, [f"{t:.4g}" for t in ticks])
        elif column.top and column.type in ("categorical", "binary", "boolean"):
            labels = [cut(v, 10) for v, _ in column.top]
            plt.bar(labels, [n for _, n in column.top], orientation="horizontal", marker="hd")
        plot.display = bool(histogram) or column.type in ("categorical", "binary", "boolean")
        plot.refresh()
        self.query_one("#profile-stats", Static).update(_column_stats(column))

    @guarded
    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        tables = event.pane.query(DataTable)
        if tables:
            tables.first().focus()

    # -- actions ---------------------------------------------------------------

    def action_import_file(self) -> None:
        if self.app.project is None:
            self.notify("Create a project first", severity="warning")
            return

        def chosen(path: str | None) -> None:
            if path:
                self.start_work("Import", functools.partial(_import_file, path))

        self.app.push_screen(PromptDialog("Import a CSV or Parquet file", "path/to/data.csv"), chosen)

    def action_validate(self) -> None:
        if self.version is None:
            self.notify("No data to validate: press i to import a file", severity="warning")
            return
        self.query_one("#data-summary", Static).update(f"Validating {self.version.label}…")
        self.start_work("Validation", functools.partial(_validate, self.version))

    def action_add_fix(self) -> None:
        table = self._fit("findings-table")
        if self.report is None or not self.report.findings:
            self.notify("No findings to fix: validate first (v)", severity="warning")
            return
        finding = self.report.findings[table.cursor_row]
        if not finding.fix:
            self.notify("This finding has no automatic fix", severity="warning")
            return
        self._add_steps([finding.fix])

    def action_add_all_fixes(self) -> None:
        if self.report is None:
            self.notify("Validate first (v)", severity="warning")
            return
        self._add_steps(recipes.suggest_recipe(self.report.findings))

    def _add_steps(self, steps: list[dict]) -> None:
        added = [s for s in steps if s not in self.steps]
        if not added:
            self.notify("Already in the recipe")
            return
        self.steps = sorted([*self.steps, *added], key=lambda s: recipes.SUGGESTED_ORDER.index(s["op"]))
        self._save_draft()
        self.notify(f"Recipe: {len(self.steps)} steps (+{len(added)})")

    def action_drop_step(self) -> None:
        if not self.steps:
            return
        row = self._fit("recipe-table").cursor_row
        del self.steps[min(row, len(self.steps) - 1)]
        self._save_draft()

    def _save_draft(self) -> None:
        self.workspace.set_setting(self._draft_key(), json.dumps(self.steps))
        self._fill_recipe()

    def action_new_split(self) -> None:
        if self.version is None:
            self.notify("No data to split: press i to import a file", severity="warning")
            return
        names = [c.name for c in self.profile if c.name != self.app.project.target]
        dates = [c.name for c in self.profile if c.type == "date"]
        version = self.version

        def chosen(options: dict | None) -> None:
            if options:
                self.notify(f"Splitting {version.label} ({options['strategy']})…")
                self.start_work("Split", functools.partial(_split, version, options))

        self.app.push_screen(SplitDialog(names, dates), chosen)

    def action_apply_recipe(self) -> None:
        if not self.steps or self.version is None:
            self.notify("The recipe is empty: add fixes on the Validation tab (a / A)", severity="warning")
            return
        self.notify(f"Cleaning {self.version.label} with {len(self.steps)} steps…")
        self.start_work("Cleaning", functools.partial(_clean, self.version, list(self.steps)))

    # -- results of the work started above (screens/work.py) -------------------

    @guarded
    def on_validated(self, done: Validated) -> None:
        report = done.report
        self.report = report
        self.notify(
            f"Validated: {counted(report.count('error'), 'error')}, "
            f"{counted(report.count('warning'), 'warning')}"
        )
        self._fill_summary()
        self._fill_findings()
        self.query_one(TabbedContent).active = "validation"

    @guarded
    def on_recipe_previewed(self, done: RecipePreviewed) -> None:
        self._show_preview(done.frame, done.results)

    @guarded
    def on_cleaned(self, done: Cleaned) -> None:
        child = done.version
        self.steps = []
        self._save_draft()
        self.version = child
        self.notify(f"Created {child.label} ({child.rows:,} rows)")
        self.refresh_data()

    @guarded
    def on_split_made(self, done: SplitMade) -> None:
        split = done.split
        self.notify(
            f"Made {split.label}: {split.leaks} leaks",
            severity="error" if split.leaks else "information",
        )
        self._fill_split()
        self.query_one(TabbedContent).active = "splits"

    @guarded
    def on_imported(self, done: Imported) -> None:
        self.version = done.version
        self.notify(
            f"Imported as {done.version.label}"
            if done.created
            else f"Already imported: identical content is {done.version.label}"
        )
        self.refresh_data()

    def work_failed(self, failed: WorkFailed) -> None:
        if failed.task == PREVIEW:
            self.query_one("#recipe-preview", Static).update(f"✗ {failed.error}")
        self._fill_summary()

    def _show_preview(self, frame, results: list[recipes.StepResult]) -> None:
        if len(results) == len(self.steps):
            self.effects = [r.summary().removeprefix(f"{recipes.describe(r.step)}: ") for r in results]
            self._show_steps()
        before = self.version.rows if self.version else len(frame)
        nulls = int(frame.isna().sum().sum())
        self.query_one("#recipe-preview", Static).update(
            f"Preview: {before:,} → {len(frame):,} rows, {nulls:,} missing cells left. "
            "c applies it as a new version; x drops the highlighted step."
        )


# -- the work: pandas off the UI thread, each job with its own connection ------------

PREVIEW = "Recipe preview"


@dataclass
class Validated(Message):
    report: checks.Report


@dataclass
class RecipePreviewed(Message):
    """The recipe applied to the current version in memory: nothing is stored."""

    frame: pd.DataFrame
    results: list[recipes.StepResult]


@dataclass
class Cleaned(Message):
    version: datasets.DatasetVersion


@dataclass
class SplitMade(Message):
    split: splitting.Split


@dataclass
class Imported(Message):
    version: datasets.DatasetVersion
    created: bool


def _validate(version: datasets.DatasetVersion, job: Job) -> Validated:
    return Validated(checks.validate(job.workspace, job.project, version))


def _preview_recipe(version: datasets.DatasetVersion, steps: list[dict], job: Job) -> RecipePreviewed:
    frame = datasets.load_frame(job.workspace, version)
    return RecipePreviewed(*recipes.apply_recipe(frame, recipes.check_steps(steps, "recipe")))


def _clean(version: datasets.DatasetVersion, steps: list[dict], job: Job) -> Cleaned:
    child, _ = recipes.clean_version(job.workspace, job.project, steps, version)
    return Cleaned(child)


def _split(version: datasets.DatasetVersion, options: dict, job: Job) -> SplitMade:
    return SplitMade(splitting.make_split(job.workspace, job.project, version=version, **options))


def _import_file(path: str, job: Job) -> Imported:
    return Imported(*datasets.import_dataset(job.workspace, job.project, Path(path).expanduser()))


def _lineage(version: datasets.DatasetVersion) -> str:
    if version.parent_id and version.recipe:
        return f"from v{version.parent_id} by {len(version.recipe)} steps"
    if version.parent_id:  # a retrain's combined data: the parent and what was added to it
        return f"from v{version.parent_id} + {version.source}"
    return f"imported from {version.source}"


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _column_stats(column: ColumnProfile) -> str:
    parts = [f"{column.name} ({column.type})", f"{column.nulls:,} missing · {column.distinct:,} distinct"]
    if column.min is not None:
        parts.append(f"{column.min:.4g} .. {column.max:.4g} · mean {column.mean:.4g}")
    if column.formats:
        parts.append("formats: " + ", ".join(f"{f} ({n})" for f, n in column.formats.items()))
    if column.top and column.type != "numeric":
        parts.append("top: " + ", ".join(f"{cut(v, 14)} ({n})" for v, n in column.top[:3]))
    return "\n".join(parts)
