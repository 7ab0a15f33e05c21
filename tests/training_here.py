"""Training in the test's own process, for tests of what a run records rather than of the
process it trains in.

`cockpit train` (and the screens) train each run in a child process, `python -m
cockpit.training.child`, whose work is `cockpit.training.child.main`. Under `training_here()`
`start_run` calls that same `main` in this process instead: the same planning, fit, scoring,
artifact and records, without the child's interpreter start and imports (about a second a run
on this machine, more under load). Cancelling needs the process, so it is refused here: the
tests of cancelling, of a dying child and of progress lines (test_training.py,
test_runs_record.py, the screens' worker tests) keep the real child.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

# imported before any patch: RefitHandle subclasses RunHandle when its module is first
# imported, and one first imported under training_here() kept HandleHere as its base for the
# rest of the worker's tests (a retrain's refit then failed "only plain runs train here")
from cockpit.retraining import refit  # noqa: F401
from cockpit.training import child, runs
from cockpit.workspace import Workspace


class HandleHere(runs.RunHandle):
    """A RunHandle whose run trains in this process when waited on."""

    def __init__(self, ws: Workspace, project, run_id: int, *more: str) -> None:
        assert not more, "only plain runs train here"
        self.workspace_dir, self.project, self.run_id = ws.dir, project, run_id
        self.output: list[str] = []
        self.cancelled, self.cancel_reason = False, ""

    def wait(self, progress: runs.ProgressCallback | None = None) -> str:
        child.main(str(self.workspace_dir), self.project.id, self.run_id, progress or (lambda *_: None))
        with Workspace(self.workspace_dir) as ws:
            return ws.store.scalar("SELECT status FROM runs WHERE id = ?", [self.run_id])

    def cancel(self, reason: str = "") -> None:
        raise AssertionError("a run trained in the test's process cannot be cancelled: use the real child")


@contextmanager
def training_here() -> Iterator[None]:
    """Runs started inside train in this process (for module-scoped fixtures too)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runs, "RunHandle", HandleHere)
        yield


def trained_here(ws: Workspace, project, family: str, params=None, seed: int = 42) -> runs.Run:
    """`runs.train` under `training_here()`: for module-scoped fixtures' setup runs."""
    with training_here():
        return runs.train(ws, project, family, params, seed)
