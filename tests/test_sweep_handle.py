"""A sweep started the UI's way: a child process reporting progress and its result on a
channel of its own (cockpit/training/sweep_child.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.errors import CockpitError
from cockpit.projects import Project, create_project
from cockpit.training import spaces, sweeps
from cockpit.workspace import Workspace


@pytest.fixture
def ready(workspace: Workspace, tmp_path: Path) -> Project:
    project = create_project(workspace, "subs", "binary", "left")
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 200)
    frame = pd.DataFrame(
        {"x": x, "z": rng.normal(0, 1, 200), "left": (x + rng.normal(0, 1, 200) > 0.5).astype(int)}
    )
    path = tmp_path / "subs.csv"
    frame.to_csv(path, index=False)
    datasets.import_dataset(workspace, project, path)
    make_split(workspace, project, "stratified")
    return project


def test_the_child_reports_each_trial_and_returns_the_recorded_result(workspace, ready) -> None:
    seen: list[tuple[int, int, str]] = []
    handle = sweeps.SweepHandle(workspace, ready, "logistic_regression", 3, n_jobs=1)
    result = handle.wait(lambda done, total, message: seen.append((done, total, message)))

    assert isinstance(result, sweeps.SweepResult)
    assert result.status == "finished" and result.reason == "" and len(result.run_ids) == 3
    assert [(done, total) for done, total, _ in seen] == [(1, 3), (2, 3), (3, 3)]
    assert all(message.startswith("trial ") and "roc_auc" in message for _, _, message in seen)
    row = sweeps.list_sweeps(workspace, ready)[0]
    assert (row["id"], row["status"], row["best_run_id"]) == (result.sweep_id, "finished", result.best_run_id)
    recorded = workspace.store.rows("SELECT id FROM runs WHERE sweep_id = ?", [result.sweep_id])
    assert sorted(r["id"] for r in recorded) == sorted(result.run_ids)


TRIALS = 200


def test_stop_keeps_the_finished_trials_and_returns_a_cancelled_result(workspace, ready) -> None:
    # Many more trials than a stop lets run: a parent that reads the first progress late (a
    # loaded machine) must still find the child mid-sweep, not done with every trial.
    handle = sweeps.SweepHandle(workspace, ready, "random_forest", TRIALS, n_jobs=1)

    def stop_after_the_first(done: int, total: int, message: str) -> None:
        if done == 1:
            handle.stop()

    result = handle.wait(stop_after_the_first)

    assert result.status == "cancelled" and result.reason == "interrupted by the user"
    statuses = {
        r["id"]: r["status"]
        for r in workspace.store.rows("SELECT id, status FROM runs WHERE sweep_id = ?", [result.sweep_id])
    }
    assert sorted(statuses) == sorted(result.run_ids) and len(statuses) < TRIALS
    assert list(statuses.values()).count("finished") >= 1
    assert set(statuses.values()) <= {"finished", "cancelled"}
    assert sweeps.list_sweeps(workspace, ready)[0]["status"] == "cancelled"


def test_a_sweep_that_cannot_run_raises_the_reason_the_core_gives(workspace, ready) -> None:
    with pytest.raises(CockpitError) as in_process:
        sweeps.run_sweep(
            workspace, ready, "no_such_model", spaces.random_trials("no_such_model", 2, 42), "random"
        )
    handle = sweeps.SweepHandle(workspace, ready, "no_such_model", 2)
    with pytest.raises(CockpitError) as in_child:
        handle.wait()
    assert "no_such_model" in str(in_child.value) and str(in_child.value) == str(in_process.value)
    assert workspace.store.scalar("SELECT count(*) FROM sweeps") == 0


def test_a_child_that_dies_without_a_result_is_an_error_not_a_hang(workspace, ready) -> None:
    handle = sweeps.SweepHandle(workspace, ready, "logistic_regression", 3)
    handle.process.kill()
    with pytest.raises(CockpitError, match=r"ended without a result \(exit code -9\)"):
        handle.wait()
