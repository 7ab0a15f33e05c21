"""The features screen says why inference treated a column as it did, and how rows are keyed
when the data has no id column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cockpit.data import datasets
from cockpit.projects import create_project
from cockpit.workspace import Workspace
from screens.app import CockpitApp


async def test_the_highlighted_columns_note_and_the_row_keys(tmp_path, frozen_clock) -> None:
    ws, _ = Workspace.init(tmp_path / "w")
    project = create_project(ws, "founders", "binary", "funded")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "founded": [f"{1990 + i % 30}-01-01" for i in range(120)],
            "staff": rng.integers(1, 500, 120),
            "funded": rng.integers(0, 2, 120),
        }
    )
    frame.to_csv(tmp_path / "founders.csv", index=False)
    datasets.import_dataset(ws, project, tmp_path / "founders.csv")
    app = CockpitApp(ws, "founders")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        screen = app.screen
        summary = str(screen.query_one("#features-summary").render())
        assert "entity id: none (rows keyed by their feature values)" in summary
        assert str(screen.query_one("#features-note").render()) == "founded: date parts that vary: year"
        await pilot.press("down")
        await pilot.pause()
        assert str(screen.query_one("#features-note").render()) == ""
    ws.close()
