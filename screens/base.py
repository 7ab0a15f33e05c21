"""What every stage screen shares: the workspace it was given, reading the store again when
it comes back into view, `[` / `]` cycling through its tabs, and slow work started and its
failures shown in one way (screens/work.py)."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import TabbedContent
from textual.worker import Worker

from cockpit.workspace import Workspace
from screens import work
from screens.guard import guarded, report_error


class StageScreen(Screen):
    """A stage screen. Subclasses implement `refresh_data`; tabbed ones list TABS in order."""

    TABS: tuple[str, ...] = ()

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self._shown = False

    def refresh_data(self) -> None:
        raise NotImplementedError

    def on_screen_resume(self) -> None:
        # The first resume follows on_mount, which has just read the store: skip it.
        if self._shown:
            self.refresh_data()
        self._shown = True

    def action_next_tab(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = self.TABS[(self.TABS.index(tabs.active) + step) % len(self.TABS)]

    def start_work(self, task: str, job: work.JobFunction, exclusive: bool = True) -> Worker | None:
        """Run `job` off the UI thread for the current project; `task` names it in words."""
        return work.start(self, self.workspace, task, job, exclusive)

    @guarded
    def on_work_failed(self, failed: work.WorkFailed) -> None:
        """The one failure handler: every job's error becomes an error notification."""
        report_error(self.app, failed.error, title=f"{failed.task} failed")
        self.work_failed(failed)

    def work_failed(self, failed: work.WorkFailed) -> None:
        """What a screen shows of a failure besides the notification (nothing by default)."""
