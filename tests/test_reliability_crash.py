"""Crash safety: `kill -9` at a step inside an action's transaction (storage/faults.py),
in a real `python -m cockpit` process, leaves the store as before the action: the database
is intact, nothing of the killed action is visible, running runs end up interrupted (not
running forever), and the next command works. Also a `cockpit train` killed mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cockpit.workspace import Workspace


def _cockpit(
    folder: Path, *args: str, fault: str | None = None, journal: str | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
    env.update(
        COCKPIT_USER="tester",
        **({"COCKPIT_FAULT": fault} if fault else {}),
        **({"COCKPIT_JOURNAL": journal} if journal else {}),
    )
    return subprocess.run(
        [sys.executable, "-m", "cockpit", "--workspace", str(folder), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _data(path: Path, n: int = 120, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    pd.DataFrame(
        {
            "id": range(n),
            "x": x.round(3),
            "plan": rng.choice(["a", "b", "c"], n),
            "y": (x + rng.normal(scale=0.8, size=n) > 0).astype(int),
        }
    ).to_csv(path, index=False)
    return path


def _counts(folder: Path) -> dict[str, int]:
    """Row counts of every table, read with plain sqlite3 after `PRAGMA integrity_check`."""
    conn = sqlite3.connect(folder / ".cockpit" / "cockpit.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def _events(folder: Path) -> list[tuple[str, str]]:
    with Workspace.open(folder) as ws:
        return [
            (r["stage"], r["action"]) for r in ws.store.rows("SELECT stage, action FROM events ORDER BY id")
        ]


@pytest.fixture
def folder(run_cli, tmp_path: Path) -> Path:
    folder = tmp_path / "w"
    run_cli("init", str(folder))
    run_cli("project", "new", "p", "--task", "binary", "--target", "y", workspace=folder)
    return folder


def _killed(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stderr[-2000:])


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_kill_inside_import_leaves_no_version(run_cli, tmp_path: Path, journal: str, monkeypatch) -> None:
    """Tried with SQLite's write-ahead log and with its rollback journal (no WAL)."""
    monkeypatch.setenv("COCKPIT_JOURNAL", journal)
    folder = tmp_path / "w"
    run_cli("init", str(folder))
    run_cli("project", "new", "p", "--task", "binary", "--target", "y", workspace=folder)
    path = _data(tmp_path / "d.csv")
    before, events = _counts(folder), _events(folder)
    _killed(_cockpit(folder, "data", "import", str(path), fault="data.import:after_insert", journal=journal))
    assert _counts(folder) == before and _events(folder) == events
    with Workspace.open(folder) as ws:
        assert ws.store.journal_mode == journal
    again = run_cli("data", "import", str(path), "--json", workspace=folder)
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["id"] == 1 and _counts(folder)["dataset_versions"] == 1


def test_kill_inside_split_leaves_no_split(run_cli, folder: Path, tmp_path: Path) -> None:
    run_cli("data", "import", str(_data(tmp_path / "d.csv")), workspace=folder)
    before, events = _counts(folder), _events(folder)
    _killed(_cockpit(folder, "data", "split", "--seed", "7", fault="data.split:after_insert"))
    assert _counts(folder) == before and _events(folder) == events
    again = run_cli("data", "split", "--seed", "7", workspace=folder)
    assert again.exit_code == 0, again.stderr
    assert again.stdout.strip() == "1" and _counts(folder)["splits"] == 1


def test_kill_inside_problem_set_leaves_the_spec_as_it_was(run_cli, folder: Path) -> None:
    run_cli("problem", "set", "--set", "metric=recall", workspace=folder)
    before, events = _counts(folder), _events(folder)
    _killed(
        _cockpit(
            folder,
            "problem",
            "set",
            "--set",
            "statement=who renews",
            "--set",
            "metric_target=0.8",
            fault="problem.set:after_insert",
        )
    )
    assert _counts(folder) == before and _events(folder) == events
    with Workspace.open(folder) as ws:
        assert ws.store.scalar("SELECT target FROM projects") == "y"
    again = run_cli("problem", "set", "--set", "metric_target=0.8", workspace=folder)
    assert again.exit_code == 0 and again.stdout.strip() == "2", again.stderr


