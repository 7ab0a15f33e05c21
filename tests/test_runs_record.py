"""A sweep's trials that come back together are recorded in one transaction: the same rows
as one by one, and a crash inside the burst leaves only whole trials."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from sklearn.datasets import load_breast_cancer

from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.projects import create_project, resolve_project
from cockpit.training import runs, sweeps
from cockpit.training.environment import capture
from cockpit.training.fit import TrainOutput
from cockpit.workspace import Workspace

TIMES = {"created_at", "finished_at", "at"}  # clock readings: one per batch, not per trial


def _ready(folder: Path) -> Workspace:
    folder.mkdir(parents=True)
    ws, _ = Workspace.init(folder)
    project = create_project(ws, "cancer", "binary", "target")
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, -1]]
    frame.to_csv(folder / "cancer.csv", index=False)
    datasets.import_dataset(ws, project, folder / "cancer.csv")
    make_split(ws, project, "stratified")
    return ws


def _trials(ws: Workspace) -> list[tuple]:
    """Four outcomes a sweep meets: finished, failed, pruned (cancelled), finished."""
    project = resolve_project(ws, None)
    plans = [runs.plan_run(ws, project, "logistic_regression", {"C": c}, seed=1) for c in (0.1, 1, 3, 10)]

    def output(i: int) -> TrainOutput:
        scores = {"roc_auc": 0.9 + i / 100, "recall": 0.5 + i / 10, "accuracy": 0.8}
        return TrainOutput(f"model {i}".encode(), dict(scores), scores, None, 0.5 + i)

    return [
        (plans[0], output(0), None, None),
        (plans[1], None, "ValueError: solver failed", None),
        (plans[2], None, "pruned by optuna at max_iter 10 (roc_auc 0.6000)", "cancelled"),
        (plans[3], output(3), None, None),
    ]


def _rows(ws: Workspace, table: str) -> list[dict]:
    rows = ws.store.rows(f"SELECT * FROM {table} ORDER BY rowid")
    return [{k: v for k, v in row.items() if k not in TIMES} for row in rows]


def test_a_burst_in_one_transaction_gives_the_same_rows_as_one_by_one(tmp_path: Path) -> None:
    recorded = {}
    for mode in ("one by one", "burst"):
        ws = _ready(tmp_path / mode.replace(" ", "_") / "w")  # the same name: the init event holds it
        project, trials = resolve_project(ws, None), _trials(ws)
        environment = capture(ws.root)
        sweep_id = sweeps._create(
            ws, project, "logistic_regression", "random", [{}], 4, 1, 2, "loky", None, False
        )
        if mode == "burst":
            ids = sweeps._record_all(ws, project, sweep_id, environment, trials[:1])
            ids += sweeps._record_all(ws, project, sweep_id, environment, trials[1:])
        else:
            ids = [sweeps._record(ws, project, t[0], sweep_id, *t[1:3], environment, t[3]) for t in trials]
        assert ids == [1, 2, 3, 4]
        recorded[mode] = {table: _rows(ws, table) for table in ("runs", "events", "artifacts")}
        ws.close()
    assert recorded["burst"] == recorded["one by one"]
    runs_rows = recorded["burst"]["runs"]
    assert [r["status"] for r in runs_rows] == ["finished", "failed", "cancelled", "finished"]
    assert [r["m_roc_auc"] for r in runs_rows] == [0.9, None, None, 0.93]
    assert [a["kind"] for a in recorded["burst"]["artifacts"]][-2:] == ["model", "model"]
    # the trials write no event: the sweep's end event counts them
    assert [e["action"] for e in recorded["burst"]["events"] if e["stage"] == "experiments"] == [
        "sweep started"
    ]
    with Workspace.open(tmp_path / "burst" / "w") as ws:
        best = runs.close_sweep(ws, resolve_project(ws, None), 1, "finished", "")
        closed = ws.store.one("SELECT finished_trials, best_run_id FROM sweeps WHERE id = 1")
        event = ws.store.one("SELECT details FROM events WHERE action = 'sweep finished'")
    assert best == 4 and closed == {"finished_trials": 4, "best_run_id": 4}
    assert json.loads(event["details"]) == {
        "sweep": 1,
        "trials": 4,
        "finished": 2,
        "failed": 1,
        "cancelled": 1,
        "best": 4,
        "reason": "",
    }


CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from test_runs_record import _trials
from cockpit.projects import resolve_project
from cockpit.training import sweeps
from cockpit.training.environment import capture
from cockpit.workspace import Workspace

ws = Workspace.open(Path(sys.argv[1]))
project = resolve_project(ws, None)
sweep_id = ws.store.scalar("SELECT max(id) FROM sweeps")
sweeps._record_all(ws, project, sweep_id, capture(ws.root), _trials(ws)[1:])
"""


