"""`cockpit cancel RUN --reason TEXT` kills a running run and keeps why, like the screen's
`x` (issue 23): the reason is in the run's error and in the event log."""

from __future__ import annotations

import subprocess

from cockpit.projects import create_project
from cockpit.workspace import Workspace


def test_cancel_records_the_reason(tmp_path, run_cli) -> None:
    ws, _ = Workspace.init(tmp_path / "w")
    project = create_project(ws, "churn", "binary", "churned")
    child = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        run_id = ws.store.insert(
            "runs",
            {
                "project_id": project.id,
                "family": "dummy",
                "params": {},
                "seed": 1,
                "status": "running",
                "worker_pid": child.pid,
                "created_at": "2026-05-01T09:00:00+00:00",
            },
        )
        ws.close()
        result = run_cli("cancel", str(run_id), "--reason", "wrong split", workspace=tmp_path / "w")
        assert result.exit_code == 0, result.output
        assert child.wait(10) is not None  # the training process is gone
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    ws = Workspace.open(tmp_path / "w")
    try:
        row = ws.store.one("SELECT status, error FROM runs WHERE id = ?", [run_id])
        assert row == {"status": "cancelled", "error": "cancelled by the user: wrong split"}
        event = ws.store.one("SELECT details FROM events WHERE action = 'run cancelled'")
        assert "wrong split" in event["details"]
    finally:
        ws.close()
