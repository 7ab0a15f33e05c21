"""The monitoring screen draws windows at their place in time, names a feature's bins by
their values, and shows an alert's whole message (its proposed action) at any width."""

from __future__ import annotations

from cockpit.deployment import batch
from cockpit.monitoring import alerts
from cockpit.monitoring.axes import bin_labels
from cockpit.projects import get_project
from screens.app import CockpitApp
from screens.monitoring import PLOTS
from screens.row_detail import RowDetail
from tests.ui.test_later_screens import frame, live  # noqa: F401  (batches in 2026-01 and -02)


def _with_a_later_month(ws, tmp_path) -> None:
    """A third batch three months after the second: 2026-01, 2026-02, then 2026-05."""
    frame(200, 5, 2.0).drop(columns=["left"]).to_csv(tmp_path / "m5.csv", index=False)
    project = get_project(ws, "svc")
    batch.predict_file(ws, project, tmp_path / "m5.csv", tmp_path / "o5.csv", at="2026-05-10T00:00:00+00:00")
    alerts.check(ws, project)


def _plot_lines(app, kind: str) -> list[str]:
    screen = app.screen
    screen.plot_index = PLOTS.index(kind)
    screen._plot()
    return str(screen.query_one("#monitor-plot").render()).splitlines()


def _bins_text(app, kind: str) -> str:
    screen = app.screen
    screen.plot_index = PLOTS.index(kind)
    screen._plot()
    return str(screen.query_one("#monitor-bins").render())


async def test_the_time_axis_spaces_windows_by_time(live, tmp_path) -> None:  # noqa: F811
    _with_a_later_month(live, tmp_path)
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("7", "g")  # g: the plots tab
        await pilot.pause()
        [axis] = [line for line in _plot_lines(app, "drift") if "2026-01" in line]
        first, second, last = (axis.index(name) for name in ("2026-01", "2026-02", "2026-05"))
        # January to February is 31 days of the 120 to May: about a quarter of the way, not half
        assert 0.15 < (second - first) / (last - first) < 0.35


async def test_feature_bins_are_named_by_their_values(live) -> None:  # noqa: F811
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("7", "g")
        await pilot.pause()
        text = _bins_text(app, "feature")
        found = app.screen.windows[-1].features["x"]
        labels, _ = bin_labels(found.shares, found.edges)
        assert labels[0].startswith("<") and labels[-1].startswith("≥")
        for label in (labels[0], labels[4], labels[-1]):
            assert label in text
        assert "bin 1" not in text
        # the newest window beside the training shares its PSI is measured against
        assert "training (reference)" in text and "2026-02" in text and "2026-01" not in text
        prediction = _bins_text(app, "prediction")
        assert "<" in prediction and "≥" in prediction  # the answers' score bins by range too


async def test_an_alert_shows_its_proposed_action_and_opens_in_full(live) -> None:  # noqa: F811
    firing = alerts.open_alerts(live, get_project(live, "svc"))[0]
    assert "proposed:" in firing.message
    for size in ((80, 24), (120, 40)):
        app = CockpitApp(live, "svc")
        async with app.run_test(size=size) as pilot:
            await pilot.press("7", "right_square_bracket", "right_square_bracket")
            await pilot.pause()
            table = app.screen.query_one("#alerts-table")
            assert str(table.get_row_at(0)[-1]) == firing.message  # wrapped, never cut
            # Enter with the tab strip focused, as the screen is left after ]
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, RowDetail) and ("Message", firing.message) in app.screen.fields