def test_a_crash_inside_a_burst_leaves_only_whole_trials(tmp_path: Path) -> None:
    """Killed with every row and artifact of the burst written but not committed."""
    folder = tmp_path / "w"
    ws = _ready(folder)
    project = resolve_project(ws, None)
    sweep_id = sweeps._create(
        ws, project, "logistic_regression", "random", [{}], 4, 1, 2, "loky", None, False
    )
    sweeps._record_all(ws, project, sweep_id, capture(ws.root), _trials(ws)[:1])
    before = {table: _rows(ws, table) for table in ("runs", "events", "artifacts")}
    ws.close()

    env = {**os.environ, "COCKPIT_FAULT": "sweep:after_run_created"}
    child = [sys.executable, "-c", CHILD, str(folder), str(Path(__file__).parent)]
    killed = subprocess.run(child, env=env, capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    with Workspace.open(folder) as ws:
        assert ws.store.integrity_check() == "ok"
        assert {table: _rows(ws, table) for table in ("runs", "events", "artifacts")} == before
        assert [r["status"] for r in before["runs"]] == ["finished"]


def test_a_trials_text_is_redacted_and_its_values_kept(tmp_path: Path) -> None:
    """The tuple path (Store.insert_rows) still sends text and JSON through the store's
    redactor: a trial's error naming the workspace's folder is stored with `.`."""
    ws = _ready(tmp_path / "w")
    project, trials = resolve_project(ws, None), _trials(ws)
    sweep_id = sweeps._create(
        ws, project, "logistic_regression", "random", [{}], 2, 1, 2, "loky", None, False
    )
    failed = (trials[1][0], None, f"OSError: cannot read {ws.root}/data/x.csv", None)
    ids = sweeps._record_all(ws, project, sweep_id, capture(ws.root), [trials[0], failed])
    rows = ws.store.rows("SELECT * FROM runs WHERE sweep_id = ? ORDER BY id", [sweep_id])
    assert [r["id"] for r in rows] == ids == [ids[0], ids[0] + 1]
    assert rows[1]["error"] == "OSError: cannot read ./data/x.csv"
    assert str(ws.root) not in "".join(str(v) for r in rows for v in r.values())
    assert json.loads(rows[0]["validation_metrics"]) == {"roc_auc": 0.9, "recall": 0.5, "accuracy": 0.8}
    assert (rows[0]["score"], rows[0]["m_recall"], rows[0]["m_f1"]) == (0.9, 0.5, None)
    assert json.loads(rows[0]["params"])["C"] == 0.1
    ws.close()


def test_a_sweep_whose_process_died_is_closed_with_its_trials_counted(tmp_path: Path) -> None:
    """A sweep left running by a process that is gone ends 'interrupted', and its end says
    what its recorded trials came to (they write no event of their own)."""
    ws = _ready(tmp_path / "w")
    project = resolve_project(ws, None)
    sweep_id = sweeps._create(
        ws, project, "logistic_regression", "random", [{}], 8, 1, 2, "loky", None, False
    )
    sweeps._record_all(ws, project, sweep_id, capture(ws.root), _trials(ws))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    ws.store.update("sweeps", {"id": sweep_id}, {"owner_pid": int(gone.stdout)})

    runs.mark_interrupted(ws, project)

    row = ws.store.one("SELECT status, finished_trials, best_run_id FROM sweeps WHERE id = ?", [sweep_id])
    event = ws.store.one("SELECT details FROM events WHERE action = 'sweep interrupted'")
    ws.close()
    assert row == {"status": "interrupted", "finished_trials": 4, "best_run_id": 4}  # roc_auc 0.93
    assert json.loads(event["details"]) == {
        "sweep": sweep_id,
        "trials": 4,
        "finished": 2,
        "failed": 1,
        "cancelled": 1,
        "best": 4,
        "reason": "its process stopped before it finished",
    }
