"""The demo build's second process: the first asks it for steps over a pipe, and it runs
them one at a time, in the order asked, while the first builds learner-support.

It imports the libraries once, while the first process copies and imports the sample data,
and trains its runs itself: no run starts an interpreter and imports scikit-learn for its
own (on 2 cores that was most of a small run's time).
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cockpit.demo import steps
from cockpit.demo.steps import Progress
from cockpit.errors import CockpitError
from cockpit.workspace import Workspace

# imported before the first step is asked for (the modules its steps use)
WARM = (
    "pyarrow.parquet",
    "sklearn.compose",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "cockpit.training.fit",
    "cockpit.evaluation.report",
)


class Lane:
    """The second process, on the workspace at `workspace_dir` (opened at its first step):
    `start` asks for a step, `wait` waits for it. Its progress lines are said as they come."""

    def __init__(self, workspace_dir: Path, progress: Progress) -> None:
        self.errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 - read when it fails, closed by stop
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from cockpit.demo.lane import serve; serve()", str(workspace_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
        )
        self.asked: deque[str] = deque()
        self.ended: queue.Queue[tuple[str, str]] = queue.Queue()
        self.reader = threading.Thread(target=self._read, args=(progress,), daemon=True)
        self.reader.start()

    def _read(self, progress: Progress) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            kind, text = json.loads(line)
            if kind == "say":
                progress(text)
            else:
                self.ended.put((kind, text))
        self.ended.put(("gone", ""))

    def start(self, step: str, *args: Any) -> None:
        """Ask for `step` (a name in STEPS) with `args`; it runs after those asked before."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps([step, *args]) + "\n")
        self.process.stdin.flush()
        self.asked.append(step)

    def wait(self, step: str) -> None:
        """Until every step named `step` asked for so far, and every step asked before them,
        has ended; one that failed raises."""
        while step in self.asked:
            asked = self.asked.popleft()
            kind, text = self.ended.get()
            if kind == "failed":
                raise CockpitError(f"the demo build's step {asked} failed: {text}")
            if kind == "gone":
                self.process.wait()
                self.errors.seek(0)
                raise CockpitError(
                    f"the demo build's second process ended (exit code {self.process.returncode}) "
                    f"during its step {asked}: {self.errors.read().strip()[-500:]}"
                )

    def close(self) -> None:
        """Every step asked for waited for, then the process ended (it closes its store)."""
        if self.asked:
            self.wait(self.asked[-1])
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()
        self.stop()

    def stop(self) -> None:
        """The process ended now (a step it is in is killed) and its pipes closed."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.reader.join()
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):  # a pipe to a killed process
                pipe.close()  # type: ignore[union-attr]
        self.errors.close()


def serve() -> None:
    """The second process: `[step, *args]` lines on stdin, `[kind, text]` lines on stdout
    (kind: say, done or failed). It ends at the end of its input or at the first failure."""
    import importlib
    import os
    import traceback

    from cockpit.training.sweep_pools import die_with_parent

    die_with_parent(os.getppid())  # a first process killed outright does not leave it running
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything else printed goes with the errors, not into the answers

    def answer(kind: str, text: str) -> None:
        answers.write(json.dumps([kind, text]) + "\n")
        answers.flush()

    for name in WARM:
        importlib.import_module(name)
    workspace: Workspace | None = None
    try:
        for line in sys.stdin:
            step, *args = json.loads(line)
            try:
                workspace = workspace or Workspace(Path(sys.argv[1]))
                STEPS[step](workspace, *args, progress=lambda text: answer("say", text))
            except Exception as exc:  # its error, and where it was raised
                at = traceback.extract_tb(exc.__traceback__)[-1]
                where = f"{Path(at.filename).name}:{at.lineno} in {at.name}"
                answer("failed", f"{type(exc).__name__}: {exc} ({where})")
                return
            answer("done", step)
    finally:
        if workspace is not None:
            workspace.close()


def _project(workspace: Workspace, project_id: int):
    from cockpit.projects import list_projects

    return next(p for p in list_projects(workspace) if p.id == project_id)


def _train(workspace: Workspace, runs: list[list[int]], progress: Progress) -> None:
    for project_id, run_id in runs:
        steps.train_here(workspace, _project(workspace, project_id), run_id, progress)


def _sweep(workspace: Workspace, project_id: int, family: str, trials: int, progress: Progress) -> None:
    steps.sweep(workspace, _project(workspace, project_id), family, trials, progress, n_jobs=1)


def _gate(workspace: Workspace, project_id: int, progress: Progress) -> None:
    steps.gate_best(workspace, _project(workspace, project_id), progress)


def _serve(workspace: Workspace, project_id: int, data_dir: str, progress: Progress) -> None:
    steps.serve_learner_lookups(workspace, _project(workspace, project_id), Path(data_dir), progress)


def _reproduce_production(workspace: Workspace, project_id: int, progress: Progress) -> None:
    steps.reproduce_production(workspace, _project(workspace, project_id), progress)


STEPS: dict[str, Callable[..., None]] = {
    "train": _train,
    "sweep": _sweep,
    "serve": _serve,
    "gate": _gate,
    "reproduce_production": _reproduce_production,
}
