"""The problem spec form, filled and saved by keys only."""

from textual.widgets import DataTable, Input, Select, TabbedContent, TextArea

from cockpit import problem
from cockpit.projects import get_project
from screens.app import CockpitApp
from screens.overview import OverviewScreen
from screens.problem import ProblemScreen
from screens.unsaved import DiscardEdits


async def _type(pilot, text: str) -> None:
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])


async def _choose(pilot, downs: int) -> None:
    await pilot.press("enter", *["down"] * downs, "enter")


async def test_fill_and_save_the_form_by_keys(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("1")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProblemScreen)
        await pilot.press("tab")
        assert app.focused.id == "f-statement"
        await _type(pilot, "Quits in 30 days")
        await pilot.press("tab")  # target, prefilled from the project
        assert app.focused.value == "churned"
        await pilot.press("tab")
        await _type(pilot, "logs")
        await pilot.press("tab")
        await _type(pilot, "sales")
        await pilot.press("tab")
        await _type(pilot, "a call")
        await pilot.press("tab")  # usage: batch, online
        await _choose(pilot, 2)  # past the blank prompt
        assert screen.query_one("#f-usage", Select).value == "online"
        await pilot.press("tab")
        await _type(pilot, "150")
        await pilot.press("tab")
        await _type(pilot, "30 days")
        await pilot.press("tab")  # metric: recall first
        await _choose(pilot, 1)
        await pilot.press("tab")
        await _type(pilot, "0.8")
        await pilot.press("ctrl+s")
        await pilot.pause()

        saved = problem.current(two_projects, get_project(two_projects, "churn"))
        assert saved.version == 1
        assert saved.spec.usage == "online" and saved.spec.latency_budget_ms == 150
        assert saved.spec.metric == "recall" and saved.spec.metric_target == 0.8
        assert saved.spec.statement == "Quits in 30 days"
        assert saved.spec.audience == "sales"
        assert "unsaved" not in str(screen.query_one("#readiness-text").render())

        await pilot.press("escape", "g")  # leave the field, then grade tab
        assert screen.query_one(TabbedContent).active == "grade"
        fields = [row.value for row in screen.query_one("#grade-table", DataTable).rows]
        assert fields[0] in {"costlier_mistake", "baseline", "human_path"}  # missing first
        await pilot.press("h")
        assert screen.query_one("#history-table", DataTable).row_count == 1
        await pilot.press("0")
        assert isinstance(app.screen, OverviewScreen)
        lifecycle = app.screen.query_one("#lifecycle", DataTable)
        assert "spec v1" in str(lifecycle.get_cell("problem", "detail"))


async def test_bad_number_is_a_notification_not_a_crash(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("1")
        screen = app.screen
        screen.query_one("#f-statement", TextArea).text = "x"
        screen.query_one("#f-metric_target", Input).value = "-3"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert problem.current(two_projects, get_project(two_projects, "churn")) is None
        assert any("metric_target" in n.message for n in app._notifications)
        assert app.is_running


async def test_typing_a_number_key_in_a_field_stays_in_the_field(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("1", "tab", "tab", "tab")
        await _type(pilot, "0 2")
        assert isinstance(app.screen, ProblemScreen)
        assert app.focused.value == "0 2"
        await pilot.press("escape", "0")  # the typed text is unsaved: asked first
        assert isinstance(app.screen, DiscardEdits)
        await pilot.press("y")
        assert isinstance(app.screen, OverviewScreen)


async def test_ctrl_u_in_a_field_reverts_the_form_to_the_saved_spec(two_projects) -> None:
    project = get_project(two_projects, "churn")
    problem.save_spec(two_projects, project, problem.spec_from_mapping({"audience": "sales"}, "test"))
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("1")
        await pilot.pause()
        screen = app.screen
        audience = screen.query_one("#f-audience", Input)
        statement = screen.query_one("#f-statement", TextArea)
        statement.text = "Predict churn"
        audience.focus()
        await _type(pilot, " team")
        await pilot.pause(0.3)  # the grade follows typing after a pause
        assert "unsaved" in str(screen.query_one("#readiness-text").render())
        await pilot.press("ctrl+u")  # two fields differ: asked first, staying by default
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, DiscardEdits)
        lines = [str(label.render()) for label in dialog.query(".dialog-change")]
        assert lines == ["What is predicted: (empty) → Predict churn", "Who it serves: sales → sales team"]
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen and audience.value == "sales team"
        await pilot.press("ctrl+u", "y")
        await pilot.pause()
        assert audience.value == "sales"  # not emptied: the saved value is back
        assert statement.text == ""
        assert app.focused is audience
        assert not screen.is_dirty()
        assert "unsaved" not in str(screen.query_one("#readiness-text").render())
        assert any("What is predicted" in n.message for n in app._notifications)

        statement.focus()
        await _type(pilot, "Predict")
        await pilot.press("ctrl+u")  # in a text area too; one field differs: no question
        assert app.screen is screen and statement.text == ""


async def test_q_with_unsaved_edits_asks_before_quitting(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("1", "tab")
        await _type(pilot, "Predict churn")
        await pilot.press("escape", "q")
        await pilot.pause()
        assert isinstance(app.screen, DiscardEdits) and app.is_running
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ProblemScreen) and app.is_running
        assert app.screen.query_one("#f-statement", TextArea).text == "Predict churn"
        await pilot.press("q", "y")
        await pilot.pause()
        assert app.return_code == 0 and not app.is_running


async def test_entering_a_field_puts_the_cursor_after_its_text_nothing_selected(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("1", "tab", "tab")
        target = app.focused
        assert isinstance(target, Input) and target.value == "churned"
        assert target.selection.is_empty and target.cursor_position == len("churned")
        await _type(pilot, "_30d")
        assert target.value == "churned_30d"  # typing added to the text, not replaced it


async def test_edits_survive_a_dialog_and_a_visit_elsewhere_and_are_asked_about(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("1")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#f-audience", Input).focus()
        await _type(pilot, "sales")
        await pilot.press("escape", "question_mark")  # help: a dialog over the form
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert screen.query_one("#f-audience", Input).value == "sales"
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("down", "enter")  # the other project: asked first
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, DiscardEdits)
        lines = [str(label.render()) for label in dialog.query(".dialog-change")]
        assert lines == ["Who it serves: (empty) → sales"]
        await pilot.press("enter")  # stays
        assert app.project.name == "churn"
        assert screen.query_one("#f-audience", Input).value == "sales"
        await pilot.press("escape")  # out of the form: asked before going back
        assert isinstance(app.screen, DiscardEdits)
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("1")
        await pilot.pause()
        assert screen.query_one("#f-audience", Input).value == ""  # discarded


async def test_grade_and_history_fit_80x24_and_enter_opens_a_version_in_full(two_projects) -> None:
    from screens.row_detail import RowDetail

    project = get_project(two_projects, "churn")
    statement = "Predict whether a customer cancels within 30 days so the retention team can call them"
    problem.save_spec(two_projects, project, problem.spec_from_mapping({"statement": statement}, "test"))
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("1")
        screen = app.screen
        for key, table_id in (("g", "#grade-table"), ("h", "#history-table")):
            await pilot.press(key)
            await pilot.pause()
            table = screen.query_one(table_id, DataTable)
            assert app.focused is table and table.row_count
            needed = sum(c.get_render_width(table) for c in table.ordered_columns)
            assert needed <= table.scrollable_content_region.width
        await pilot.press("enter")
        dialog = app.screen
        assert isinstance(dialog, RowDetail)
        assert dict(dialog.fields)["statement"] == f"'' → {statement!r}"
