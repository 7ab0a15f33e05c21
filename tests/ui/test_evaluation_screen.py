"""The evaluation screen by keys: gate the best run, read the tabs, export Markdown."""

import numpy as np
import pandas as pd
from textual.widgets import DataTable, Input, TabbedContent

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.projects import create_project
from cockpit.training import runs
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.evaluation import EvaluationScreen


async def test_gate_tabs_and_export_by_keys(tmp_path, frozen_clock) -> None:
    ws, _ = Workspace.init(tmp_path / "w")
    project = create_project(ws, "subs", "binary", "left")
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 800)
    frame = pd.DataFrame(
        {"x": x, "plan": rng.choice(["a", "b"], 800), "left": (x + rng.normal(0, 1, 800) > 0.5).astype(int)}
    )
    frame.to_csv(tmp_path / "subs.csv", index=False)
    datasets.import_dataset(ws, project, tmp_path / "subs.csv")
    make_split(ws, project, "stratified")
    problem.save_spec(ws, project, problem.ProblemSpec(metric="roc_auc", metric_target=0.7))
    best = runs.train(ws, project, "logistic_regression")
    runs.train(ws, project, "dummy")

    app = CockpitApp(ws, "subs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        screen = app.screen
        assert isinstance(screen, EvaluationScreen) and screen.run_id == best.id
        assert "not evaluated yet" in str(screen.query_one("#verdict").render())
        await pilot.press("v")
        await screen.workers.wait_for_complete()
        await pilot.pause()
        verdict = str(screen.query_one("#verdict").render())
        assert "GATE ✓ PASS" in verdict and "roc_auc" in verdict
        metrics_table = screen.query_one("#metrics-table", DataTable)
        assert metrics_table.row_count >= 8
        await pilot.press("right_square_bracket", "c")
        assert screen.query_one(TabbedContent).active == "curves" and screen.curve == 1
        await pilot.press("right_square_bracket")
        confusion = screen.query_one("#confusion-table", DataTable)
        assert confusion.row_count == 2
        await pilot.press("right_square_bracket")
        assert screen.query_one("#rules-table", DataTable).row_count == 6
        await pilot.press("right_square_bracket")
        assert "No segment columns" in str(screen.query_one("#fairness").render())
        await pilot.press("right_square_bracket")
        robustness = str(screen.query_one("#robustness-text").render())
        assert "Stability" in robustness and "Latency per row" in robustness

        target = tmp_path / "report.md"
        await pilot.press("e")
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        assert "**Gate: PASS**" in target.read_text()

        await pilot.press("r")
        app.screen.query_one(Input).value = "2"
        await pilot.press("enter", "v")
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert "GATE ✗ FAIL" in str(screen.query_one("#verdict").render())
        assert "looked at before" in str(screen.query_one("#verdict").render())
