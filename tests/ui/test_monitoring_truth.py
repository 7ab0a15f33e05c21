"""The monitoring screen tells the truth about time: the data's age to now (the check's own
figure), the windows its firing alerts name, and share-by-bin plots drawn as bars beside the
reference the PSI uses."""

from __future__ import annotations

from cockpit.monitoring import alerts
from cockpit.projects import get_project
from screens.app import CockpitApp
from screens.monitoring import PLOTS
from tests.ui.test_later_screens import frame, live  # noqa: F401  (batches in 2026-01 and -02)


async def test_the_header_tells_the_datas_age_and_share_plots_are_bars(live) -> None:  # noqa: F811
    """One test, one workspace (its fixture trains two models)."""
    project = get_project(live, "svc")
    age = alerts.freshness_days(alerts.stored_windows(live, project))
    assert age is not None and age > 45  # the clock is in 2026-05, the newest batch 2026-02-10
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("7")
        await pilot.pause()
        summary = str(app.screen.query_one("#monitor-summary").render())
        assert f"newest data {age} d old" in summary
        assert "firing (2026-02)" in summary
        messages = [a.message for a in app.screen.alerts]
        assert any(m.startswith("freshness_days") and "in 2026-02" in m for m in messages)
        await pilot.press("g")
        await pilot.pause()
        screen = app.screen
        for kind, reference in (
            ("feature", "training (reference)"),
            ("prediction", "validation (reference)"),
        ):
            screen.plot_index = PLOTS.index(kind)
            screen._plot()
            await pilot.pause()
            assert not screen.query_one("#monitor-plot").display
            lines = str(screen.query_one("#monitor-bins").render()).splitlines()
            assert reference in lines[1] and "2026-02" in lines[1]
            rows = lines[2:]
            assert rows and all(row.rstrip().endswith("%") for row in rows)  # one row per bin, each its share
            assert any("█" in row for row in rows)
        screen.plot_index = PLOTS.index("drift")
        screen._plot()
        assert screen.query_one("#monitor-plot").display and not screen.query_one("#monitor-bins").display
