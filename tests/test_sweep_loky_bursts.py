"""A sweep of a list of trials on loky records the trials that came back together in one
transaction (joblib hands them over one at a time): the same runs as one worker records one
by one, and Ctrl-C still keeps what finished and cancels the rest. Breast cancer, logistic
regression."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.projects import create_project
from cockpit.training import spaces, sweeps


@pytest.fixture
def ready(workspace, tmp_path: Path):
    project = create_project(workspace, "cancer", "binary", "target")
    path = tmp_path / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    datasets.import_dataset(workspace, project, path)
    make_split(workspace, project, "stratified")
    return project


def _spy_bursts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each transaction the sweep records its trials in."""
    sizes: list[int] = []
    record_all = sweeps._record_all

    def spy(ws, project, sweep_id, environment, trials):
        sizes.append(len(trials))
        return record_all(ws, project, sweep_id, environment, trials)

    monkeypatch.setattr(sweeps, "_record_all", spy)
    return sizes


def _runs(ws, sweep_id: int) -> list[tuple]:
    rows = ws.store.rows(
        "SELECT params, validation_metrics, status, error FROM runs WHERE sweep_id = ?", [sweep_id]
    )
    return sorted((r["params"], r["validation_metrics"], r["status"], r["error"]) for r in rows)


def test_two_workers_record_what_one_does_sharing_transactions(workspace, ready, monkeypatch) -> None:
    trials = spaces.random_trials("logistic_regression", 8, seed=5)
    alone = sweeps.run_sweep(workspace, ready, "logistic_regression", trials, "random", n_jobs=1)
    sizes = _spy_bursts(monkeypatch)
    reports: list[tuple[int, int]] = []

    def slow_first_report(done: int, total: int, message: str) -> None:
        reports.append((done, total))
        if done == 1:  # the other worker's trials finish meanwhile: they come back together
            time.sleep(2)

    pair = sweeps.run_sweep(
        workspace, ready, "logistic_regression", trials, "random", n_jobs=2, progress=slow_first_report
    )
    assert alone.status == pair.status == "finished"
    assert len(alone.run_ids) == len(pair.run_ids) == 8
    runs_alone, runs_pair = _runs(workspace, alone.sweep_id), _runs(workspace, pair.sweep_id)
    assert runs_pair == runs_alone
    assert {status for _, _, status, _ in runs_pair} == {"finished"}
    assert sorted(json.loads(params)["C"] for params, *_ in runs_pair) == sorted(t["C"] for t in trials)
    assert sum(sizes) == 8 and max(sizes) >= 2, sizes  # some trials shared a transaction
    assert reports == [(done, 8) for done in range(1, 9)]  # one report per trial, in order
    best = workspace.store.scalar(
        "SELECT id FROM runs WHERE sweep_id = ? ORDER BY score DESC, id LIMIT 1", [pair.sweep_id]
    )
    assert pair.best_run_id == best


def test_ctrl_c_keeps_the_finished_trials_and_cancels_the_rest(workspace, ready, monkeypatch) -> None:
    sizes = _spy_bursts(monkeypatch)
    trials = spaces.random_trials("logistic_regression", 30, seed=6)

    def interrupt(done: int, total: int, message: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(sweeps.SweepInterrupted) as stopped:
        sweeps.run_sweep(
            workspace, ready, "logistic_regression", trials, "random", n_jobs=2, progress=interrupt
        )
    result = stopped.value.result
    assert result.status == "cancelled" and result.reason == "interrupted by the user"
    statuses = [r["status"] for r in workspace.store.rows("SELECT status FROM runs ORDER BY id")]
    assert statuses[: sizes[0]] == ["finished"] * sizes[0]  # the burst recorded before its report
    assert set(statuses[sizes[0] :]) <= {"cancelled"} and len(statuses) < 30
    assert len(result.run_ids) == len(statuses)
    assert sweeps.list_sweeps(workspace, ready)[0]["status"] == "cancelled"
    # joblib's pool was left working: the next sweep runs on it
    after = sweeps.run_sweep(workspace, ready, "logistic_regression", trials[:4], "random", n_jobs=2)
    assert after.status == "finished" and len(after.run_ids) == 4
