"""The overview's events title says when the list is cut at its cap: 'latest 50 of N', not
'(50)' as if that were all (Pilot, 80x24)."""

from __future__ import annotations

from textual.widgets import Label

from cockpit import problem
from cockpit.projects import get_project
from screens.app import CockpitApp
from screens.overview import OverviewScreen


async def test_the_events_title_says_latest_50_of_the_total(two_projects) -> None:
    churn = get_project(two_projects, "churn")
    assert churn is not None
    for n in range(55):  # 55 spec versions: 56 events of churn with its creation
        problem.save_spec(
            two_projects, churn, problem.ProblemSpec(metric="recall", metric_target=0.5 + n / 200)
        )
    assert two_projects.event_count(churn.id) == 56
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        title = app.screen.query_one("#events-title", Label)
        assert str(title.render()) == "Recent events (latest 50 of 56)"
        await pilot.press("p", "down", "enter")  # prices: one event, the whole list
        await pilot.pause()
        assert app.project.name == "prices"
        assert str(app.screen.query_one("#events-title", Label).render()) == "Recent events (1)"
