"""What a sweep's trials leave in the store, column by column: each run row, its params and
metrics as JSON, recorded one per transaction (`sweeps._record`) and in a burst
(`sweeps._record_all`), and the sweep's end event that counts them (a trial writes no event).
Guards the recording fast path against dropping, reordering or failing to redact a value."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cockpit.projects import resolve_project
from cockpit.training import runs, sweeps
from cockpit.training.fit import TrainOutput
from cockpit.workspace import Workspace
from storage.migrations import RUN_METRICS
from tests.test_runs_record import _ready as cancer_workspace

VERSIONS = {"python": "3.11.7", "scikit-learn": "1.9.1", "numpy": "2.4.6"}


def _ready(folder: Path) -> tuple[Workspace, list[tuple]]:
    ws = cancer_workspace(folder)  # breast cancer, 3 features, one stratified split
    project = resolve_project(ws, "cancer")
    plans = [runs.plan_run(ws, project, "logistic_regression", {"C": c}, seed=7) for c in (0.25, 2.0, 5.0)]
    train = {"roc_auc": 0.99, "recall": 0.97, "precision": 0.96, "f1": 0.965, "accuracy": 0.97}
    valid = {"roc_auc": 0.95, "recall": 0.91, "precision": 0.9, "f1": 0.905, "accuracy": 0.93}
    curve = {"param": "max_iter", "values": [10, 20], "train": [0.9, 0.99], "validation": [0.9, 0.95]}
    trials = [
        (plans[0], TrainOutput(b"model zero", train, valid, curve, 1.25), None, None),
        (plans[1], None, f"OSError: cannot read {folder}/data/x.csv", None),
        (plans[2], None, "pruned by optuna at max_iter 10 (roc_auc 0.6000)", "cancelled"),
    ]
    return ws, trials


def _expected_run(ws: Workspace, trial: tuple, sweep_id: int, environment: tuple) -> dict:
    """The row a trial must give, built from its parts with json.dumps (not the store's code)."""
    plan, output, error, status = trial
    commit, dirty, versions = environment
    encode = lambda value: json.dumps(value, sort_keys=True)  # noqa: E731
    row = {
        "project_id": 1,
        "sweep_id": sweep_id,
        "family": "logistic_regression",
        "params": encode(plan.params),
        "seed": 7,
        "version_id": plan.version_id,
        "split_id": plan.split_id,
        "feature_spec_version": plan.feature_spec_version,
        "status": "finished" if output else status or "failed",
        "error": None if output else error.replace(str(ws.root), "."),
        "metric": "roc_auc",
        "git_commit": commit,
        "git_dirty": dirty,
        "python_version": "3.11.7",
        "library_versions": encode(versions),
        "owner_pid": os.getpid(),
        "created_by": "tester",
        "source": "catalog",
        "model_class": None,
        "origin": None,
        "score": None,
        "train_metrics": None,
        "validation_metrics": None,
        "curve": None,
        "duration_s": None,
        "artifact_sha256": None,
        "threshold": None,  # set later, by whoever picks a threshold
        "threshold_reason": None,
        "input_schema": None,
        "worker_pid": None,  # a trial is recorded after its worker has ended
    }
    row.update({f"m_{name}": None for name in RUN_METRICS})
    if output:
        scores = output.validation_metrics
        row.update(
            score=scores["roc_auc"],
            train_metrics=encode(output.train_metrics),
            validation_metrics=encode(scores),
            curve=encode(output.curve),
            duration_s=output.duration_s,
            artifact_sha256=ws.store.scalar("SELECT sha256 FROM artifacts WHERE size = 10"),
        )
        row.update({f"m_{name}": value for name, value in scores.items()})
    return row


@pytest.mark.parametrize("together", [False, True], ids=["one per transaction", "one burst"])
def test_each_trial_gives_the_row_it_must_and_the_sweeps_end_counts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, together: bool
) -> None:
    monkeypatch.setenv("COCKPIT_USER", "tester")
    ws, trials = _ready(tmp_path / "w")
    project = resolve_project(ws, None)
    environment = ("0123abcd" * 5, True, VERSIONS)
    sweep_id = sweeps._create(
        ws, project, "logistic_regression", "random", [{}], 3, 7, 2, "loky", None, False
    )
    first_event = ws.store.scalar("SELECT max(id) FROM events")
    before = datetime.now(UTC).replace(microsecond=0)
    if together:
        ids = sweeps._record_all(ws, project, sweep_id, environment, trials)
    else:
        ids = [sweeps._record(ws, project, t[0], sweep_id, t[1], t[2], environment, t[3]) for t in trials]
    after = datetime.now(UTC)

    rows = ws.store.rows("SELECT * FROM runs WHERE sweep_id = ? ORDER BY id", [sweep_id])
    assert [row.pop("id") for row in rows] == ids == [1, 2, 3]
    for row in rows:
        created, finished = row.pop("created_at"), row.pop("finished_at")
        assert created == finished and before <= datetime.fromisoformat(created) <= after
        assert row.pop("feature_compiler") is not None
    assert rows == [_expected_run(ws, trial, sweep_id, environment) for trial in trials]
    assert json.loads(rows[0]["params"])["C"] == 0.25 and rows[0]["m_f1"] == 0.905
    assert rows[1]["error"] == "OSError: cannot read ./data/x.csv"

    assert ws.store.scalar("SELECT max(id) FROM events") == first_event  # no event per trial

    assert runs.close_sweep(ws, project, sweep_id, "finished", "") == ids[0]
    events = ws.store.rows("SELECT * FROM events WHERE id > ? ORDER BY id", [first_event])
    assert [(e["user"], e["project_id"], e["stage"], e["action"]) for e in events] == [
        ("tester", 1, "experiments", "sweep finished")
    ]
    assert json.loads(events[0]["details"]) == {
        "sweep": sweep_id,
        "trials": 3,
        "finished": 1,
        "failed": 1,
        "cancelled": 1,
        "best": ids[0],
        "reason": "",
    }
    models = ws.store.rows("SELECT kind, size FROM artifacts WHERE kind = 'model'")
    assert models == [{"kind": "model", "size": 10}]
    ws.close()
