"""The child process that fits a clone of an external run's model on another run's split.

Like a catalogue run's child (cockpit.training.child) it runs in its own process group, so a
cancel kills it at once; the parent waits on it through the same handle.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.training import runs
from cockpit.training.runs import Run, RunHandle
from cockpit.workspace import Workspace

COMMAND_HINT = "cockpit retrain --command 'python train.py ...'"


class RefitHandle(RunHandle):
    """A refit training in `python -m cockpit.retraining.refit`; waits and cancels like any
    run's handle."""

    def __init__(self, ws: Workspace, project: Project, run_id: int, champion_id: int) -> None:
        # RunHandle's bookkeeping, with this module as the child
        self.workspace_dir = ws.dir
        self.project = project
        self.run_id = run_id
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cockpit.retraining.refit",
                str(ws.dir),
                str(project.id),
                str(run_id),
                str(champion_id),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        ws.store.update("runs", {"id": run_id}, {"worker_pid": self.process.pid})
        self.cancelled, self.cancel_reason = False, ""


def user_model(ws: Workspace, run: Run) -> tuple[Any, list[str]]:
    """The user's fitted model inside the run's artifact and the columns its input step
    hands it (cockpit.training.external.with_inputs)."""
    from sklearn.pipeline import Pipeline

    from cockpit.training.external import INPUT_STEP

    saved = runs.load_pipeline(ws, run)
    if not isinstance(saved, Pipeline) or len(saved.steps) != 2 or saved.steps[0][0] != INPUT_STEP:
        raise CockpitError(f"{run.label}'s model file is not a model behind its input step: {COMMAND_HINT}")
    return saved.steps[1][1], list(saved.steps[0][1].transformers[0][2])


def clone_model(ws: Workspace, run: Run) -> Any:
    """An unfitted `sklearn.base.clone()` of the run's model, or why it cannot be had."""
    from sklearn.base import clone

    model, _ = user_model(ws, run)
    try:
        return clone(model)
    except Exception as exc:  # noqa: BLE001 - any refusal of clone() is the answer here
        # scikit-learn's message starts with the model's whole repr: the reason follows it
        why = re.sub(r"^Cannot clone object .*?(, as |: )", "", " ".join(str(exc).split()), flags=re.S)
        raise CockpitError(
            f"{run.label} cannot be refitted: sklearn.base.clone() refuses its "
            f"{type(model).__name__} ({why.rstrip('.')}). Retrain it with your own training code: "
            f"{COMMAND_HINT}"
        ) from None


def main(workspace_dir: str, project_id: int, run_id: int, champion_id: int) -> int:
    from cockpit.projects import list_projects
    from cockpit.training import external
    from cockpit.training.runs import finish, get_run

    with Workspace(Path(workspace_dir)) as ws:
        project = next(p for p in list_projects(ws) if p.id == project_id)
        try:
            champion, run = get_run(ws, project, champion_id), get_run(ws, project, run_id)
            data = external.run_data(ws, project, run.split_id)
            model = clone_model(ws, champion)
            _, columns = user_model(ws, champion)
            rows = data.train[columns]
            started = time.perf_counter()
            model.fit(rows, data.train[project.target])
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
