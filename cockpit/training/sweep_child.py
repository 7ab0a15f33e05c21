"""The child process that runs one random sweep for the terminal UI (see `SweepHandle`).

joblib's process pool then never shares a process with the UI. The child reports on a
channel of its own, a pipe whose write end the parent passes by number: one JSON object per
line, `{"progress": [done, total, message]}` as trials finish, then exactly one of
`{"result": {...}}` (a SweepResult's fields, also when stopped by SIGINT) or
`{"error": message}`. Its stdout and stderr stay free for library warnings.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cockpit.training.channel import Channel


def main(workspace_dir: str, project_id: int, channel_fd: int, request: dict[str, Any]) -> int:
    from cockpit.cluster import choose
    from cockpit.errors import CockpitError
    from cockpit.projects import list_projects
    from cockpit.training import spaces
    from cockpit.training.sweeps import SweepInterrupted, run_sweep
    from cockpit.workspace import Workspace

    channel = Channel(channel_fd)
    try:
        with Workspace(Path(workspace_dir)) as ws:
            project = next(p for p in list_projects(ws) if p.id == project_id)
            family, seed = request["family"], request["seed"]
            cluster = choose(request.get("scheduler"), None)
            try:
                result = run_sweep(
                    ws,
                    project,
                    family,
                    spaces.random_trials(family, request["trials"], seed),
                    "random",
                    seed,
                    request["n_jobs"],
                    time_budget_s=request["time_budget_s"],
                    stop_on_target=request["stop_on_target"],
                    progress=channel.progress,
                    cluster=cluster,
                )
            except SweepInterrupted as stopped:
                result = stopped.result
    except CockpitError as exc:
        channel.send(error=str(exc))
        return 2
    except KeyboardInterrupt:
        channel.send(error="stopped before the sweep started")
        return 130
    except Exception as exc:  # reported to the parent, never a silent exit
        channel.send(error=f"{type(exc).__name__}: {exc}")
        traceback.print_exc(limit=5)
        return 1
    channel.send(result=asdict(result))
    return 0 if result.status != "cancelled" else 130


if __name__ == "__main__":
    workspace, project_id, channel_fd, request = sys.argv[1:5]
    sys.exit(main(workspace, int(project_id), int(channel_fd), json.loads(request)))
