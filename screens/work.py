"""One worker path for every screen.

`start(screen, workspace, task, job)` (a stage screen's `start_work(task, job)`) runs `job`
in a thread worker. The project is read when the work starts, on the UI thread, so switching
projects meanwhile cannot change what the work acts on; the job gets its own connection to
the workspace (SQLite connections stay in their thread). A job posts typed messages for
progress and returns one for its result; the result is delivered unless the work was
cancelled (an exclusive task started again). Whatever the job raises arrives at the screen
as one `WorkFailed` message, which `StageScreen` turns into an error notification.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, get_current_worker

from cockpit.projects import Project
from cockpit.workspace import Workspace


@dataclass
class WorkFailed(Message):
    """A job raised: `task` names the work in words ("Validation"), `error` says why."""

    task: str
    error: Exception


@dataclass(frozen=True)
class Job:
    """What a job is given: a connection of its own, the project captured at start and the
    screen its messages go to."""

    workspace: Workspace
    project: Project
    screen: Screen

    def post(self, message: Message) -> None:
        """Send a message to the screen (safe from the worker's thread)."""
        self.screen.post_message(message)


JobFunction = Callable[[Job], Message | None]


def start(
    screen: Screen, workspace: Workspace, task: str, job: JobFunction, exclusive: bool = True
) -> Worker | None:
    """Run `job` in a thread worker for the app's current project; None (and a warning)
    when there is no project yet. `exclusive` cancels the same task's earlier work."""
    project: Project | None = getattr(screen.app, "project", None)
    if project is None:
        screen.notify("Create a project first", severity="warning")
        return None

    def run() -> None:
        worker = get_current_worker()
        try:
            with workspace.reopen() as ws:
                result = job(Job(ws, project, screen))
        except Exception as error:  # noqa: BLE001 - reported by the one failure handler
            if not worker.is_cancelled:
                screen.post_message(WorkFailed(task, error))
            return
        if result is not None and not worker.is_cancelled:
            screen.post_message(result)

    return screen.run_worker(
        run, name=task, group=task, thread=True, exclusive=exclusive, exit_on_error=False
    )
