"""The virtual runs table on a generated store of 100,000 runs."""

from __future__ import annotations

import random

import pytest

from cockpit.projects import create_project
from cockpit.training import query
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.experiments import ExperimentsScreen
from screens.runs_table import RunsTable

N = 100_000
FAMILIES = ["random_forest", "logistic_regression", "hist_gradient_boosting"]


def fill_runs(ws: Workspace, project_id: int, n: int) -> None:
    """n finished runs with random metrics; indexes rebuilt once after the bulk insert."""
    rng = random.Random(7)
    conn = ws.store.conn
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs' AND sql IS NOT NULL"
    ).fetchall()
    with ws.store.transaction():
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.executemany(
            "INSERT INTO runs (project_id, family, params, seed, status, metric, score, m_roc_auc,"
            " m_recall, m_precision, m_f1, duration_s, created_at) VALUES "
            "(?, ?, '{}', 42, 'finished', 'roc_auc', ?, ?, ?, ?, ?, ?, '2026-05-01T09:00:00+00:00')",
            [
                (
                    project_id,
                    rng.choice(FAMILIES),
                    auc := round(rng.random(), 6),
                    auc,
                    rng.random(),
                    rng.random(),
                    rng.random(),
                    rng.random() * 10,
                )
                for _ in range(n)
            ],
        )
        for _, sql in indexes:
            conn.execute(sql)


@pytest.fixture(scope="module")
def big_workspace(tmp_path_factory):
    ws, _ = Workspace.init(tmp_path_factory.mktemp("big"))
    project = create_project(ws, "big", "binary", "y")
    fill_runs(ws, project.id, N)
    yield ws
    ws.close()


async def test_sorting_and_jumping_through_100k_runs(big_workspace) -> None:
    app = CockpitApp(big_workspace, "big")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        screen = app.screen
        assert isinstance(screen, ExperimentsScreen)
        table = screen.query_one(RunsTable)
        assert table.rows_total == N and table.current.id == N  # newest first

        await pilot.press("o", "o")  # id -> score -> roc_auc
        assert screen.sort == "roc_auc"
        sql_first = big_workspace.store.one("SELECT id FROM runs ORDER BY m_roc_auc DESC, id DESC LIMIT 1")[
            "id"
        ]
        assert table.current.id == sql_first
        assert table.best_id == query.best_run_id(big_workspace, 1, "roc_auc")

        await pilot.press("ctrl+end")
        sql_last = big_workspace.store.one("SELECT id FROM runs ORDER BY m_roc_auc ASC, id ASC LIMIT 1")["id"]
        assert table.cursor == N - 1 and table.current.id == sql_last
        assert int(table.scroll_y) >= N - table.size.height

        await pilot.press("pageup")
        assert table.cursor < N - 1
        await pilot.press("ctrl+home")
        assert table.cursor == 0 and table.current.id == sql_first

        await pilot.press("slash", *"family=random_forest", "enter")
        expected = big_workspace.store.scalar("SELECT count(*) FROM runs WHERE family = 'random_forest'")
        assert table.rows_total == expected
        assert table.current.family == "random_forest"


async def test_marked_runs_and_a_bad_filter(big_workspace) -> None:
    app = CockpitApp(big_workspace, "big")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4", "space", "down", "space")
        table = app.screen.query_one(RunsTable)
        assert table.marked == {N, N - 1}
        await pilot.press("slash", *"rocauc>2", "enter")
        assert table.rows_total == N  # the filter was refused, not applied
        assert any("did you mean 'roc_auc'" in n.message for n in app._notifications)
