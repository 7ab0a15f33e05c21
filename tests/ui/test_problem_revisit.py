"""Coming back to the Problem form sets again only the fields whose saved text changed: setting
every field parsed, wrapped and redrew it and sent a change that graded the form again
(~20 ms of CPU at each visit on the demo)."""

from dataclasses import replace

from textual.widgets import Input, TextArea

from cockpit import problem
from cockpit.projects import get_project
from screens.app import CockpitApp
from screens.problem import ProblemScreen


async def test_a_visit_sets_only_the_fields_whose_saved_text_changed(two_projects, monkeypatch) -> None:
    churn = get_project(two_projects, "churn")
    spec = replace(
        problem.current_spec(two_projects, churn),
        statement="Predict whether a customer cancels within 30 days",
        target="churned",
        baseline="offer to everyone with 3 tickets",
        metric="f1",
    )
    problem.save_spec(two_projects, churn, spec)
    set_again: list[str] = []
    regrade_soon = ProblemScreen._regrade_soon
    monkeypatch.setattr(
        ProblemScreen, "_regrade_soon", lambda screen: (set_again.append("change"), regrade_soon(screen))
    )
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("1")
        await pilot.pause(0.3)
        set_again.clear()  # filling the form the first time
        for key in "01":
            await pilot.press(key)
            await pilot.pause(0.3)
        assert set_again == []
        assert app.screen.query_one("#f-target", Input).value == "churned"

        problem.save_spec(two_projects, churn, replace(spec, baseline="offer to no one"))
        for key in "01":
            await pilot.press(key)
            await pilot.pause(0.3)
        assert app.screen.query_one("#f-baseline", Input).value == "offer to no one"
        assert app.screen.query_one("#f-statement", TextArea).text == spec.statement
        assert len(set_again) == 1  # the baseline only
