"""The child process that fits a clone of an external run's model on another run's split
(cockpit.training.rerun.fit_clone).

Like a catalogue run's child (cockpit.training.child) it runs in its own process group, so a
cancel kills it at once; the parent waits on it through the same handle.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from cockpit.projects import Project
from cockpit.training.runs import RunHandle
from cockpit.workspace import Workspace


class RefitHandle(RunHandle):
    """A refit training in `python -m cockpit.retraining.refit`; waits and cancels like any
    run's handle."""

    CHILD = "cockpit.retraining.refit"

    def __init__(self, ws: Workspace, project: Project, run_id: int, champion_id: int) -> None:
        super().__init__(ws, project, run_id, str(champion_id))


def main(workspace_dir: str, project_id: int, run_id: int, champion_id: int) -> int:
    from cockpit.projects import list_projects
    from cockpit.training import external
    from cockpit.training.rerun import fit_clone
    from cockpit.training.runs import finish, get_run

    with Workspace(Path(workspace_dir)) as ws:
        project = next(p for p in list_projects(ws) if p.id == project_id)
        try:
            champion, run = get_run(ws, project, champion_id), get_run(ws, project, run_id)
            data = external.run_data(ws, project, run.split_id)
            started = time.perf_counter()
            model, rows = fit_clone(ws, champion, data)
            duration = time.perf_counter() - started
            external.finish_with_model(ws, project, run_id, model, rows, data, duration)
            return 0
        except Exception as exc:  # recorded on the run, never a crash
            finish(ws, project, run_id, "failed", error=f"{type(exc).__name__}: {exc}")
            traceback.print_exc(limit=3)
            return 1


if __name__ == "__main__":
    workspace, project_id, run_id, champion_id = sys.argv[1:5]
    sys.exit(main(workspace, int(project_id), int(run_id), int(champion_id)))