def test_kill_inside_a_sweep_trial_leaves_no_run(run_cli, folder: Path, tmp_path: Path) -> None:
    from cockpit.projects import resolve_project
    from cockpit.training.sweeps import list_sweeps

    run_cli("data", "import", str(_data(tmp_path / "d.csv")), workspace=folder)
    run_cli("data", "split", workspace=folder)
    before = _counts(folder)
    _killed(
        _cockpit(
            folder,
            "sweep",
            "--model",
            "logistic_regression",
            "--random",
            "2",
            "--jobs",
            "1",
            fault="sweep:after_run_created",
        )
    )
    after = _counts(folder)
    assert after["runs"] == before["runs"] == 0
    assert not [action for stage, action in _events(folder) if stage == "experiments" and "run " in action]
    # Committed before the trial that was killed: the sweep's own row and event, and the
    # feature spec inferred and saved when the sweep was planned.
    done_before = ("sweeps", "events", "feature_specs")
    assert {k: v for k, v in after.items() if k not in done_before} == {
        k: v for k, v in before.items() if k not in done_before
    }
    listed = run_cli("runs", "--json", workspace=folder)
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []
    again = run_cli(
        "sweep", "--model", "logistic_regression", "--random", "2", "--jobs", "1", "--json", workspace=folder
    )
    assert again.exit_code == 0, again.stderr
    result = json.loads(again.stdout)
    assert result["status"] == "finished" and len(result["runs"]) == 2
    with Workspace.open(folder) as ws:
        killed = list_sweeps(ws, resolve_project(ws))[-1]
    assert killed["status"] == "interrupted"


# -- `cockpit train` killed mid-run ---------------------------------------------------------

# Runs `cockpit train` as its child and kills it with SIGKILL once its run is recorded and
# its training child started. The driver is a child subreaper, as init is on a normal system:
# the orphaned training process is re-parented to it, and it reaps every process once ended.
DRIVER = textwrap.dedent("""
    import ctypes, json, os, signal, sqlite3, subprocess, sys, time
    folder, what = sys.argv[1], sys.argv[2]
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    parent = subprocess.Popen([sys.executable, "-m", "cockpit", "--workspace", folder, "train",
                               "--model", "logistic_regression"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = sqlite3.connect(os.path.join(folder, ".cockpit", "cockpit.db"), timeout=30)
    deadline, row = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        row = db.execute("SELECT id, status, worker_pid FROM runs WHERE worker_pid IS NOT NULL"
                         ).fetchone()
        if row:
            break
        time.sleep(0.02)
    db.close()
    if row is None:
        parent.kill()
        sys.exit("cockpit train recorded no running run with a worker within 60 s")
    os.kill(parent.pid, signal.SIGKILL)
    if what == "both":
        os.killpg(row[2], signal.SIGKILL)  # the training child leads its own process group
    parent.wait()
    while True:  # the orphaned child is ours now: wait for it to end
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    print(json.dumps({"run": row[0], "status_when_killed": row[1], "worker_pid": row[2]}))
""")


@pytest.fixture
def trainable(run_cli, tmp_path: Path) -> Path:
    folder = tmp_path / "w"
    run_cli("init", str(folder))
    run_cli("project", "new", "p", "--task", "binary", "--target", "y", workspace=folder)
    run_cli("data", "import", str(_data(tmp_path / "d.csv")), workspace=folder)
    run_cli("data", "split", workspace=folder)
    (tmp_path / "driver.py").write_text(DRIVER)
    return folder


def _drive(folder: Path, what: str) -> dict:
    driver = folder.parent / "driver.py"
    done = subprocess.run(
        [sys.executable, str(driver), str(folder), what], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("what", ["parent", "both"])
def test_a_killed_train_ends_finished_or_interrupted_never_running(
    run_cli, trainable: Path, what: str
) -> None:
    """Killing only `cockpit train` leaves its child to finish and record the run; killing
    both (a crash, the OOM killer) leaves a run that the next listing marks interrupted."""
    killed = _drive(trainable, what)
    assert killed["status_when_killed"] == "running"
    assert _gone(killed["worker_pid"])
    listed = run_cli("runs", "--json", workspace=trainable)  # the next command
    assert listed.exit_code == 0, listed.stderr
    [run] = json.loads(listed.stdout)
    assert run["id"] == killed["run"] and run["status"] != "running"
    assert _counts(trainable)["runs"] == 1
    expected = "interrupted" if what == "both" else "finished"
    assert run["status"] == expected, run["error"]


def test_a_run_whose_process_is_a_zombie_is_interrupted(workspace) -> None:
    from cockpit.projects import create_project
    from cockpit.training.runs import list_runs

    project = create_project(workspace, "p", "binary", "y")
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        # Wait for it to exit without reaping it (WNOWAIT): it stays a zombie.
        os.waitid(os.P_PID, ended.pid, os.WEXITED | os.WNOWAIT)
        assert _zombie(ended.pid)
        workspace.store.insert(
            "runs",
            {
                "project_id": project.id,
                "family": "dummy",
                "params": "{}",
                "seed": 0,
                "status": "running",
                "owner_pid": ended.pid,
                "created_at": "2026-05-01",
            },
        )
        assert [r.status for r in list_runs(workspace, project)] == ["interrupted"]
    finally:
        ended.wait()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
