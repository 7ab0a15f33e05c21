"""The experiments screen tells the truth and kills nothing by accident (issue 23): `x` asks
first, the cursor stays on its run, a metric sort shows every run (those without the metric
last) in a column that is on screen, and the threshold behind each number is said."""

from __future__ import annotations

import subprocess

import pytest

from cockpit.problem import ProblemSpec, save_spec
from cockpit.projects import create_project
from cockpit.training import runs
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.confirm import ConfirmReason
from screens.experiments import ExperimentsScreen
from screens.run_dialogs import RunDetail
from screens.runs_table import RunsTable

FINISHED = 12
LONG_PARAMS = {"C": 0.5, "max_iter": 300, "class_weight": "balanced", "l1_ratio": 0.25, "tol": 1e-6}


def _add_run(ws: Workspace, project_id: int, index: int, **values) -> int:
    row = {
        "project_id": project_id,
        "family": "logistic_regression",
        "params": LONG_PARAMS,
        "seed": index,
        "status": "finished",
        "metric": "recall",
        "created_at": "2026-05-01T09:00:00+00:00",
        **values,
    }
    return ws.store.insert("runs", row)


@pytest.fixture
def churn(tmp_path, frozen_clock):
    """A binary project judged on recall: 12 finished runs, 2 failed ones without metrics."""
    ws, _ = Workspace.init(tmp_path / "w")
    project = create_project(ws, "churn", "binary", "churned")
    save_spec(ws, project, ProblemSpec(metric="recall"))
    for i in range(FINISHED + 2):
        if i in (3, 9):
            _add_run(ws, project.id, i, status="failed", error="the fit raised ValueError")
            continue
        recall = round(0.60 + 0.013 * ((i * 5) % 14), 4)
        _add_run(
            ws,
            project.id,
            i,
            score=recall,
            m_recall=recall,
            m_roc_auc=round(0.70 + 0.01 * i, 4),
            m_precision=round(0.90 - 0.02 * i, 4),
            m_f1=round(0.65 + 0.005 * i, 4),
            duration_s=1.0 + i,
        )
    yield ws
    ws.close()


def _header(table: RunsTable) -> str:
    """The header line as the terminal shows it (cut to the table's width)."""
    return table.render_line(0).text


async def _open(app, pilot) -> tuple[ExperimentsScreen, RunsTable]:
    await pilot.press("4")
    screen = app.screen
    assert isinstance(screen, ExperimentsScreen)
    return screen, screen.query_one(RunsTable)


@pytest.fixture
def child():
    """A process in its own group standing in for a run's training child."""
    process = subprocess.Popen(["sleep", "120"], start_new_session=True)
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


