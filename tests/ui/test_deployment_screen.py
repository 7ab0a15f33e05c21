"""The deployment screen's scored rows: the latest batch's highest scores with their reasons."""

from textual.widgets import DataTable

from cockpit.deployment import registry
from cockpit.projects import get_project
from screens.app import CockpitApp
from tests.ui.test_later_screens import live  # noqa: F401  (the workspace with two batches)


async def test_the_latest_batch_shows_its_highest_scores_with_reasons(live) -> None:  # noqa: F811
    # production back on the logistic model, whose score still moves with x in the shifted
    # batch (the forest's saturates there, so it would give no reasons)
    registry.rollback(live, get_project(live, "svc"), "reasons from the logistic model")
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#scored-table", DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert len(rows) == 20
        scores = [float(r[1]) for r in rows]
        assert scores == sorted(scores, reverse=True)
        assert str(rows[0][4]).startswith("x=")  # the one feature is why the top row scored high
        assert rows[0][3] == "production"
