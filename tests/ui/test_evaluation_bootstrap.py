"""The evaluation screen's bootstrap option (`b`, as `cockpit evaluate --bootstrap N`): the
number typed is used by the next evaluation's segment intervals, 0 goes back to the analytic
ones (the default every other evaluation test runs), a number out of range is refused and Esc
cancels, both keeping the choice. On scikit-learn's breast cancer set, segmented by its radius
error quartiles (a workspace of its own: smaller than the demo's, its evaluation quicker)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.evaluation.report import latest_evaluation
from cockpit.projects import create_project, get_project
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.evaluation import EvaluationScreen
from tests.cli_workspaces import breast_cancer_errors
from tests.training_here import trained_here


def _cancer(folder: Path) -> Workspace:
    ws, _ = Workspace.init(folder)
    project = create_project(ws, "cancer", "binary", "benign")
    breast_cancer_errors().to_csv(folder / "cancer.csv", index=False)
    datasets.import_dataset(ws, project, folder / "cancer.csv")
    make_split(ws, project, "stratified")
    spec = problem.ProblemSpec(metric="recall", metric_target=0.8, segments=["radius error"])
    problem.save_spec(ws, project, spec)
    trained_here(ws, project, "logistic_regression")
    return ws


async def _type(app, pilot, text: str) -> None:
    await pilot.press("b")
    field = app.screen.query_one(Input)
    assert field.value in ("0", "60")  # the current choice, to edit
    field.value = text
    await pilot.press("enter")
    await pilot.pause()


def _said(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_the_bootstrap_typed_makes_the_next_evaluations_intervals(tmp_path: Path) -> None:
    ws = _cancer(tmp_path)
    app = CockpitApp(ws, "cancer")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EvaluationScreen) and screen.bootstrap is None
        run_id = screen.run_id
        assert run_id is not None

        await _type(app, pilot, "7")  # too few resamples: refused, nothing changes
        assert screen.bootstrap is None
        refused = (
            "bootstrap resamples '7': a whole number from 50 to 100,000, or 0 for the analytic intervals"
        )
        assert refused in _said(app)

        await _type(app, pilot, "60")
        assert screen.bootstrap == 60
        assert "Segment intervals: bootstrap 60 (v evaluates with it)" in _said(app)
        await pilot.press("V")  # on validation: no look at the test split
        await screen.workers.wait_for_complete()
        await pilot.pause()
        await screen.workers.wait_for_complete()
        found = latest_evaluation(ws, get_project(ws, "cancer"), run_id, "validation")
        assert found is not None and found.segment_bootstrap == 60
        assert {s.interval_method for s in found.segments} == {"bootstrap 60"}
        assert len(found.segments) == 4  # radius error's quartiles

        await _type(app, pilot, "0")
        assert screen.bootstrap is None and "Segment intervals: analytic" in _said(app)
        await pilot.press("b", "escape")  # Esc keeps the choice
        assert screen.bootstrap is None and isinstance(app.screen, EvaluationScreen)
    ws.close()