async def test_x_asks_before_killing_a_run_and_esc_leaves_it_training(churn, child) -> None:
    project_id = churn.store.scalar("SELECT id FROM projects")
    run_id = _add_run(churn, project_id, 99, status="running", worker_pid=child.pid)
    app = CockpitApp(churn, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, table = await _open(app, pilot)
        assert table.current.id == run_id and table.current.status == "running"

        await pilot.press("x")
        dialog = app.screen
        assert isinstance(dialog, ConfirmReason)
        assert [c.line() for c in dialog.changes] == [f"run {run_id}: training → killed (cancelled)"]
        await pilot.press("enter")  # no reason typed: the safe default, nothing happens
        assert app.screen is dialog
        await pilot.press("escape")
        assert app.screen is screen
        assert churn.store.scalar("SELECT status FROM runs WHERE id = ?", [run_id]) == "running"
        assert child.poll() is None

        await pilot.press("x", *"wrong seed", "enter")
        await pilot.pause()
        assert app.screen is screen
        row = churn.store.one("SELECT status, error FROM runs WHERE id = ?", [run_id])
        assert row == {"status": "cancelled", "error": "cancelled by the user: wrong seed"}
        assert child.wait(10) is not None  # its process group was killed
        event = churn.store.one("SELECT details FROM events WHERE action = 'run cancelled'")
        assert "wrong seed" in event["details"]


async def test_x_on_a_run_that_finished_while_asking_kills_nothing_and_says_so(churn, child) -> None:
    project_id = churn.store.scalar("SELECT id FROM projects")
    run_id = _add_run(churn, project_id, 99, status="running", worker_pid=child.pid)
    app = CockpitApp(churn, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(app, pilot)
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmReason)
        churn.store.update("runs", {"id": run_id}, {"status": "finished"})  # it ended meanwhile
        await pilot.press(*"wrong seed", "enter")
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert f"Run {run_id} already finished: nothing killed" in said
        assert not any("killed:" in m for m in said)
        assert churn.store.scalar("SELECT status FROM runs WHERE id = ?", [run_id]) == "finished"
        assert child.poll() is None  # its process was left alone


async def test_the_cursor_stays_on_its_run_after_a_dialog_and_a_poll(churn) -> None:
    app = CockpitApp(churn, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, table = await _open(app, pilot)
        await pilot.press("down", "down", "down")
        chosen = table.current.id
        assert table.cursor == 3

        await pilot.press("enter")
        assert isinstance(app.screen, RunDetail)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and table.current.id == chosen

        other = churn.reopen()  # another process records two runs: they come first (newest)
        try:
            for i in range(2):
                _add_run(other, app.project.id, 50 + i, status="failed")
        finally:
            other.close()
        screen._poll()
        await pilot.pause()
        assert table.rows_total == FINISHED + 4
        assert table.current.id == chosen and table.cursor == 5

        await pilot.press("o", "o")  # a new sort starts at the top, best first
        assert screen.sort == "roc_auc" and table.cursor == 0
        await pilot.press("down", "down")
        chosen = table.current.id
        await pilot.press("question_mark")
        await pilot.press("escape")
        await pilot.pause()
        assert table.current.id == chosen


async def test_a_metric_sort_shows_every_run_and_its_column(churn) -> None:
    app = CockpitApp(churn, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, table = await _open(app, pilot)
        assert "Run↓" in _header(table)
        seen = set()
        for _ in range(6):  # score, roc_auc, recall, precision, f1, duration
            await pilot.press("o")
            seen.add(screen.sort)
            assert table.rows_total == FINISHED + 2, screen.sort  # none hidden
            sort_column = next(c for c in table.columns if c.title.endswith(("↓", "↑")))
            assert sort_column.title in _header(table), (screen.sort, _header(table))
            label = str(screen.query_one("#sort-label").render())
            assert f"sort {screen.sort}" in label and "14 shown" in label
            last_two = [table.row_at(i) for i in (FINISHED, FINISHED + 1)]
            if screen.sort not in ("id", "duration"):
                assert [r.status for r in last_two] == ["failed", "failed"], screen.sort
                assert [r.id for r in last_two] == [10, 4]  # without the metric: last, newest first
        assert seen == {"score", "roc_auc", "recall", "precision", "f1", "duration"}

        while screen.sort != "precision":
            await pilot.press("o")
        values = [table.row_at(i).metrics["precision"] for i in range(FINISHED)]
        assert values == sorted(values, reverse=True)
        await pilot.press("O")  # flipped: lowest first, still the runs without it last
        assert "prec@.5↑" in _header(table)
        values = [table.row_at(i).metrics["precision"] for i in range(FINISHED)]
        assert values == sorted(values) and table.row_at(FINISHED).status == "failed"


async def test_the_threshold_behind_each_number_is_shown(churn) -> None:
    project_id = churn.store.scalar("SELECT id FROM projects")
    tuned = churn.store.scalar("SELECT id FROM runs WHERE status = 'finished' ORDER BY id DESC LIMIT 1")
    churn.store.update(
        "runs",
        {"id": tuned},
        {
            "threshold": 0.412,
            "threshold_reason": "recall 0.80 at the least cost",
            "validation_metrics": '{"recall": 0.7472, "roc_auc": 0.81}',
        },
    )
    app = CockpitApp(churn, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, table = await _open(app, pilot)
        header = _header(table)
        assert "recall@.5" in header and "roc_auc@" not in header
        summary = str(screen.query_one("#runs-summary").render())
        assert "best val. recall@.5 0." in summary
        assert "@.5: at threshold 0.5, as trained; Evaluation (5) tunes each run's own" in summary
        assert table.current.id == tuned and project_id

        await pilot.press("enter")
        detail = str(app.screen.query_one("#run-record").render())
        assert "recall@0.5 0.7472" in detail and "roc_auc 0.8100" in detail
        assert "Evaluation uses the run's tuned threshold 0.412" in detail


async def test_j_and_k_move_the_cursor(churn) -> None:
    app = CockpitApp(churn, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        _, table = await _open(app, pilot)
        await pilot.press("j", "j", "j", "k")
        assert table.cursor == 2


async def test_columns_grow_with_the_terminal_and_enter_shows_the_whole_run(churn) -> None:
    app = CockpitApp(churn, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, table = await _open(app, pilot)
        narrow = table.columns[-1].width
        assert table.columns[-1].title == "Params"
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        assert table.columns[-1].width > narrow + 50
        assert "class_weight=balanced" in table.render_line(1).text
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert table.columns[-1].width == narrow
        assert "…" in table.render_line(1).text  # cut here, so reachable in full:
        await pilot.press("enter")
        detail = str(app.screen.query_one("#run-record").render())
        assert "class_weight=balanced, l1_ratio=0.25, max_iter=300, tol=1e-06" in detail
    assert runs.list_runs(churn, app.project)
