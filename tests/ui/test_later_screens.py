"""Pilot walks through the deployment, monitoring and retrain screens on a small workspace."""

import numpy as np
import pandas as pd
import pytest
from textual.widgets import DataTable, Input

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import batch, registry
from cockpit.monitoring import alerts
from cockpit.projects import create_project
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from tests.training_here import trained_here


def frame(n, seed, shift=0.0):
    r = np.random.default_rng(seed)
    x = r.normal(shift, 1, n)
    return pd.DataFrame(
        {
            "user_id": [f"U{seed}-{i}" for i in range(n)],
            "x": x,
            "left": (x + r.normal(0, 1, n) > 0.5).astype(int),
        }
    )


@pytest.fixture
def live(tmp_path, frozen_clock):
    ws, _ = Workspace.init(tmp_path / "w")
    project = create_project(ws, "svc", "binary", "left")
    frame(600, 0).to_csv(tmp_path / "d.csv", index=False)
    datasets.import_dataset(ws, project, tmp_path / "d.csv")
    make_split(ws, project, "stratified")
    problem.save_spec(ws, project, problem.ProblemSpec(metric="roc_auc", metric_target=0.6))
    first = trained_here(ws, project, "logistic_regression")
    second = trained_here(ws, project, "random_forest", ["n_estimators=10"])
    registry.register(ws, project, first.id, "test")
    registry.register(ws, project, second.id, "test")
    registry.deploy(ws, project, 1, "blue-green", reason="first", override="first")
    registry.deploy(ws, project, 2, "blue-green", reason="second", override="second")
    for month, shift in ((1, 0.0), (2, 2.0)):
        frame(200, month, shift).drop(columns=["left"]).to_csv(tmp_path / f"m{month}.csv", index=False)
        batch.predict_file(
            ws,
            project,
            tmp_path / f"m{month}.csv",
            tmp_path / f"o{month}.csv",
            at=f"2026-0{month}-10T00:00:00+00:00",
        )
    alerts.check(ws, project)
    yield ws
    ws.close()


async def _confirm(pilot, app, text: str) -> None:
    app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


async def test_deployment_rollback_by_keys(live) -> None:
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        assert "production v2" in str(app.screen.query_one("#traffic").render())
        await pilot.press("b")
        await _confirm(pilot, app, "errors went up")
        assert registry.get_version(live, app.project, "production").version == 1
        assert "production v1" in str(app.screen.query_one("#traffic").render())
        await pilot.press("c")
        await _confirm(pilot, app, "20")
        await _confirm(pilot, app, "try v1 on a fifth")  # canary of the highlighted v1


async def test_monitoring_shows_drift_and_acknowledges(live) -> None:
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("7")
        screen = app.screen
        summary = str(screen.query_one("#monitor-summary").render())
        assert "2026-02" in summary and "x" in summary
        assert screen.query_one("#drift-table", DataTable).row_count == 1
        await pilot.press("right_square_bracket", "a")
        await _confirm(pilot, app, "looking into the shift")
        status = live.store.scalar("SELECT status FROM alerts ORDER BY id LIMIT 1")
        assert status == "acknowledged"
        await pilot.press("g")
        assert screen.plot_index == 1


async def test_retrain_screen_retires_by_keys(live) -> None:
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("8")
        assert "due now" in str(app.screen.query_one("#retrain-summary").render())
        await pilot.press("x")  # v1 (not production)
        await _confirm(pilot, app, "superseded")
        assert registry.get_version(live, app.project, 1).status == "retired"


async def test_monitoring_windows_by_week_and_performance_by_keys(live, tmp_path) -> None:
    from cockpit.monitoring.labels import ingest_labels

    for month, shift in ((1, 0.0), (2, 2.0)):
        frame(200, month, shift)[["user_id", "left"]].to_csv(tmp_path / f"l{month}.csv", index=False)
        ingest_labels(live, _project(live), tmp_path / f"l{month}.csv")
    alerts.check(live, _project(live))
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("7", "right_square_bracket")
        table = app.screen.query_one("#performance-table", DataTable)
        assert app.screen.query_one("TabbedContent").active == "performance"
        # two labelled windows, each: all + one model version
        assert [table.get_row_at(i)[:3] for i in range(table.row_count)] == [
            ["2026-02", "all (roc_auc)", "200"],
            ["", "model v2", "200"],
            ["2026-01", "all (roc_auc)", "200"],
            ["", "model v2", "200"],
        ]
        await pilot.press("w")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [w.window for w in app.screen.windows] == ["2026-W02", "2026-W07"]


def _project(ws):
    from cockpit.projects import get_project

    return get_project(ws, "svc")


async def test_retrain_screen_shows_champion_and_challenger_side_by_side(live, tmp_path) -> None:
    from cockpit.monitoring.labels import ingest_labels
    from cockpit.retraining import cycle

    for month, shift in ((1, 0.0), (2, 2.0)):
        frame(200, month, shift)[["user_id", "left"]].to_csv(tmp_path / f"l{month}.csv", index=False)
        ingest_labels(live, _project(live), tmp_path / f"l{month}.csv")
    outcome = cycle.retrain(live, _project(live))
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("8")
        decision = str(app.screen.query_one("#decision").render())
        assert outcome.decision in decision and "on 2026-02" in decision
        table = app.screen.query_one("#duel-table", DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert rows[0][0] == "roc_auc (2026-02, 200 rows)"
        assert float(rows[0][1]) == pytest.approx(outcome.champion_score, abs=5e-5)
        assert float(rows[0][2]) == pytest.approx(outcome.challenger_score, abs=5e-5)
        labels = [r[0] for r in rows]
        assert "window 2026-01 (trained on)" in labels and "window 2026-02 (held out)" in labels
        assert labels[-2:] == ["ms per row", "ms per 1,000 rows"]
        await pilot.press("right_square_bracket")
        assert "trained with the production config" in str(app.screen.query_one("#steps-text").render())


async def test_monitoring_marks_drift_by_the_projects_drift_rule(live) -> None:
    """The drifted features and the drift plot's line follow the max_psi rule, not 0.2."""
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("7")
        screen = app.screen
        assert "drifted: x" in str(screen.query_one("#monitor-summary").render())
        assert screen.drift_threshold == 0.2
        (psi,) = [w.features["x"].psi for w in screen.windows if w.window == "2026-02"]
        with live.store.transaction():  # the drift rule loosened above the shift's PSI
            live.store.conn.execute(
                "UPDATE alert_rules SET threshold = ? WHERE metric = 'max_psi'", [psi + 1]
            )
        screen.refresh_data()
        assert "drifted: none" in str(screen.query_one("#monitor-summary").render())
        assert screen.drift_threshold == psi + 1
        alerts.add_rule(live, _project(live), "max_psi", ">", 0.05)  # a stricter rule beside it
        screen.refresh_data()
        assert screen.drift_threshold == 0.05
        assert "drifted: x" in str(screen.query_one("#monitor-summary").render())
