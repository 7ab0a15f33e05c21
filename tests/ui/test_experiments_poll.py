"""The experiments screen's 2 s poll reads the store again only when something changed."""

import subprocess

from screens.app import CockpitApp
from screens.experiments import ExperimentsScreen
from screens.runs_table import RunsTable


def _add_run(ws, project_id: int, status: str = "finished", pid: int | None = None) -> None:
    ws.store.insert(
        "runs",
        {
            "project_id": project_id,
            "family": "dummy",
            "params": {},
            "seed": 42,
            "status": status,
            "owner_pid": pid,
            "created_at": "2026-05-01T09:00:00+00:00",
        },
    )


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


async def test_the_poll_skips_when_the_store_did_not_change(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        screen = app.screen
        assert isinstance(screen, ExperimentsScreen)
        refreshes = []
        original = screen.refresh_data
        screen.refresh_data = lambda **kw: (refreshes.append(kw), original(**kw))

        screen._poll()
        assert refreshes == []  # nothing written: no queries

        other = two_projects.reopen()  # another connection (a worker, the CLI)
        try:
            _add_run(other, app.project.id)
        finally:
            other.close()
        screen._poll()
        assert len(refreshes) == 1 and screen.query_one(RunsTable).rows_total == 1
        screen._poll()
        assert len(refreshes) == 1

        # A run whose process died writes nothing: the poll still finds and marks it.
        _add_run(two_projects, app.project.id, "running", _dead_pid())
        screen._poll()
        assert len(refreshes) == 2
        status = two_projects.store.scalar("SELECT status FROM runs ORDER BY id DESC LIMIT 1")
        assert status == "interrupted"
        await pilot.pause()
