"""Stage 9 screen: the launch-readiness review, one step per question with its evidence,
signed off by keys: approve, block or waive with a comment."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Header, Static

from cockpit import review as reviewing
from cockpit.deployment import registry
from cockpit.errors import CockpitError
from cockpit.workspace import Workspace
from screens.base import StageScreen
from screens.dialogs_input import PromptDialog
from screens.guard import guarded, notify_errors
from screens.keys import Key, bindings

REVIEW_KEYS = [
    Key(
        "review.approve",
        "a",
        "sign('approve')",
        "Approve",
        cli="review sign",
        help="Approve the highlighted step",
    ),
    Key(
        "review.block",
        "b",
        "sign('block')",
        "Block",
        cli="review sign",
        help="Block the highlighted step, saying why",
    ),
    Key(
        "review.waive",
        "w",
        "sign('waive')",
        "Waive",
        cli="review sign",
        help="Waive the highlighted step's failing evidence, saying why",
    ),
    Key(
        "review.version",
        "v",
        "pick_version",
        "Version",
        cli="review",
        help="Review another model version (default: production)",
    ),
]


class ReviewScreen(StageScreen):
    """Is the model launch-ready? Reproduce, evaluate, deploy, monitor, replace."""

    TITLE = "Review"
    CSS_PATH = "review.tcss"
    BINDINGS = bindings(REVIEW_KEYS)
    KEYS = REVIEW_KEYS

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.version: int | None = None
        self.result: reviewing.Review | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="review-verdict")
        yield DataTable(id="steps", cursor_type="row", zebra_stripes=True)
        yield Static(id="evidence")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#steps", DataTable).add_columns("Step", "Evidence", "Sign-off")
        self.refresh_data()
        self.query_one("#steps", DataTable).focus()

    @notify_errors
    def refresh_data(self) -> None:
        project = self.app.project
        if project is None:
            return
        versions = registry.list_versions(self.workspace, project)
        if not versions:
            self.query_one("#review-verdict", Static).update(
                "No model version to review: register one first (cockpit register RUN)."
            )
            return
        if self.version is None:
            production = registry.alias_version_id(self.workspace, project, "production")
            self.version = next((v.version for v in versions if v.id == production), versions[-1].version)
        self.result = reviewing.review(self.workspace, project, self.version)
        verdict = "✓ READY" if self.result.ready else "✗ NOT READY"
        modes = "; ".join(self.result.failure_modes) or "no failure mode detected"
        self.query_one("#review-verdict", Static).update(f"v{self.version}: {verdict}\n{modes}")
        table = self.query_one("#steps", DataTable)
        row = table.cursor_row
        table.clear()
        for step in self.result.steps:
            passed = sum(ok for ok, _ in step.evidence)
            signed = f"{step.decision} · {step.reviewer}" if step.decision else "-"
            table.add_row(
                f"{'✓' if step.ok else '✗'} {step.name}",
                f"{passed}/{len(step.evidence)} ok",
                signed,
                key=step.name,
            )
        table.move_cursor(row=min(row, len(self.result.steps) - 1))
        self._evidence()

    def _current(self) -> reviewing.Step | None:
        if self.result is None:
            return None
        return self.result.steps[self.query_one("#steps", DataTable).cursor_row]

    @guarded
    def on_data_table_row_highlighted(self) -> None:
        self._evidence()

    def _evidence(self) -> None:
        step = self._current()
        if step is None:
            return
        lines = [f"{'ok ' if ok else 'NO '} {text}" for ok, text in step.evidence]
        if step.comment:
            lines.append(f"{step.decision} by {step.reviewer}: {step.comment}")
        self.query_one("#evidence", Static).update("\n".join(lines))

    def action_sign(self, decision: str) -> None:
        step = self._current()
        if step is None:
            return

        def signed(comment: str | None) -> None:
            if comment is None:
                return
            try:
                reviewing.sign(self.workspace, self.app.project, self.version, step.name, decision, comment)
            except CockpitError as exc:
                self.notify(str(exc), severity="error")
                return
            self.notify(f"{step.name}: {decision}")
            self.refresh_data()

        self.app.push_screen(
            PromptDialog(
                f"{decision.title()} '{step.name}': comment",
                "why" if decision != "approve" else "optional",
                "" if decision != "approve" else "evidence checked",
            ),
            signed,
        )

    def action_pick_version(self) -> None:
        def chosen(text: str | None) -> None:
            if text:
                try:
                    self.version = registry.get_version(self.workspace, self.app.project, text).version
                except CockpitError as exc:
                    self.notify(str(exc), severity="error")
                    return
                self.refresh_data()

        self.app.push_screen(PromptDialog("Model version to review", "e.g. 2 or production"), chosen)
