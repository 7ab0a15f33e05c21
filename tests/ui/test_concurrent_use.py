"""One workspace, three users at once (issue 18): the cockpit open on the experiments screen,
a `cockpit sweep` in its own process, and `cockpit serve` logging the requests a client
thread keeps sending. No "database is locked" anywhere, the sweep finishes, every request
is in the log, and the runs table shows the sweep's runs after its own refresh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from cockpit.projects import get_project
from cockpit.training import runs
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.experiments import ExperimentsScreen
from screens.runs_table import RunsTable
from tests.serving_helpers import (
    assert_every_request_logged,
    build_service_project,
    row,
    serve_folder,
    shutdown_and_read_log,
    stop_serve,
)

TRIALS = 6


def _send_until(
    served, stop: threading.Event, during: list[bool], failures: list[BaseException], sweep
) -> None:
    """Single and multi-row requests, one in 11 invalid, until told to stop."""
    try:
        with httpx.Client(base_url=served.base, timeout=60) as client:
            i = 0
            while not stop.is_set():
                if i % 11 == 10:
                    body, status = {"user_id": f"C{i}", "x": "ten"}, 422  # logged all the same
                elif i % 5 == 4:
                    body, status = {"rows": [row(f"C{i}-{j}", x=j / 4) for j in range(1 + i % 7)]}, 200
                else:
                    body, status = row(f"C{i}", x=(i % 9) / 3 - 1), 200
                response, _ = served.post(client, json.dumps(body).encode())
                assert response.status_code == status, response.text
                during.append(sweep.poll() is None)
                i += 1
                time.sleep(0.02)
    except BaseException as exc:
        failures.append(exc)


async def test_the_ui_a_sweep_and_the_service_share_one_workspace(tmp_path: Path) -> None:
    ws, _ = Workspace.init(tmp_path / "proj")
    build_service_project(ws, tmp_path)  # two runs, v1 in production
    served = serve_folder(ws.root, tmp_path / "serve.out")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}, "COCKPIT_USER": "sweeper"}
    sweep_out, sweep_err = tmp_path / "sweep.out", tmp_path / "sweep.err"
    stop, during, failures = threading.Event(), [], []
    sweep = sender = None
    errors: list[str] = []
    app = CockpitApp(ws, "subs")
    notify = app.notify

    def recording(message, *args, **kwargs):
        if kwargs.get("severity") == "error":
            errors.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = recording
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("4")
            screen = app.screen
            assert isinstance(screen, ExperimentsScreen)
            table = screen.query_one(RunsTable)
            assert table.rows_total == 2
            sweep = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cockpit",
                    "--workspace",
                    str(ws.root),
                    "sweep",
                    "--model",
                    "logistic_regression",
                    "--random",
                    str(TRIALS),
                    "--jobs",
                    "1",
                    "--json",
                ],
                stdout=sweep_out.open("w"),
                stderr=sweep_err.open("w"),
                stdin=subprocess.DEVNULL,
                env=env,
            )
            sender = threading.Thread(target=_send_until, args=(served, stop, during, failures, sweep))
            sender.start()
            seen = []  # the table's row count at each look, while the sweep runs and after
            started = time.monotonic()
            deadline = time.monotonic() + 120
            while sweep.poll() is None or table.rows_total < 2 + TRIALS:
                assert time.monotonic() < deadline, (seen[-5:], sweep.poll())
                assert not failures, failures
                await pilot.pause(0.2)
                seen.append(table.rows_total)
            stop.set()
            sender.join(60)
            print(
                f"sweep and UI: {time.monotonic() - started:.1f} s, {len(during)} requests "
                f"({sum(during)} during the sweep), table counts {sorted(set(seen))}"
            )
            assert not failures, failures
            shown = {table.row_at(i).id for i in range(table.rows_total)}
            statuses = {table.row_at(i).status for i in range(table.rows_total)}
            assert app.screen is screen and not errors, errors
    finally:
        stop.set()
        if sender is not None:
            sender.join(60)
        if sweep is not None and sweep.poll() is None:
            sweep.kill()
            sweep.wait()
        stop_serve(served.process)  # SIGINT: the log is written; checked below
    assert sweep.returncode == 0, sweep_err.read_text()
    result = json.loads(sweep_out.read_text())
    assert result["status"] == "finished" and len(result["runs"]) == TRIALS
    for text in (sweep_err.read_text(), served.out.read_text()):
        assert "locked" not in text and "Traceback" not in text, text[-2000:]

    project = get_project(ws, "subs")
    assert shown == {r.id for r in runs.list_runs(ws, project)} and len(shown) == 2 + TRIALS
    assert statuses == {"finished"}
    assert seen == sorted(seen)  # runs arrived, never vanished
    assert sum(during) >= 5, "the requests did not overlap the sweep"
    logged = shutdown_and_read_log(served)
    assert_every_request_logged(served, logged)
    assert ws.store.integrity_check() == "ok"
    ws.close()
