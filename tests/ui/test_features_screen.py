"""The features screen: unsaved means "differs from the saved spec", and leaving with
unsaved edits asks first (keeping them is the default)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cockpit import features
from cockpit.data import datasets
from cockpit.projects import create_project
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.features import FeaturesScreen
from screens.overview import OverviewScreen
from screens.unsaved import DiscardEdits


@pytest.fixture
def churn(tmp_path, frozen_clock) -> Workspace:
    """Two projects; churn's feature spec saved with an id column filled by "median" (as
    inference leaves it) and age filled by "mean"."""
    ws, _ = Workspace.init(tmp_path / "w")
    project = create_project(ws, "churn", "binary", "churned")
    create_project(ws, "other", "binary", "churned")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(200)],
            "age": rng.integers(18, 80, 200),
            "plan": rng.choice(["basic", "pro", "team"], 200),
            "churned": rng.integers(0, 2, 200),
            "days_since_last_activity": rng.integers(0, 90, 200),
        }
    )
    frame.to_csv(tmp_path / "churn.csv", index=False)
    datasets.import_dataset(ws, project, tmp_path / "churn.csv")
    _, specs = features.current_spec(ws, project)
    specs = [replace(s, missing="mean") if s.column == "age" else s for s in specs]
    features.save_spec(ws, project, specs)
    yield ws
    ws.close()


def _summary(screen: FeaturesScreen) -> str:
    return str(screen.query_one("#features-summary").render())


async def _open(pilot) -> FeaturesScreen:
    await pilot.press("3")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, FeaturesScreen)
    return screen


@pytest.mark.parametrize("row", [0, 1], ids=["id column", "numeric filled by mean"])
async def test_cycling_a_kind_round_to_the_saved_one_leaves_nothing_unsaved(churn, row) -> None:
    app = CockpitApp(churn, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        assert screen.saved[0].kind == "categorical" and screen.saved[0].missing == "median"
        assert screen.saved[1].kind == "numeric" and screen.saved[1].missing == "mean"
        await pilot.press(*["down"] * row, "k")
        assert "unsaved changes" in _summary(screen)
        await pilot.press("k", "k", "k")  # 2 or 4 kinds the column can take: round to the saved one
        assert screen.specs == screen.saved
        assert "unsaved changes" not in _summary(screen)
        await pilot.press("0")  # nothing to lose: no question
        assert isinstance(app.screen, OverviewScreen)


async def test_a_number_key_with_unsaved_edits_asks_and_stays_by_default(churn) -> None:
    app = CockpitApp(churn, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        await pilot.press("down", "k")  # age: numeric → categorical
        await pilot.press("0")
        dialog = app.screen
        assert isinstance(dialog, DiscardEdits)
        lines = [str(label.render()) for label in dialog.query(".dialog-change")]
        assert "age kind: numeric → categorical" in lines
        assert "age missing: mean → constant" in lines
        await pilot.press("escape")
        assert app.screen is screen and "unsaved changes" in _summary(screen)
        await pilot.press("2", "enter")  # Enter stays too
        assert app.screen is screen and screen.unsaved_changes()
        await pilot.press("2", "y")
        await pilot.pause()
        assert app.current_mode == "data"
        await pilot.press("3")
        await pilot.pause()
        assert app.screen is screen and not screen.unsaved_changes()
        assert "unsaved changes" not in _summary(screen)


async def test_switching_project_with_unsaved_edits_asks_first(churn) -> None:
    app = CockpitApp(churn, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        await pilot.press("down", "k", "p")
        await pilot.pause()
        await pilot.press("down", "enter")  # choose "other"
        await pilot.pause()
        assert isinstance(app.screen, DiscardEdits)
        await pilot.press("n")
        assert app.project.name == "churn" and screen.unsaved_changes()
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("down", "enter", "y")
        await pilot.pause()
        assert app.project.name == "other"


async def test_esc_with_unsaved_edits_asks_before_going_back(churn) -> None:
    app = CockpitApp(churn, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        await pilot.press("down", "k", "escape")
        assert isinstance(app.screen, DiscardEdits)
        await pilot.press("escape")  # Esc in the question stays
        assert app.screen is screen
        await pilot.press("escape", "y")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)


async def test_the_table_reads_whole_at_80x24_and_enter_opens_a_column(churn) -> None:
    from screens.row_detail import RowDetail

    app = CockpitApp(churn, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        table = screen.query_one("#features-table")
        columns = table.ordered_columns
        assert sum(c.get_render_width(table) for c in columns) <= table.scrollable_content_region.width
        widths = {c.label.plain: c.width for c in columns}
        assert widths["Column"] >= len("days_since_last_activity")
        assert widths["How"] >= len("standard · fill median")
        await pilot.press(*["down"] * 4, "enter")
        dialog = app.screen
        assert isinstance(dialog, RowDetail)
        fields = dict(dialog.fields)
        assert fields["Column"] == "days_since_last_activity"
        assert fields["How"] == "standard · fill median"


async def test_edits_survive_a_dialog_over_the_screen(churn) -> None:
    app = CockpitApp(churn, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        await pilot.press("down", "k", "question_mark")  # help over the screen, then back
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert [c.line() for c in screen.unsaved_changes()] == [
            "age kind: numeric → categorical",
            "age missing: mean → constant",
        ]
        assert "unsaved changes" in _summary(screen)
