"""Stage 9 screen: the launch-readiness review, one step per question with its evidence,
signed off by keys: approve, block or waive with a comment."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable, Header, Static

from cockpit import review as reviewing
from cockpit.deployment import registry
from cockpit.errors import CockpitError
from cockpit.training.query import best_run
from cockpit.workspace import Workspace
from screens.base import StageScreen
from screens.dialogs_input import PromptDialog
from screens.footer import KeysFooter
from screens.guard import guarded, notify_errors
from screens.keys import bindings
from screens.stage_keys import REVIEW_KEYS


class ReviewScreen(StageScreen):
    """Is the model launch-ready? Reproduce, evaluate, deploy, monitor, replace."""

    TITLE = "Review"
    CSS_PATH = "review.tcss"
    BINDINGS = bindings(REVIEW_KEYS)
    KEYS = REVIEW_KEYS

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.version: int | None = None
        self.version_project: int | None = None  # the project self.version belongs to
        self.result: reviewing.Review | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="review-verdict")
        yield DataTable(id="steps", cursor_type="row", zebra_stripes=True)
        yield Static(id="evidence")
        yield KeysFooter()

    def on_mount(self) -> None:
        table = self.query_one("#steps", DataTable)
        for label, key in (("Step", "step"), ("Evidence", "evidence"), ("Sign-off", "signoff")):
            table.add_column(label, key=key)
        self.refresh_data()
        self.query_one("#steps", DataTable).focus()

    @notify_errors
    def refresh_data(self) -> None:
        """Read the review again; on another project, start from its own subject version.
        What is on screen is cleared first, so a failure never leaves another review shown."""
        project = self.app.project
        if project is None or project.id != self.version_project:
            self.version = None
        self.version_project = project.id if project else None
        row = self.query_one("#steps", DataTable).cursor_row if self.version is not None else 0
        self._show(None, "")
        if project is None:
            return
        if self.version is None:
            subject = reviewing.review_subject(self.workspace, project)
            if subject is None:
                best = best_run(self.workspace, project)
                how = (
                    f"register one first (cockpit register {best})"
                    if best
                    else "train and register one first"
                )
                self._show(None, f"No model version to review: {how}.")
                return
            self.version = subject.version
        result = reviewing.review(self.workspace, project, self.version)
        modes = "; ".join(result.failure_modes) or "no failure mode detected"
        self._show(result, f"{result.verdict()}\n{modes}", row)

    def _show(self, result: reviewing.Review | None, verdict: str, row: int = 0) -> None:
        """Put `result` on screen (None: an empty table) under the `verdict` text, the
        cursor on step `row`."""
        self.result = result
        self.query_one("#review-verdict", Static).update(verdict)
        table = self.query_one("#steps", DataTable)
        table.clear()
        self.query_one("#evidence", Static).update("")
        if result is None:
            return
        for step in result.steps:
            passed = sum(ok for ok, _ in step.evidence)
            signed = f"{step.decision} · {step.signer}" if step.decision else "-"
            table.add_row(
                f"{'✓' if step.ok else '✗'} {step.name}",
                f"{passed}/{len(step.evidence)} ok",
                signed,
                key=step.name,
            )
        table.move_cursor(row=min(max(row, 0), len(result.steps) - 1))
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
        if step.decision:
            lines.append(f"{step.decision} by {step.signer}" + (f": {step.comment}" if step.comment else ""))
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

        self.app.push_screen(PromptDialog(*sign_prompt(step, decision)), signed)

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


def sign_prompt(step: reviewing.Step, decision: str) -> tuple[str, str, str]:
    """The sign-off dialog's question, placeholder and pre-filled comment. Only an approval of
    evidence that passes is pre-filled ("evidence checked"); otherwise the field starts
    empty and the question says what the evidence says NO to."""
    title = f"{decision.title()} '{step.name}': comment"
    if decision != "approve":
        return title, "why", ""
    if step.passed:
        return title, "optional", "evidence checked"
    return f"Approve '{step.name}'? Its evidence says NO: {'; '.join(step.failing)}", "why approve anyway", ""
