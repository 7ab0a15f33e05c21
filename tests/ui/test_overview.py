"""Pilot tests of the app shell and the overview, driven by keys at 80x24."""

from textual.widgets import DataTable, Input, OptionList

from screens.app import CockpitApp
from screens.dialogs import HelpScreen, ProjectSwitcher
from screens.overview import OverviewScreen


def _cells(table: DataTable, column: str) -> list[str]:
    return [str(table.get_cell(row_key, column)) for row_key in table.rows]


async def test_overview_shows_every_stage_and_the_project(two_projects) -> None:
    app = CockpitApp(two_projects, "prices")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        lifecycle = app.screen.query_one("#lifecycle", DataTable)
        assert _cells(lifecycle, "stage")[0] == "Problem"
        assert len(lifecycle.rows) == 9
        assert app.sub_title == "prices · regression → price"
        events = app.screen.query_one("#events", DataTable)
        assert _cells(events, "stage") == ["project"]
        assert "prices" in _cells(events, "what")[0]


async def test_project_switcher_by_keys(two_projects) -> None:
    app = CockpitApp(two_projects, "prices")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p")
        assert isinstance(app.screen, ProjectSwitcher)
        assert app.screen.query_one(OptionList).highlighted == 1
        await pilot.press("up", "enter")
        await pilot.pause()
        assert app.project.name == "churn"
        assert isinstance(app.screen, OverviewScreen)
        events = app.screen.query_one("#events", DataTable)
        assert "churn" in _cells(events, "what")[0]
        await pilot.press("p", "escape")
        assert app.project.name == "churn" and isinstance(app.screen, OverviewScreen)


async def test_help_lists_the_keys_and_closes(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        keys = [str(table.get_cell_at((row, 0))) for row in range(table.row_count)]
        assert {"/", "p", "?", "q", "0"} <= set(keys)
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_typing_in_the_filter_does_not_trigger_keys_until_escape(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash")
        field = app.screen.query_one("#events-filter", Input)
        assert app.focused is field
        await pilot.press("p", "q", "0")  # would switch project, quit, go home
        assert field.value == "pq0"
        assert isinstance(app.screen, OverviewScreen) and app.is_running
        assert app.screen.query_one("#events", DataTable).row_count == 0
        await pilot.press("escape")
        assert app.focused is not field
        await pilot.press("p")
        assert isinstance(app.screen, ProjectSwitcher)


async def test_filter_keeps_matching_events(two_projects) -> None:
    app = CockpitApp(two_projects, None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *"create", "enter")
        events = app.screen.query_one("#events", DataTable)
        assert events.row_count == 1 and app.focused is events


async def test_quit_key_leaves(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_empty_workspace_says_how_to_start(tmp_path) -> None:
    from cockpit.workspace import Workspace

    ws, _ = Workspace.init(tmp_path)
    app = CockpitApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        text = str(app.screen.query_one("#next-step").render())
        assert "cockpit project new" in text
        await pilot.press("p")
        assert isinstance(app.screen, OverviewScreen)


async def test_the_retrain_decision_reads_whole_at_80_columns(demo_path, demo_clock) -> None:
    from cockpit.workspace import Workspace

    app = CockpitApp(Workspace.open(demo_path), "learner-support")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#lifecycle", DataTable)
        detail = str(table.get_cell("retrain", "detail"))
        assert detail == "retrain 2026-07: deployed (override)"
        assert detail in "".join(strip.text for strip in table.render_lines(table.region.reset_offset))


async def test_a_built_demo_opens_on_its_story_without_a_project_named(demo_path, demo_clock) -> None:
    """`cockpit demo --no-tui`, then `cockpit -w cockpit-demo`: the cockpit opened on churn, the
    first of the three by name, until it had shown learner-support once."""
    from cockpit.workspace import Workspace

    app = CockpitApp(Workspace.open(demo_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.project is not None and app.project.name == "learner-support"
        assert app.sub_title == "learner-support · binary → needs_support"
