"""Session 10's tour of the screens on data no one here wrote (scikit-learn's wine): each test
is a screen that told a new user something untrue."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.workspace import Workspace
from screens.app import CockpitApp
from tests.monitoring_helpers import run
from tests.training_here import training_here


@pytest.fixture(scope="module")
def wine_scored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """wine through the README's loop to a production model and one scored file (cockpit
    predict), never checked."""
    from sklearn.datasets import load_wine

    root = tmp_path_factory.mktemp("tour") / "wine"
    root.mkdir()
    load_wine(as_frame=True).frame.to_csv(root / "wine.csv", index=False)
    steps = [
        ("init", str(root)),
        ("project", "new", "wine", "--task", "multiclass", "--target", "target"),
        ("data", "import", str(root / "wine.csv")),
        ("data", "split", "--seed", "42"),
        ("train", "--model", "logistic_regression"),
        ("register", "1", "--override", "tour"),
        ("deploy", "1", "--strategy", "blue-green", "--override", "tour"),
        ("predict", str(root / "wine.csv"), "--model", "production", "-o", str(root / "scored.csv")),
        ("evaluate", "1", "--split", "test"),
    ]
    with training_here():
        for step in steps:
            result = run(root, *step)
            assert result.exit_code == 0, (step, result.output, result.stderr)
    return root


async def _monitoring_summary(root: Path) -> str:
    """The Monitoring screen's summary line of the wine workspace at `root`, at 80x24."""
    with Workspace(root / ".cockpit") as ws:
        app = CockpitApp(ws, "wine")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("7")
            await pilot.pause()
            return " ".join(str(app.screen.query_one("#monitor-summary").render()).split())


async def test_monitoring_with_a_batch_not_checked_says_to_check(wine_scored: Path) -> None:
    """After `cockpit predict`, Monitoring said 'No monitored windows yet: score production data
    (cockpit predict / monitor ingest), then press v' while the overview said '1 batch, not
    checked': the data was scored already, only the check was missing."""
    summary = await _monitoring_summary(wine_scored)
    assert "score production data" not in summary
    said = "Production data is stored but not checked yet: press v to check (cockpit monitor check)"
    assert said in summary


async def test_a_multiclass_evaluation_draws_no_empty_curve_frame(wine_scored: Path) -> None:
    """Evaluation's Curves tab on wine said 'No curves for this task: see the Confusion tab.'
    above an empty plot frame filling the screen, as if a curve had failed to draw."""
    with Workspace(wine_scored / ".cockpit") as ws:
        app = CockpitApp(ws, "wine")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("5")
            await pilot.pause()
            await pilot.press("]")
            await pilot.pause()
            shown = app.screen.query_one("#curve-plot").display
            note = " ".join(str(app.screen.query_one("#curves-note").render()).split())
    assert "No curves for this task: see the Confusion tab." in note
    assert not shown


async def test_a_sweeps_param_axis_orders_numbers_as_numbers() -> None:
    """digits' random-forest sweep tried max_depth 12, 8 and None: `g` drew the axis '12 8 None'
    (text order), so the plot read as if depth 12 came before 8."""
    from textual.app import App
    from textual_plotext import PlotextPlot

    from screens.run_views import SweepPlot

    points = [({"max_depth": 12}, 0.9466), ({"max_depth": 8}, 0.9428), ({"max_depth": None}, 0.9505)]
    plot = SweepPlot(2, "f1", points, None)
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(plot)
        await pilot.pause()
        axis = str(plot.query_one(PlotextPlot).render()).splitlines()[-2].split()
    assert axis == ["8", "12", "None"]


async def test_a_text_columns_top_values_are_cut_with_an_ellipsis(tmp_path: Path) -> None:
    """Data's Profile tab for penguins' free-text notes said 'top: seen on Torger (2), seen on
    Biscoe (2)': values cut at 14 characters with no mark, read as whole values."""
    from tests.test_tour_session10 import awkward_penguins

    root = tmp_path / "penguins"
    root.mkdir()
    awkward_penguins().to_csv(root / "penguins.csv", index=False)
    for step in (
        ("init", str(root)),
        ("project", "new", "penguins", "--task", "multiclass", "--target", "species"),
        ("data", "import", str(root / "penguins.csv")),
    ):
        assert run(root, *step).exit_code == 0
    with Workspace(root / ".cockpit") as ws:
        app = CockpitApp(ws, "penguins")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("2", "]")
            await pilot.pause()
            await pilot.press("end")  # notes, the last column
            await pilot.pause()
            stats = " ".join(str(app.screen.query_one("#profile-stats").render()).split())
    assert stats.startswith("notes (text)")
    top = stats.split("top: ")[1]
    assert "seen on Torge… (" in top and "Torger (" not in top


async def test_the_metric_plot_without_labels_says_so(wine_scored: Path, private_copy) -> None:
    """Monitoring's metric plot on wine, checked but never labelled, was an empty frame titled
    'Metric on labelled rows by window (line: target)'; the latency plot without requests says
    'No service requests logged yet'."""
    root = private_copy(wine_scored)
    assert run(root, "monitor", "check").exit_code in (0, 1)
    with Workspace(root / ".cockpit") as ws:
        app = CockpitApp(ws, "wine")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("7", "]", "]", "]")
            await pilot.pause()
            await pilot.press("g")  # drift -> metric
            await pilot.pause()
            drawn = str(app.screen.query_one("#monitor-plot").render())
    assert "No labelled rows yet (cockpit monitor labels FILE)" in drawn


async def test_a_monitoring_metric_on_few_labelled_rows_says_how_few(wine_scored: Path, private_copy) -> None:
    """Monitoring's header on penguins read 'f1 1.000 in 2026-11': two labelled rows, beside a
    month of 327 at 0.929. A metric on fewer rows than drift is measured on (30) says how many."""
    import pandas as pd

    root = private_copy(wine_scored)
    labels = pd.read_csv(root / "wine.csv").head(2)
    labels.to_csv(root / "labels.csv", index=False)
    assert run(root, "monitor", "labels", str(root / "labels.csv")).exit_code == 0
    assert run(root, "monitor", "check").exit_code in (0, 1)
    summary = await _monitoring_summary(root)
    import re

    assert re.search(r"f1 1\.000 in \d{4}-\d{2} \(2 labelled rows\)", summary), summary
