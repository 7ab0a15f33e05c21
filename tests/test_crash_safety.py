"""A process killed with SIGKILL inside a transaction leaves a store as before."""

import signal
import subprocess
import sys
from pathlib import Path

from cockpit.workspace import Workspace


def _cockpit(*args: str, env_extra: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "cockpit", *args], capture_output=True, text=True, cwd=cwd, env=env
    )


def test_kill_inside_project_creation_leaves_nothing_half_written(tmp_path: Path) -> None:
    Workspace.init(tmp_path)[0].close()
    killed = _cockpit(
        "project",
        "new",
        "churn",
        "--task",
        "binary",
        "--target",
        "churned",
        env_extra={"COCKPIT_FAULT": "project.new:after_insert"},
        cwd=tmp_path,
    )
    assert killed.returncode == -signal.SIGKILL

    ws = Workspace.open(tmp_path)
    assert ws.store.integrity_check() == "ok"
    assert ws.store.scalar("SELECT count(*) FROM projects") == 0
    assert ws.store.scalar("SELECT count(*) FROM events WHERE stage = 'project'") == 0
    ws.close()

    again = _cockpit("project", "new", "churn", "--task", "binary", "--target", "churned", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "1"
