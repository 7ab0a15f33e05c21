"""Experiments by keys: start a run and watch it finish, start another and cancel it."""

import numpy as np
import pandas as pd
import pytest

from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.projects import create_project
from cockpit.training import runs
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.experiments import ExperimentsScreen
from screens.features import FeaturesScreen
from screens.run_dialogs import NewRunDialog, RunDetail
from screens.runs_table import RunsTable


@pytest.fixture
def trained_ws(tmp_path, frozen_clock):
    ws, _ = Workspace.init(tmp_path / "w")
    project = create_project(ws, "subs", "binary", "left")
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 300)
    frame = pd.DataFrame(
        {"x": x, "plan": rng.choice(["a", "b"], 300), "left": (x + rng.normal(0, 1, 300) > 0.5).astype(int)}
    )
    path = tmp_path / "subs.csv"
    frame.to_csv(path, index=False)
    datasets.import_dataset(ws, project, path)
    make_split(ws, project, "stratified")
    yield ws
    ws.close()


async def _wait_for(pilot, condition, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError("timed out")


async def test_start_watch_and_cancel_runs_by_keys(trained_ws) -> None:
    app = CockpitApp(trained_ws, "subs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        screen = app.screen
        assert isinstance(screen, ExperimentsScreen)
        await pilot.press("n")
        assert isinstance(app.screen, NewRunDialog)
        await pilot.press("tab", *"max_iter=30", "enter")  # the first model: the baseline
        table = screen.query_one(RunsTable)
        await screen.workers.wait_for_complete()
        await pilot.pause()
        project = app.project
        assert runs.list_runs(trained_ws, project) == []  # dummy takes no max_iter: no run

        await pilot.press("n", "enter", "down", "down", "down", "down", "enter")  # random forest
        assert app.screen.query_one("#family").value == "random_forest"
        await pilot.press("tab", *"n_estimators=4000", "enter")
        await _wait_for(pilot, lambda: bool(screen.active))
        await _wait_for(pilot, lambda: bool(screen.progress))
        assert screen.query_one("#active-bar").display
        await pilot.press("ctrl+home")
        assert table.current.status == "running"
        await pilot.press("x", *"too slow", "enter")  # a kill asks why first
        await _wait_for(pilot, lambda: not screen.active)
        killed = runs.list_runs(trained_ws, project)[0]
        assert (killed.status, killed.error) == ("cancelled", "cancelled by the user: too slow")

        await pilot.press("n", "ctrl+s")  # dummy, default params
        await _wait_for(pilot, lambda: not screen.active and table.row_at(0).status == "finished")
        assert table.current.id == killed.id  # the cursor stayed on its run, now second
        await pilot.press("ctrl+home", "enter")
        assert isinstance(app.screen, RunDetail)
        await pilot.press("escape")
        assert isinstance(app.screen, ExperimentsScreen)


async def test_feature_roles_edited_by_keys(trained_ws) -> None:
    app = CockpitApp(trained_ws, "subs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        screen = app.screen
        assert isinstance(screen, FeaturesScreen)
        assert [s.column for s in screen.specs] == ["x", "plan", "left"]
        await pilot.press("down", "r")  # plan: feature -> id
        assert screen.specs[1].role == "id"
        await pilot.press("e")
        await pilot.press("ctrl+s")
        from cockpit import features

        version, specs = features.current_spec(trained_ws, app.project)
        assert version == 1 and specs[1].role == "id"
        await pilot.press("down", "r")  # the target's role is fixed
        assert screen.specs[2].role == "target"


async def test_sweep_diff_and_reproduce_by_keys(trained_ws) -> None:
    from screens.run_views import CompareView

    app = CockpitApp(trained_ws, "subs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4", "w")
        # 4 logistic trials, one job: in the sweep's own process (the loky pool of
        # `Parallel jobs` 2 is tested in tests/test_sweeps.py; here it only added two
        # worker processes to start)
        await pilot.press("tab", "backspace", "backspace", "4", "tab", "backspace", "1", "ctrl+s")
        screen = app.screen
        table = screen.query_one(RunsTable)
        followed: list[tuple[int, int, int]] = []  # (rows, cursor, its run) while trials came in

        def finished() -> bool:
            if 0 < table.rows_total < 4 and table.current is not None:
                followed.append((table.rows_total, table.cursor, table.current.id))
            return trained_ws.store.scalar("SELECT status FROM sweeps") == "finished"

        await _wait_for(pilot, finished)
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert table.rows_total == 4
        sweep = trained_ws.store.one("SELECT trials, n_jobs, status FROM sweeps")
        assert sweep == {"trials": 4, "n_jobs": 1, "status": "finished"}  # both fields typed
        # The cursor stayed on its run as newer ones came in above it (trials recorded together
        # arrive in one refresh, so where it was first seen depends on the refreshes' timing).
        if followed:
            rows, cursor, kept = followed[0]
            assert table.current.id == kept and table.cursor == cursor + table.rows_total - rows
        await pilot.press("ctrl+home", "space", "down", "space", "d")
        assert isinstance(app.screen, CompareView)
        await pilot.press("escape", "g")
        from screens.run_views import SweepPlot

        assert isinstance(app.screen, SweepPlot)
        await pilot.press("escape", "R")
        await _wait_for(pilot, lambda: trained_ws.store.scalar("SELECT count(*) FROM reproductions") == 1)
        assert trained_ws.store.scalar("SELECT identical FROM reproductions") == 1
