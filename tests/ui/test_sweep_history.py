"""The sweep plot's optimisation history (issue 26): after the params, `p` shows each trial's
score in the order the trials came back and the best so far (lowest first for an error)."""

from __future__ import annotations

from textual.app import App

from cockpit.training.sweeps import best_so_far
from screens.run_views import HISTORY, SweepPlot


def test_best_so_far_follows_the_metrics_direction() -> None:
    assert best_so_far([0.7, 0.9, 0.8, 0.95], "roc_auc") == [0.7, 0.9, 0.9, 0.95]
    assert best_so_far([3.0, 2.5, 2.8, 1.0], "mae") == [3.0, 2.5, 2.5, 1.0]


async def test_p_after_the_params_shows_the_history() -> None:
    points = [({"C": 0.1}, 0.71), ({"C": 10.0}, 0.93), ({"C": 1.0}, 0.88)]
    plot = SweepPlot(4, "roc_auc", points, 0.9)
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(plot)
        await pilot.pause()
        assert plot.views == ["C", HISTORY]
        await pilot.press("p")
        title = str(plot.query_one("#plot-title").render())
        assert title.startswith("Sweep 4: roc_auc by trial, best so far")
        note = str(plot.query_one("#plot-note").render())
        assert note == "3 runs · the line is the best score so far · target 0.9"
        await pilot.press("p")
        assert str(plot.query_one("#plot-title").render()).startswith("Sweep 4: roc_auc by C")
